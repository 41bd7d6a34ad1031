package checker

import (
	"fmt"
	"slices"

	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// Shrinking turns a violating execution into a shorter one that breaks the same
// property: delta debugging over its decision list.
//
// A decision is an index into the options enabled at that moment, so removing or
// changing one shifts the meaning of every later one. Edited lists are therefore
// replayed leniently (see lenient), and after every candidate that still fails the
// shrinker keeps the exact decision list that candidate's execution recorded, not
// the edited list: what it hands back is always a list [Replay] follows exactly.
// Besides the index view, the shrinker edits the same schedule as a list of thread
// steps (see byThread), where removing one entry removes one step of one thread
// and leaves the others' meaning alone; that view is what removes bystander
// threads.
//
// Length is measured in trace events of the recorded execution (what a reader
// sees), then in decisions, then in the sum of the picks; a candidate is kept only
// when it is shorter in that order, so shrinking never makes a counterexample
// longer and always terminates.

// DefaultShrinkRuns bounds the executions one shrink may run when the caller gives
// no bound (Shrink with maxRuns ≤ 0, and Campaign).
const DefaultShrinkRuns = 2000

// shrinkStepBudget bounds the simulated steps one shrink may spend over all its
// executions, whatever maxRuns says: a finding at a large step bound (a livelock)
// costs the bound in every candidate, and 2000 of those would take minutes. At a
// million or two recorded steps per second this is under a second.
const shrinkStepBudget = 1_000_000

// lenient replays an edited decision list. It follows the list as far as it goes:
// a pick out of range for the options now enabled becomes pick modulo their count
// (a negative pick counts as 0), and the recorded Of is ignored. Once the list is
// exhausted it always picks option 0, which is the lowest-numbered thread's first
// enabled event (options come ordered by thread, then by event, then early wakes),
// so an execution past the end of the list runs threads in id order.
type lenient struct {
	decisions []sim.Decision
	next      int
}

// Choose implements sim.Chooser.
func (l *lenient) Choose(options []sim.Option) int {
	if l.next >= len(l.decisions) {
		return 0
	}
	p := l.decisions[l.next].Pick
	l.next++
	if p < 0 {
		return 0
	}
	return p % len(options)
}

// byThread replays a schedule given as thread steps rather than indices: entry
// {Thread, K} picks the K-th (modulo their count) of the options of that thread
// now enabled; an entry whose thread has no option enabled is skipped. Removing
// an entry removes one step of one thread and leaves the meaning of the others
// intact, which index lists cannot do. Once the entries run out it picks option
// 0, as lenient does.
type byThread struct {
	steps []threadStep
	next  int
}

// threadStep names a choice by thread: the K-th option of Thread.
type threadStep struct {
	Thread int32
	K      int
}

// Choose implements sim.Chooser.
func (b *byThread) Choose(options []sim.Option) int {
	for b.next < len(b.steps) {
		st := b.steps[b.next]
		b.next++
		n := 0
		for _, o := range options {
			if o.Thread == st.Thread {
				n++
			}
		}
		if n == 0 {
			continue
		}
		k := max(st.K, 0) % n
		for i, o := range options {
			if o.Thread == st.Thread {
				if k == 0 {
					return i
				}
				k--
			}
		}
	}
	return 0
}

// stepRecorder passes choices through and notes each as a threadStep, so the
// shrinker has the thread view of every execution it keeps.
type stepRecorder struct {
	ch    sim.Chooser
	steps []threadStep
}

// Choose implements sim.Chooser.
func (r *stepRecorder) Choose(options []sim.Option) int {
	i := r.ch.Choose(options)
	if i < 0 || i >= len(options) {
		return i
	}
	k := 0
	for _, o := range options[:i] {
		if o.Thread == options[i].Thread {
			k++
		}
	}
	r.steps = append(r.steps, threadStep{Thread: options[i].Thread, K: k})
	return i
}

// shrinkLength orders candidates: trace events, then decisions, then the sum of
// the picks (so that a list of the same length with smaller picks is preferred;
// pick 0 is the lowest thread first).
type shrinkLength struct{ events, decisions, picks int }

func (a shrinkLength) less(b shrinkLength) bool {
	if a.events != b.events {
		return a.events < b.events
	}
	if a.decisions != b.decisions {
		return a.decisions < b.decisions
	}
	return a.picks < b.picks
}

func lengthOf(ex Execution) shrinkLength {
	l := shrinkLength{events: len(ex.Trace), decisions: len(ex.Decisions)}
	for _, d := range ex.Decisions {
		l.picks += d.Pick
	}
	return l
}

// shrinker holds the best candidate so far and the budget left.
type shrinker struct {
	w         *runner
	property  string
	runsMax   int
	runs      int
	stepsLeft int64
	err       error

	best      []sim.Decision // a strict list: exactly what the best execution recorded
	bestSteps []threadStep   // the same choices, by thread
	bestLen   shrinkLength
	finding   sim.Finding // the best execution's finding
}

// spent reports whether the shrinker may run no more executions.
func (s *shrinker) spent() bool {
	return s.err != nil || s.runs >= s.runsMax || s.stepsLeft <= 0
}

// run executes one candidate with its trace recorded.
func (s *shrinker) run(ch sim.Chooser) (Execution, []threadStep, bool) {
	if s.spent() {
		return Execution{}, nil, false
	}
	s.runs++
	rec := &stepRecorder{ch: ch}
	ex, err := s.w.execute(rec, true, nil)
	if err != nil {
		s.err = err
		return Execution{}, nil, false
	}
	s.stepsLeft -= int64(ex.Steps)
	return ex, rec.steps, true
}

// keep makes ex the best candidate.
func (s *shrinker) keep(ex Execution, steps []threadStep) {
	s.best, s.bestSteps = slices.Clone(ex.Decisions), steps
	s.bestLen, s.finding = lengthOf(ex), *ex.Finding
}

// try runs a candidate and keeps it if it breaks the property and is shorter
// than the best so far.
func (s *shrinker) try(ch sim.Chooser) bool {
	ex, steps, ok := s.run(ch)
	if !ok || ex.Finding == nil || ex.Finding.Property != s.property || !lengthOf(ex).less(s.bestLen) {
		return false
	}
	s.keep(ex, steps)
	return true
}

func (s *shrinker) tryDecisions(d []sim.Decision) bool { return s.try(&lenient{decisions: d}) }
func (s *shrinker) trySteps(st []threadStep) bool      { return s.try(&byThread{steps: st}) }

// truncate cuts the tail: first everything (the default schedule alone), then
// halves, quarters, … of the list, retrying a cut size after every success.
func (s *shrinker) truncate() bool {
	if len(s.best) > 0 && s.tryDecisions(nil) {
		return true
	}
	improved := false
	for k := len(s.best) / 2; k >= 1 && !s.spent(); {
		k = min(k, len(s.best))
		if s.tryDecisions(s.best[:len(s.best)-k]) {
			improved = true
			continue
		}
		k /= 2
	}
	return improved
}

// ddmin removes chunks of the list cur returns (the best candidate's, in one of
// its two views), replaying each candidate with try: n chunks, starting with
// halves; after a removal that keeps the failure it retries with one chunk
// fewer, and when no chunk can go it doubles n, down to single entries.
func ddmin[E any](s *shrinker, cur func() []E, try func([]E) bool) bool {
	improved := false
	for n := 2; len(cur()) > 0 && !s.spent(); {
		d := cur()
		n = min(n, len(d))
		size := (len(d) + n - 1) / n
		removed := false
		for lo := 0; lo < len(d) && !s.spent(); lo += size {
			if try(slices.Concat(d[:lo], d[min(lo+size, len(d)):])) {
				removed = true
				break
			}
		}
		if removed {
			improved = true
			n = max(n-1, 2)
			continue
		}
		if n >= len(d) {
			break
		}
		n = min(2*n, len(d))
	}
	return improved
}

// dropThreads removes every step of one thread from the thread view, thread by
// thread: a thread that plays no part in the failure then runs only when
// nothing else can.
func (s *shrinker) dropThreads() bool {
	improved := false
	for th := int32(0); int(th) < len(s.w.specs) && !s.spent(); th++ {
		cand := slices.DeleteFunc(slices.Clone(s.bestSteps), func(st threadStep) bool { return st.Thread == th })
		if len(cand) < len(s.bestSteps) && s.trySteps(cand) {
			improved = true
		}
	}
	return improved
}

// simplify tries every other pick at each decision, lowest first: a smaller pick
// is kept when the execution is no longer (it moves the list toward 0, the lowest
// thread first), a larger one only when the execution gets shorter.
func (s *shrinker) simplify() bool {
	improved := false
	for i := 0; i < len(s.best) && !s.spent(); i++ {
		for p := 0; p < s.best[i].Of && !s.spent(); p++ {
			if p == s.best[i].Pick {
				continue
			}
			cand := slices.Clone(s.best)
			cand[i].Pick = p
			if s.tryDecisions(cand) {
				improved = true
				break
			}
		}
	}
	return improved
}

// shrinkResult is what a shrink found.
type shrinkResult struct {
	decisions    []sim.Decision
	runs         int
	finding      sim.Finding // of the shrunk execution
	eventsBefore int         // trace events of the execution of the input list
}

// shrink minimises decisions on w while the execution breaks property ("" means
// the property the input breaks). It fails if the input, replayed leniently, does
// not break the property.
func shrink(w *runner, decisions []sim.Decision, property string, runsMax int) (shrinkResult, error) {
	if runsMax <= 0 {
		runsMax = DefaultShrinkRuns
	}
	s := &shrinker{w: w, property: property, runsMax: runsMax, stepsLeft: shrinkStepBudget}
	ex, steps, ok := s.run(&lenient{decisions: decisions})
	if s.err != nil {
		return shrinkResult{}, s.err
	}
	if !ok || ex.Finding == nil || (property != "" && ex.Finding.Property != property) {
		want := property
		if want == "" {
			want = "any property"
		}
		return shrinkResult{}, fmt.Errorf("shrink: the decisions do not break %s (the execution found %v)", want, ex.Finding)
	}
	s.property = ex.Finding.Property
	s.keep(ex, steps)
	before := s.bestLen.events
	// The passes, to a fixpoint or until the budget is spent; cheap and coarse
	// first. Truncation often removes most of the list at once; dropping a
	// thread's steps removes a bystander whole; ddmin by thread removes steps
	// without disturbing the others, ddmin by index catches what shifting
	// indices happen to improve; simplify tries the other picks one by one.
	for !s.spent() {
		improved := s.truncate()
		improved = s.dropThreads() || improved
		improved = ddmin(s, func() []threadStep { return s.bestSteps }, s.trySteps) || improved
		improved = ddmin(s, func() []sim.Decision { return s.best }, s.tryDecisions) || improved
		improved = s.simplify() || improved
		if !improved {
			break
		}
	}
	if s.err != nil {
		return shrinkResult{}, s.err
	}
	return shrinkResult{decisions: s.best, runs: s.runs, finding: s.finding,
		eventsBefore: before}, nil
}

// Shrink minimises a violating decision list (delta debugging): it returns a
// decision list whose execution breaks the same property ("" means whatever
// property the input breaks) and is as short as the shrinker could make it, in
// trace events first, then in decisions. The result is exact: [Replay] follows it
// to the same finding. runs counts the executions spent; maxRuns bounds them
// (≤ 0: DefaultShrinkRuns), and so does a budget of simulated steps, so a shrink
// always ends within about a second.
//
// The input need not be exact: it is replayed leniently (a pick out of range is
// taken modulo the options enabled, and once the list runs out the lowest thread
// goes first), so a hand-edited list works too. The error reports a
// configuration problem, or an input that does not break the property.
func Shrink(cfg Config, wl workload.Workload, decisions []sim.Decision, property string, maxRuns int) (shrunk []sim.Decision, runs int, err error) {
	w, err := newRunner(cfg, wl)
	if err != nil {
		return nil, 0, err
	}
	r, err := shrink(w, decisions, property, maxRuns)
	return r.decisions, r.runs, err
}

// shrinkCounterexample replaces cx's decisions by shrunk ones and sets its
// finding to the shrunk execution's, and LengthBefore to the events of the
// execution it started from. Campaign.Run calls it before the recorded re-run.
func shrinkCounterexample(cfg Config, wl workload.Workload, cx *Counterexample) error {
	w, err := newRunner(cfg, wl)
	if err != nil {
		return err
	}
	r, err := shrink(w, cx.Decisions, cx.Finding.Property, DefaultShrinkRuns)
	if err != nil {
		return err
	}
	cx.Decisions, cx.Finding, cx.LengthBefore = r.decisions, r.finding, r.eventsBefore
	return nil
}
