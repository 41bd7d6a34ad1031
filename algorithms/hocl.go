package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// HOCL, Sherman's hierarchical on-chip lock (SIGMOD'22): Qing Wang, Youyou Lu,
// Jiwu Shu, "Sherman: A Write-Optimized Distributed B+Tree Index on
// Disaggregated Memory", the section on the hierarchical on-chip lock.
//
// Followed: github.com/thustorage/Sherman, src/Tree.cpp: try_lock_addr,
// unlock_addr (with async = true, as lock_bench and the tree's unlock paths call
// it), acquire_local_lock, can_hand_over, releases_local_lock; include/Tree.h
// (LocalLockNode) and include/Common.h (kMaxHandOverTime).
//
// Two levels. Each node that runs threads has a local lock for the global lock:
// LocalLockNode {ticket_lock, hand_over, hand_time}, three words on that node
// (labelled ticket_lock.n<node>, …), used with CPU operations only. ticket_lock is a ticket lock in one word (low 32
// bits: tickets handed out; high 32 bits: the ticket being served), taken with
// FAA(1) and released with FAA(2^32). The global lock is one word on the home
// (NIC on-chip device memory in Sherman; here a word of the home's memory),
// 0 when free and the holder's tag otherwise, taken with an RDMA CAS loop
// (cas_dm_sync, retried at once) and released with an RDMA WRITE of 0
// (write_dm, unsignaled: never waited for).
//
// acquire_local_lock: FAA the ticket, spin with CPU loads until served, then
// hand_time++ and read hand_over; if it is set, the lock was handed over by the
// node's previous holder, which kept the global lock: enter. Otherwise CAS the
// global word from 0 to the thread's tag until it succeeds. can_hand_over (at
// release): load ticket_lock; if someone waits behind (tickets > served+1) set
// hand_over = hand_time < kMaxHandOverTime, else false, and reset hand_time to 0
// when not handing over. Handing over: only release the local ticket. Otherwise
// write 0 to the global word, then release the local ticket. So a node holds the
// global lock for at most kMaxHandOverTime critical sections in a row.
//
// Every thread, host threads included, reaches the global word through its NIC
// (loopback on the home), as in Sherman, where the word lives in NIC memory that
// the CPU cannot address; every thread uses CPU operations on its own node's
// local lock only. No word mixes CPU and NIC operations.
//
// Approximations:
//   - The global lock word is a word of the home's host memory, not on-chip NIC
//     memory: the model has no device memory. Its NIC atomics and WRITEs behave
//     as for host memory (atomic scope, write-back and ordering knobs apply).
//   - kMaxHandOverTime is hoclMaxHandOver = 2, not Sherman's 8, so that the
//     checker's small runs reach the bound (as ALock's default budget).
//   - LocalLockNode's bool hand_over and uint8 hand_time are one word each.
//   - Sherman's release WRITE is posted unsignaled from the thread's CAS buffer
//     (set to 0 just before) and never waited for; here PostWrite of one word
//     from a per-thread word (its "descriptor", desc.t<ID>) on lane 0 of the thread's QP to the home,
//     never waited for. A thread that cannot post asynchronously (not an
//     rdma.AsyncThread) uses the blocking RWrite instead.
//   - The tag is the thread's ID + 1 (Sherman: its node and thread ids); the
//     "Deadlock" report after 10^6 failed CAS retries and the coroutine yields
//     while waiting are left out; the spin loops Pause instead.
//   - Sherman keys a table of local locks by the lock word's address; one lock
//     here, so one LocalLockNode per node.
type hocl struct {
	lock        rdma.Ptr   // the global lock word on the home
	local       []rdma.Ptr // by node: ticket_lock, hand_over, hand_time (0 for a node without threads)
	casBuf      []rdma.Ptr // by thread ID: the source of the release WRITE, on the thread's node
	home        int
	maxHandOver uint64
}

// hoclMaxHandOver is kMaxHandOverTime: at most this many critical sections of
// one node per acquisition of the global lock. Sherman's is 8.
const hoclMaxHandOver = 2

// Word offsets of a LocalLockNode.
const (
	hoclTicket   = 0
	hoclHandOver = 1
	hoclHandTime = 2
)

func newHOCL(s rdma.Setup, _ Options) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("hocl: %w", err)
	}
	l := &hocl{
		lock:        s.Alloc(s.Home(), 1, "lock"),
		local:       make([]rdma.Ptr, s.Nodes()),
		home:        s.Home(),
		maxHandOver: hoclMaxHandOver,
	}
	infos := s.Threads()
	for _, info := range infos {
		if l.local[info.Node] == 0 {
			l.local[info.Node] = s.Alloc(info.Node, 3,
				fmt.Sprintf("ticket_lock.n%[1]d,hand_over.n%[1]d,hand_time.n%[1]d", info.Node))
		}
	}
	l.casBuf = make([]rdma.Ptr, len(infos))
	for i, info := range infos {
		l.casBuf[i] = s.Alloc(info.Node, 1, descLabel(info.ID)) // the thread's CAS buffer
	}
	return l, nil
}

// Acquire is try_lock_addr.
func (l *hocl) Acquire(t rdma.Thread) {
	if l.acquireLocal(t) {
		return // handed over: the node still holds the global lock
	}
	tag := uint64(t.ID()) + 1
	for t.RCAS(l.lock, 0, tag) != 0 {
		t.Pause()
	}
}

// acquireLocal is acquire_local_lock: it reports whether the lock was handed over.
func (l *hocl) acquireLocal(t rdma.Thread) bool {
	n := l.local[t.Node()]
	v := t.FAA(n.Add(hoclTicket), 1)
	ticket, current := uint32(v), uint32(v>>32)
	for ticket != current {
		t.Pause()
		current = uint32(t.Load(n.Add(hoclTicket)) >> 32)
	}
	t.Store(n.Add(hoclHandTime), t.Load(n.Add(hoclHandTime))+1)
	return t.Load(n.Add(hoclHandOver)) != 0
}

// Release is unlock_addr (async).
func (l *hocl) Release(t rdma.Thread) {
	n := l.local[t.Node()]
	if l.canHandOver(t, n) {
		t.FAA(n.Add(hoclTicket), 1<<32) // releases_local_lock
		return
	}
	buf := l.casBuf[t.ID()]
	t.Store(buf, 0)
	if a, ok := asyncOf(t); ok {
		a.PostWrite(rdma.QPTo(l.home), l.lock, buf, 1, 0) // unsignaled: never waited for
	} else {
		t.RWrite(l.lock, 0)
	}
	t.FAA(n.Add(hoclTicket), 1<<32) // releases_local_lock
}

// canHandOver is can_hand_over.
func (l *hocl) canHandOver(t rdma.Thread, n rdma.Ptr) bool {
	v := t.Load(n.Add(hoclTicket))
	ticket, current := uint32(v), uint32(v>>32)
	handOver := false
	if ticket > current+1 { // someone waits behind this thread
		handOver = t.Load(n.Add(hoclHandTime)) < l.maxHandOver
	}
	var h uint64
	if handOver {
		h = 1
	}
	t.Store(n.Add(hoclHandOver), h)
	if !handOver {
		t.Store(n.Add(hoclHandTime), 0)
	}
	return handOver
}
