package checker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/sim"
)

// sharedVisited is a visited set several workers share: fingerprints spread
// over independently locked stripes.
type sharedVisited struct {
	stripes [64]struct {
		mu sync.Mutex
		v  visited
		_  [48]byte // keep stripes on separate cache lines
	}
	full atomic.Bool // a compact stripe is 90 % full
}

// compact makes the stripes compact sets of bytes in all.
func (s *sharedVisited) compact(bytes int64) {
	for i := range s.stripes {
		s.stripes[i].v = compactVisited(bytes / int64(len(s.stripes)))
	}
}

func (s *sharedVisited) add(fp uint64) bool {
	st := &s.stripes[fp>>58]
	st.mu.Lock()
	ok := st.v.add(fp)
	if ok && st.v.overfull() {
		s.full.Store(true)
	}
	st.mu.Unlock()
	return ok
}

// omitted is the expected number of states lost to collisions so far.
func (s *sharedVisited) omitted() float64 {
	var v visited
	for i := range s.stripes {
		v.n += s.stripes[i].v.n
		v.probes += s.stripes[i].v.probes
	}
	return v.omitted()
}

func (s *sharedVisited) bytes() int64 {
	var n int64
	for i := range s.stripes {
		n += s.stripes[i].v.bytes()
	}
	return n
}

// workItem is a state handed from one worker to another: its saved state, its
// options and the next to fire, and the decisions that lead to it.
type workItem struct {
	sn     *snap
	opts   []sim.Option
	next   int
	prefix []sim.Decision
}

// parallelSearch is the shared state of a parallel StateSearch.
type parallelSearch struct {
	x       StateSearch
	seen    sharedVisited
	mu      sync.Mutex
	cond    *sync.Cond
	pool    []workItem
	idle    int
	waiting atomic.Int32 // workers waiting for work
	workers int
	done    bool
	err     error
	stopped atomic.Bool

	states, transitions atomic.Int64
	start               time.Time

	// Collected under mu.
	finals      map[uint64]bool
	findings    int
	kinds       map[string]int
	best        []sim.Decision
	bestFinding *sim.Finding
	peakSnaps   int
	maxDepth    int
}

// runParallel is Run with x.Workers goroutines sharing one visited set. Every
// state is stored once whoever finds it first and every stored state is
// expanded once, so states, transitions, final states and the verdict do not
// depend on the number of workers; which counterexample is shown may.
func (x StateSearch) runParallel() (StateReport, error) {
	s, err := x.system()
	p := &parallelSearch{x: x, workers: x.Workers, start: time.Now(), finals: map[uint64]bool{}}
	if x.VisitedBytes > 0 {
		p.seen.compact(x.VisitedBytes)
	}
	p.cond = sync.NewCond(&p.mu)
	if err != nil {
		return StateReport{}, err
	}
	if err := s.fresh(true); err != nil {
		return StateReport{}, err
	}
	w := &pworker{p: p, s: s}
	opts, err := w.visit(nil, nil)
	if err == nil && opts != nil {
		it := workItem{sn: &snap{}, opts: append([]sim.Option(nil), opts...)}
		if err = s.save(it.sn); err == nil {
			p.pool = append(p.pool, it)
		}
	}
	s.eng.Stop()
	if err != nil {
		return StateReport{}, err
	}
	var wg sync.WaitGroup
	for range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work()
		}()
	}
	wg.Wait()
	rep := StateReport{Config: x.Config, States: p.states.Load(), Transitions: p.transitions.Load(), Findings: p.findings, Kinds: p.kinds,
		MaxDepth: p.maxDepth}
	if p.err != nil {
		return rep, p.err
	}
	rep.Interrupted = p.stopped.Load() && x.Stop != nil && isClosed(x.Stop)
	rep.Complete = !p.stopped.Load()
	var seen visited
	rep.finish(p.finals, &seen, p.peakSnaps, p.start)
	rep.MemoryBytes += p.seen.bytes()
	if x.VisitedBytes > 0 {
		rep.OmittedEstimate, rep.VisitedFull = p.seen.omitted(), p.seen.full.Load()
	}
	if p.best != nil {
		cx, err := Replay(x.Config, x.Workload, p.best)
		if err != nil {
			return rep, err
		}
		rep.Shortest = &Counterexample{Finding: *cx.Finding, Decisions: p.best, Execution: cx, LengthBefore: len(cx.Trace)}
	}
	return rep, nil
}

// isClosed reports whether c is closed (a nil channel never is).
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// take returns the next work item; false when the search is over.
func (p *parallelSearch) take() (workItem, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.pool) == 0 && !p.done {
		p.idle++
		p.waiting.Add(1)
		if p.idle == p.workers {
			p.done = true
			p.cond.Broadcast()
			p.waiting.Add(-1)
			p.idle--
			break
		}
		p.cond.Wait()
		p.waiting.Add(-1)
		p.idle--
	}
	if p.done || p.stopped.Load() {
		return workItem{}, false
	}
	it := p.pool[len(p.pool)-1]
	p.pool = p.pool[:len(p.pool)-1]
	return it, true
}

func (p *parallelSearch) give(it workItem) {
	p.mu.Lock()
	p.pool = append(p.pool, it)
	p.cond.Signal()
	p.mu.Unlock()
}

func (p *parallelSearch) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.done = true
	p.stopped.Store(true)
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *parallelSearch) stop() {
	p.mu.Lock()
	p.done = true
	p.stopped.Store(true)
	p.cond.Broadcast()
	p.mu.Unlock()
}

// pworker is one worker: its own program, model and engine.
type pworker struct {
	p      *parallelSearch
	s      *stateSys
	stack  []dfsFrame
	prefix []sim.Decision
	pool   []*snap
	finals map[uint64]bool
}

func (p *parallelSearch) work() {
	// p.x already has its arbitration set (runParallel): the workers only
	// read it.
	s, err := newStateSys(p.x.Config, p.x.Workload, p.x.FinalIgnore)
	if err == nil {
		err = s.fresh(true)
	}
	if err != nil {
		p.fail(err)
		return
	}
	w := &pworker{p: p, s: s, finals: map[uint64]bool{}}
	defer func() {
		s.eng.Stop()
		p.mu.Lock()
		for f := range w.finals {
			p.finals[f] = true
		}
		p.mu.Unlock()
	}()
	for {
		it, ok := p.take()
		if !ok {
			return
		}
		if err := w.explore(it); err != nil {
			p.fail(err)
			return
		}
	}
}

// visit judges the state the engine is in (reached from the path below it);
// it returns its options when the state is new and not final.
func (w *pworker) visit(stack []dfsFrame, prefix []sim.Decision) ([]sim.Option, error) {
	p, s := w.p, w.s
	if err := s.eng.Err(); err != nil {
		return nil, err
	}
	if !p.seen.add(s.fingerprint()) {
		return nil, nil
	}
	n := p.states.Add(1)
	if p.x.Progress != nil && p.x.ProgressEvery > 0 && n%p.x.ProgressEvery == 0 {
		p.mu.Lock()
		p.x.Progress(StateProgress{States: n, Transitions: p.transitions.Load(), Elapsed: time.Since(p.start)})
		p.mu.Unlock()
	}
	if p.x.MaxStates > 0 && n >= p.x.MaxStates || p.seen.full.Load() {
		p.stop()
	}
	f, end, opts, err := s.judge()
	if err != nil {
		return nil, err
	}
	if end {
		if w.finals == nil {
			p.mu.Lock()
			p.finals[s.finalFP()] = true
			p.mu.Unlock()
		} else {
			w.finals[s.finalFP()] = true
		}
	}
	if f != nil {
		p.mu.Lock()
		p.findings++
		if p.kinds == nil {
			p.kinds = map[string]int{}
		}
		p.kinds[f.Property]++
		if p.best == nil || f.Step < p.bestFinding.Step {
			p.best = append(append(append([]sim.Decision(nil), prefix...), decisionsOf(stack)...), s.tail...)
			p.bestFinding = f
		}
		p.mu.Unlock()
		if p.x.StopAtFirst {
			p.stop()
		}
		return nil, nil
	}
	return opts, nil
}

// explore runs a depth-first search from a work item, handing its oldest
// unexplored alternatives to idle workers.
func (w *pworker) explore(it workItem) error {
	p, s := w.p, w.s
	s.restore(it.sn)
	w.stack = append(w.stack[:0], dfsFrame{opts: it.opts, next: it.next, sn: it.sn})
	w.prefix = it.prefix
	atTop := true
	for len(w.stack) > 0 {
		if p.stopped.Load() {
			return nil
		}
		if p.x.Stop != nil && p.transitions.Load()&1023 == 0 && isClosed(p.x.Stop) {
			p.stop()
			return nil
		}
		if p.waiting.Load() > 0 {
			w.split()
		}
		fr := &w.stack[len(w.stack)-1]
		if fr.next == len(fr.opts) || fr.given {
			if fr.sn != nil {
				w.pool = append(w.pool, fr.sn)
				fr.sn = nil
			}
			w.stack = w.stack[:len(w.stack)-1]
			atTop = false
			continue
		}
		if !atTop {
			s.restore(fr.sn)
		}
		o := fr.opts[fr.next]
		fr.next++
		s.eng.Fire(o)
		p.transitions.Add(1)
		opts, err := w.visit(w.stack, w.prefix)
		if err != nil {
			return err
		}
		if opts == nil {
			atTop = false
			continue
		}
		w.stack = append(w.stack, dfsFrame{opts: append([]sim.Option(nil), opts...)})
		nf := &w.stack[len(w.stack)-1]
		if len(opts) > 1 {
			if len(w.pool) == 0 {
				w.pool = append(w.pool, &snap{})
			}
			nf.sn = w.pool[len(w.pool)-1]
			w.pool = w.pool[:len(w.pool)-1]
			if err := s.save(nf.sn); err != nil {
				return err
			}
		}
		atTop = true
	}
	return nil
}

// split hands the oldest frame with options left to the pool.
func (w *pworker) split() {
	for k := range w.stack {
		fr := &w.stack[k]
		if fr.sn == nil || fr.given || fr.next >= len(fr.opts) || k == len(w.stack)-1 {
			continue
		}
		it := workItem{sn: fr.sn, opts: fr.opts, next: fr.next,
			prefix: append(append([]sim.Decision(nil), w.prefix...), decisionsOf(w.stack[:k])...)}
		fr.sn, fr.given = nil, true // its chosen option stays, for the decisions of the frames above
		w.p.give(it)
		return
	}
}
