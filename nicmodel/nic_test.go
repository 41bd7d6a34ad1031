package nicmodel_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

// ---------------------------------------------------------------------------
// Helpers: building a model, running threads on it, enumerating every schedule.

// newNICAny is a model under scope hca whose atomic unit serves waiting atomics
// in any order.
func newNICAny(tb testing.TB, nodes int) *nicmodel.NIC {
	tb.Helper()
	nic, err := nicmodel.New(nicmodel.Config{Nodes: nodes, Arbitration: nicmodel.ArbitrateAny})
	if err != nil {
		tb.Fatal(err)
	}
	return nic
}

func newNIC(tb testing.TB, nodes int, scope nicmodel.Scope, writeBack bool) *nicmodel.NIC {
	tb.Helper()
	nic, err := nicmodel.New(nicmodel.Config{Nodes: nodes, Scope: scope, FailedCASWritesBack: writeBack})
	if err != nil {
		tb.Fatalf("nicmodel.New: %v", err)
	}
	return nic
}

func alloc(tb testing.TB, nic *nicmodel.NIC, node, words int, label string) rdma.Ptr {
	tb.Helper()
	p, err := nic.AllocLabeled(node, words, label)
	if err != nil {
		tb.Fatalf("AllocLabeled(%d, %d, %q): %v", node, words, label, err)
	}
	return p
}

// run runs body on one thread per entry of nodes (the node the thread lives on),
// named n<node>/t<index on the node>, with every choice made by c.
func run(nic *nicmodel.NIC, nodes []int, cfg sim.Config, c sim.Chooser, body func(t *sim.Thread)) sim.Result {
	specs := make([]sim.ThreadSpec, len(nodes))
	per := map[int]int{}
	for i, n := range nodes {
		specs[i] = sim.ThreadSpec{Node: n, Name: fmt.Sprintf("n%d/t%d", n, per[n])}
		per[n]++
	}
	if cfg.StepBound == 0 {
		cfg.StepBound = 10_000
	}
	return sim.New(nic, cfg, specs, body).Run(c)
}

// enumerator is a chooser for exhaustive exploration: it follows a prefix of
// decisions, then picks option 0, and records every (pick, of) it made.
type enumerator struct {
	prefix   []int
	path     []sim.Decision
	diverged bool
}

func (x *enumerator) Choose(opts []sim.Option) int {
	pick := 0
	if i := len(x.path); i < len(x.prefix) {
		pick = x.prefix[i]
	}
	if pick >= len(opts) {
		x.diverged, pick = true, 0
	}
	x.path = append(x.path, sim.Decision{Pick: pick, Of: len(opts)})
	return pick
}

// explore runs f once per schedule, every schedule exactly once (an odometer over
// the decision lists), and returns how often each outcome f reported was reached
// and how many executions there were. f must build a fresh execution each time.
func explore(tb testing.TB, limit int, f func(c sim.Chooser) string) (map[string]int, int) {
	tb.Helper()
	outcomes := map[string]int{}
	var prefix []int
	for n := 1; ; n++ {
		if n > limit {
			tb.Fatalf("more than %d executions", limit)
		}
		x := &enumerator{prefix: prefix}
		outcomes[f(x)]++
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

func checkSet(t *testing.T, what string, got map[string]int, want ...string) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(got))
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("%s: reachable outcomes\n  got  %q\n  want %q", what, keys, want)
	}
}

func noFinding(res sim.Result) string {
	if res.Finding != nil {
		return "FINDING " + res.Finding.String()
	}
	return ""
}

// ---------------------------------------------------------------------------
// The enumerator itself.

func TestEnumeratorCountsInterleavings(t *testing.T) {
	// Two threads of two CPU operations each on distinct words: C(4,2) = 6
	// interleavings, and the final memory is always the same.
	out, n := explore(t, 100, func(c sim.Chooser) string {
		nic := newNIC(t, 1, nicmodel.ScopeHCA, false)
		a, b := alloc(t, nic, 0, 1, "a"), alloc(t, nic, 0, 1, "b")
		var order []int
		res := run(nic, []int{0, 0}, sim.Config{}, c, func(th *sim.Thread) {
			p := []rdma.Ptr{a, b}[th.ID()]
			th.Store(p, 1)
			order = append(order, th.ID())
			th.Store(p, 2)
			order = append(order, th.ID())
		})
		return fmt.Sprintf("%v %d %d", order, nic.Peek(a), nic.Peek(b)) + noFinding(res)
	})
	if n != 6 {
		t.Errorf("%d executions, want 6", n)
	}
	checkSet(t, "two threads", out,
		"[0 0 1 1] 2 2", "[0 1 0 1] 2 2", "[0 1 1 0] 2 2",
		"[1 0 0 1] 2 2", "[1 0 1 0] 2 2", "[1 1 0 0] 2 2")
}

// ---------------------------------------------------------------------------
// The atomicity gap.

func TestAtomicityGapCPUCASvsRCAS(t *testing.T) {
	for _, c := range []struct {
		scope nicmodel.Scope
		execs int
		want  []string
	}{
		// Under hca a NIC atomic is a read then a write: the CPU CAS can land in
		// between, and both CAS return 0 (both "acquire").
		{nicmodel.ScopeHCA, 3, []string{"a=0 b=1 x=1", "a=2 b=0 x=2", "a=0 b=0 x=2"}},
		{nicmodel.ScopeGlob, 2, []string{"a=0 b=1 x=1", "a=2 b=0 x=2"}},
	} {
		t.Run(c.scope.String(), func(t *testing.T) {
			out, n := explore(t, 100, func(ch sim.Chooser) string {
				nic := newNIC(t, 2, c.scope, false)
				x := alloc(t, nic, 0, 1, "x")
				var a, b uint64
				res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						a = th.CAS(x, 0, 1)
					} else {
						b = th.RCAS(x, 0, 2)
					}
				})
				return fmt.Sprintf("a=%d b=%d x=%d", a, b, nic.Peek(x)) + noFinding(res)
			})
			checkSet(t, "CPU CAS(x,0,1) vs RCAS(x,0,2)", out, c.want...)
			if n != c.execs {
				t.Errorf("%d executions, want %d", n, c.execs)
			}
		})
	}
}

func TestAtomicityGapCPUStoreVsRCAS(t *testing.T) {
	for _, c := range []struct {
		scope nicmodel.Scope
		want  []string
	}{
		// "r=0 x=1": the RCAS read 0, the store of 5 landed, the NIC wrote 1 over it.
		{nicmodel.ScopeHCA, []string{"r=5 x=5", "r=0 x=5", "r=0 x=1"}},
		{nicmodel.ScopeGlob, []string{"r=5 x=5", "r=0 x=5"}},
	} {
		t.Run(c.scope.String(), func(t *testing.T) {
			out, _ := explore(t, 100, func(ch sim.Chooser) string {
				nic := newNIC(t, 2, c.scope, false)
				x := alloc(t, nic, 0, 1, "x")
				var r uint64
				res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						th.Store(x, 5)
					} else {
						r = th.RCAS(x, 0, 1)
					}
				})
				return fmt.Sprintf("r=%d x=%d", r, nic.Peek(x)) + noFinding(res)
			})
			checkSet(t, "CPU Store(x,5) vs RCAS(x,0,1)", out, c.want...)
		})
	}
}

func TestAtomicityGapCPUFAAvsRFAA(t *testing.T) {
	for _, c := range []struct {
		scope nicmodel.Scope
		want  []string
	}{
		// "c=0 r=0 x=1": a lost increment.
		{nicmodel.ScopeHCA, []string{"c=0 r=1 x=2", "c=1 r=0 x=2", "c=0 r=0 x=1"}},
		{nicmodel.ScopeGlob, []string{"c=0 r=1 x=2", "c=1 r=0 x=2"}},
	} {
		t.Run(c.scope.String(), func(t *testing.T) {
			out, _ := explore(t, 100, func(ch sim.Chooser) string {
				nic := newNIC(t, 2, c.scope, false)
				x := alloc(t, nic, 0, 1, "x")
				var cv, r uint64
				res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						cv = th.FAA(x, 1)
					} else {
						r = th.RFAA(x, 1)
					}
				})
				return fmt.Sprintf("c=%d r=%d x=%d", cv, r, nic.Peek(x)) + noFinding(res)
			})
			checkSet(t, "CPU FAA vs RFAA", out, c.want...)
		})
	}
}

func TestNICWriteDoesNotWaitForAtomicLock(t *testing.T) {
	// A NIC WRITE is not serialised with NIC atomics: under hca it can land between
	// an RFAA's read and write and be overwritten.
	for _, c := range []struct {
		scope nicmodel.Scope
		want  []string
	}{
		{nicmodel.ScopeHCA, []string{"r=0 x=5", "r=5 x=6", "r=0 x=1"}},
		{nicmodel.ScopeGlob, []string{"r=0 x=5", "r=5 x=6"}},
	} {
		t.Run(c.scope.String(), func(t *testing.T) {
			out, _ := explore(t, 100, func(ch sim.Chooser) string {
				nic := newNIC(t, 3, c.scope, false)
				x := alloc(t, nic, 0, 1, "x")
				var r uint64
				res := run(nic, []int{1, 2}, sim.Config{}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						r = th.RFAA(x, 1)
					} else {
						th.RWrite(x, 5)
					}
				})
				return fmt.Sprintf("r=%d x=%d", r, nic.Peek(x)) + noFinding(res)
			})
			checkSet(t, "RFAA vs RWrite", out, c.want...)
		})
	}
}

func TestNICAtomicsOnOneAddressNeverInterleave(t *testing.T) {
	// Three RFAA(x,1), two from node 1 and one loopback from node 0: the NIC's
	// atomic lock serialises them, so (with arbitration "any") the only choice is
	// which one takes the lock next (3·2 = 6 executions), and x always ends at 3.
	out, n := explore(t, 1000, func(ch sim.Chooser) string {
		nic := newNICAny(t, 2)
		x := alloc(t, nic, 0, 1, "x")
		got := make([]uint64, 3)
		res := run(nic, []int{1, 1, 0}, sim.Config{}, ch, func(th *sim.Thread) {
			got[th.ID()] = th.RFAA(x, 1)
		})
		slices.Sort(got)
		return fmt.Sprintf("results=%v x=%d", got, nic.Peek(x)) + noFinding(res)
	})
	checkSet(t, "three RFAA", out, "results=[0 1 2] x=3")
	if n != 6 {
		t.Errorf("%d executions, want 6 (only lock acquisitions are choices)", n)
	}

	// On different addresses the NIC locks are independent: 2+2 events, C(4,2) = 6
	// interleavings.
	_, n = explore(t, 1000, func(ch sim.Chooser) string {
		nic := newNICAny(t, 2)
		w := alloc(t, nic, 0, 2, "w")
		res := run(nic, []int{1, 1}, sim.Config{}, ch, func(th *sim.Thread) {
			th.RFAA(w.Add(th.ID()), 1)
		})
		return noFinding(res)
	})
	if n != 6 {
		t.Errorf("RFAA on two addresses: %d executions, want 6", n)
	}
}

func TestNICAtomicLockTrace(t *testing.T) {
	// While one RFAA holds the lock (between its read and write), another RFAA's
	// read is not enabled: in every recorded trace the atomic events on x come in
	// read/write pairs of one thread.
	_, n := explore(t, 1000, func(ch sim.Chooser) string {
		nic := newNICAny(t, 2)
		x := alloc(t, nic, 0, 1, "x")
		res := run(nic, []int{1, 1, 0}, sim.Config{Record: true}, ch, func(th *sim.Thread) {
			if th.ID() == 2 {
				th.Store(x, 100) // a CPU store does not wait for the lock
				return
			}
			th.RFAA(x, 1)
		})
		holder := -1
		for _, ev := range res.Trace {
			switch ev.Kind {
			case traces.NICAtomicRead:
				if holder >= 0 {
					t.Errorf("thread %d reads x while thread %d holds the NIC lock", ev.Thread, holder)
				}
				holder = ev.Thread
			case traces.NICAtomicWrite:
				if holder != ev.Thread {
					t.Errorf("thread %d writes x, lock held by %d", ev.Thread, holder)
				}
				holder = -1
			}
		}
		return ""
	})
	// Store at any of the 5 positions among the 4 NIC events, times 2 lock orders.
	if n != 10 {
		t.Errorf("%d executions, want 10", n)
	}
}

// ---------------------------------------------------------------------------
// Failed CAS write-back.

func TestFailedCASWriteBack(t *testing.T) {
	for _, c := range []struct {
		name      string
		scope     nicmodel.Scope
		writeBack bool
		want      []string
	}{
		// "r=0 x=0": the RCAS read 0, the CPU stored 5, the NIC wrote 0 back.
		{"hca writeback", nicmodel.ScopeHCA, true, []string{"r=5 x=5", "r=0 x=5", "r=0 x=0"}},
		{"hca no writeback", nicmodel.ScopeHCA, false, []string{"r=5 x=5", "r=0 x=5"}},
		{"glob writeback", nicmodel.ScopeGlob, true, []string{"r=5 x=5", "r=0 x=5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := explore(t, 100, func(ch sim.Chooser) string {
				nic := newNIC(t, 2, c.scope, c.writeBack)
				x := alloc(t, nic, 0, 1, "x")
				var r uint64
				res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) {
					if th.ID() == 0 {
						th.Store(x, 5)
					} else {
						r = th.RCAS(x, 7, 9) // fails: x is never 7
					}
				})
				return fmt.Sprintf("r=%d x=%d", r, nic.Peek(x)) + noFinding(res)
			})
			checkSet(t, "Store(x,5) vs failing RCAS(x,7,9)", out, c.want...)
		})
	}
}

func TestAtomicTraceEvents(t *testing.T) {
	type ev struct {
		kind        traces.Kind
		read, wrote uint64
		hasR, hasW  bool
		failed      bool
	}
	for _, c := range []struct {
		name      string
		scope     nicmodel.Scope
		writeBack bool
		old       uint64
		want      []ev
	}{
		{"hca success", nicmodel.ScopeHCA, false, 0, []ev{
			{kind: traces.NICAtomicRead, read: 0, hasR: true},
			{kind: traces.NICAtomicWrite, wrote: 9, hasW: true}}},
		{"hca failed", nicmodel.ScopeHCA, false, 7, []ev{
			{kind: traces.NICAtomicRead, read: 0, hasR: true},
			{kind: traces.NICAtomicWrite, failed: true}}},
		{"hca failed writeback", nicmodel.ScopeHCA, true, 7, []ev{
			{kind: traces.NICAtomicRead, read: 0, hasR: true},
			{kind: traces.NICAtomicWrite, wrote: 0, hasW: true, failed: true}}},
		{"glob success", nicmodel.ScopeGlob, false, 0, []ev{
			{kind: traces.NICAtomic, read: 0, wrote: 9, hasR: true, hasW: true}}},
		{"glob failed", nicmodel.ScopeGlob, true, 7, []ev{
			{kind: traces.NICAtomic, read: 0, hasR: true, failed: true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			nic := newNIC(t, 2, c.scope, c.writeBack)
			x := alloc(t, nic, 0, 1, "x")
			res := run(nic, []int{1}, sim.Config{Record: true}, sim.NewRandom(1), func(th *sim.Thread) {
				th.RCAS(x, c.old, 9)
			})
			if len(res.Trace) != len(c.want) {
				t.Fatalf("trace %+v, want %d events", res.Trace, len(c.want))
			}
			for i, w := range c.want {
				g := res.Trace[i]
				if g.Kind != w.kind || g.Op != rdma.OpRCAS || g.Addr != x || g.Label != "x" || g.Thread != 0 ||
					g.HasRead != w.hasR || g.HasWrite != w.hasW || (w.hasR && g.Read != w.read) || (w.hasW && g.Wrote != w.wrote) ||
					strings.Contains(g.Note, "failed") != w.failed {
					t.Errorf("event %d = %+v, want %+v", i, g, w)
				}
			}
			if res.Steps != len(c.want) {
				t.Errorf("%d steps, want %d", res.Steps, len(c.want))
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Multi-word READ.

func TestRReadNIsNotASnapshot(t *testing.T) {
	// Node 0 stores x=1 then y=1 (adjacent words). A READ of both words reads them
	// one by one in any order, so it can see the new y and the old x.
	out, _ := explore(t, 1000, func(ch sim.Chooser) string {
		nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
		x := alloc(t, nic, 0, 2, "x,y")
		y := x.Add(1)
		buf := make([]uint64, 2)
		res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) {
			if th.ID() == 0 {
				th.Store(x, 1)
				th.Store(y, 1)
			} else {
				th.RReadN(x, buf)
			}
		})
		return fmt.Sprintf("x=%d y=%d", buf[0], buf[1]) + noFinding(res)
	})
	checkSet(t, "RReadN", out, "x=0 y=0", "x=1 y=0", "x=1 y=1", "x=0 y=1")

	// Contrast: two single-word READs, y then x, in program order: a new y implies
	// a new x.
	out, _ = explore(t, 1000, func(ch sim.Chooser) string {
		nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
		x := alloc(t, nic, 0, 2, "x,y")
		y := x.Add(1)
		var vx, vy uint64
		res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) {
			if th.ID() == 0 {
				th.Store(x, 1)
				th.Store(y, 1)
			} else {
				vy = th.RRead(y)
				vx = th.RRead(x)
			}
		})
		return fmt.Sprintf("x=%d y=%d", vx, vy) + noFinding(res)
	})
	checkSet(t, "RRead y; RRead x", out, "x=0 y=0", "x=1 y=0", "x=1 y=1")
}

func TestRReadNWordOrder(t *testing.T) {
	// A lone 3-word READ: its words can be read in all 3! orders, each once.
	out, n := explore(t, 100, func(ch sim.Chooser) string {
		nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
		p := alloc(t, nic, 0, 3, "d")
		for i := range 3 {
			if err := nic.Init(p.Add(i), uint64(10*(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]uint64, 3)
		res := run(nic, []int{1}, sim.Config{Record: true}, ch, func(th *sim.Thread) {
			th.RReadN(p, buf)
		})
		var order []string
		for _, ev := range res.Trace {
			if ev.Kind != traces.NICRead || ev.Op != rdma.OpRReadN || !ev.HasRead {
				t.Errorf("unexpected event %+v", ev)
			}
			order = append(order, fmt.Sprintf("%s=%d", ev.Label, ev.Read))
		}
		if res.Steps != 3 {
			t.Errorf("%d steps, want 3", res.Steps)
		}
		return fmt.Sprint(buf, order) + noFinding(res)
	})
	if n != 6 {
		t.Errorf("%d executions, want 6", n)
	}
	checkSet(t, "RReadN order", out,
		"[10 20 30] [d[0]=10 d[1]=20 d[2]=30]", "[10 20 30] [d[0]=10 d[2]=30 d[1]=20]",
		"[10 20 30] [d[1]=20 d[0]=10 d[2]=30]", "[10 20 30] [d[1]=20 d[2]=30 d[0]=10]",
		"[10 20 30] [d[2]=30 d[0]=10 d[1]=20]", "[10 20 30] [d[2]=30 d[1]=20 d[0]=10]")
}

func TestRReadNMaxWords(t *testing.T) {
	// 64 words (the maximum, a full bit mask of words left to read) all arrive.
	nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
	p := alloc(t, nic, 0, nicmodel.MaxReadWords, "big")
	for i := range nicmodel.MaxReadWords {
		if err := nic.Init(p.Add(i), uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]uint64, nicmodel.MaxReadWords)
	res := run(nic, []int{1}, sim.Config{}, sim.NewRandom(3), func(th *sim.Thread) {
		th.RReadN(p, buf)
	})
	if res.Finding != nil {
		t.Fatal(res.Finding)
	}
	for i, v := range buf {
		if v != uint64(i+1) {
			t.Fatalf("buf[%d] = %d, want %d", i, v, i+1)
		}
	}
	if res.Steps != nicmodel.MaxReadWords {
		t.Errorf("%d steps, want %d", res.Steps, nicmodel.MaxReadWords)
	}
}

// ---------------------------------------------------------------------------
// Misuse.

func TestMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		node int // the thread's node
		body func(th *sim.Thread, x, y rdma.Ptr)
		want []string // substrings of the finding's message
	}{
		{"CPU op on another node", 1, func(th *sim.Thread, x, _ rdma.Ptr) { th.Load(x) },
			[]string{"n1/t0", "Load", "n0:0x40", "flag", "node 0", "node 1"}},
		{"CPU CAS on another node", 0, func(th *sim.Thread, _, y rdma.Ptr) { th.CAS(y, 0, 1) },
			[]string{"n0/t0", "CAS", "n1:0x40", "other", "node 1", "node 0"}},
		{"unaligned", 0, func(th *sim.Thread, _, _ rdma.Ptr) { th.Load(rdma.MakePtr(0, 0x41)) },
			[]string{"Load", "n0:0x41", "aligned"}},
		{"unallocated", 0, func(th *sim.Thread, x, _ rdma.Ptr) { th.Store(x.Add(1), 1) },
			[]string{"Store", "n0:0x48", "not allocated"}},
		{"reserved", 1, func(th *sim.Thread, _, _ rdma.Ptr) { th.RRead(rdma.MakePtr(0, 8)) },
			[]string{"RRead", "n0:0x8", "reserved"}},
		{"nil", 1, func(th *sim.Thread, _, _ rdma.Ptr) { th.RWrite(0, 1) },
			[]string{"RWrite", "nil pointer"}},
		{"no such node", 1, func(th *sim.Thread, _, _ rdma.Ptr) { th.RFAA(rdma.MakePtr(7, 64), 1) },
			[]string{"RFAA", "node 7 does not exist"}},
		{"RReadN of 0 words", 1, func(th *sim.Thread, x, _ rdma.Ptr) { th.RReadN(x, nil) },
			[]string{"RReadN of 0 words", "n0:0x40"}},
		{"RReadN of 65 words", 1, func(th *sim.Thread, x, _ rdma.Ptr) { th.RReadN(x, make([]uint64, 65)) },
			[]string{"RReadN of 65 words", "64"}},
		{"RReadN past the end", 1, func(th *sim.Thread, x, _ rdma.Ptr) { th.RReadN(x, make([]uint64, 2)) },
			[]string{"RReadN", "n0:0x48", "not allocated"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
			x := alloc(t, nic, 0, 1, "flag")
			y := alloc(t, nic, 1, 1, "other")
			after := false
			res := run(nic, []int{c.node}, sim.Config{}, sim.NewRandom(1), func(th *sim.Thread) {
				c.body(th, x, y)
				after = true
			})
			if res.Finding == nil || res.Finding.Property != "misuse" {
				t.Fatalf("finding %v, want misuse", res.Finding)
			}
			for _, s := range c.want {
				if !strings.Contains(res.Finding.Message, s) {
					t.Errorf("message %q does not mention %q", res.Finding.Message, s)
				}
			}
			if after {
				t.Error("the thread ran on past the misused operation")
			}
			if res.Steps != 0 {
				t.Errorf("%d steps: the misused operation was executed", res.Steps)
			}
			if nic.Peek(x) != 0 || nic.Peek(y) != 0 {
				t.Error("memory changed")
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Labels, configuration, allocation.

func TestLabel(t *testing.T) {
	nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
	single := alloc(t, nic, 0, 1, "lock")
	named := alloc(t, nic, 0, 3, "r_tail,l_tail,victim")
	block := alloc(t, nic, 0, 3, "desc")
	anon, err := nic.Alloc(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	mismatch := alloc(t, nic, 1, 3, "a,b") // two names for three words: block naming
	for _, c := range []struct {
		p    rdma.Ptr
		want string
	}{
		{single, "lock"},
		{named, "r_tail"}, {named.Add(1), "l_tail"}, {named.Add(2), "victim"},
		{block, "desc[0]"}, {block.Add(1), "desc[1]"}, {block.Add(2), "desc[2]"},
		{anon, ""}, {anon.Add(1), ""},
		{anon.Add(2), ""},         // past the last allocation
		{rdma.MakePtr(0, 8), ""},  // reserved
		{rdma.MakePtr(5, 64), ""}, // no such node
		{mismatch.Add(2), "a,b[2]"},
	} {
		if got := nic.Label(c.p); got != c.want {
			t.Errorf("Label(%v) = %q, want %q", c.p, got, c.want)
		}
	}
	if single.Node() != 0 || single.Offset() != rdma.ReservedBytes {
		t.Errorf("first allocation at %v, want n0:0x40", single)
	}
	if named.Offset() != single.Offset()+8 || block.Offset() != named.Offset()+24 {
		t.Errorf("allocations not consecutive: %v %v %v", single, named, block)
	}
	if mismatch.Node() != 1 || mismatch.Offset() != rdma.ReservedBytes {
		t.Errorf("node 1's first allocation at %v", mismatch)
	}
}

func TestConfigAndErrors(t *testing.T) {
	for _, n := range []int{0, -1, 1<<16 + 1} {
		if _, err := nicmodel.New(nicmodel.Config{Nodes: n}); err == nil {
			t.Errorf("New(Nodes: %d) succeeded", n)
		}
	}
	nic := newNIC(t, 2, nicmodel.ScopeGlob, true)
	if c := nic.Config(); c.Nodes != 2 || c.Scope != nicmodel.ScopeGlob || !c.FailedCASWritesBack {
		t.Errorf("Config() = %+v", c)
	}
	for _, c := range []struct{ node, words int }{{2, 1}, {-1, 1}, {0, 0}, {0, nicmodel.MaxAllocWords + 1}} {
		if _, err := nic.AllocLabeled(c.node, c.words, "z"); err == nil {
			t.Errorf("AllocLabeled(%d, %d) succeeded", c.node, c.words)
		}
	}
	p := alloc(t, nic, 1, 2, "w")
	if err := nic.Init(p.Add(1), 42); err != nil || nic.Peek(p.Add(1)) != 42 || nic.Peek(p) != 0 {
		t.Errorf("Init: %v, words %d %d", err, nic.Peek(p), nic.Peek(p.Add(1)))
	}
	for _, bad := range []rdma.Ptr{0, p.Add(2), rdma.MakePtr(1, 0x44), rdma.MakePtr(1, 0), rdma.MakePtr(9, 64), rdma.Ptr(0x48)} {
		if err := nic.Init(bad, 1); err == nil {
			t.Errorf("Init(%v) succeeded", bad)
		}
	}
	for s, want := range map[string]nicmodel.Scope{"hca": nicmodel.ScopeHCA, "glob": nicmodel.ScopeGlob} {
		got, err := nicmodel.ParseScope(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseScope(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := nicmodel.ParseScope("HCA"); err == nil {
		t.Error(`ParseScope("HCA") succeeded`)
	}
}

// ---------------------------------------------------------------------------
// What every operation does, run sequentially.

func TestOpSemantics(t *testing.T) {
	for _, scope := range []nicmodel.Scope{nicmodel.ScopeHCA, nicmodel.ScopeGlob} {
		t.Run(scope.String(), func(t *testing.T) {
			nic := newNIC(t, 2, scope, false)
			w := alloc(t, nic, 0, 2, "w")
			var got []uint64
			res := run(nic, []int{0, 1}, sim.Config{Record: true}, sim.NewRandom(1), func(th *sim.Thread) {
				if th.ID() == 1 {
					return
				}
				rec := func(v uint64) { got = append(got, v) }
				th.Store(w, 10)
				rec(th.Load(w))            // 10
				rec(th.CAS(w, 3, 4))       // 10, fails
				rec(th.CAS(w, 10, 11))     // 10, w = 11
				rec(th.Swap(w, 20))        // 11, w = 20
				rec(th.FAA(w, 5))          // 20, w = 25
				th.Fence()                 // no step
				rec(th.RRead(w))           // 25
				th.RWrite(w.Add(1), 7)     // loopback
				rec(th.RCAS(w, 1, 2))      // 25, fails
				rec(th.RCAS(w, 25, 30))    // 25, w = 30
				rec(th.RFAA(w, 1<<40))     // 30
				rec(th.FAA(w, ^uint64(0))) // adds -1: 30 + 2^40
				rec(th.Load(w))
				rec(th.Load(w.Add(1)))
			})
			if res.Finding != nil {
				t.Fatal(res.Finding)
			}
			want := []uint64{10, 10, 10, 11, 20, 25, 25, 25, 30, 30 + 1<<40, 29 + 1<<40, 7}
			if !slices.Equal(got, want) {
				t.Errorf("results %v\n       want %v", got, want)
			}
			atomics := 3 // RCAS, RCAS, RFAA: two events each under hca
			if scope == nicmodel.ScopeGlob {
				atomics = 0
			}
			if wantSteps := 14 + atomics; res.Steps != wantSteps {
				t.Errorf("%d steps, want %d", res.Steps, wantSteps)
			}
			var kinds []string
			for _, ev := range res.Trace {
				kinds = append(kinds, ev.Kind.String())
			}
			wantKinds := "cpu cpu cpu cpu cpu cpu nic-read nic-write nic-atomic-read nic-atomic-write nic-atomic-read nic-atomic-write nic-atomic-read nic-atomic-write cpu cpu cpu"
			if scope == nicmodel.ScopeGlob {
				wantKinds = "cpu cpu cpu cpu cpu cpu nic-read nic-write nic-atomic nic-atomic nic-atomic cpu cpu cpu"
			}
			if k := strings.Join(kinds, " "); k != wantKinds {
				t.Errorf("event kinds\n  %s\nwant\n  %s", k, wantKinds)
			}
		})
	}
}

// TestFIFOArbitration: with the default arbitration, atomics waiting for one
// address are served in the order they arrived: every trace shows the NIC reads
// of x in the order of the arrivals (an atomic arriving at a free address reads
// at once), and every arrival order is explored.
func TestFIFOArbitration(t *testing.T) {
	orders := map[string]int{}
	_, n := explore(t, 10000, func(ch sim.Chooser) string {
		nic := newNIC(t, 2, nicmodel.ScopeHCA, false)
		x := alloc(t, nic, 0, 1, "x")
		res := run(nic, []int{1, 1, 1}, sim.Config{Record: true}, ch, func(th *sim.Thread) {
			th.RFAA(x, 1)
		})
		var arrived, served []int
		for _, ev := range res.Trace {
			switch ev.Kind {
			case traces.NICArrive:
				arrived = append(arrived, ev.Thread)
			case traces.NICAtomicRead:
				if len(arrived) > len(served) && arrived[len(served)] != ev.Thread {
					// a queued atomic is waiting: only it may read next
					t.Errorf("thread %d read before %d, which arrived first (arrivals %v)", ev.Thread, arrived[len(served)], arrived)
				}
				if len(arrived) == len(served) {
					arrived = append(arrived, ev.Thread) // arrived and read at once
				}
				served = append(served, ev.Thread)
			}
		}
		orders[fmt.Sprint(served)]++
		if nic.Peek(x) != 3 {
			t.Errorf("x = %d", nic.Peek(x))
		}
		return noFinding(res)
	})
	if len(orders) != 6 {
		t.Errorf("service orders %v: want all 6", orders)
	}
	t.Logf("%d executions", n)
}
