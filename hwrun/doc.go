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
// # One process per node
//
// [Run] runs every node in one process. [StartCluster] and [Join] run every
// node in a process of its own: on this machine (ClusterOptions.Launch starts
// them; rdmasim hw run --procs), or one per machine of a cluster (rdmasim hw
// node --join HOST:PORT --node I on each, verbs backend). The coordinator
// listens on TCP; every node's process connects, greets with the protocol's
// name and version (a peer that sends anything else is named and refused at
// its first wrong byte, a silent one after half the peer timeout), and says
// which node it is. Messages are gob values in frames of at most 512 MiB. A
// node that has not joined within the peer timeout is an error naming it. For
// every run ([Cluster.Run]) the coordinator sends the configuration and the
// workload's description (opaque bytes the caller's Build turns into the same
// workload in every process); the nodes set up and exchange what their peers
// need in rounds relayed by the coordinator (a shared file's name; or arenas'
// addresses, rkeys and sizes, atomic caps, then QP numbers, PSNs, LIDs and
// GIDs of every requester and responder QP); a start message is the barrier;
// while their threads run the nodes send a heartbeat with their progress every
// 100 ms, and the coordinator's watchdog stops the run as hung when the sum
// stands still for Config.Timeout. A node whose connection closes (its process
// died) or that sends no heartbeat for the peer timeout is an error naming it:
// the coordinator tells every other node to abort, they stop their threads at
// their next Pause and release their memory, files and QPs, and the session is
// over. At the end every node sends its records, its events and its node's
// memory (the allocated words), and the coordinator judges the merged run.
//
// The native backend across processes: each node's memory is a file its
// process creates (in /dev/shm, else the temporary directory) and maps shared;
// every process maps every node's file, and the owner unlinks its file at the
// start barrier, once all have mapped it, so a run that dies later leaves
// nothing behind (the coordinator removes the session's files too, for a
// process killed during set-up). CPU operations stay real atomic instructions
// on the shared mapping. Each process has a NIC goroutine for every node, and
// those of one node in all processes take that node's NIC lock (a word of its
// reserved bytes) around each request: the node's NIC carries out one verb at
// a time across processes, an RDMA atomic is still a load and then a store
// under that lock (atomic among NIC atomics, IBV_ATOMIC_HCA), and a CPU atomic,
// which never takes the lock, can land between them. The alternative, one NIC
// goroutine per node in its own process fed through request rings in shared
// memory, keeps the same semantics but needs a polling goroutine per node and
// a ring protocol; the lock does it with one word, posted verbs stay
// asynchronous (the requester's NIC goroutine serves them in order), and a
// wait for the lock gives up when the run is stopped (a process that died
// holding it).
//
// Monitors across processes: each process runs the workload with a recorder
// in place of the monitors, which notes every mark (call, return, entry, exit,
// doorway) with its place in a global order, and every access (the CPU writes
// and atomics and NIC atomics mixed atomicity judges) after its thread's
// previous mark. The global order is a counter: a CPU FAA on a word of node 0's
// shared memory (native), or an RDMA FAA through a QP of its own to node 0's
// reserved bytes (verbs, on one machine or a cluster: no clocks are compared).
// As in one process, an entry is marked after the lock was acquired and an exit
// before it is released, so an overlap in the counter's order is an overlap
// that happened. The coordinator builds the workload on a memory of the same
// layout (the nodes' layouts are checked against it), replays every thread's
// events in that order into one workload.Run — mutual exclusion, bypass, mixed
// atomicity, the workload's own monitors and the history for linearizability,
// judged by the same code as in one process — and runs the final check (lost
// update) on the memory the nodes sent. Differences from one process: the
// recorder's FAA adds a round trip to every mark (a cluster's verbs run is
// slower, and its windows differ); the order of an access among other
// threads' events is approximate (mixed atomicity does not depend on it); a
// critical section with key 0 is replayed as Enter, so a lock table's key 0
// counts towards bypass; operation times count from each process's own start
// (aligned by the barrier, within a socket's latency).
//
// Limits: one QP per thread per node (lane 0 only); the Fenced flag is not
// passed to the device (an RC QP completes in order, and a blocking verb waits
// for the thread's earlier posted ones); no allocation while threads run (lay
// memory out in the constructor); the native backend needs every node's
// process on one machine (shared files).
package hwrun
