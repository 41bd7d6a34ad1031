package checker

import (
	"fmt"

	"github.com/rdmasim/rdmasim/sim"
)

// stateGraph is the state graph a StateSearch records for starvation lassos:
// per state, the threads with an enabled step (early wakes do not count) and
// the threads with an operation pending; per transition, the thread that took
// it and the decision that picks it.
type stateGraph struct {
	index     map[uint64]int32
	enabled   []uint64
	pending   []uint64
	out       [][]gedge
	initSteps int
	avoid     uint64 // path: transitions in which these threads complete an operation are not taken
}

type gedge struct {
	to       int32
	thread   int32
	pick, of int32
	steps    int32  // engine steps the transition takes
	returned uint64 // threads that completed an operation in the transition
}

func newStateGraph() *stateGraph { return &stateGraph{index: map[uint64]int32{}} }

// node returns fp's index, and whether it is new.
func (g *stateGraph) node(fp uint64) (int32, bool) {
	if i, ok := g.index[fp]; ok {
		return i, false
	}
	i := int32(len(g.enabled))
	g.index[fp] = i
	g.enabled = append(g.enabled, 0)
	g.pending = append(g.pending, 0)
	g.out = append(g.out, nil)
	return i, true
}

// Lasso is a starvation counterexample of an endless workload (Acquires 0): a
// stem from the initial state, then a cycle that a weakly fair scheduler can
// repeat forever (every thread enabled throughout the cycle takes a step in
// it), in which Thread takes steps but never completes the operation it is in.
type Lasso struct {
	Thread      int
	Stem, Cycle []sim.Decision
	// StemSteps and CycleSteps are their lengths in steps; the counterexample
	// replays the stem and the cycle Repeats times, with the step bound set to
	// the sum, where the step bound reports the starving thread.
	StemSteps, CycleSteps, Repeats int
	Counterexample                 *Counterexample
}

// lassoRepeats is how many times a lasso's replay goes round its cycle.
const lassoRepeats = 3

// findLasso looks for a starvation lasso in g: for every thread t, the strongly
// connected components of the states where t has an operation pending; one in
// which t takes a step and every thread either takes a step or is disabled
// somewhere is a fair cycle (a closed walk through the whole component).
func (g *stateGraph) findLasso(threads int) *Lasso {
	for t := range threads {
		bit := uint64(1) << t
		in := func(v int32) bool { return g.pending[v]&bit != 0 }
		for _, comp := range g.sccs(in, bit) {
			if l := g.fairCycle(comp, t, threads, in); l != nil {
				return l
			}
		}
	}
	return nil
}

// sccs returns the strongly connected components (with at least one edge
// inside) of the subgraph of the states in(v) and the transitions in which no
// thread of mask completed an operation (Tarjan, iterative).
func (g *stateGraph) sccs(in func(int32) bool, mask uint64) [][]int32 {
	n := len(g.enabled)
	idx := make([]int32, n)
	low := make([]int32, n)
	on := make([]bool, n)
	for i := range idx {
		idx[i] = -1
	}
	var stack []int32
	var out [][]int32
	next := int32(0)
	type frame struct {
		v int32
		e int
	}
	for root := range int32(n) {
		if idx[root] >= 0 || !in(root) {
			continue
		}
		call := []frame{{v: root}}
		idx[root], low[root] = next, next
		next++
		stack = append(stack, root)
		on[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.e < len(g.out[v]) {
				ed := g.out[v][f.e]
				w := ed.to
				f.e++
				if !in(w) || ed.returned&mask != 0 {
					continue
				}
				if idx[w] < 0 {
					idx[w], low[w] = next, next
					next++
					stack = append(stack, w)
					on[w] = true
					call = append(call, frame{v: w})
				} else if on[w] {
					low[v] = min(low[v], idx[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == idx[v] {
				var comp []int32
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					on[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > 1 || g.selfLoop(v, mask) {
					out = append(out, comp)
				}
			}
		}
	}
	return out
}

func (g *stateGraph) selfLoop(v int32, mask uint64) bool {
	for _, e := range g.out[v] {
		if e.to == v && e.returned&mask == 0 {
			return true
		}
	}
	return false
}

// fairCycle builds the lasso of component comp for starving thread t, or nil
// if the component is not a fair starvation cycle.
func (g *stateGraph) fairCycle(comp []int32, t, threads int, in func(int32) bool) *Lasso {
	member := map[int32]bool{}
	for _, v := range comp {
		member[v] = true
	}
	type target struct {
		from int32
		e    int // edge index; -1: visit the state from
	}
	fires := make([]*target, threads)
	disabled := make([]int32, threads)
	for i := range disabled {
		disabled[i] = -1
	}
	tbit := uint64(1) << t
	for _, v := range comp {
		for i, e := range g.out[v] {
			if member[e.to] && e.returned&tbit == 0 && fires[e.thread] == nil {
				fires[e.thread] = &target{from: v, e: i}
			}
		}
		for u := range threads {
			if g.enabled[v]&(1<<u) == 0 && disabled[u] < 0 {
				disabled[u] = v
			}
		}
	}
	if fires[t] == nil {
		return nil
	}
	targets := []target{*fires[t]}
	for u := range threads {
		switch {
		case u == t:
		case fires[u] != nil:
			targets = append(targets, *fires[u])
		case disabled[u] >= 0:
			targets = append(targets, target{from: disabled[u], e: -1})
		default:
			return nil // u is enabled throughout and never goes: not fair
		}
	}
	// The stem: a shortest path from the initial state into the component.
	stem, s0 := g.path(0, func(v int32) bool { return member[v] }, func(int32) bool { return true })
	if stem == nil && !member[0] {
		return nil
	}
	if member[0] {
		s0 = 0
	}
	var cycle []gedge
	cur := s0
	inComp := func(v int32) bool { return member[v] }
	g.avoid = tbit
	defer func() { g.avoid = 0 }()
	for _, tg := range targets {
		p, end := g.path(cur, func(v int32) bool { return v == tg.from }, inComp)
		if p == nil && cur != tg.from {
			return nil
		}
		cycle = append(cycle, p...)
		cur = end
		if cur != tg.from {
			cur = tg.from
		}
		if tg.e >= 0 {
			e := g.out[tg.from][tg.e]
			cycle = append(cycle, e)
			cur = e.to
		}
	}
	back, _ := g.path(cur, func(v int32) bool { return v == s0 }, inComp)
	g.avoid = 0
	if back == nil && cur != s0 {
		return nil
	}
	cycle = append(cycle, back...)
	l := &Lasso{Thread: t, Repeats: lassoRepeats, StemSteps: g.initSteps}
	for _, e := range stem {
		l.StemSteps += int(e.steps)
		if e.of > 1 {
			l.Stem = append(l.Stem, sim.Decision{Pick: int(e.pick), Of: int(e.of)})
		}
	}
	for _, e := range cycle {
		l.CycleSteps += int(e.steps)
		if e.of > 1 {
			l.Cycle = append(l.Cycle, sim.Decision{Pick: int(e.pick), Of: int(e.of)})
		}
	}
	return l
}

// path is a shortest path (breadth-first) from a state to one with goal,
// through states with allowed; nil and from when from is already a goal.
func (g *stateGraph) path(from int32, goal, allowed func(int32) bool) ([]gedge, int32) {
	if goal(from) {
		return nil, from
	}
	type pred struct {
		v int32
		e gedge
	}
	prev := map[int32]pred{from: {v: -1}}
	queue := []int32{from}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range g.out[v] {
			if _, ok := prev[e.to]; ok || !allowed(e.to) || e.returned&g.avoid != 0 {
				continue
			}
			prev[e.to] = pred{v: v, e: e}
			if goal(e.to) {
				var p []gedge
				for w := e.to; w != from; w = prev[w].v {
					p = append(p, prev[w].e)
				}
				for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
					p[i], p[j] = p[j], p[i]
				}
				return p, e.to
			}
			queue = append(queue, e.to)
		}
	}
	return nil, from
}

// replayLasso replays l's stem and its cycle Repeats times, up to the step
// bound where the starving thread is reported.
func replayLasso(cfg Config, x StateSearch, l *Lasso) error {
	dec := append([]sim.Decision(nil), l.Stem...)
	for range l.Repeats {
		dec = append(dec, l.Cycle...)
	}
	cfg.StepBound = l.StemSteps + l.Repeats*l.CycleSteps
	cx, err := Replay(cfg, x.Workload, dec)
	if err != nil {
		return fmt.Errorf("states: the starvation lasso does not replay: %v", err)
	}
	if cx.Finding == nil {
		return fmt.Errorf("states: the starvation lasso replays without a finding")
	}
	l.Counterexample = &Counterexample{Finding: *cx.Finding, Decisions: dec, Execution: cx, LengthBefore: len(cx.Trace)}
	return nil
}
