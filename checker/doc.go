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
//   - panic: the lock's code panicked.
//
// [Execute] runs one execution under any sim.Chooser; a [Campaign] runs many
// seeded schedules (random or PCT), keeps the shortest violating execution, and
// re-runs it with its trace recorded. Every counterexample is a decision list
// that [Replay] brings back exactly.
//
// The checker knows no algorithm by name: a lock is any rdma.Lock built by a
// [LockFactory].
package checker
