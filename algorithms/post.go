package algorithms

import "github.com/rdmasim/rdmasim/rdma"

// poster is implemented by threads that wrap another backend's thread (the
// workload's): they always have the rdma.Async methods, and CanPost says whether
// the thread underneath really posts them.
type poster interface{ CanPost() bool }

// asyncOf returns t as an rdma.AsyncThread when it can post asynchronous verbs
// (the simulator's threads can; the fake and native backends cannot).
func asyncOf(t rdma.Thread) (rdma.AsyncThread, bool) {
	a, ok := t.(rdma.AsyncThread)
	if !ok {
		return nil, false
	}
	if p, ok := t.(poster); ok && !p.CanPost() {
		return nil, false
	}
	return a, true
}

// writeWords writes words consecutive words from the local buffer src (on t's
// node, filled by t with CPU stores) to dst in one RDMA WRITE, posted fenced on
// lane 0 of t's QP to dst's node and waited for, as a blocking verb would be: the
// NIC places the words in whatever order the model's placement allows. A thread
// that cannot post (no rdma.Async) writes them one by one, in ascending address
// order, with blocking RWrites.
func writeWords(t rdma.Thread, dst, src rdma.Ptr, words int) {
	if a, ok := asyncOf(t); ok {
		a.Wait(a.PostWrite(rdma.QPTo(dst.Node()), dst, src, words, rdma.Fenced))
		return
	}
	for i := range words {
		t.RWrite(dst.Add(i), t.Load(src.Add(i)))
	}
}
