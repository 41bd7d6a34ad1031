package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// ShiftLock (FAST'25): Jian Gao, Qing Wang, Jiwu Shu, "ShiftLock: Mitigate
// One-sided RDMA Lock Contention via Handover". Followed:
// github.com/thustorage/shiftlock, src/shiftlock/mod.rs — ShiftLockEntry (the
// 16-byte lock: a major word [mode:1, rdr_cnt:23, tail_node:16, tail_dct:24] and
// rel_cnt), ShiftLock::acquire_ex_trivial, ShiftLock::acquire_ex, poll_dct,
// wait_for_readers, ShiftLockGuard::release_ex and notify_succ, and the
// Notification enum (Handover, ModeChanged, Successor); MODE_CHANGE_THRESHOLD 16.
//
// The exclusive (writer) side of a reader-writer lock, which is all the checker's
// workload asks for. A writer first tries, at most twice, to take the free lock
// with one masked CAS (tail and rdr_cnt 0 → tail = itself). Failing that it
// appends itself to an MCS queue whose tail is the lock word's tail field (a
// masked CAS that swaps the tail field unconditionally and returns the old
// value). With a predecessor it tells it "Successor(me)" and waits for a
// notification: Handover — the lock is its, with the predecessor's count of
// consecutive writers; or ModeChanged — the lock went to the readers first, and
// it enters once rel_cnt reaches the expected value. The lock is thus handed from
// client to client and nobody retries a CAS on the lock word. A writer releases
// with a masked CAS that clears the tail if it is still the tail (flipping mode
// and setting rel_cnt to pred_rel_cnt+1); otherwise it waits for its successor's
// Successor message if none came yet and sends it Handover, or — after 16
// consecutive writers — first flips mode for the readers (masked CAS, rel_cnt
// +1) and sends ModeChanged.
//
// Memory: "major,rel_cnt" (2 words) on the home. Each thread's mailbox on its own
// node, desc.t<ID> = [hdr, rel, succ]: the receive buffers of its DCT (see below).
//
// Approximations (the model has neither extended atomics nor SEND/RECV):
//   - ExtCmpSwp, the 16-byte masked compare-and-swap of mlx5's extended atomics,
//     becomes extCAS: a loop of 8-byte RCAS on the major word that takes effect
//     exactly when the masked CAS would (a retry only when bits outside the
//     compare mask changed), plus, where the masked CAS writes rel_cnt, an RDMA
//     WRITE of rel_cnt after a successful CAS, and, where its result's rel_cnt is
//     used, an RDMA READ of rel_cnt. The two words are therefore not read or
//     written together; with writers only, rel_cnt decides nothing but the wait
//     after a ModeChanged, which this lock's own release writes.
//   - DCT SEND/RECV notifications become RDMA WRITEs into the receiver's
//     mailbox: Successor is one word (succ); Handover and ModeChanged write rel,
//     then hdr (the receive completion); the receiver polls its mailbox (poll_dct)
//     and clears a slot once it took the message (re-posting the receive).
//   - tail_node is the thread's node and tail_dct its ID+1 (a DCT number is
//     never 0); the address-handle cache is a table lookup.
//   - leases, RelCnt leaps, reset, era and failure recovery are left out (the
//     model has no clocks and no failures): every wait waits for ever; the
//     busy_wait between the two trivial attempts and COMPENSATE_NANOS are delays
//     and left out; shared (reader) acquisitions are not modelled.
type shiftLock struct {
	major, relCnt rdma.Ptr
	box           []rdma.Ptr // by thread ID: mailbox [hdr, rel, succ] on the thread's node
	node          []int      // by thread ID
	threshold     uint64     // MODE_CHANGE_THRESHOLD
	st            []shiftState
}

// shiftState is a ShiftLockGuard's exclusive state (LockType::Exclusive and mode),
// and the last major word the thread saw (the guess extCAS starts from).
type shiftState struct {
	consWrt, predRel, succ uint64
	mode                   uint64
	seen                   uint64
}

// Fields of the major word.
const (
	shiftMode    = 1
	shiftRdrMask = 1<<24 - 2
	shiftTail    = ^uint64(1<<24 - 1) // tail_node (bits 24..39) and tail_dct (40..63)
)

// Mailbox words and notification kinds.
const (
	shiftBoxHdr      = 0 // kind | mode<<8 | cons_wrt_cnt<<16; 0: no message
	shiftBoxRel      = 1 // pred_rel_cnt (Handover) or expected_rel_cnt (ModeChanged)
	shiftBoxSucc     = 2 // the successor's tail bits; 0: no message
	shiftBoxWords    = 3
	shiftHandover    = 1
	shiftModeChanged = 2
)

// ShiftLockModeChangeThreshold is MODE_CHANGE_THRESHOLD: after this many
// consecutive writers a releasing writer hands the lock to the readers first.
const ShiftLockModeChangeThreshold = 16

func newShiftLock(s rdma.Setup, _ Options) (rdma.Lock, error) {
	return newShiftLockThreshold(s, ShiftLockModeChangeThreshold)
}

func newShiftLockThreshold(s rdma.Setup, threshold int) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("shiftlock: %w", err)
	}
	if threshold < 1 {
		return nil, fmt.Errorf("shiftlock: mode change threshold %d: want ≥ 1", threshold)
	}
	w := s.Alloc(s.Home(), 2, "major,rel_cnt")
	l := &shiftLock{major: w, relCnt: w.Add(1), threshold: uint64(threshold)}
	l.box = allocDescs(s, shiftBoxWords)
	for _, info := range s.Threads() {
		l.node = append(l.node, info.Node)
	}
	l.st = make([]shiftState, len(l.box))
	return l, nil
}

// tailOf is the tail field naming thread id: tail_node its node, tail_dct id+1.
func (l *shiftLock) tailOf(id int) uint64 {
	return uint64(l.node[id]&0xffff)<<24 | uint64(id+1)<<40
}

// threadOf is the thread a non-zero tail field names.
func threadOf(tail uint64) int { return int(tail>>40) - 1 }

// extCAS is the masked ExtCmpSwp on the major word, on 8-byte RCAS: where the
// word's bits under cmpMask equal cmp's, the bits under swapMask become swap's;
// it returns the value the word held when the operation took effect (or failed).
// It starts from guess and retries only while the guess was wrong and the masked
// compare still holds on the value actually there.
func (l *shiftLock) extCAS(t rdma.Thread, guess, cmpMask, cmp, swapMask, swap uint64) uint64 {
	cur := guess
	for {
		next := cur
		if cur&cmpMask == cmp&cmpMask {
			next = cur&^swapMask | swap&swapMask
		}
		old := t.RCAS(l.major, cur, next)
		l.st[t.ID()].seen = old
		if old == cur || old&cmpMask != cmp&cmpMask {
			return old
		}
		cur = old
	}
}

func (l *shiftLock) Acquire(t rdma.Thread) {
	id := t.ID()
	st := &l.st[id]
	me := l.tailOf(id)
	box := l.box[id]
	// acquire_ex_trivial: at most two masked CAS (rdr_cnt, tail 0 → tail me).
	for range 2 {
		old := l.extCAS(t, st.seen&shiftMode, shiftRdrMask|shiftTail, 0, shiftRdrMask|shiftTail, me)
		if old&(shiftRdrMask|shiftTail) == 0 {
			rdma.PassDoorway(t)
			*st = shiftState{predRel: t.RRead(l.relCnt), mode: old & shiftMode, seen: st.seen}
			return
		}
	}
	// Join the queue: swap the tail field (compare mask 0: always succeeds).
	entry := l.extCAS(t, st.seen, 0, 0, shiftTail, me)
	rdma.PassDoorway(t) // queued: from here on, served in order
	var succ uint64
	if pred := entry & shiftTail; pred != 0 {
		// Situation 1: tell the predecessor, then wait for its notification.
		t.RWrite(l.box[threadOf(pred)].Add(shiftBoxSucc), me)
		var hdr, rel uint64
		for {
			s, h, r := l.poll(t, box)
			if s != 0 {
				succ = s
			}
			if h != 0 {
				hdr, rel = h, r
				break
			}
			if s == 0 {
				t.Pause()
			}
		}
		mode := hdr >> 8 & 1
		if hdr&0xff == shiftHandover {
			*st = shiftState{consWrt: hdr >> 16, predRel: rel, succ: succ, mode: mode, seen: st.seen}
			return
		}
		// ModeChanged: mode is expected_mode, rel expected_rel_cnt.
		if s := l.waitForReaders(t, box, rel); s != 0 {
			succ = s
		}
		*st = shiftState{predRel: rel, succ: succ, mode: mode, seen: st.seen}
		return
	}
	rel := t.RRead(l.relCnt)
	if rdr := (entry & shiftRdrMask) >> 1; rdr != 0 {
		// Situation 2: readers hold the lock; wait until they have all left.
		rel += rdr
		succ = l.waitForReaders(t, box, rel)
	}
	// Situation 3 (and 2 after the wait): the lock is mine.
	*st = shiftState{predRel: rel, succ: succ, mode: entry & shiftMode, seen: st.seen}
}

// poll is poll_dct: it takes a Successor notification (s) and a notification
// from the predecessor (hdr, rel) from the thread's mailbox, if there are any.
func (l *shiftLock) poll(t rdma.Thread, box rdma.Ptr) (s, hdr, rel uint64) {
	if s = t.Load(box.Add(shiftBoxSucc)); s != 0 {
		t.Store(box.Add(shiftBoxSucc), 0)
	}
	if hdr = t.Load(box.Add(shiftBoxHdr)); hdr != 0 {
		rel = t.Load(box.Add(shiftBoxRel))
		t.Store(box.Add(shiftBoxHdr), 0)
	}
	return s, hdr, rel
}

// waitForReaders is wait_for_readers: READ rel_cnt until it reaches expected,
// taking a Successor notification meanwhile; it returns that successor, or 0.
func (l *shiftLock) waitForReaders(t rdma.Thread, box rdma.Ptr, expected uint64) uint64 {
	var succ uint64
	for t.RRead(l.relCnt) != expected {
		if s := t.Load(box.Add(shiftBoxSucc)); s != 0 {
			t.Store(box.Add(shiftBoxSucc), 0)
			succ = s
			continue
		}
		t.Pause()
	}
	return succ
}

// waitSucc waits for the Successor notification of a writer that has enqueued
// behind this one.
func (l *shiftLock) waitSucc(t rdma.Thread, box rdma.Ptr) uint64 {
	for {
		if s := t.Load(box.Add(shiftBoxSucc)); s != 0 {
			t.Store(box.Add(shiftBoxSucc), 0)
			return s
		}
		t.Pause()
	}
}

// notify is notify_succ: the message's rel word, then its header (the receive
// completion), into the successor's mailbox.
func (l *shiftLock) notify(t rdma.Thread, succ, hdr, rel uint64) {
	box := l.box[threadOf(succ)]
	t.RWrite(box.Add(shiftBoxRel), rel)
	t.RWrite(box.Add(shiftBoxHdr), hdr)
}

func (l *shiftLock) Release(t rdma.Thread) {
	id := t.ID()
	st := l.st[id]
	me := l.tailOf(id)
	box := l.box[id]
	cons := st.consWrt + 1
	if st.succ == 0 {
		// No successor known: clear the tail if it is still me, flip the mode,
		// rel_cnt = pred_rel_cnt+1.
		old := l.extCAS(t, st.mode|me, shiftTail, me, shiftMode|shiftTail, st.mode^1)
		if old&shiftTail == me {
			t.RWrite(l.relCnt, st.predRel+1)
			return
		}
	}
	succ := st.succ
	if cons < l.threshold {
		if succ == 0 {
			succ = l.waitSucc(t, box)
		}
		l.notify(t, succ, shiftHandover|st.mode<<8|cons<<16, st.predRel)
		return
	}
	// Hand the lock to the readers first: flip the mode, rel_cnt+1.
	old := l.extCAS(t, st.mode|me, shiftMode, st.mode, shiftMode, st.mode^1)
	if old&shiftMode != st.mode {
		return // interrupted by a recovery (none here)
	}
	t.RWrite(l.relCnt, st.predRel+1)
	if succ == 0 {
		succ = l.waitSucc(t, box)
	}
	rdr := (old & shiftRdrMask) >> 1
	l.notify(t, succ, shiftModeChanged|(st.mode^1)<<8, st.predRel+rdr+1)
}
