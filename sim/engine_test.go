package sim_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

// ---------------------------------------------------------------------------
// Helpers: running threads on the fake model (fake_test.go), enumerating every
// schedule.

func alloc(tb testing.TB, m *fake, node, words int, label string) rdma.Ptr {
	tb.Helper()
	p, err := m.AllocLabeled(node, words, label)
	if err != nil {
		tb.Fatalf("AllocLabeled(%d, %d, %q): %v", node, words, label, err)
	}
	return p
}

// names returns the trace names of threads on the given nodes: n<node>/t<index>.
func names(nodes []int) []string {
	out := make([]string, len(nodes))
	per := map[int]int{}
	for i, n := range nodes {
		out[i] = fmt.Sprintf("n%d/t%d", n, per[n])
		per[n]++
	}
	return out
}

// run runs body on one thread per entry of nodes (the node the thread lives on)
// with every choice made by c. A zero step bound becomes 10 000.
func run(m *fake, nodes []int, cfg sim.Config, c sim.Chooser, body func(t *sim.Thread)) sim.Result {
	specs := make([]sim.ThreadSpec, len(nodes))
	for i, name := range names(nodes) {
		specs[i] = sim.ThreadSpec{Node: nodes[i], Name: name}
	}
	if cfg.StepBound == 0 {
		cfg.StepBound = 10_000
	}
	return sim.New(m, cfg, specs, body).Run(c)
}

// enumerator is a chooser for exhaustive exploration: it follows a prefix of
// decisions, then picks the first candidate, and records every (pick, of) it
// made. With noWakes, early wakes are never chosen (unless nothing else is
// enabled), which turns the engine's early-wake mechanism off.
type enumerator struct {
	prefix   []int
	path     []sim.Decision
	noWakes  bool
	wakes    int // early-wake options offered
	diverged bool
	cand     []int
	bad      string // an invariant of the options offered that did not hold
}

func (x *enumerator) Choose(opts []sim.Option) int {
	x.cand = x.cand[:0]
	for i, o := range opts {
		if o.Wake {
			x.wakes++
			if o.Addr != 0 || o.Write || o.Op != rdma.OpNone {
				x.bad = fmt.Sprintf("wake option %+v", o)
			}
		} else if i > 0 && !opts[i-1].Wake && opts[i-1].Thread > o.Thread {
			x.bad = fmt.Sprintf("options not ordered by thread: %+v", opts)
		}
		if slices.Contains(opts[:i], o) {
			x.bad = fmt.Sprintf("option offered twice: %+v", opts)
		}
		if !x.noWakes || !o.Wake {
			x.cand = append(x.cand, i)
		}
	}
	if len(x.cand) == 0 {
		for i := range opts {
			x.cand = append(x.cand, i)
		}
	}
	if len(x.cand) == 1 {
		return x.cand[0] // not a choice
	}
	pick := 0
	if i := len(x.path); i < len(x.prefix) {
		pick = x.prefix[i]
	}
	if pick >= len(x.cand) {
		x.diverged, pick = true, 0
	}
	x.path = append(x.path, sim.Decision{Pick: pick, Of: len(x.cand)})
	return x.cand[pick]
}

// explore runs f once per schedule, every schedule exactly once (an odometer over
// the decision lists), and returns how often each outcome f reported was reached
// and how many executions there were. f must build a fresh execution each time.
func explore(tb testing.TB, noWakes bool, limit int, f func(c *enumerator) string) (map[string]int, int) {
	tb.Helper()
	outcomes := map[string]int{}
	var prefix []int
	for n := 1; ; n++ {
		if n > limit {
			tb.Fatalf("more than %d executions", limit)
		}
		x := &enumerator{prefix: prefix, noWakes: noWakes}
		outcomes[f(x)]++
		if x.bad != "" {
			tb.Fatalf("execution %d: %s", n, x.bad)
		}
		if x.diverged || len(x.path) < len(prefix) {
			tb.Fatalf("execution %d did not follow its prefix %v (path %v): nondeterminism", n, prefix, x.path)
		}
		j := len(x.path) - 1
		for j >= 0 && x.path[j].Pick+1 >= x.path[j].Of {
			j--
		}
		if j < 0 {
			return outcomes, n
		}
		prefix = make([]int, j+1)
		for k := range j {
			prefix[k] = x.path[k].Pick
		}
		prefix[j] = x.path[j].Pick + 1
	}
}

func keys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

func checkSet(t *testing.T, what string, got map[string]int, want ...string) {
	t.Helper()
	slices.Sort(want)
	if k := keys(got); !slices.Equal(k, want) {
		t.Errorf("%s: reachable outcomes\n  got  %q\n  want %q", what, k, want)
	}
}

func findingString(res sim.Result) string {
	if res.Finding != nil {
		return " FINDING " + res.Finding.String()
	}
	return ""
}

// ---------------------------------------------------------------------------
// Spin reduction: parking, exact deadlocks.

func TestSpinWithoutWriterIsDeadlock(t *testing.T) {
	// The spinner waits on flag, which nobody writes; the other thread writes an
	// unrelated word. Every schedule ends in the finding "deadlock" (the spinner
	// parked, nothing enabled), long before the step bound, and no early wake is
	// ever offered (no enabled write touches flag).
	out, n := explore(t, false, 1000, func(c *enumerator) string {
		m := newFake(t, 1)
		flag, z := alloc(t, m, 0, 1, "flag"), alloc(t, m, 0, 1, "z")
		res := run(m, []int{0, 0}, sim.Config{StepBound: 1000}, c, func(th *sim.Thread) {
			if th.ID() == 0 {
				for th.Load(flag) == 0 {
					th.Pause()
				}
				return
			}
			th.Store(z, 1)
			th.Store(z, 2)
		})
		if res.Steps > 10 {
			t.Errorf("%d steps: the spinner did not park", res.Steps)
		}
		if c.wakes != 0 {
			t.Errorf("%d early wakes offered for writes to an unrelated word", c.wakes)
		}
		return findingString(res)
	})
	checkSet(t, "spin on an unwritten flag", out,
		" FINDING deadlock: n0/t0 spins on [n0:0x40 /*flag*/=0]")
	if n < 2 {
		t.Errorf("%d executions: the test explores nothing", n)
	}
}

func TestLostHandOffIsDeadlock(t *testing.T) {
	// Two threads each wait for the other's flag: a deadlock naming both, with
	// what each of them spins on.
	m := newFake(t, 2)
	x, y := alloc(t, m, 0, 1, "x"), alloc(t, m, 0, 1, "y")
	res := run(m, []int{0, 1}, sim.Config{}, sim.NewRandom(1), func(th *sim.Thread) {
		if th.ID() == 0 {
			for th.Load(x) == 0 {
				th.Pause()
			}
			th.Store(y, 1)
			return
		}
		for th.RRead(y) == 0 {
			th.Pause()
		}
		th.RWrite(x, 1)
	})
	want := "deadlock: n0/t0 spins on [n0:0x40 /*x*/=0]; n1/t0 spins on [n0:0x48 /*y*/=0]"
	if res.Finding == nil || res.Finding.String() != want || res.Steps != 4 || res.Finding.Step != 4 {
		t.Errorf("finding %v after %d steps, want %s after 4", res.Finding, res.Steps, want)
	}
}

func TestSameValueWriteWakesNobody(t *testing.T) {
	// Writes that leave flag at 0 — a plain store of 0, a failed NIC CAS that
	// writes back what it read — wake nobody: every schedule still deadlocks.
	for _, c := range []struct {
		name  string
		node  int
		write func(th *sim.Thread, flag rdma.Ptr)
	}{
		{"store 0", 0, func(th *sim.Thread, flag rdma.Ptr) { th.Store(flag, 0) }},
		{"RWrite 0", 1, func(th *sim.Thread, flag rdma.Ptr) { th.RWrite(flag, 0) }},
		{"failed RCAS writes back", 1, func(th *sim.Thread, flag rdma.Ptr) { th.RCAS(flag, 7, 9) }},
		{"RFAA 0", 1, func(th *sim.Thread, flag rdma.Ptr) { th.RFAA(flag, 0) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := explore(t, false, 1000, func(ch *enumerator) string {
				m := newFake(t, 2)
				flag := alloc(t, m, 0, 1, "flag")
				res := run(m, []int{0, c.node}, sim.Config{StepBound: 1000}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						for th.Load(flag) == 0 {
							th.Pause()
						}
						return
					}
					c.write(th, flag)
				})
				if res.Steps > 10 {
					t.Errorf("%d steps: the spinner did not park", res.Steps)
				}
				return findingString(res)
			})
			checkSet(t, c.name, out, " FINDING deadlock: n0/t0 spins on [n0:0x40 /*flag*/=0]")
		})
	}
}

func TestSpinIterationWrites(t *testing.T) {
	// What a spin iteration writes decides whether it may park: a write of the
	// value already there (a store of the same value, a failed NIC CAS writing back
	// what it read) changes nothing and the thread parks; a real change keeps it
	// running. Nobody else ever writes flag or lock.
	for _, c := range []struct {
		name  string
		node  int
		body  func(th *sim.Thread, flag, z rdma.Ptr)
		steps int    // exact steps of the execution
		want  string // the finding
	}{
		{"same-value store", 0, func(th *sim.Thread, flag, z rdma.Ptr) {
			for th.Load(flag) == 0 {
				th.Store(z, 5) // changes z only the first time
				th.Pause()
			}
		}, 6, "deadlock: n0/t0 spins on [n0:0x40 /*flag*/=0]"},
		{"failed RCAS writes back", 1, func(th *sim.Thread, lock, _ rdma.Ptr) {
			for th.RCAS(lock, 0, 1) != 0 { // lock is 1 for ever
				th.Pause()
			}
		}, 3, "deadlock: n1/t0 spins on [n0:0x40 /*flag*/=1]"},
		{"value-changing store", 0, func(th *sim.Thread, flag, z rdma.Ptr) {
			for i := uint64(1); th.Load(flag) == 0; i++ {
				th.Store(z, i)
				th.Pause()
			}
		}, 300, "step bound"},
		{"value-changing RWrite", 1, func(th *sim.Thread, flag, z rdma.Ptr) {
			for i := uint64(1); th.RRead(flag) == 0; i++ {
				th.RWrite(z, i%2)
				th.Pause()
			}
		}, 300, "step bound"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newFake(t, 2)
			flag, z := alloc(t, m, 0, 1, "flag"), alloc(t, m, 0, 1, "z")
			if c.name == "failed RCAS writes back" {
				if err := m.Init(flag, 1); err != nil {
					t.Fatal(err)
				}
			}
			res := run(m, []int{c.node}, sim.Config{StepBound: 300}, sim.NewRandom(1), func(th *sim.Thread) { c.body(th, flag, z) })
			if res.Finding == nil || !strings.HasPrefix(res.Finding.String(), c.want) {
				t.Errorf("finding %v, want %s", res.Finding, c.want)
			}
			if res.Steps != c.steps {
				t.Errorf("%d steps, want %d", res.Steps, c.steps)
			}
		})
	}
}

func TestSpinParksUntilWritten(t *testing.T) {
	// With a writer, no schedule has a finding and every execution is short: the
	// spinner parks instead of spinning until the step bound.
	for _, c := range []struct {
		name  string
		node  int
		write func(th *sim.Thread, flag rdma.Ptr)
	}{
		{"CPU store", 0, func(th *sim.Thread, flag rdma.Ptr) { th.Store(flag, 1) }},
		{"RWrite", 1, func(th *sim.Thread, flag rdma.Ptr) { th.RWrite(flag, 1) }},
		{"RCAS", 1, func(th *sim.Thread, flag rdma.Ptr) { th.RCAS(flag, 0, 1) }},
		{"RFAA after noise", 1, func(th *sim.Thread, flag rdma.Ptr) {
			th.RWrite(flag, 0)
			th.RFAA(flag, 0)
			th.RFAA(flag, 1)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			maxSteps := 0
			out, n := explore(t, false, 10_000, func(ch *enumerator) string {
				m := newFake(t, 2)
				flag := alloc(t, m, 0, 1, "flag")
				var seen uint64
				res := run(m, []int{0, c.node}, sim.Config{StepBound: 1000}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						for seen = th.Load(flag); seen == 0; seen = th.Load(flag) {
							th.Pause()
						}
						return
					}
					c.write(th, flag)
				})
				maxSteps = max(maxSteps, res.Steps)
				return fmt.Sprintf("seen=%d", seen) + findingString(res)
			})
			checkSet(t, c.name, out, "seen=1")
			if maxSteps >= 50 {
				t.Errorf("an execution took %d steps: the spinner does not park", maxSteps)
			}
			if n > 500 {
				t.Errorf("%d executions: spinning is not reduced", n)
			}
		})
	}
}

// TestEarlyWakeAfterParking is the key soundness test of the early-wake mechanism
// (Engine.earlyWakes, Thread.stuttered, Thread.wokeAt in engine.go).
//
// W stores x=1 then y=1. R spins reading x then y. R observes "mixed" (x=0, y=1)
// only in an iteration that reads x before W's store to x and y after W's store
// to y: the iteration straddles both writes.
//
// In R's first iteration that is possible without any help. In a later iteration
// it is not, unless the engine resumes R early: a later iteration exists only if
// iteration 1 paused; if x or y changed during iteration 1, iteration 2 starts
// after W's store to x and reads x=1. Otherwise iteration 1 read x=0, y=0, R
// parked, and a plain wake happens only at W's store to x — too late to read x=0.
// So "mixed@2" (mixed seen in iteration 2, after R parked once) is reachable only
// through an early wake: while W's store to x is enabled, R may resume before it.
// Parking must not lose that behaviour of the real, unparked program (where R
// simply spins and can start iteration 2 at any moment).
//
// Without early wakes (the enumerator never picks them) mixed@2 is unreachable,
// which shows the test can fail. A third iteration never sees mixed: after an
// early-woken iteration that saw nothing new R stutters and is not woken early
// again until x changes.
func TestEarlyWakeAfterParking(t *testing.T) {
	explorer := func(noWakes bool) map[string]int {
		out, _ := explore(t, noWakes, 10_000, func(c *enumerator) string {
			m := newFake(t, 1)
			x, y := alloc(t, m, 0, 1, "x"), alloc(t, m, 0, 1, "y")
			outcome := ""
			res := run(m, []int{0, 0}, sim.Config{StepBound: 1000, Record: true}, c, func(th *sim.Thread) {
				if th.ID() == 1 {
					th.Store(x, 1)
					th.Store(y, 1)
					return
				}
				for i := 1; ; i++ {
					a := th.Load(x)
					b := th.Load(y)
					if a == 0 && b == 1 {
						outcome = fmt.Sprintf("mixed@%d", i)
						return
					}
					if a == 1 && b == 1 {
						outcome = "done"
						return
					}
					th.Pause()
				}
			})
			if outcome == "mixed@2" {
				// The trace shows how: R parked, then was woken early.
				var kinds []string
				for _, ev := range res.Trace {
					if ev.Thread == 0 && (ev.Kind == traces.Park || ev.Kind == traces.Wake) {
						kinds = append(kinds, ev.Kind.String()+":"+ev.Note)
					}
				}
				if len(kinds) != 2 || !strings.HasPrefix(kinds[0], "park") || !strings.HasPrefix(kinds[1], "wake:early") {
					t.Errorf("mixed@2 without park then early wake: %q", kinds)
				}
			}
			return outcome + findingString(res)
		})
		return out
	}
	checkSet(t, "with early wakes", explorer(false), "mixed@1", "mixed@2", "done")
	checkSet(t, "without early wakes", explorer(true), "mixed@1", "done")
}

// spinCase is a small program with one spinning reader (thread 0) that records
// what each of its iterations observed. pause ends a spin iteration and reports
// whether the thread may go on.
type spinCase struct {
	name  string
	nodes []int
	k     int // iterations of the reader in the unparked reference
	// needsWakes: some behaviour is lost without early wakes.
	needsWakes bool
	body       func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string))
}

// readXY is a reader that spins until it sees x and y both at want.
func readXY(want uint64) func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
	return func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
		for {
			a := th.Load(x)
			b := th.Load(y)
			observe(fmt.Sprintf("%d%d", a, b))
			if a == want && b == want || !pause() {
				return
			}
		}
	}
}

var spinCases = []spinCase{
	{name: "x,y twice", nodes: []int{0, 0}, k: 6, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				readXY(2)(th, x, y, pause, observe)
				return
			}
			th.Store(x, 1)
			th.Store(y, 1)
			th.Store(x, 2)
			th.Store(y, 2)
		}},
	{name: "read y then x", nodes: []int{0, 0}, k: 6, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				readXY(2)(th, y, x, pause, observe)
				return
			}
			th.Store(x, 1)
			th.Store(y, 1)
			th.Store(x, 2)
			th.Store(y, 2)
		}},
	{name: "NIC atomics write", nodes: []int{0, 1}, k: 5, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				readXY(1)(th, x, y, pause, observe)
				return
			}
			th.RFAA(x, 1)
			th.RCAS(y, 0, 1)
		}},
	{name: "RReadN reader", nodes: []int{1, 0}, k: 5, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				buf := make([]uint64, 2)
				for {
					th.RReadN(x, buf)
					observe(fmt.Sprintf("%d%d", buf[0], buf[1]))
					if buf[0] == 2 && buf[1] == 1 || !pause() {
						return
					}
				}
			}
			th.Store(x, 1)
			th.Store(y, 1)
			th.Store(x, 2)
		}},
	{name: "ABA", nodes: []int{0, 0}, k: 5, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				for {
					a := th.Load(x)
					b := th.Load(y)
					observe(fmt.Sprintf("%d%d", a, b))
					if b == 1 || !pause() {
						return
					}
				}
			}
			th.Store(x, 1)
			th.Store(x, 0)
			th.Store(y, 1)
		}},
	{name: "straddle at the second read", nodes: []int{0, 0}, k: 5, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			gate := y.Add(1) // never written: the early wake must look past it
			if th.ID() == 0 {
				for {
					th.Load(gate)
					a := th.Load(x)
					b := th.Load(y)
					observe(fmt.Sprintf("%d%d", a, b))
					if a == 1 && b == 1 || !pause() {
						return
					}
				}
			}
			th.Store(x, 1)
			th.Store(y, 1)
		}},
	{name: "two writers", nodes: []int{0, 0, 1}, k: 5,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			switch th.ID() {
			case 0:
				readXY(1)(th, x, y, pause, observe)
			case 1:
				th.Store(x, 1)
			default:
				th.RWrite(y, 1)
			}
		}},
	{name: "writer waits for a gate", nodes: []int{0, 0, 0}, k: 5, needsWakes: true,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			gate := y.Add(1)
			switch th.ID() {
			case 0:
				readXY(1)(th, x, y, pause, observe)
			case 1:
				for th.Load(gate) == 0 {
					if !pause() {
						return
					}
				}
				th.Store(x, 1)
				th.Store(y, 1)
			default:
				th.Store(gate, 1)
			}
		}},
}

// TestSpinReductionIsExact compares, for small programs, the behaviours of the
// reader under spin reduction (parking and early wakes) with those of the same
// program without any Pause, each spinner running at most k iterations: the
// sequences of observations (with consecutive repeats collapsed) must be the same
// sets. A missing sequence means parking lost a behaviour; an extra one means it
// invented one. (Each k was checked to be large enough: the reference sets do
// not grow at k+1.)

// runSpinCase runs one execution of a spin case under ch: with parked, the
// spinner calls Pause (spin reduction); without, it spins up to c.k iterations
// and the outcome is "gave up" if that was not enough.
func runSpinCase(t *testing.T, c spinCase, ch sim.Chooser, parked bool) (string, sim.Result) {
	m := newFake(t, 2)
	x := alloc(t, m, 0, 3, "x,y,gate")
	var seq []string
	gaveUp := false
	res := run(m, c.nodes, sim.Config{StepBound: 5000}, ch, func(th *sim.Thread) {
		iters := 0
		pause := func() bool {
			if parked {
				th.Pause()
				return true
			}
			iters++
			limit := c.k
			if th.ID() != 0 {
				// Other spinners only wait for one write: one
				// iteration that sees it suffices.
				limit = 2
			}
			if iters >= limit {
				gaveUp = true
				return false
			}
			return true
		}
		observe := func(s string) {
			if len(seq) == 0 || seq[len(seq)-1] != s {
				seq = append(seq, s)
			}
		}
		c.body(th, x, x.Add(1), pause, observe)
	})
	if gaveUp {
		return "gave up", res
	}
	return strings.Join(seq, ",") + findingString(res), res
}

// TestSpinReductionUnderDPOR: the reduced exhaustive exploration (source-DPOR
// with sleep sets, over parking and early wakes) reaches exactly the observation
// sequences that running every interleaving of the unreduced spin loops does.
func TestSpinReductionUnderDPOR(t *testing.T) {
	for _, c := range spinCases {
		t.Run(c.name, func(t *testing.T) {
			want, _ := explore(t, false, 200_000, func(ch *enumerator) string {
				outcome, _ := runSpinCase(t, c, ch, false)
				return outcome
			})
			delete(want, "gave up")
			got := map[string]int{}
			d := sim.NewDFS(sim.DFSOptions{POR: true, Preemptions: -1, MaxExecutions: 200_000})
			for d.Next() {
				outcome, res := runSpinCase(t, c, d, true)
				d.Done(res)
				if !res.Abandoned {
					got[outcome]++
				}
			}
			if d.Err() != nil || !d.Complete() {
				t.Fatalf("dfs: %v, complete %v", d.Err(), d.Complete())
			}
			if !slices.Equal(keys(got), keys(want)) {
				t.Errorf("observation sequences under DPOR\n  got  %q\n  want %q", keys(got), keys(want))
			}
			t.Logf("%d sequences; %d executions with DPOR and parking, %d pruned", len(want), d.Executions(), d.Pruned())
		})
	}
}

func TestSpinReductionIsExact(t *testing.T) {
	for _, c := range spinCases {
		t.Run(c.name, func(t *testing.T) {
			behaviours := func(parked, noWakes bool) map[string]int {
				out, _ := explore(t, noWakes, 200_000, func(ch *enumerator) string {
					outcome, _ := runSpinCase(t, c, ch, parked)
					return outcome
				})
				delete(out, "gave up")
				return out
			}
			want := behaviours(false, false)
			got := behaviours(true, false)
			if !slices.Equal(keys(got), keys(want)) {
				t.Errorf("observation sequences under spin reduction\n  got  %q\n  want %q", keys(got), keys(want))
			}
			lost := behaviours(true, true)
			for k := range lost {
				if _, ok := want[k]; !ok {
					t.Errorf("without early wakes, %s is reachable but not in the reference", k)
				}
			}
			if c.needsWakes == (len(lost) == len(want)) {
				t.Errorf("without early wakes %d of %d sequences are reachable; needsWakes = %v", len(lost), len(want), c.needsWakes)
			}
			if c.name == "x,y twice" {
				// Without early wakes, behaviours are lost: 11 then 12 needs
				// an iteration that starts before x=2 after R parked on (1,1).
				if _, ok := lost["00,11,12,22"]; ok {
					t.Errorf("without early wakes, 00,11,12,22 is reachable: the test cannot fail")
				}
				if _, ok := got["00,11,12,22"]; !ok {
					t.Errorf("00,11,12,22 unreachable")
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Step bound.

func TestStepBound(t *testing.T) {
	for _, c := range []struct {
		name string
		body func(th *sim.Thread, x rdma.Ptr)
	}{
		{"pause without reading", func(th *sim.Thread, x rdma.Ptr) {
			for {
				th.Pause()
			}
		}},
		{"write every iteration", func(th *sim.Thread, x rdma.Ptr) {
			for {
				th.Store(x, th.Load(x)+1)
				th.Pause()
			}
		}},
		{"NIC atomic every iteration", func(th *sim.Thread, x rdma.Ptr) {
			for {
				th.RFAA(x, 1)
				th.Pause()
			}
		}},
	} {
		for _, bound := range []int{99, 100, 101} {
			t.Run(fmt.Sprint(c.name, bound), func(t *testing.T) {
				m := newFake(t, 1)
				x := alloc(t, m, 0, 1, "x")
				res := run(m, []int{0}, sim.Config{StepBound: bound}, sim.NewRandom(1), func(th *sim.Thread) { c.body(th, x) })
				if res.Finding == nil || res.Finding.Property != "step bound" {
					t.Fatalf("finding %v, want step bound", res.Finding)
				}
				// The bound is exact: never a step more, whichever kind of step
				// (a fired event or a Pause) reaches it.
				if res.Steps != bound || res.Finding.Step != bound {
					t.Errorf("steps %d, finding at step %d; want %d", res.Steps, res.Finding.Step, bound)
				}
				if !strings.Contains(res.Finding.Message, "n0/t0") || !strings.Contains(res.Finding.Message, "steps without finishing") {
					t.Errorf("message %q does not name the thread", res.Finding.Message)
				}
				if got := m.Peek(x); c.name == "write every iteration" && (got < uint64(bound/3)-1 || got > uint64(bound/3)+1) {
					t.Errorf("x = %d after %d steps of Load, Store, Pause", got, res.Steps)
				}
			})
		}
	}
}

// TestTinyStepBoundStillSeesDeadlock: a Pause that parks is not cut short by the
// step bound, so a spin on a word nobody writes is a deadlock even when the bound
// is reached at that Pause.
func TestTinyStepBoundStillSeesDeadlock(t *testing.T) {
	for _, bound := range []int{2, 3, 10} {
		m := newFake(t, 1)
		flag := alloc(t, m, 0, 1, "flag")
		res := run(m, []int{0}, sim.Config{StepBound: bound}, sim.NewRandom(1), func(th *sim.Thread) {
			for th.Load(flag) == 0 {
				th.Pause()
			}
		})
		if res.Finding == nil || res.Finding.Property != "deadlock" {
			t.Errorf("bound %d: finding %v, want deadlock", bound, res.Finding)
		}
	}
}

// TestPCTMoreThreadsThanTold: a PCT chooser told of fewer threads than run is
// not a crash; the extra threads get priorities of their own.
func TestPCTMoreThreadsThanTold(t *testing.T) {
	m := newFake(t, 1)
	x := alloc(t, m, 0, 1, "x")
	res := run(m, []int{0, 0, 0}, sim.Config{}, sim.NewPCT(1, 1, 2, 10), func(th *sim.Thread) {
		th.FAA(x, 1)
		th.FAA(x, 1)
	})
	if res.Finding != nil || m.Peek(x) != 6 {
		t.Fatalf("finding %v, x = %d", res.Finding, m.Peek(x))
	}
}

// ---------------------------------------------------------------------------
// Panics, Alloc, Fail, misuse through the engine.

func TestPanicIsAFinding(t *testing.T) {
	for _, c := range []struct {
		name  string
		boom  func()
		value string
	}{
		{"panic", func() { panic("boom") }, "boom"},
		{"runtime error", func() {
			var s []int
			_ = s[3]
		}, "index out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, n := explore(t, false, 1000, func(ch *enumerator) string {
				m := newFake(t, 1)
				a := alloc(t, m, 0, 2, "a")
				unwound := 0
				res := run(m, []int{0, 0}, sim.Config{}, ch, func(th *sim.Thread) {
					defer func() { unwound++ }()
					if th.ID() == 0 {
						for i := range 4 {
							th.Store(a, uint64(i))
						}
						return
					}
					th.Store(a.Add(1), 1)
					c.boom()
				})
				// Run unwinds every thread it abandons: the deferred calls ran.
				if unwound != 2 {
					t.Errorf("%d threads unwound, want 2", unwound)
				}
				f := res.Finding
				if f == nil || f.Property != "panic" || !strings.Contains(f.Message, "n0/t1") || !strings.Contains(f.Message, c.value) {
					return "bad finding" + findingString(res)
				}
				return "panic"
			})
			checkSet(t, "panicking thread", out, "panic")
			if n != 5 {
				t.Errorf("%d executions, want 5 (the panic after any of the 4 stores, or before all)", n)
			}
		})
	}
}

func TestAllocFromThread(t *testing.T) {
	m := newFake(t, 2)
	pre := alloc(t, m, 1, 1, "pre")
	if err := m.Init(pre, 7); err != nil {
		t.Fatal(err)
	}
	var ptrs [2][]rdma.Ptr
	var vals [2][]uint64
	res := run(m, []int{1, 0}, sim.Config{}, sim.NewRandom(5), func(th *sim.Thread) {
		for _, words := range []int{3, 1, 2} {
			p := th.Alloc(words)
			ptrs[th.ID()] = append(ptrs[th.ID()], p)
			for i := range words {
				vals[th.ID()] = append(vals[th.ID()], th.Load(p.Add(i)))
				th.Store(p.Add(i), 100+uint64(i))
			}
		}
	})
	if res.Finding != nil {
		t.Fatal(res.Finding)
	}
	for id, node := range []int{1, 0} {
		var used []uint64 // word offsets
		for k, p := range ptrs[id] {
			words := []int{3, 1, 2}[k]
			if p.Node() != node || p.Offset()%rdma.WordBytes != 0 || p.Offset() < rdma.ReservedBytes {
				t.Errorf("thread %d: Alloc returned %v", id, p)
			}
			for i := range words {
				w := p.Offset()/rdma.WordBytes + uint64(i)
				if slices.Contains(used, w) || p.Add(i) == pre {
					t.Errorf("thread %d: word %v handed out twice", id, p.Add(i))
				}
				used = append(used, w)
				if got := m.Peek(p.Add(i)); got != 100+uint64(i) {
					t.Errorf("%v = %d, want %d", p.Add(i), got, 100+i)
				}
			}
			if l := m.Label(p); l != "" {
				t.Errorf("thread allocation labelled %q", l)
			}
		}
		for _, v := range vals[id] {
			if v != 0 {
				t.Errorf("thread %d: fresh words not zeroed: %v", id, vals[id])
			}
		}
	}
	if m.Peek(pre) != 7 {
		t.Errorf("an earlier allocation was overwritten")
	}
	if res.Steps != 24 {
		t.Errorf("%d steps, want 24: 12 loads and 12 stores (Alloc takes no step)", res.Steps)
	}
}

func TestAllocMisuse(t *testing.T) {
	for _, words := range []int{0, -1, fakeMaxAlloc + 1} {
		m := newFake(t, 1)
		res := run(m, []int{0}, sim.Config{}, sim.NewRandom(1), func(th *sim.Thread) { th.Alloc(words) })
		if res.Finding == nil || res.Finding.Property != "misuse" ||
			!strings.Contains(res.Finding.Message, fmt.Sprintf("n0/t0 Alloc(%d)", words)) {
			t.Errorf("Alloc(%d): finding %v", words, res.Finding)
		}
	}
}

// TestIssueMisuse: an operation the model refuses in Issue is the finding
// "misuse", named after the thread, at the step where it was issued; it is not
// executed, and nothing runs after it.
func TestIssueMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		op   func(th *sim.Thread, x, far rdma.Ptr)
		want string
	}{
		{"CPU store to another node", func(th *sim.Thread, x, far rdma.Ptr) { th.Store(far, 9) }, "n0/t0 CPU Store on n1:0x40"},
		{"CPU CAS on another node", func(th *sim.Thread, x, far rdma.Ptr) { th.CAS(far, 0, 9) }, "n0/t0 CPU CAS on n1:0x40"},
		{"unallocated", func(th *sim.Thread, x, far rdma.Ptr) { th.Store(x.Add(1), 9) }, "n0/t0 Store: n0:0x48: not an allocated word"},
		{"unaligned", func(th *sim.Thread, x, far rdma.Ptr) { th.RWrite(x+1, 9) }, "n0/t0 RWrite: n0:0x41: not an allocated word"},
		{"nil", func(th *sim.Thread, x, far rdma.Ptr) { th.Load(0) }, "n0/t0 Load: "},
		{"RReadN past the end", func(th *sim.Thread, x, far rdma.Ptr) { th.RReadN(far, make([]uint64, 2)) }, "n0/t0 RReadN: n1:0x40: not an allocated word"},
		{"RReadN of nothing", func(th *sim.Thread, x, far rdma.Ptr) { th.RReadN(far, nil) }, "n0/t0 RReadN of 0 words"},
		{"posted verb", func(th *sim.Thread, x, far rdma.Ptr) { th.PostWriteValue(rdma.QPTo(1), far, 9, 0) }, "n0/t0 RWrite: not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newFake(t, 2)
			x, far := alloc(t, m, 0, 1, "x"), alloc(t, m, 1, 1, "far")
			after := false
			res := run(m, []int{0}, sim.Config{}, sim.NewRandom(1), func(th *sim.Thread) {
				th.Store(x, 1)
				th.Store(x, 2)
				c.op(th, x, far)
				after = true
				th.Store(x, 3)
			})
			f := res.Finding
			if f == nil || f.Property != "misuse" || !strings.HasPrefix(f.Message, c.want) {
				t.Fatalf("finding %v, want misuse: %s…", f, c.want)
			}
			if f.Step != 2 || res.Steps != 2 || after || m.Peek(x) != 2 || m.Peek(far) != 0 {
				t.Errorf("finding at step %d of %d, ran on %v, x = %d, far = %d; want step 2 of 2, x = 2, far = 0",
					f.Step, res.Steps, after, m.Peek(x), m.Peek(far))
			}
		})
	}
}

func TestFail(t *testing.T) {
	m := newFake(t, 1)
	x := alloc(t, m, 0, 1, "x")
	res := run(m, []int{0, 0}, sim.Config{}, sim.NewRandom(2), func(th *sim.Thread) {
		if th.ID() == 1 {
			th.Fail("mutual exclusion", "%s and %s", "a", "b")
			th.Fail("other", "ignored: the first finding stands")
			th.Store(x, 1) // not executed: the execution stops
			return
		}
		th.Store(x, 2)
	})
	if res.Finding == nil || res.Finding.Property != "mutual exclusion" || res.Finding.Message != "a and b" {
		t.Fatalf("finding %v", res.Finding)
	}
	if res.Finding.String() != "mutual exclusion: a and b" {
		t.Errorf("String() = %q", res.Finding.String())
	}
	if m.Peek(x) == 1 {
		t.Error("the failing thread ran on")
	}
}

func TestEngineAccessors(t *testing.T) {
	m := newFake(t, 2)
	x := alloc(t, m, 0, 1, "x")
	specs := []sim.ThreadSpec{{Node: 0, Name: "host"}, {Node: 1, Name: "remote"}}
	var e *sim.Engine
	seen := map[string]int{}
	e = sim.New(m, sim.Config{Record: true}, specs, func(th *sim.Thread) {
		if th.Engine() != e || e.Threads()[th.ID()] != th {
			t.Error("Engine/Threads do not match")
		}
		seen[th.Name()] = th.Node()
		th.Mark("hello")
		th.RFAA(x, 1)
	})
	res := e.Run(sim.NewRandom(9))
	// 4 steps: each RFAA is a read step and a write step.
	if res.Finding != nil || e.Steps() != res.Steps || res.Steps != 4 {
		t.Errorf("finding %v, steps %d / %d", res.Finding, e.Steps(), res.Steps)
	}
	if !reflect.DeepEqual(seen, map[string]int{"host": 0, "remote": 1}) {
		t.Errorf("threads %v", seen)
	}
	marks := 0
	for _, ev := range res.Trace {
		if ev.Kind == traces.Mark && ev.Note == "hello" {
			marks++
		}
	}
	if marks != 2 {
		t.Errorf("%d marks in %v", marks, res.Trace)
	}
}

// ---------------------------------------------------------------------------
// Choosers: replay, PCT, determinism.

// lockProgram is a naive spinlock on node 0 (CPU CAS for the host thread, RCAS for
// the others) around a counter: a nontrivial execution with spinning, parking
// and NIC events.
func lockProgram(tb testing.TB, c sim.Chooser, record bool) sim.Result {
	m := newFake(tb, 2)
	lock, counter := alloc(tb, m, 0, 1, "lock"), alloc(tb, m, 0, 1, "counter")
	return run(m, []int{0, 1, 1}, sim.Config{StepBound: 5000, Record: record}, c, func(th *sim.Thread) {
		for range 2 {
			if th.Node() == 0 {
				for th.CAS(lock, 0, 1) != 0 {
					th.Pause()
				}
				th.Mark("cs-enter")
				th.Store(counter, th.Load(counter)+1)
				th.Store(lock, 0)
			} else {
				for th.RCAS(lock, 0, 1) != 0 {
					th.Pause()
				}
				th.Mark("cs-enter")
				th.RWrite(counter, th.RRead(counter)+1)
				th.RWrite(lock, 0)
			}
		}
	})
}

func TestReplay(t *testing.T) {
	for seed := range uint64(20) {
		orig := lockProgram(t, sim.NewRandom(seed), true)
		if len(orig.Decisions) < 10 || len(orig.Trace) == 0 || len(orig.Chosen) != len(orig.Decisions) {
			t.Fatalf("seed %d: %d decisions, %d events", seed, len(orig.Decisions), len(orig.Trace))
		}
		r := sim.NewReplay(orig.Decisions)
		again := lockProgram(t, r, true)
		if r.Err() != nil || r.Unused() != 0 {
			t.Fatalf("seed %d: replay: %v, %d unused", seed, r.Err(), r.Unused())
		}
		if !reflect.DeepEqual(orig, again) {
			t.Fatalf("seed %d: replay differs:\n%+v\n%+v", seed, orig, again)
		}
	}

	orig := lockProgram(t, sim.NewRandom(1), true)
	d := orig.Decisions
	tamper := func(i int, f func(*sim.Decision)) []sim.Decision {
		out := slices.Clone(d)
		f(&out[i])
		return out
	}
	for _, c := range []struct {
		name string
		dec  []sim.Decision
		want string
	}{
		{"Of changed", tamper(3, func(x *sim.Decision) { x.Of++ }), "diverged at choice 4"},
		{"Pick out of range", tamper(0, func(x *sim.Decision) { x.Pick = x.Of }), "diverged at choice 1"},
		{"negative Pick", tamper(0, func(x *sim.Decision) { x.Pick = -1 }), "diverged at choice 1"},
		{"too few", d[:len(d)-1], "more choices"},
		{"none", nil, "diverged at choice 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := sim.NewReplay(c.dec)
			lockProgram(t, r, false)
			if r.Err() == nil || !strings.Contains(r.Err().Error(), "diverged") || !strings.Contains(r.Err().Error(), c.want) {
				t.Errorf("Err() = %v, want it to mention %q", r.Err(), c.want)
			}
		})
	}
	r := sim.NewReplay(append(slices.Clone(d), sim.Decision{Pick: 0, Of: 2}))
	if res := lockProgram(t, r, false); r.Err() != nil || r.Unused() != 1 || res.Steps != orig.Steps {
		t.Errorf("extra decision: err %v, unused %d", r.Err(), r.Unused())
	}
}

func TestDeterminism(t *testing.T) {
	for seed := range uint64(10) {
		a := lockProgram(t, sim.NewRandom(seed), true)
		b := lockProgram(t, sim.NewRandom(seed), true)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		p1 := lockProgram(t, sim.NewPCT(seed, 3, 3, 40), true)
		p2 := lockProgram(t, sim.NewPCT(seed, 3, 3, 40), true)
		if !reflect.DeepEqual(p1, p2) {
			t.Fatalf("PCT seed %d: two runs differ", seed)
		}
	}
	base := lockProgram(t, sim.NewRandom(0), false)
	differ := false
	for seed := uint64(1); seed < 20 && !differ; seed++ {
		differ = !slices.Equal(lockProgram(t, sim.NewRandom(seed), false).Decisions, base.Decisions)
	}
	if !differ {
		t.Error("Random: 20 seeds, one schedule")
	}
}

// independentProgram runs three threads of CPU operations on their own words (and
// a Pause, which is a step without events): every thread is always enabled.
func independentProgram(tb testing.TB, c sim.Chooser) sim.Result {
	m := newFake(tb, 1)
	w := alloc(tb, m, 0, 3, "w")
	return run(m, []int{0, 0, 0}, sim.Config{Record: true}, c, func(th *sim.Thread) {
		p := w.Add(th.ID())
		for i := range 4 {
			th.Store(p, th.Load(p)+uint64(i+1))
		}
	})
}

// blocks returns the order in which threads ran (consecutive events of one thread
// collapsed) and the number of preemptions: switches away from a thread that has
// events left.
func blocks(trace []traces.Event) (order []int, preemptions int) {
	last := map[int]int{}
	for i, ev := range trace {
		last[ev.Thread] = i
	}
	for i, ev := range trace {
		if len(order) == 0 || order[len(order)-1] != ev.Thread {
			if i > 0 && last[trace[i-1].Thread] > i {
				preemptions++
			}
			order = append(order, ev.Thread)
		}
	}
	return order, preemptions
}

func TestPCT(t *testing.T) {
	// Depth 1: no priority change; the highest-priority thread runs to completion,
	// then the next. Every thread order shows up across seeds.
	orders := map[string]int{}
	for seed := range uint64(200) {
		res := independentProgram(t, sim.NewPCT(seed, 3, 1, 30))
		order, pre := blocks(res.Trace)
		if pre != 0 || len(order) != 3 {
			t.Fatalf("seed %d: depth 1 ran threads in blocks %v", seed, order)
		}
		orders[fmt.Sprint(order)]++
	}
	checkSet(t, "depth-1 thread orders", orders,
		"[0 1 2]", "[0 2 1]", "[1 0 2]", "[1 2 0]", "[2 0 1]", "[2 1 0]")

	// Depth d: at most d-1 preemptions, and some seed uses them all.
	for _, depth := range []int{2, 3} {
		most := 0
		for seed := range uint64(300) {
			res := independentProgram(t, sim.NewPCT(seed, 3, depth, 24))
			_, pre := blocks(res.Trace)
			if pre > depth-1 {
				t.Fatalf("depth %d seed %d: %d preemptions", depth, seed, pre)
			}
			most = max(most, pre)
		}
		if most != depth-1 {
			t.Errorf("depth %d: at most %d preemptions over 300 seeds, want %d", depth, most, depth-1)
		}
	}

	// Same seed, same decisions; different seeds eventually differ.
	a := independentProgram(t, sim.NewPCT(42, 3, 2, 24))
	b := independentProgram(t, sim.NewPCT(42, 3, 2, 24))
	if !reflect.DeepEqual(a.Decisions, b.Decisions) || !reflect.DeepEqual(a.Trace, b.Trace) {
		t.Error("PCT: same seed, different executions")
	}
	differ := false
	for seed := uint64(43); seed < 60 && !differ; seed++ {
		differ = !reflect.DeepEqual(independentProgram(t, sim.NewPCT(seed, 3, 2, 24)).Decisions, a.Decisions)
	}
	if !differ {
		t.Error("PCT: 17 seeds, one schedule")
	}
}

func TestPCTWaitsForBlockedThreadOnly(t *testing.T) {
	// Depth 1 with a spinning thread: when the highest-priority thread parks, the
	// others run; it runs again as soon as it is woken and enabled. Thread 0
	// waits for flag; thread 1 sets flag then does more work: if thread 0 has the
	// higher priority, it finishes right after the store to flag, before thread 1's
	// later stores. (Its iteration is one Load, which cannot straddle a write, so
	// it is offered no early wake and does not reread 0.)
	seqs := map[string]int{}
	for seed := range uint64(50) {
		m := newFake(t, 1)
		flag, z := alloc(t, m, 0, 1, "flag"), alloc(t, m, 0, 1, "z")
		res := run(m, []int{0, 0}, sim.Config{Record: true}, sim.NewPCT(seed, 2, 1, 20), func(th *sim.Thread) {
			if th.ID() == 0 {
				for th.Load(flag) == 0 {
					th.Pause()
				}
				th.Store(z, 100)
				return
			}
			th.Store(flag, 1)
			th.Store(z, 1)
			th.Store(z, 2)
		})
		if res.Finding != nil {
			t.Fatal(res.Finding)
		}
		var seq []string
		for _, ev := range res.Trace {
			if ev.Kind == traces.CPU {
				seq = append(seq, fmt.Sprintf("%d%v", ev.Thread, ev.Op))
			}
		}
		seqs[strings.Join(seq, " ")]++
	}
	checkSet(t, "depth-1 schedules", seqs, "0Load 1Store 0Load 0Store 1Store 1Store", "1Store 1Store 1Store 0Load 0Store")
}
