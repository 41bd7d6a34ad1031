package sim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// dfsRun explores prog (which builds a fresh execution under the chooser it is
// given and returns its outcome) with a DFS of the given options, and returns the
// outcomes of the executions run to their end.
func dfsRun(t *testing.T, opt sim.DFSOptions, prog func(c sim.Chooser) (string, sim.Result)) (map[string]int, *sim.DFS) {
	t.Helper()
	out := map[string]int{}
	d := sim.NewDFS(opt)
	for d.Next() {
		outcome, res := prog(d)
		d.Done(res)
		if !res.Abandoned {
			out[outcome]++
		}
	}
	return out, d
}

// racyProgram: every thread first writes a word of its own (after a Fence, a
// step that touches no word), then thread 0 stores 1 to x, thread 1 stores 2 to
// x, and thread 2 loads x. The private steps commute with everything; the three
// accesses to x are pairwise dependent, so there are 3! = 6 Mazurkiewicz traces,
// each with an outcome of its own, among 9!/(3!·3!·3!) = 1680 interleavings.
func racyProgram(t *testing.T, c sim.Chooser) (string, sim.Result) {
	m := newFake(t, 1)
	x, own := alloc(t, m, 0, 1, "x"), alloc(t, m, 0, 3, "own")
	var seen uint64
	res := run(m, []int{0, 0, 0}, sim.Config{}, c, func(th *sim.Thread) {
		th.Fence()
		th.Store(own.Add(th.ID()), 7)
		switch th.ID() {
		case 0:
			th.Store(x, 1)
		case 1:
			th.Store(x, 2)
		default:
			seen = th.Load(x)
		}
	})
	return fmt.Sprintf("load=%d x=%d", seen, m.Peek(x)) + findingString(res), res
}

var racyOutcomes = []string{"load=0 x=1", "load=0 x=2", "load=1 x=2", "load=2 x=1", "load=1 x=1", "load=2 x=2"}

func TestDFSCounts(t *testing.T) {
	for _, c := range []struct {
		name       string
		opt        sim.DFSOptions
		executions int
	}{
		{"plain", sim.DFSOptions{Preemptions: -1}, 1680},
		{"POR", sim.DFSOptions{POR: true, Preemptions: -1}, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, d := dfsRun(t, c.opt, func(ch sim.Chooser) (string, sim.Result) { return racyProgram(t, ch) })
			checkSet(t, c.name, out, racyOutcomes...)
			if d.Err() != nil || !d.Complete() || d.Executions() != c.executions {
				t.Errorf("err %v, complete %v, %d executions (%d pruned); want %d", d.Err(), d.Complete(), d.Executions(), d.Pruned(), c.executions)
			}
			if c.opt.POR {
				// Sleep sets: no trace is explored twice.
				for o, n := range out {
					if n != 1 {
						t.Errorf("%s reached %d times under POR", o, n)
					}
				}
			}
		})
	}
}

// TestDFSPreemptionBound: two threads of two independent steps each have 6
// interleavings; 4 of them preempt at most once (AABB, ABBA, BAAB, BBAA) and 2
// never (AABB, BBAA). A bound turns POR off, which would otherwise explore one.
func TestDFSPreemptionBound(t *testing.T) {
	for _, c := range []struct {
		opt  sim.DFSOptions
		want int
	}{
		{sim.DFSOptions{Preemptions: -1}, 6},
		{sim.DFSOptions{Preemptions: 2}, 6},
		{sim.DFSOptions{Preemptions: 1}, 4},
		{sim.DFSOptions{Preemptions: 0, POR: true}, 2},
		{sim.DFSOptions{Preemptions: -1, POR: true}, 1},
	} {
		orders := map[string]int{}
		out, d := dfsRun(t, c.opt, func(ch sim.Chooser) (string, sim.Result) {
			m := newFake(t, 1)
			w := alloc(t, m, 0, 2, "w")
			var order []string
			res := run(m, []int{0, 0}, sim.Config{}, ch, func(th *sim.Thread) {
				for i := range 2 {
					th.Store(w.Add(th.ID()), uint64(i))
					order = append(order, string(rune('A'+th.ID())))
				}
			})
			orders[strings.Join(order, "")]++
			return findingString(res), res
		})
		checkSet(t, fmt.Sprintf("%+v", c.opt), out, "")
		if d.Err() != nil || !d.Complete() || d.Executions() != c.want || len(orders) != c.want {
			t.Errorf("%+v: err %v, complete %v, %d executions, orders %v; want %d", c.opt, d.Err(), d.Complete(), d.Executions(), orders, c.want)
		}
		if c.opt.Preemptions == 1 && (orders["ABAB"] != 0 || orders["BABA"] != 0) {
			t.Errorf("preemption bound 1 ran %v", orders)
		}
	}
}

// TestDFSNICAtomicGap: an RFAA is a read step and a write step, and a CPU store
// between them is lost. Both DFS and DPOR must find all three orders (the halves
// are ordered like separate operations, and each races with the store).
func TestDFSNICAtomicGap(t *testing.T) {
	for _, por := range []bool{false, true} {
		out, d := dfsRun(t, sim.DFSOptions{POR: por, Preemptions: -1}, func(ch sim.Chooser) (string, sim.Result) {
			m := newFake(t, 2)
			x := alloc(t, m, 0, 1, "x")
			var old uint64
			res := run(m, []int{1, 0}, sim.Config{}, ch, func(th *sim.Thread) {
				if th.ID() == 0 {
					old = th.RFAA(x, 1)
					return
				}
				th.Store(x, 5)
			})
			return fmt.Sprintf("old=%d x=%d", old, m.Peek(x)) + findingString(res), res
		})
		checkSet(t, fmt.Sprintf("POR %v", por), out, "old=0 x=5", "old=0 x=1", "old=5 x=6")
		if d.Err() != nil || !d.Complete() || d.Executions() != 3 {
			t.Errorf("POR %v: err %v, complete %v, %d executions, want 3", por, d.Err(), d.Complete(), d.Executions())
		}
	}
}

func TestDFSMaxExecutions(t *testing.T) {
	out, d := dfsRun(t, sim.DFSOptions{Preemptions: -1, MaxExecutions: 5}, func(ch sim.Chooser) (string, sim.Result) { return racyProgram(t, ch) })
	n := 0
	for _, k := range out {
		n += k
	}
	if d.Err() != nil || d.Complete() || d.Executions() != 5 || n != 5 || d.Next() {
		t.Errorf("err %v, complete %v, %d executions, %d outcomes; want 5 and incomplete", d.Err(), d.Complete(), d.Executions(), n)
	}
}

// TestDFSNondeterminism: a program that behaves differently when re-executed
// (here, depending on how often it ran) is reported, and the exploration stops:
// a replayed step that offers other options, or an execution that ends before
// the steps its replayed prefix recorded.
func TestDFSNondeterminism(t *testing.T) {
	for _, c := range []struct {
		name string
		prog func(runs int, m *fake, x rdma.Ptr, ch sim.Chooser) sim.Result
		want string
	}{
		{"other options", func(runs int, m *fake, x rdma.Ptr, ch sim.Chooser) sim.Result {
			nodes := []int{0, 0}
			if runs > 1 {
				nodes = append(nodes, 0) // a thread the first execution did not have
			}
			return run(m, nodes, sim.Config{}, ch, func(th *sim.Thread) { th.Store(x, 1) })
		}, "step 1 offers other options"},
		{"fewer steps", func(runs int, m *fake, x rdma.Ptr, ch sim.Chooser) sim.Result {
			return run(m, []int{0, 0}, sim.Config{}, ch, func(th *sim.Thread) {
				if runs == 1 && th.ID() == 0 {
					th.Store(x.Add(1), 1)
					th.Store(x.Add(1), 2)
				}
				th.Store(x, 1)
			})
		}, "the execution ended after 2 steps, 3 were recorded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := 0
			_, d := dfsRun(t, sim.DFSOptions{Preemptions: -1}, func(ch sim.Chooser) (string, sim.Result) {
				runs++
				m := newFake(t, 1)
				x := alloc(t, m, 0, 2, "x")
				return "", c.prog(runs, m, x, ch)
			})
			if d.Err() == nil || !strings.Contains(d.Err().Error(), c.want) || !strings.Contains(d.Err().Error(), "not deterministic") || d.Complete() {
				t.Errorf("after %d runs: err %v, complete %v; want %q", runs, d.Err(), d.Complete(), c.want)
			}
			if runs != 2 || d.Next() {
				t.Errorf("%d runs: the exploration went on after the nondeterminism", runs)
			}
		})
	}
}
