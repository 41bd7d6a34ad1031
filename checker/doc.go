// Package checker runs a workload under the simulated NIC and judges each
// execution with the workload's monitors (package workload).
//
// [Run] is the one entry point: a configuration ([Config]: nodes, threads, the
// home node, operations per thread, the NIC's knobs), a workload ([Lock] for
// the counter under a lock, workload.LockTable, workload.Object, anything that
// implements workload.Workload) and a strategy value in, a [Result] out:
//
//   - [Random] and [PCT] run seeded schedules on all cores (a [Campaign]), keep
//     the shortest violating execution, shrink it ([Shrink]) and re-run it with
//     its trace recorded;
//   - [DFS] runs every interleaving (an [Exploration]: stateless DFS with
//     source-DPOR and sleep sets), says whether it was Complete, and reports a
//     violation as its shortest story ([ShortestCounterexample]: fewest
//     preemptions, then fewest events);
//   - [Saved] replays one execution from its decisions ([Replay]).
//
// The properties: mutual exclusion (at every critical-section entry), lost
// update, deadlock (no step enabled while a thread has not finished: exact,
// thanks to the engine's spin reduction), step bound (a livelock; the bound
// scales with the workload, [Config.Bound]), misuse (a CPU operation on another
// node's memory, a bad address), panic (with the file and line in the lock's
// code), starvation (at the step bound, an operation pending while others
// completed theirs), linearizability of the history against the workload's
// Spec (Config.Linearizability, on in [DefaultConfig]), and bypass bound
// (Config.BypassBound; kept apart from the other findings: unfair is not
// unsafe). Mixed atomicity is a warning ([Result].Warnings).
//
// Every counterexample is a decision list that [Replay] brings back exactly
// (each decision records the step it fired, so a reader finds its event
// without a second run); [DecisiveDecision] finds the choice that made the
// difference. The test helpers (Check from a go test, the rapid chooser) live
// in package rdmatest, so that programs using checker do not link testing.
//
// The checker knows no algorithm by name: a lock is any rdma.Lock built by a
// [LockFactory], an object anything a workload drives.
package checker
