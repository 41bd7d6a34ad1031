// Package hwrun runs the unchanged algorithm and workload code on real threads
// and real memory, to confirm what the simulator says.
//
// The native backend ([Run]) gives every node an mmap'ed region of memory (the
// registered memory a verbs backend hands to its NIC), runs every thread as a
// goroutine locked to an OS thread, performs CPU operations as real atomic
// instructions on that memory, and gives every node a NIC goroutine that
// carries out the verbs sent to it one at a time: an RDMA atomic is a load and
// then a store (IBV_ATOMIC_HCA: the NIC's own atomics are atomic among
// themselves, a CPU atomic can land between), or one atomic instruction with
// Config.GlobalAtomics (IBV_ATOMIC_GLOB). It runs everywhere and is tested in
// the default go test.
//
// The workload's monitors (package workload) judge a native run as they judge
// a simulated one: mutual exclusion at every critical-section entry, lost
// updates at the end, mixed atomicity on the operations issued, and
// linearizability of the recorded history. The threads run in parallel, so
// their marks are serialised (workload.Options.Concurrent): a mark is taken after
// the event it marks (an entry, after the lock was acquired) or before it (an
// exit, before the release), so every violation reported happened, and a
// violation whose window the marks' serialisation hides is missed. A run that
// does not finish by Config.Timeout (a deadlock or a livelock: on real hardware
// they cannot be told apart) is stopped at every thread's next Pause and
// reported as hung.
//
// Every operation is timed (Result.Ops: thread, node, local or remote, start
// and end); Result.Latencies and Result.Throughput summarise them, and
// Result.WriteCSV writes them. Setup (mapping memory, building the workload) is
// timed apart from the data path.
//
// The verbs backend (Config.Backend = Verbs; a binary built with -tags rdma)
// runs the same threads over libibverbs devices: one registered arena per node,
// one RC QP per thread per node, all set up before the data path.
//
// Threads post verbs too (rdma.Async): on the native backend a posted request
// goes to the target's NIC goroutine, which places a multi-word WRITE in
// ascending address order; on the verbs backend it is one work request, and
// Wait and Poll collect completions by work request id.
//
// Limits: one QP per thread per node (lane 0 only); the Fenced flag is not
// passed to the device (an RC QP completes in order, and a blocking verb waits
// for the thread's earlier posted ones); no allocation while threads run (lay
// memory out in the constructor); one process for all nodes (no launcher of
// one process per node yet).
package hwrun
