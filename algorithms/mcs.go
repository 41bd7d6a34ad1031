package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// mcsLock is the MCS queue lock (Mellor-Crummey & Scott, TOCS 1991) over RDMA.
//
// The tail word on the home holds the Ptr of the last waiter's descriptor, 0 when
// the lock is free. Each thread's descriptor [locked, next] lives on its own node:
// the thread initialises and spins on it with CPU operations, and its predecessor
// writes next and clears locked with RDMA WRITEs (the predecessor may be anywhere).
//
// In "mcs" every thread swaps and CASes the tail through the NIC (a remote swap is
// an RCAS loop; loopback for host threads). In "mcs-naive" threads classified local
// use CPU XCHG and CPU CAS on the tail instead. A host XCHG between the NIC's read
// and write of a remote thread's RCAS then leaves two threads with the same
// predecessor: if it was 0 both own the lock; otherwise one of the two writes to
// prev.next is lost and that thread waits for a hand-off that never arrives.
type mcsLock struct {
	tail rdma.Ptr
	desc []rdma.Ptr // by thread ID: the thread's descriptor, on its own node
	cpu  []bool     // by thread ID: the thread uses CPU atomics on the tail (naive variant, local threads)
}

const mcsDescWords = 2 // locked, next

func newMCS(s rdma.Setup, _ Options) (rdma.Lock, error) { return newMCSLock(s, false) }

func newMCSNaive(s rdma.Setup, _ Options) (rdma.Lock, error) { return newMCSLock(s, true) }

func newMCSLock(s rdma.Setup, naive bool) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("mcs: %w", err)
	}
	l := &mcsLock{tail: s.Alloc(s.Home(), 1, "tail")}
	l.desc = allocDescs(s, mcsDescWords)
	l.cpu = make([]bool, len(l.desc))
	if naive {
		l.cpu = localFlags(s)
	}
	return l, nil
}

func (l *mcsLock) Acquire(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.Store(d.Add(descNext), 0)
	t.Store(d.Add(descLocked), 1)
	var prev rdma.Ptr
	if l.cpu[t.ID()] {
		prev = rdma.Ptr(t.Swap(l.tail, uint64(d)))
	} else {
		prev = rdma.Ptr(rswap(t, l.tail, uint64(d)))
	}
	rdma.PassDoorway(t) // queued: from here on, served in order
	if prev == 0 {
		return
	}
	t.RWrite(prev.Add(descNext), uint64(d))
	for t.Load(d.Add(descLocked)) != 0 {
		t.Pause()
	}
}

func (l *mcsLock) Release(t rdma.Thread) {
	d := l.desc[t.ID()]
	next := t.Load(d.Add(descNext))
	if next == 0 {
		var old uint64
		if l.cpu[t.ID()] {
			old = t.CAS(l.tail, uint64(d), 0)
		} else {
			old = t.RCAS(l.tail, uint64(d), 0)
		}
		if old == uint64(d) {
			return // no successor: the lock is free
		}
		// A successor has swapped the tail but not yet linked itself in.
		for next = t.Load(d.Add(descNext)); next == 0; next = t.Load(d.Add(descNext)) {
			t.Pause()
		}
	}
	t.RWrite(rdma.Ptr(next).Add(descLocked), 0)
}
