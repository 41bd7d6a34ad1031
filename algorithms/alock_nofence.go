package algorithms

import "github.com/rdmasim/rdmasim/rdma"

// alockNoFence is ALock with one change, to show what the model says about it:
// the local leader announces itself in its Peterson step with a plain store to
// victim instead of an XCHG. Under sequential consistency that is the same
// thing. Under x86-TSO the store can wait in the store buffer while the leader
// reads r_tail, finds it 0 and enters, and then a remote leader that has
// enqueued and written victim meanwhile sees victim overwritten with "local" —
// the store-buffering pattern (litmus SB, SB-xchg) — so both enter.
//
// Everything else, the remote path and both releases, is ALock's.
type alockNoFence struct{ *alock }

func newALockNoFence(s rdma.Setup, o Options) (rdma.Lock, error) {
	l, err := newALock(s, o)
	if err != nil {
		return nil, err
	}
	return alockNoFence{l.(*alock)}, nil
}

func (l alockNoFence) Acquire(t rdma.Thread) {
	if !l.local[t.ID()] {
		l.acquireRemote(t)
		return
	}
	// ALock's acquireLocal, but for the store to victim.
	d := l.desc[t.ID()]
	t.Store(d.Add(descNext), 0)
	t.Store(d.Add(descLocked), 1)
	if prev := rdma.Ptr(t.Swap(l.lTail, uint64(d))); prev != 0 {
		t.Store(prev.Add(descNext), uint64(d))
		for t.Load(d.Add(descLocked)) != 0 {
			t.Pause()
		}
		if t.Load(d.Add(descBudget)) > 0 {
			return
		}
	}
	t.Store(d.Add(descBudget), l.budgetLocal)
	t.Store(l.victim, victimLocal) // a plain store: no store-load fence under TSO
	for t.Load(l.rTail) != 0 && t.Load(l.victim) == victimLocal {
		t.Pause()
	}
}
