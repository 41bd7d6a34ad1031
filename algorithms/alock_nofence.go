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
// Everything else is ALock's: it is ALock with alock.plainVictimStore set.
func newALockNoFence(s rdma.Setup, o Options) (rdma.Lock, error) {
	l, err := newALock(s, o)
	if err != nil {
		return nil, err
	}
	l.(*alock).plainVictimStore = true
	return l, nil
}
