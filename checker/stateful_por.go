package checker

import (
	"errors"
	"fmt"

	"slices"
	"time"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// Partial-order reduction for the stateful search (StateSearch.POR).
//
// The search is a depth-first search over states with dynamic partial-order
// reduction in the style of Flanagan and Godefroid (POPL'05): at a new state
// it fires the steps of one thread only; every step it fires is compared with
// the steps on the stack, and where an earlier step of another thread is
// dependent on it and does not happen before it, the step's thread (or, if it
// had no step there, every thread) is scheduled at the earlier state.
//
// State caching meets the reduction where the search reaches a state it
// stored before: the steps explored below that state were chosen for the
// path that first reached it, and may race with the steps of the path that
// reaches it now. So, as in Yang et al.'s stateful DPOR (SPIN'08), every
// stored state keeps a summary of the steps explored anywhere below it (per
// thread, the words they read, wrote and locked), and a state reached again
// is treated as if all of those steps followed: each that is dependent on a
// step on the stack of another thread schedules its thread there (at every
// such step, not only the latest: a summary keeps no happens-before). This is
// sound for an acyclic state space, which every bounded workload has (each
// step that is not a spin iteration that parks lengthens some thread's
// history); a cycle, met as a state reached again while it is still on the
// stack, stops the search with an error rather than risk a hidden state.
//
// Two steps are dependent when they touch the same word and one writes it,
// when both take part in one word's NIC atomic lock, when both act on the
// mutual-exclusion monitor (a critical-section entry or exit: its verdict
// depends on their order), or when either is an early wake or a step of a
// thread woken early (whether that thread parks again depends on whether any
// word changed since its wake). A step's words include the words its thread's
// spin iteration has read (the engine decides on them whether it parks).

// fpWords is the footprint's size in 64-bit words: the search tells apart up
// to fpWords*64-1 memory words (the last bit is the global NIC atomic lock).
const fpWords = 4

const fpGlobalLock = fpWords*64 - 1

// footprint is what steps touched: words read, written and NIC-atomic-locked
// (by index), the mutual-exclusion monitor, and global (dependent on all).
type footprint struct {
	r, w, l     [fpWords]uint64
	mon, global bool
}

func (a *footprint) or(b *footprint) {
	for i := range fpWords {
		a.r[i] |= b.r[i]
		a.w[i] |= b.w[i]
		a.l[i] |= b.l[i]
	}
	a.mon = a.mon || b.mon
	a.global = a.global || b.global
}

func (a *footprint) empty() bool {
	if a.mon || a.global {
		return false
	}
	for i := range fpWords {
		if a.r[i]|a.w[i]|a.l[i] != 0 {
			return false
		}
	}
	return true
}

// dependent reports whether steps with footprints a and b may not commute.
func (a *footprint) dependent(b *footprint) bool {
	if a.global || b.global || (a.mon && b.mon) {
		return true
	}
	for i := range fpWords {
		if a.w[i]&(b.r[i]|b.w[i]) != 0 || b.w[i]&a.r[i] != 0 || a.l[i]&b.l[i] != 0 {
			return true
		}
	}
	return false
}

func setBit(b *[fpWords]uint64, i int) { b[i/64] |= 1 << (i % 64) }

// porFrame is a state on the stack of the reduced search.
type porFrame struct {
	opts []sim.Option
	// mark per option: 0 not to explore (yet), 1 scheduled, 2 explored.
	mark []uint8
	sn   *snap
	fp   uint64
	// sum: the steps explored below this state so far, per thread.
	sum []footprint
	// The step being explored from this state: its option, thread, footprint,
	// vector clock (per thread, the latest stack index of that thread's
	// steps that happen before it; -1 none), and the threads it woke.
	cur int
	th  int
	seq int // the operation the step belongs to (StateEngine.OpSeq)
	// acq: the step is a NIC atomic's read half, which waits for the word's
	// atomic lock; rel: its write half, which releases it; addr: the word.
	acq, rel bool
	addr     rdma.Ptr
	step     footprint
	clock    []int32
	woke     []int32
	steps    int
}

// summaries interns per-thread summaries: a stored state keeps an index.
type summaries struct {
	list  [][]footprint
	index map[string]uint32
	key   []byte
}

const sumInProgress = ^uint32(0)

func (s *summaries) intern(sum []footprint) uint32 {
	k := s.key[:0]
	for i := range sum {
		f := &sum[i]
		for j := range fpWords {
			k = appendU64(k, f.r[j])
			k = appendU64(k, f.w[j])
			k = appendU64(k, f.l[j])
		}
		k = append(k, byte(b2i(f.mon)|b2i(f.global)<<1))
	}
	s.key = k
	if id, ok := s.index[string(k)]; ok {
		return id
	}
	id := uint32(len(s.list))
	s.list = append(s.list, slices.Clone(sum))
	s.index[string(k)] = id
	return id
}

func appendU64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fpTable maps 64-bit fingerprints to a summary index (hash compaction, as
// visited; open addressing).
type fpTable struct {
	keys []uint64
	vals []uint32
	n    int64
	zero bool
	zv   uint32
}

func (t *fpTable) slot(fp uint64) int {
	mask := uint64(len(t.keys) - 1)
	for i := fp & mask; ; i = (i + 1) & mask {
		if t.keys[i] == fp || t.keys[i] == 0 {
			return int(i)
		}
	}
}

// get returns fp's value and whether fp is stored.
func (t *fpTable) get(fp uint64) (uint32, bool) {
	if fp == 0 {
		return t.zv, t.zero
	}
	if len(t.keys) == 0 {
		return 0, false
	}
	i := t.slot(fp)
	return t.vals[i], t.keys[i] == fp
}

func (t *fpTable) put(fp uint64, v uint32) {
	if fp == 0 {
		if !t.zero {
			t.n++
		}
		t.zero, t.zv = true, v
		return
	}
	if t.n*4 >= int64(len(t.keys))*3 {
		t.grow()
	}
	i := t.slot(fp)
	if t.keys[i] == 0 {
		t.keys[i] = fp
		t.n++
	}
	t.vals[i] = v
}

func (t *fpTable) grow() {
	ok, ov := t.keys, t.vals
	n := max(1<<16, 2*len(ok))
	t.keys, t.vals = make([]uint64, n), make([]uint32, n)
	for j, fp := range ok {
		if fp != 0 {
			i := t.slot(fp)
			t.keys[i], t.vals[i] = fp, ov[j]
		}
	}
}

func (t *fpTable) bytes() int64 { return int64(len(t.keys)) * 12 }

// runPOR is Run with partial-order reduction (see the comment at the top of
// this file): one worker, no shards, no lassos.
func (x StateSearch) runPOR() (StateReport, error) {
	start := time.Now()
	x.Config.Arbitration = "any"
	s, err := newStateSys(x.Config, x.Workload, x.FinalIgnore)
	if err != nil {
		return StateReport{}, err
	}
	defer s.stop()
	rep := StateReport{Config: x.Config, Reduced: true}
	nth := len(s.r.infos)
	var table fpTable
	sums := summaries{index: map[string]uint32{}}
	empty := sums.intern(make([]footprint, nth))
	finals := map[uint64]bool{}
	var stack []porFrame
	var pool []*snap
	var best []sim.Decision
	var bestFinding *sim.Finding
	peakSnaps := 0
	every := x.ProgressEvery
	if every <= 0 {
		every = 100_000
	}
	glob := x.Config.Scope == "glob"
	words := map[rdma.Ptr]int{}
	var wordErr error
	wordOf := func(p rdma.Ptr) int {
		i, ok := words[p]
		if !ok {
			i = len(words)
			if i >= fpGlobalLock {
				wordErr = fmt.Errorf("states: the reduction tells apart %d words, and this program touches more (run with the reduction off)", fpGlobalLock)
				i = fpGlobalLock - 1
			}
			words[p] = i
		}
		return i
	}
	var readScratch []rdma.Ptr

	// schedule marks thread th's options at frame f for exploration; a thread
	// with no step there (only an early wake, or none) schedules them all.
	schedule := func(f *porFrame, th int) {
		has := false
		for i, o := range f.opts {
			if int(o.Thread) == th && !o.Wake {
				has = true
				if f.mark[i] == 0 {
					f.mark[i] = 1
				}
			}
		}
		for i, o := range f.opts {
			if (has && int(o.Thread) == th) || !has {
				if f.mark[i] == 0 {
					f.mark[i] = 1
				}
			}
		}
	}

	push := func(opts []sim.Option, fp uint64) error {
		stack = append(stack, porFrame{})
		f := &stack[len(stack)-1]
		f.opts = append(f.opts[:0], opts...)
		f.mark = append(f.mark[:0], make([]uint8, len(opts))...)
		f.fp, f.cur, f.steps = fp, -1, s.eng.Steps()
		if cap(f.sum) >= nth {
			f.sum = f.sum[:nth]
			clear(f.sum)
		} else {
			f.sum = make([]footprint, nth)
		}
		schedule(f, s.eng.Owner(opts[0]))
		if len(opts) > 1 {
			if len(pool) == 0 {
				pool = append(pool, &snap{})
			}
			f.sn = pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			if err := s.save(f.sn); err != nil {
				return err
			}
		} else {
			f.sn = nil
		}
		rep.MaxDepth = max(rep.MaxDepth, len(stack))
		peakSnaps = max(peakSnaps, len(stack))
		return nil
	}

	// visit judges the state the engine is in: it returns its options when
	// it is new and not final, and the summary index of a stored state.
	visit := func() (opts []sim.Option, fp uint64, stored uint32, found bool, err error) {
		if err := s.eng.Err(); err != nil {
			return nil, 0, 0, false, err
		}
		fp = s.fingerprint()
		if id, ok := table.get(fp); ok {
			if id == sumInProgress {
				return nil, fp, 0, false, errors.New("states: the state space has a cycle (a state reached again while it is being explored), which the reduction does not cover (run with the reduction off)")
			}
			return nil, fp, id, false, nil
		}
		rep.States++
		if x.Progress != nil && rep.States%every == 0 {
			x.Progress(StateProgress{States: rep.States, Transitions: rep.Transitions, Elapsed: time.Since(start)})
		}
		f, end, opts := s.judge()
		if end {
			finals[s.finalFP()] = true
		}
		if f != nil {
			rep.count(f)
			if best == nil || f.Step < bestFinding.Step {
				best = porDecisions(stack)
				bestFinding = f
			}
			table.put(fp, empty)
			return nil, fp, empty, true, nil
		}
		if opts == nil {
			table.put(fp, empty)
			return nil, fp, empty, false, nil
		}
		table.put(fp, sumInProgress)
		return opts, fp, sumInProgress, false, nil
	}

	if err := s.fresh(true); err != nil {
		return rep, err
	}
	opts, fp, _, found, err := visit()
	if err != nil {
		return rep, err
	}
	if opts != nil {
		if err := push(opts, fp); err != nil {
			return rep, err
		}
	}
	stopped := found && x.StopAtFirst
	atTop := true
	var clockScratch []int32
	for len(stack) > 0 && !stopped {
		if x.MaxStates > 0 && rep.States >= x.MaxStates {
			break
		}
		if rep.Transitions&1023 == 0 && isClosed(x.Stop) {
			rep.Interrupted = true
			break
		}
		k := len(stack) - 1
		f := &stack[k]
		next := slices.Index(f.mark, 1)
		if next < 0 {
			// Every step scheduled here is explored: the state's summary is
			// final; its parent's subtree includes it.
			table.put(f.fp, sums.intern(f.sum))
			if k > 0 {
				p := &stack[k-1]
				for i := range f.sum {
					p.sum[i].or(&f.sum[i])
				}
			}
			if f.sn != nil {
				pool = append(pool, f.sn)
				f.sn = nil
			}
			stack = stack[:k]
			atTop = false
			continue
		}
		if !atTop {
			if err := s.restore(f.sn); err != nil {
				return rep, err
			}
		}
		f.mark[next] = 2
		f.cur = next
		o := f.opts[next]
		th := s.eng.Owner(o)
		f.th, f.seq = th, s.eng.OpSeq(th)
		f.acq, f.rel, f.addr = o.Lock && o.Ref == 0, o.Lock && o.Ref == 1, o.Addr
		st := &f.step
		*st = footprint{global: o.Wake || s.eng.EarlyWoken(th)}
		readScratch = s.eng.ReadSet(th, readScratch[:0])
		mon := s.run.MutexEvents()
		s.eng.Fire(o)
		rep.Transitions++
		if o.Addr != 0 {
			w := wordOf(o.Addr)
			if o.Write {
				setBit(&st.w, w)
			} else {
				setBit(&st.r, w)
			}
			if o.Lock {
				setBit(&st.l, w)
			}
			if glob && (o.Op == rdma.OpRCAS || o.Op == rdma.OpRFAA) {
				setBit(&st.l, fpGlobalLock)
			}
		}
		readScratch = s.eng.ReadSet(th, readScratch)
		for _, p := range readScratch {
			setBit(&st.r, wordOf(p))
		}
		st.mon = s.run.MutexEvents() != mon
		f.woke = append(f.woke[:0], s.eng.Woken()...)
		if wordErr != nil {
			return rep, wordErr
		}

		// Happens-before: the clock of th's previous step joined with the
		// steps that woke th since; the latest dependent step of another
		// thread that does not happen before is a race.
		clockScratch = porThreadClock(stack[:k], th, f.seq, nth, clockScratch)
		//
		// A NIC atomic's read half and the write half that released the
		// word's atomic lock are never enabled together (the read waits for
		// the release): no race, as in Flanagan and Godefroid's condition
		// that racing steps be co-enabled. The race is with the read half
		// that took the lock, further down.
		raced := false
		for j := k - 1; j >= 0; j-- {
			e := &stack[j]
			if e.th == th || !e.step.dependent(st) {
				continue
			}
			if f.acq && e.rel && e.addr == f.addr && !glob {
				continue
			}
			if !raced && clockScratch[e.th] < int32(j) {
				schedule(e, th)
				raced = true
			}
		}
		f.clock = append(f.clock[:0], clockScratch...)
		for j := k - 1; j >= 0; j-- {
			e := &stack[j]
			if e.th != th && e.step.dependent(st) {
				for q := range f.clock {
					f.clock[q] = max(f.clock[q], e.clock[q])
				}
			}
		}
		f.clock[th] = int32(k)
		// A write that woke a parked thread races with that thread's early
		// wake here (its iteration could have read before the write).
		for _, w := range f.woke {
			for i, o := range f.opts {
				if o.Wake && o.Thread == w && f.mark[i] == 0 {
					f.mark[i] = 1
				}
			}
		}
		f.sum[th].or(st)

		opts, fp, id, found, err := visit()
		if err != nil {
			return rep, err
		}
		if found && x.StopAtFirst {
			stopped = true
			break
		}
		if opts == nil {
			if id != empty {
				// A stored state: its explored steps may race with the stack.
				sum := sums.list[id]
				for p := range sum {
					if sum[p].empty() {
						continue
					}
					for j := k; j >= 0; j-- {
						e := &stack[j]
						if e.th != p && e.step.dependent(&sum[p]) {
							schedule(e, p)
						}
					}
					f.sum[p].or(&sum[p])
				}
			}
			atTop = false
			continue
		}
		if err := push(opts, fp); err != nil {
			return rep, err
		}
		atTop = true
	}
	rep.Complete = len(stack) == 0 && !rep.Interrupted && !stopped
	var seen visited
	rep.finish(finals, &seen, peakSnaps, start)
	rep.MemoryBytes += table.bytes() + int64(len(sums.list))*int64(nth)*int64(3*fpWords*8+2)
	if best != nil {
		cx, err := Replay(x.Config, x.Workload, best)
		if err != nil {
			return rep, fmt.Errorf("states: the violation does not replay: %v", err)
		}
		rep.Shortest = &Counterexample{Finding: *cx.Finding, Decisions: best, Execution: cx, LengthBefore: len(cx.Trace)}
	}
	return rep, nil
}

// porThreadClock is the vector clock of thread th's next step (of operation
// seq) before its dependencies on the stack: the clock of the thread's last
// step of an earlier operation (the words of one READ are unordered among
// themselves), joined with the clocks of the steps that woke it since.
func porThreadClock(stack []porFrame, th, seq, nth int, dst []int32) []int32 {
	dst = dst[:0]
	for range nth {
		dst = append(dst, -1)
	}
	for j := len(stack) - 1; j >= 0; j-- {
		e := &stack[j]
		if e.th == th && e.seq != seq {
			for q := range dst {
				dst[q] = max(dst[q], e.clock[q])
			}
			break
		}
		if slices.Contains(e.woke, int32(th)) {
			for q := range dst {
				dst[q] = max(dst[q], e.clock[q])
			}
			dst[e.th] = max(dst[e.th], int32(j))
		}
	}
	return dst
}

// porDecisions is the decision list of the path on the stack.
func porDecisions(stack []porFrame) []sim.Decision {
	var d []sim.Decision
	for _, f := range stack {
		if len(f.opts) > 1 {
			d = append(d, sim.Decision{Pick: f.cur, Of: len(f.opts)})
		}
	}
	return d
}
