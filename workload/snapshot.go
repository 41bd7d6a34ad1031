package workload

import (
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
)

// RunState is a copy of a Run's monitor state, for a stateful search that
// comes back to a state it saved: the simulator replays every thread's
// operations to rebuild its coroutine, which marks again what it marked
// before, and then puts the monitors back as they were with LoadState.
//
// The copy covers the built-in monitors only; a program with monitors of its
// own (Program.Monitors) cannot be saved (Saveable).
type RunState struct {
	holders   []int
	entries   int
	waitFrom  []int
	maxBypass int
	words     []mixedWord
	returns   int
	pendingAt []int
	pendingOp []string
	clock     int64
	first     *Finding
	warnings  []Finding
	hist      []Op
	cur       []Op
}

// Saveable reports whether SaveState covers the run's whole state: no
// monitors of the program's own.
func (r *Run) Saveable() bool { return len(r.extra) == 0 }

// SaveState copies the run's monitor state into s, reusing its buffers.
func (r *Run) SaveState(s *RunState) {
	s.holders = append(s.holders[:0], r.mutex.holders...)
	s.entries, s.maxBypass = r.bypass.entries, r.bypass.max
	s.waitFrom = append(s.waitFrom[:0], r.bypass.waitFrom...)
	s.words = append(s.words[:0], r.mixed.words...)
	s.returns, s.clock, s.first = r.returns, r.clock, r.first
	s.pendingAt = append(s.pendingAt[:0], r.pendingAt...)
	s.pendingOp = append(s.pendingOp[:0], r.pendingOp...)
	s.warnings = append(s.warnings[:0], r.warnings...)
	s.hist = nil
	if r.hist != nil {
		s.hist = append(make([]Op, 0, len(r.hist)), r.hist...)
	}
	s.cur = s.cur[:0]
	if len(r.extra) > 0 { // (only their events carry it)
		for i := range r.threads {
			s.cur = append(s.cur, r.threads[i].cur)
		}
	}
}

// LoadState puts the run's monitor state back to s.
func (r *Run) LoadState(s *RunState) {
	r.mutex.holders = append(r.mutex.holders[:0], s.holders...)
	r.bypass.entries, r.bypass.max = s.entries, s.maxBypass
	r.bypass.waitFrom = append(r.bypass.waitFrom[:0], s.waitFrom...)
	r.mixed.words = append(r.mixed.words[:0], s.words...)
	if r.mixed.index != nil {
		// The index follows the words (kept only from mixedIndexAt words on).
		clear(r.mixed.index)
		if len(r.mixed.words) >= mixedIndexAt {
			for i := range r.mixed.words {
				r.mixed.index[r.mixed.words[i].addr] = i
			}
		}
	} else if len(r.mixed.words) >= mixedIndexAt {
		r.mixed.index = make(map[rdma.Ptr]int, 4*mixedIndexAt)
		for i := range r.mixed.words {
			r.mixed.index[r.mixed.words[i].addr] = i
		}
	}
	r.returns, r.clock, r.first = s.returns, s.clock, s.first
	r.pendingAt = append(r.pendingAt[:0], s.pendingAt...)
	r.pendingOp = append(r.pendingOp[:0], s.pendingOp...)
	r.warnings = append(r.warnings[:0], s.warnings...)
	if r.hist != nil {
		r.hist = append(r.hist[:0], s.hist...)
	}
	for i := range r.threads {
		if i < len(s.cur) {
			r.threads[i].cur = s.cur[i]
		}
	}
}

// Holders lists, by key, the thread in the critical section (-1: none).
func (r *Run) Holders() []int { return slices.Clone(r.mutex.holders) }

// rounder is implemented by the simulator's threads (sim.Thread.Round).
type rounder interface{ Round(key int) }

// Round tells the backend that the thread's state here depends on nothing but
// key: a workload calls it at the top of every repetition of its operations
// with the repetition's index, or with 0 if it repeats them until stopped
// (then every repetition starts alike). A stateful search equates the
// thread's arrivals at one key, which keeps earlier repetitions' results out
// of its states. Backends that do not care ignore it.
func (t *Thread) Round(key int) {
	if r, ok := t.Thread.(rounder); ok {
		r.Round(key)
	}
}

// Carry passes a retry loop's carried values to the backend (rdma.Carry).
func (t *Thread) Carry(vals ...uint64) { rdma.Carry(t.Thread, vals...) }

// Forget passes a lock's promise to the backend (rdma.Forget).
func (t *Thread) Forget(site string, keep ...uint64) { rdma.Forget(t.Thread, site, keep...) }

// PendingMask has bit i set when thread i has an operation pending (called,
// not returned); threads beyond 63 are not represented.
func (r *Run) PendingMask() uint64 {
	var m uint64
	for id, at := range r.pendingAt {
		if at >= 0 && id < 64 {
			m |= 1 << id
		}
	}
	return m
}

// PendingSince appends, by thread, the count of returns when the thread called
// the operation it has pending (-1: none). A thread whose entry changes from one
// moment to the next completed an operation in between.
func (r *Run) PendingSince(dst []int) []int { return append(dst[:0], r.pendingAt...) }

// ReleaseAll empties every critical section in the mutual-exclusion monitor:
// a stateful search calls it before replaying threads (whose entries would
// otherwise meet the holders of the state it comes from), and LoadState after.
func (r *Run) ReleaseAll() {
	for i := range r.mutex.holders {
		r.mutex.holders[i] = -1
	}
}
