// Package rdma is the programming model that lock algorithms are written against.
//
// An algorithm is written once, against the interfaces in this package, and then
// runs unchanged under the simulator (package sim with the simulated NIC of
// package nicmodel) or, later, on real memory and real verbs.
//
// # Terms
//
// A word is 8 bytes, aligned; all memory is words. A [Ptr] names a word: a node id
// and a byte offset into that node's registered memory. The zero Ptr is nil: no
// allocation ever returns offset 0 on node 0 (the first 64 bytes of every node are
// reserved), so algorithms may use 0 as "no pointer".
//
// A thread lives on one node. It can reach memory in two ways, split into two
// interfaces so a reader sees at a glance which atomicity domain a line lives in:
//
//   - [CPU]: loads, stores and read-modify-writes by the host CPU, only on the
//     thread's own node. A CPU operation on another node's word is a bug in the
//     algorithm (a mis-classified locality) and the simulator reports it as a finding.
//   - [Verbs]: one-sided RDMA verbs to any node, its own included (loopback). The
//     calls here are blocking: each posts the verb fenced on lane 0 of the
//     thread's QP to the target node and waits for its completion. A verb's data
//     is visible at the target before its completion.
//   - [Async]: the same verbs posted without waiting ([AsyncThread]): a Post call
//     returns a [Req] handle; [Async.Poll] takes a [QP]'s next completion and
//     [Async.Wait] blocks until a given request completes. For ordering
//     experiments and litmus tests (see nicmodel for the ordering rules).
//
// The atomicity gap the whole project is about: an RDMA atomic ([Verbs.RCAS],
// [Verbs.RFAA]) is executed by the target's NIC as a read of host memory followed
// by a write. NIC atomics on one address are serialised against each other, but a
// CPU operation on the target host may land between the NIC's read and its write.
//
// # Spinning
//
// Every spin loop calls [Thread.Pause] once per iteration. The contract: the work
// a thread does between two Pauses is a function of the values it read in that
// stretch (no side effects when it finds nothing to do). The simulator relies on it
// to park a spinning thread until a word it read changes, which keeps exploration
// finite and makes deadlock detection exact.
package rdma
