// Package checker runs a lock under the simulated NIC and judges each execution.
//
// The workload: N nodes with T threads each (or a count per node); the lock and a
// counter live on the home node; every thread takes the lock K times, and inside
// the critical section does a non-atomic read-modify-write of the counter (CPU
// load and store on the home node, RDMA READ and WRITE elsewhere). The properties:
//
//   - mutual exclusion, checked at every critical-section entry;
//   - lost update: the counter must end at N·T·K;
//   - deadlock: no step enabled while a thread has not finished (exact, thanks to
//     the engine's spin reduction);
//   - step bound: an execution longer than the bound (a livelock);
//   - misuse: a CPU operation on another node's memory, a bad address;
//   - panic: the lock's code panicked;
//   - starvation: at the step bound, a thread waited while others kept entering;
//   - linearizability (Config.Linearizability): the lock history, checked with
//     porcupine, has no linearization as a lock protecting a register;
//   - bypass bound (Config.BypassBound): a thread waited through more critical
//     sections of others, after its doorway, than the lock's derived bound. Kept
//     apart from the other findings (Report.Bypass): unfair is not unsafe.
//
// [Execute] runs one execution under any sim.Chooser; a [Campaign] runs many
// seeded schedules (random or PCT) on all cores, keeps the shortest violating
// execution, shrinks it ([Shrink]) and re-runs it with its trace recorded. An
// [Exploration] runs every interleaving (stateless DFS with source-DPOR and sleep
// sets) and says whether it was Complete; [ShortestCounterexample] deepens by
// preemptions, then length. [Check] is the one-line form for a user's own go
// test, and [RapidChooser] lets rapid draw the schedule. Every counterexample is a
// decision list that [Replay] brings back exactly; [DecisiveDecision] finds the
// choice that made the difference.
//
// The checker knows no algorithm by name: a lock is any rdma.Lock built by a
// [LockFactory].
package checker
