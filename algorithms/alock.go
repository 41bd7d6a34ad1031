package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// ALock (SPAA'24): Baran, Nelson-Slivon, Tseng, Palmieri, "ALock: Asymmetric Lock
// Primitive for RDMA Systems".
//
// Two MCS queues share one lock. The local cohort (threads classified local) queues
// on l_tail with CPU atomics only; the remote cohort (every other thread) queues on
// r_tail with NIC atomics only. No word is ever the target of both kinds of atomic,
// so the atomicity gap between them cannot bite. The head of each queue — its
// cohort leader — then competes with the other cohort's leader by Peterson's
// algorithm, where the tails serve as the two flags (a cohort's tail is non-zero
// from the first enqueue of a turn to the last release) and a victim word says
// which cohort yields. Across the two domains only plain reads and writes are
// used: the local leader reads r_tail, the remote leader reads l_tail and victim
// in one RDMA READ, and each writes victim.
//
// Memory: one Alloc of 3 words on the home, labelled "r_tail,l_tail,victim", in
// that order, so that l_tail and victim are adjacent and the remote leader reads
// both in one READ (word by word, not a snapshot — as in the paper). Each thread's
// descriptor [locked, next, budget] is on its own node: on the home for a
// correctly classified local thread, so the local cohort touches its
// predecessor's and successor's descriptors with CPU operations; on the thread's
// node for a remote thread, whose cohort writes it with RDMA WRITE.
//
// # Budget encoding
//
// A descriptor's budget word, read by its owner once it holds the lock, is the
// number of critical sections its cohort may still run in the current turn, the
// owner's own included. A leader that wins the Peterson step sets it to B (B_L for
// the local cohort, B_R for the remote one). On release with a successor waiting,
// an owner with budget b > 1 hands the successor b-1, and the successor enters
// without the Peterson step; an owner with budget 1 hands the successor 0
// ("exhausted"), and the successor must run the Peterson step itself, which first
// sets victim to its own cohort and so lets a waiting leader of the other cohort
// in. So a cohort runs at most B critical sections back to back (B-1 in-cohort
// hand-offs) while the other cohort waits, and B = 1 sends every acquisition
// through Peterson's algorithm.
type alock struct {
	rTail, lTail, victim rdma.Ptr
	desc                 []rdma.Ptr // by thread ID: [locked, next, budget] on the thread's node
	local                []bool     // by thread ID: the thread is in the local cohort
	budgetLocal          uint64     // B_L ≥ 1
	budgetRemote         uint64     // B_R ≥ 1
	plainVictimStore     bool       // alock-nofence: the local Peterson write is a plain store
}

// Values of the victim word: the cohort that yields while both want the lock. 0
// (its initial value) names neither; every leader writes victim before reading it.
const (
	victimLocal  = 1
	victimRemote = 2
)

const alockDescWords = 3 // locked, next, budget

func newALock(s rdma.Setup, o Options) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("alock: %w", err)
	}
	bl, err := budget("BudgetLocal", o.BudgetLocal)
	if err != nil {
		return nil, err
	}
	br, err := budget("BudgetRemote", o.BudgetRemote)
	if err != nil {
		return nil, err
	}
	words := s.Alloc(s.Home(), 3, "r_tail,l_tail,victim")
	l := &alock{
		rTail:        words,
		lTail:        words.Add(1),
		victim:       words.Add(2),
		local:        localFlags(s),
		budgetLocal:  bl,
		budgetRemote: br,
	}
	l.desc = allocDescs(s, alockDescWords)
	return l, nil
}

// budget resolves a cohort budget option: 0 means DefaultBudget.
func budget(name string, b int) (uint64, error) {
	switch {
	case b < 0:
		return 0, fmt.Errorf("alock: %s is %d; a budget must be at least 1 (0 means %d)", name, b, DefaultBudget)
	case b == 0:
		return DefaultBudget, nil
	}
	return uint64(b), nil
}

// handOff is the budget an owner with budget b passes to its successor: b-1, or 0
// (exhausted) when b is 1. An owner's budget is never 0, but a corrupted one must
// not wrap around to a huge budget.
func handOff(b uint64) uint64 {
	if b > 1 {
		return b - 1
	}
	return 0
}

func (l *alock) Acquire(t rdma.Thread) {
	if l.local[t.ID()] {
		l.acquireLocal(t)
	} else {
		l.acquireRemote(t)
	}
}

func (l *alock) Release(t rdma.Thread) {
	if l.local[t.ID()] {
		l.releaseLocal(t)
	} else {
		l.releaseRemote(t)
	}
}

// acquireLocal is the local cohort's path: CPU operations only, on l_tail, victim,
// r_tail (read) and local descriptors.
func (l *alock) acquireLocal(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.Store(d.Add(descNext), 0)
	t.Store(d.Add(descLocked), 1)
	prev := rdma.Ptr(t.Swap(l.lTail, uint64(d)))
	rdma.PassDoorway(t) // queued in the local cohort
	if prev != 0 {
		t.Store(prev.Add(descNext), uint64(d)) // prev is a local descriptor, on the home
		for t.Load(d.Add(descLocked)) != 0 {
			t.Pause()
		}
		if t.Load(d.Add(descBudget)) > 0 {
			// Handed the lock within the cohort's turn. For a stateful
			// search: nothing read so far is used again.
			rdma.Forget(t, "alock: holds")
			return
		}
		// Exhausted: the lock was handed over, but this thread must let the
		// remote cohort in first, as a new leader.
	}
	// Leader: Peterson's step against the remote cohort, r_tail being its flag.
	t.Store(d.Add(descBudget), l.budgetLocal)
	// An XCHG, not a store, on purpose: on x86-TSO a locked instruction is a full
	// fence, so the reads of r_tail below cannot pass the write of victim.
	// (alock-nofence uses a plain store here, to show what breaks.)
	if l.plainVictimStore {
		t.Store(l.victim, victimLocal)
	} else {
		t.Swap(l.victim, victimLocal)
	}
	for t.Load(l.rTail) != 0 && t.Load(l.victim) == victimLocal {
		t.Pause()
	}
	rdma.Forget(t, "alock: holds")
}

func (l *alock) releaseLocal(t rdma.Thread) {
	d := l.desc[t.ID()]
	next := t.Load(d.Add(descNext))
	if next == 0 {
		if t.CAS(l.lTail, uint64(d), 0) == uint64(d) {
			return // the local cohort is empty: its flag is down
		}
		// A successor has swapped l_tail but not yet linked itself in.
		for next = t.Load(d.Add(descNext)); next == 0; next = t.Load(d.Add(descNext)) {
			t.Pause()
		}
	}
	n := rdma.Ptr(next)
	t.Store(n.Add(descBudget), handOff(t.Load(d.Add(descBudget))))
	t.Store(n.Add(descLocked), 0)
}

// acquireRemote is the remote cohort's path: NIC atomics only on r_tail, plain
// RDMA READ and WRITE on l_tail and victim, CPU operations only on the thread's
// own descriptor.
func (l *alock) acquireRemote(t rdma.Thread) {
	d := l.desc[t.ID()]
	t.Store(d.Add(descNext), 0)
	t.Store(d.Add(descLocked), 1)
	prev := rdma.Ptr(rswap(t, l.rTail, uint64(d)))
	rdma.PassDoorway(t) // queued in the remote cohort
	if prev != 0 {
		t.RWrite(prev.Add(descNext), uint64(d))
		for t.Load(d.Add(descLocked)) != 0 {
			t.Pause()
		}
		if t.Load(d.Add(descBudget)) > 0 {
			rdma.Forget(t, "alock: holds")
			return
		}
	}
	// Leader: Peterson's step against the local cohort, l_tail being its flag.
	t.Store(d.Add(descBudget), l.budgetRemote)
	t.RWrite(l.victim, victimRemote)
	// One READ of l_tail and victim (adjacent words). The NIC reads them one by
	// one, in no particular order: not a snapshot, deliberately, as in the paper.
	var two [2]uint64
	for {
		t.RReadN(l.lTail, two[:])
		if two[0] == 0 || two[1] != victimRemote {
			rdma.Forget(t, "alock: holds")
			return
		}
		t.Pause()
	}
}

func (l *alock) releaseRemote(t rdma.Thread) {
	d := l.desc[t.ID()]
	next := t.Load(d.Add(descNext))
	if next == 0 {
		if t.RCAS(l.rTail, uint64(d), 0) == uint64(d) {
			return // the remote cohort is empty: its flag is down
		}
		for next = t.Load(d.Add(descNext)); next == 0; next = t.Load(d.Add(descNext)) {
			t.Pause()
		}
	}
	n := rdma.Ptr(next)
	t.RWrite(n.Add(descBudget), handOff(t.Load(d.Add(descBudget))))
	t.RWrite(n.Add(descLocked), 0)
}
