package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// FARLock (OSDI'26): Hu, Zhou, Wang, Vora, "FARLock: Asymmetric RDMA Locking
// Made Fair". Followed: github.com/pdclab/farlock, include/locks/farlock.h
// (class FARLockHandler: LockLocal, UnlockLocal, LockRemote, UnlockRemote,
// LockPetersonsLocal/Remote, UnlockPetersonsLocal/Remote, WaitToGetTicket*,
// AwaitPredecessor*, AwaitTicket*), include/locks/common.h (kTrue, kLocalVictim,
// kRemoteVictim) and include/rdma/memory_pool.h (Read, Write, FetchAndAdd,
// CompareAndSwap, Exchange: every verb fenced and waited for). The paper itself
// (usenix.org/system/files/osdi26-hu-yuehao.pdf) could not be read here; the
// code is the source.
//
// A ticket lock whose tickets are taken in two cohorts, as in ALock. Local
// threads (classified local: pool_->IsLocal(lock)) queue on l_tail with CPU
// atomics, remote threads on r_tail with NIC atomics (Exchange is an RCAS loop
// starting from the guess 0). A queued thread waits until its cohort predecessor
// holds a ticket (it reads the predecessor's ticket, or waits for to_get_ticket),
// then takes one from next_ticket inside a Peterson lock between the two cohorts
// (flags l_flag and r_flag, and victim), hands the turn to take a ticket to its
// successor, waits for its predecessor's grant, and enters when current_ticket
// reaches its ticket. So tickets — and the lock — go in arrival order across
// cohorts. Release advances current_ticket (local: CPU FAA; remote: RDMA WRITE of
// ticket+1), then, as MCS, leaves the cohort queue or grants the successor once
// it has marked this descriptor releasable.
//
// next_ticket is the target of both CPU FAA (local) and RDMA FAA (remote): the
// design relies on the Peterson lock to keep those two apart, so the checker's
// mixed-atomicity warning is expected, and the lock is only as safe as its
// Peterson step.
//
// Memory: one Alloc of 7 words on the home, in the order of struct FARLock:
// r_tail, l_tail, r_flag, victim, l_flag, next_ticket, current_ticket. Each
// thread's descriptor [next, ticket, to_get_ticket, granted, releasable] on its own
// node; a remote thread also has its lock_buffer_ (words r_flag, victim of a
// local copy of the lock, labelled desc.t<ID>.lockbuf) from which its Peterson
// step writes r_flag and victim in one 2-word RDMA WRITE.
//
// Approximations:
//   - the remote Peterson READ of victim and l_flag is one 2-word READ (RReadN)
//     into registers, not into lock_buffer_ (the same READ; the buffer is then
//     only read back);
//   - std::atomic_thread_fence(acq_rel/acquire/release) compile to nothing on
//     x86 and are left out; seq_cst fences and seq_cst stores are Fence (a
//     seq_cst store is a store and a Fence); acquire loads and release stores are
//     plain Load and Store (x86-TSO gives them for free);
//   - local_descriptor_.ticket_ (a plain, non-volatile field) is read once;
//   - descriptors are 5 words, not cache-line padded structs; the lock is 7
//     words, not a padded cache line;
//   - on a backend that cannot post (no rdma.Async), the 2-word WRITE is two
//     RWrites in address order (the simulator always posts it).
type farlock struct {
	rTail, lTail, rFlag, victim, lFlag, nextTicket, curTicket rdma.Ptr
	desc                                                      []rdma.Ptr // by thread ID: [next, ticket, to_get_ticket, granted, releasable]
	buf                                                       []rdma.Ptr // by thread ID, remote threads: lock_buffer_'s r_flag, victim
	local                                                     []bool
}

// Descriptor words of FARLock (RemoteDescriptor and LocalDescriptor).
const (
	farNext        = 0
	farTicket      = 1
	farToGetTicket = 2
	farGranted     = 3
	farReleasable  = 4
	farDescWords   = 5
)

// FARLock's constants (common.h, farlock.h).
const (
	farTrue          = 1
	farLocalVictim   = 1
	farRemoteVictim  = 2
	farInvalidTicket = ^uint64(0) // kInvalidTicket = -1
)

func newFARLock(s rdma.Setup, _ Options) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("farlock: %w", err)
	}
	w := s.Alloc(s.Home(), 7, "r_tail,l_tail,r_flag,victim,l_flag,next_ticket,current_ticket")
	l := &farlock{
		rTail: w, lTail: w.Add(1), rFlag: w.Add(2), victim: w.Add(3), lFlag: w.Add(4),
		nextTicket: w.Add(5), curTicket: w.Add(6),
		local: localFlags(s),
	}
	l.desc = allocDescs(s, farDescWords)
	l.buf = make([]rdma.Ptr, len(l.desc))
	for i, info := range s.Threads() {
		if !info.Local {
			l.buf[i] = s.Alloc(info.Node, 2, descLabel(i)+".lockbuf")
		}
	}
	return l, nil
}

func (l *farlock) Acquire(t rdma.Thread) {
	if l.local[t.ID()] {
		l.lockLocal(t)
	} else {
		l.lockRemote(t)
	}
}

func (l *farlock) Release(t rdma.Thread) {
	if l.local[t.ID()] {
		l.unlockLocal(t)
	} else {
		l.unlockRemote(t)
	}
}

// lockLocal is LockLocal: CPU operations only.
func (l *farlock) lockLocal(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.Store(d.Add(farNext), 0)
	t.Store(d.Add(farTicket), farInvalidTicket)
	t.Store(d.Add(farToGetTicket), 0)
	t.Store(d.Add(farGranted), 0)
	t.Store(d.Add(farReleasable), 0)
	prev := rdma.Ptr(t.Swap(l.lTail, uint64(d)))
	if prev != 0 {
		t.Store(prev.Add(farNext), uint64(d)) // seq_cst store
		t.Fence()
		ticket := t.Load(prev.Add(farTicket))
		t.Store(prev.Add(farReleasable), farTrue)
		if ticket == farInvalidTicket {
			for t.Load(d.Add(farToGetTicket)) != farTrue { // WaitToGetTicketLocal
				t.Pause()
			}
		}
	}
	// LockPetersonsLocal.
	t.Store(l.lFlag, farTrue)
	t.Store(l.victim, farLocalVictim)
	t.Fence()
	for t.Load(l.rFlag) == farTrue && t.Load(l.victim) == farLocalVictim {
		t.Pause()
	}
	ticket := t.FAA(l.nextTicket, 1)
	rdma.PassDoorway(t)               // holds a ticket: served in ticket order from here on
	t.Store(l.lFlag, 0)               // UnlockPetersonsLocal
	t.Store(d.Add(farTicket), ticket) // seq_cst store
	t.Fence()
	if next := t.Load(d.Add(farNext)); next != 0 {
		t.Store(rdma.Ptr(next).Add(farToGetTicket), farTrue)
	}
	if prev != 0 {
		for t.Load(d.Add(farGranted)) != farTrue { // AwaitPredecessorLocal
			t.Pause()
		}
	}
	for t.Load(l.curTicket) != ticket { // AwaitTicketLocal
		t.Pause()
	}
}

// unlockLocal is UnlockLocal.
func (l *farlock) unlockLocal(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.FAA(l.curTicket, 1)
	if t.Load(d.Add(farNext)) == 0 {
		if t.CAS(l.lTail, uint64(d), 0) == uint64(d) {
			return
		}
	}
	for t.Load(d.Add(farReleasable)) != farTrue {
		t.Pause()
	}
	t.Store(rdma.Ptr(t.Load(d.Add(farNext))).Add(farGranted), farTrue)
}

// lockRemote is LockRemote: NIC atomics on r_tail and next_ticket, RDMA READ and
// WRITE on the rest of the lock and on other threads' descriptors, CPU
// operations on the thread's own descriptor and lock buffer.
func (l *farlock) lockRemote(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.Store(d.Add(farNext), 0)
	t.Store(d.Add(farTicket), farInvalidTicket)
	t.Store(d.Add(farToGetTicket), 0)
	t.Store(d.Add(farGranted), 0)
	t.Store(d.Add(farReleasable), 0)
	prev := rdma.Ptr(rexchange(t, l.rTail, uint64(d), 0))
	if prev != 0 {
		t.RWrite(prev.Add(farNext), uint64(d))
		t.Fence()
		ticket := t.RRead(prev.Add(farTicket))
		t.RWrite(prev.Add(farReleasable), farTrue)
		if ticket == farInvalidTicket {
			for t.Load(d.Add(farToGetTicket)) != farTrue { // WaitToGetTicketRemote
				t.Pause()
			}
		}
	}
	// LockPetersonsRemote: r_flag and victim in one 2-word WRITE from the lock
	// buffer; then victim and l_flag in one 2-word READ until the way is free.
	b := l.buf[t.ID()]
	t.Store(b, farTrue)
	t.Store(b.Add(1), farRemoteVictim)
	writeWords(t, l.rFlag, b, 2)
	var two [2]uint64 // victim, l_flag
	for {
		t.RReadN(l.victim, two[:])
		if two[1] != farTrue || two[0] != farRemoteVictim {
			break
		}
		t.Pause()
	}
	ticket := t.RFAA(l.nextTicket, 1)
	rdma.PassDoorway(t)
	t.RWrite(l.rFlag, 0) // UnlockPetersonsRemote
	t.Fence()
	t.Store(d.Add(farTicket), ticket)
	t.Fence()
	if next := t.Load(d.Add(farNext)); next != 0 {
		t.RWrite(rdma.Ptr(next).Add(farToGetTicket), farTrue)
	}
	if prev != 0 {
		for t.Load(d.Add(farGranted)) != farTrue { // AwaitPredecessorRemote
			t.Pause()
		}
	}
	for t.RRead(l.curTicket) != ticket { // AwaitTicketRemote
		t.Pause()
	}
}

// unlockRemote is UnlockRemote.
func (l *farlock) unlockRemote(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.RWrite(l.curTicket, t.Load(d.Add(farTicket))+1)
	if t.Load(d.Add(farNext)) == 0 {
		if t.RCAS(l.rTail, uint64(d), 0) == uint64(d) {
			return
		}
	}
	for t.Load(d.Add(farReleasable)) != farTrue {
		t.Pause()
	}
	t.RWrite(rdma.Ptr(t.Load(d.Add(farNext))).Add(farGranted), farTrue)
}

// rexchange is memory_pool.h's Exchange: an RDMA CAS of hint to v, repeated with
// the value it returned until it succeeds; it returns the value replaced. Unlike
// rswap it reads nothing first.
func rexchange(t rdma.Thread, p rdma.Ptr, v, hint uint64) uint64 {
	cur := hint
	for {
		old := t.RCAS(p, cur, v)
		if old == cur {
			return old
		}
		cur = old
	}
}

// farlockBypassBound: tickets are served in order and a thread holds at most one
// ticket at a time, so a thread that has taken its ticket (its doorway) waits
// through at most the n-1 tickets of the others taken before it.
func farlockBypassBound(local, remote int, _ Options) int { return max(local+remote-1, 1) }
