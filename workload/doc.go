// Package workload is what runs on a backend and what judges it: workloads
// written against rdma.Thread, and the monitors that observe what they mark.
// Nothing here knows the simulator, the NIC model or real hardware; the
// simulator (package checker) and the hardware runner run the same workload
// code, and the same monitors judge both.
//
// # Terms
//
//   - A Workload lays out memory through a Setup (the run's shape and its
//     registered memory) and returns a Program: what every thread runs, a final
//     check of memory, and the sequential specification (Spec) of the object
//     whose history the threads record.
//   - A thread runs on a Thread: the backend's rdma.Thread, plus marks. Call and
//     Return bracket one operation of the object (its history); Enter and Exit
//     bracket a critical section; rdma.PassDoorway marks a lock's doorway. The
//     Thread also sees every CPU write and atomic and every NIC atomic the code
//     issues (for mixed atomicity); algorithms never notice it.
//   - A Run is one execution: the threads' wrappers and the monitors' state. The
//     built-in monitors judge mutual exclusion (at every entry), bypass (critical
//     sections of others a thread waits through after its doorway), starvation
//     (at the step bound: an operation pending while others completed theirs),
//     mixed atomicity (a warning: one word targeted by a NIC atomic and by a CPU
//     write or atomic in the same execution — under atomic scope hca the CPU can
//     land between the NIC's read and write), and, through Program.Final and
//     Program.Spec, lost updates and linearizability (porcupine). A user adds
//     monitors of their own through Program.Monitors.
//
// # Built-in workloads
//
//   - LockCounter: every thread takes a lock OpsPerThread times and increments a
//     counter on the home node inside, non-atomically.
//   - LockTable: a distributed lock table (keys spread over the nodes, a share of
//     operations on the requester's own node, uniform or Zipf key choice), the
//     benchmark of the ALock paper, for timed mode and the hardware runner.
//   - Object: any object of the user's, with its Spec (CounterSpec,
//     RegisterSpec and QueueSpec are ready-made).
//
// # Limits
//
// A thread's operations do not nest (Return one before calling the next).
// Events are observed in the order the backend runs them: the simulator runs
// one thread at a time; a parallel backend must serialise its calls into the
// Run. Values in histories are uint64s.
package workload
