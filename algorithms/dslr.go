package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// DSLR (SIGMOD'18): Yoon, Chowdhury, Mozafari, "Distributed Lock Management with
// RDMA: Decentralization without Starvation". Lamport's bakery over RDMA
// fetch-and-add: one FAA takes a ticket and returns the whole lock state, so a
// waiter knows its place in line without any CAS retries.
//
// Followed: the paper's Figure 3 (the lock object) and Algorithms 1–3
// (AcquireLock, HandleConflict, ReleaseLock) with Section 4.9 (counter resets),
// in exclusive mode; read alongside ShiftLock's re-implementation
// (github.com/thustorage/shiftlock, src/baselines/dslr.rs: DslrLock::acquire_ex,
// DslrLockGuard::release, DslrLock::recover). ShiftLock's version widens the
// object to 128 bits and uses masked extended atomics; this one keeps the
// paper's single 64-bit word and plain 64-bit FAA.
//
// The lock object L is one word on the home, four 16-bit fields, most
// significant first:
//
//	nX (63..48)  exclusive tickets released ("now serving")
//	nS (47..32)  shared tickets released
//	maxX (31..16) exclusive tickets handed out
//	maxS (15..0)  shared tickets handed out
//
// Acquire (Algorithm 1, exclusive): prev ← FA(L, maxX, 1). If a max field of prev
// has reached COUNT_MAX the object is frozen for a reset: undo with FA(L, maxX,
// -1) (an FAA of -2^16 modulo 2^64), back off, retry. If prev.maxX is
// COUNT_MAX-1 the thread took the last ticket of the generation and becomes the
// resetter: ResetFrom = {COUNT_MAX, prev.maxS, COUNT_MAX, prev.maxS}, the value
// L will hold once it has released and every bounced FA is undone. If prev.nX =
// prev.maxX and prev.nS = prev.maxS it holds the lock; otherwise it polls L with
// RDMA READ (Algorithm 2) until nX = prev.maxX and nS = prev.maxS, and fails
// (retries from the start) if the counters have passed its ticket. Release
// (Algorithm 3): FA(L, nX, 1); then the resetter repeats CAS(L, ResetFrom, 0)
// until it succeeds. Every thread, host threads included, uses verbs (loopback):
// DSLR's lock objects are only touched through the NIC, so no word mixes CPU and
// NIC atomics.
//
// Approximations:
//   - Exclusive mode only. Shared mode (FA on maxS, wait for nX only, release on
//     nS) is not modelled: the checker's workloads take the lock exclusively.
//   - COUNT_MAX is dslrCountMax = 3, not the paper's 2^15, so that the checker's
//     small runs (a handful of tickets) go through the reset path; the fields
//     stay 16 bits wide, so the bounced FAs (at most one per thread) never carry
//     into the next field, which is the paper's argument for 2^15.
//   - No leases, no timers: the lease check of Algorithm 3 line 1 (release only
//     within the lease) always passes, and the stall detection of Algorithms 1
//     and 2 (no change of nX/nS for two leases → CAS the counters past the stalled
//     tickets, or force a reset) never fires. The simulator has no clock and its
//     threads never fail; those paths repair crashed or overdue holders. The
//     "counters passed my ticket" check of Algorithm 2 is kept, though nothing
//     but a stall repair could trigger it.
//   - Waiting: the dynamic polling interval (wait_count × ω between READs) and
//     the random backoff after bouncing off a frozen object are both modelled as
//     READ + Pause, the latter until the object is no longer frozen. A retry that
//     would find the object still frozen only repeats the FA and its undo.
type dslr struct {
	lock      rdma.Ptr
	countMax  uint64
	resetFrom []uint64 // by thread ID: ResetFrom[tid, L]; 0 when the thread is not the resetter
}

// dslrCountMax is COUNT_MAX: the ticket at which a generation ends and the object
// is reset. The paper's is 2^15; see the approximations above.
const dslrCountMax = 3

// Field shifts of the lock object.
const (
	dslrMaxS  = 0
	dslrMaxX  = 16
	dslrNS    = 32
	dslrNX    = 48
	dslrField = 1<<16 - 1
)

func dslrGet(v uint64, shift uint) uint64 { return v >> shift & dslrField }

func dslrPack(nX, nS, maxX, maxS uint64) uint64 {
	return nX<<dslrNX | nS<<dslrNS | maxX<<dslrMaxX | maxS<<dslrMaxS
}

func newDSLR(s rdma.Setup, _ Options) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("dslr: %w", err)
	}
	return &dslr{
		lock:      s.Alloc(s.Home(), 1, "lock"),
		countMax:  dslrCountMax,
		resetFrom: make([]uint64, len(s.Threads())),
	}, nil
}

// frozen reports whether a max field of v has reached COUNT_MAX: the object
// waits for its reset and hands out no tickets.
func (l *dslr) frozen(v uint64) bool {
	return dslrGet(v, dslrMaxX) >= l.countMax || dslrGet(v, dslrMaxS) >= l.countMax
}

func (l *dslr) Acquire(t rdma.Thread) {
	id := t.ID()
	for {
		l.resetFrom[id] = 0
		prev := t.RFAA(l.lock, 1<<dslrMaxX)
		if l.frozen(prev) {
			t.RFAA(l.lock, ^uint64(1<<dslrMaxX-1)) // FA(L, maxX, -1), -2^16 mod 2^64: withdraw the ticket
			for l.frozen(t.RRead(l.lock)) {        // back off until the reset
				t.Pause()
			}
			continue
		}
		rdma.PassDoorway(t) // holds a ticket: served in ticket order from here
		maxX, maxS := dslrGet(prev, dslrMaxX), dslrGet(prev, dslrMaxS)
		if maxX == l.countMax-1 {
			l.resetFrom[id] = dslrPack(l.countMax, maxS, l.countMax, maxS)
		}
		if dslrGet(prev, dslrNX) == maxX && dslrGet(prev, dslrNS) == maxS {
			return
		}
		if l.handleConflict(t, maxX, maxS) {
			return
		}
	}
}

// handleConflict is Algorithm 2 for an exclusive ticket (maxX, maxS): poll L
// until the ticket is served (true), or until the counters have passed it
// (false: the acquire fails and is retried).
func (l *dslr) handleConflict(t rdma.Thread, maxX, maxS uint64) bool {
	for {
		val := t.RRead(l.lock)
		nX, nS := dslrGet(val, dslrNX), dslrGet(val, dslrNS)
		if maxX < nX || maxS < nS {
			return false
		}
		if nX == maxX && nS == maxS {
			return true
		}
		t.Pause()
	}
}

func (l *dslr) Release(t rdma.Thread) {
	id := t.ID()
	t.RFAA(l.lock, 1<<dslrNX)
	if rf := l.resetFrom[id]; rf != 0 {
		// Repeat CAS(L, ResetFrom, 0): it fails while a bounced FA is not yet undone.
		for t.RCAS(l.lock, rf, 0) != rf {
			t.Pause()
		}
		l.resetFrom[id] = 0
	}
}

// dslrBypassBound: tickets are served in FIFO order, so a thread that holds one
// waits through at most the n-1 tickets ahead of it (a thread bounced off a
// frozen object has not passed its doorway).
func dslrBypassBound(local, remote int, _ Options) int { return max(local+remote-1, 1) }
