// Package algorithms holds lock algorithms written once against [rdma.Thread], and
// a registry that names them for the simulator, the checker and the command line.
//
// Every algorithm here runs unchanged under the simulator and, later, on real
// memory and verbs: it talks to memory only through [rdma.Thread], and it never
// imports sim, nicmodel or checker.
//
// The registry ([All], [Lookup], [Names]) lists each lock with a one-line
// description, where it comes from, and the verdict the checker is expected to
// reach on it: the safe locks (spin, mcs, alock) must produce no finding, and the
// naive ones (spin-naive, mcs-naive, ticket-naive) are broken on purpose, each by
// the atomicity gap between NIC atomics and host CPU atomics described in package
// rdma. A checker that stops finding their bugs has lost its teeth.
//
// # Terms
//
// The home is the node that holds the lock's words ([rdma.Setup.Home]).
//
// A thread is local when the workload classifies it so
// ([rdma.ThreadInfo.Local]), and remote otherwise. Algorithms with a host path
// (spin-naive, mcs-naive, ticket-naive, alock) decide which path a thread takes
// from that classification only, never by comparing [rdma.Thread.Node] with the
// home. Tests mis-classify threads on purpose: a thread on another node that is
// classified local then issues CPU operations on the home's memory, and the
// simulator must report that as misuse rather than have the algorithm quietly
// fall back to verbs. The loopback locks (spin, mcs, dslr) ignore the classification:
// every thread, host threads included, goes through verbs; so does hocl, whose
// only CPU operations are on the thread's own node's local lock.
//
// A descriptor is a thread's queue node in an MCS-style lock: a few words on the
// thread's own node, allocated by the constructor and labelled "desc.t<ID>".
//
// # Memory layout
//
// A constructor lays out everything before any thread runs: lock words on the
// home with [rdma.Setup.Alloc] (labelled with the word's role: "lock", "tail",
// "next_ticket", …), then one descriptor per thread in thread order on that
// thread's own node. A single Alloc whose words play different roles is labelled
// with their names joined by commas, in order ("r_tail,l_tail,victim"). The zero
// [rdma.Ptr] is nil: no allocation returns it, so 0 in a tail or next word means
// "no thread". Per-thread state kept in Go (a descriptor's Ptr, a ticket) lives in
// slices indexed by [rdma.Thread.ID]; a Lock value holds no other mutable state.
//
// There is no RDMA swap verb. A remote swap (an MCS enqueue through the NIC) is a
// loop of RCAS on the value last seen; it has no Pause, because every failed RCAS
// means the word changed under it.
//
// # The Pause contract
//
// Every spin loop calls [rdma.Thread.Pause] once per iteration, and an iteration
// that finds nothing to do only reads: no stores, no atomics. The simulator parks a
// thread at Pause until a word it read in that iteration changes, which keeps the
// exploration of spin locks finite and makes deadlock detection exact. A loop that
// wrote on every iteration would never be parked; a loop that never paused would
// never be recognised as waiting.
//
// # Adding a lock
//
//  1. Write a type with Acquire and Release methods ([rdma.Lock]) in its own file,
//     using only [rdma.Thread]; CPU operations only on words the thread's
//     classification puts on its own node.
//  2. Write a constructor func(rdma.Setup, Options) (rdma.Lock, error) that lays out
//     memory as above and rejects options it cannot honour.
//  3. Add an entry to the table in registry.go: name, one-line description, origin
//     (a paper, "textbook", or "this project, deliberately broken"), and the
//     expected verdict. Add it to the sequential tests in algorithms_test.go.
package algorithms
