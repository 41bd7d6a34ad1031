package nicmodel_test

// The engine's spin reduction and DPOR over this model: what the engine's own
// tests (package sim, on a fake model) cannot show, because it depends on how
// nicmodel splits NIC atomics (scope hca or glob, FIFO arbitration, the atomic
// lock of DPOR's Lock options) and on its knobs (cas-writeback).

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

func newNICCfg(tb testing.TB, cfg nicmodel.Config) *nicmodel.NIC {
	tb.Helper()
	nic, err := nicmodel.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return nic
}

// TestEngineSameValueNICWrites: NIC writes that leave flag at 0 (a WRITE of 0,
// an FAA of 0, a failed CAS that writes back what it read under cas-writeback)
// wake nobody: every schedule deadlocks with the spinner parked.
func TestEngineSameValueNICWrites(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(th *sim.Thread, flag rdma.Ptr)
	}{
		{"RWrite 0", func(th *sim.Thread, flag rdma.Ptr) { th.RWrite(flag, 0) }},
		{"failed RCAS writes back", func(th *sim.Thread, flag rdma.Ptr) { th.RCAS(flag, 7, 9) }},
		{"RFAA 0", func(th *sim.Thread, flag rdma.Ptr) { th.RFAA(flag, 0) }},
	} {
		for _, scope := range []nicmodel.Scope{nicmodel.ScopeHCA, nicmodel.ScopeGlob} {
			t.Run(fmt.Sprint(c.name, " ", scope), func(t *testing.T) {
				out, n := explore(t, 1000, func(ch sim.Chooser) string {
					nic := newNIC(t, 2, scope, true)
					flag := alloc(t, nic, 0, 1, "flag")
					res := run(nic, []int{0, 1}, sim.Config{StepBound: 1000}, ch, func(th *sim.Thread) {
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
					return noFinding(res)
				})
				checkSet(t, c.name, out, "FINDING deadlock: n0/t0 spins on [n0:0x40 /*flag*/=0]")
				if n < 2 {
					t.Errorf("%d executions: the test explores nothing", n)
				}
			})
		}
	}
}

// TestEngineSpinOnFailedRCAS: a spin iteration whose only access is a failed
// RCAS changes nothing, whether the NIC writes back what it read or not, and
// parks: a deadlock after the atomic's events (two under hca, one under glob)
// and the Pause.
func TestEngineSpinOnFailedRCAS(t *testing.T) {
	for _, c := range []struct {
		cfg   nicmodel.Config
		steps int
	}{
		{nicmodel.Config{Nodes: 2, FailedCASWritesBack: true}, 3},
		{nicmodel.Config{Nodes: 2}, 3},
		{nicmodel.Config{Nodes: 2, Arbitration: nicmodel.ArbitrateAny, FailedCASWritesBack: true}, 3},
		{nicmodel.Config{Nodes: 2, Scope: nicmodel.ScopeGlob, FailedCASWritesBack: true}, 2},
	} {
		nic := newNICCfg(t, c.cfg)
		lock := alloc(t, nic, 0, 1, "lock")
		if err := nic.Init(lock, 1); err != nil {
			t.Fatal(err)
		}
		res := run(nic, []int{1}, sim.Config{StepBound: 300}, sim.NewRandom(1), func(th *sim.Thread) {
			for th.RCAS(lock, 0, 1) != 0 { // lock is 1 for ever
				th.Pause()
			}
		})
		want := "deadlock: n1/t0 spins on [n0:0x40 /*lock*/=1]"
		if res.Finding == nil || res.Finding.String() != want || res.Steps != c.steps {
			t.Errorf("%+v: finding %v after %d steps, want %s after %d", c.cfg, res.Finding, res.Steps, want, c.steps)
		}
	}
}

// TestEngineNICAtomicsSerialize: two RFAAs on one word from two nodes never
// lose an update. Under hca with FIFO arbitration an execution takes 4 steps,
// or 5 when the second atomic arrives while the first holds the word and
// queues; both happen. Under glob each atomic is one step.
func TestEngineNICAtomicsSerialize(t *testing.T) {
	for _, c := range []struct {
		scope nicmodel.Scope
		steps []string
	}{
		{nicmodel.ScopeHCA, []string{"steps=4", "steps=5"}},
		{nicmodel.ScopeGlob, []string{"steps=2"}},
	} {
		out, _ := explore(t, 1000, func(ch sim.Chooser) string {
			nic := newNIC(t, 2, c.scope, false)
			x := alloc(t, nic, 0, 1, "x")
			res := run(nic, []int{0, 1}, sim.Config{}, ch, func(th *sim.Thread) { th.RFAA(x, 1) })
			if nic.Peek(x) != 2 {
				t.Errorf("%v: x = %d: an update was lost", c.scope, nic.Peek(x))
			}
			return fmt.Sprintf("steps=%d", res.Steps) + noFinding(res)
		})
		checkSet(t, c.scope.String(), out, c.steps...)
	}
}

// nicSpinCase is a small program with one spinning reader (thread 0) that
// records what each of its iterations observed, as in sim's
// TestSpinReductionUnderDPOR; k bounds the reader's iterations in the unparked
// reference (the reference sets do not grow at k+1).
type nicSpinCase struct {
	name  string
	nodes []int
	k     int
	body  func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string))
}

func spinReadXY(th *sim.Thread, x, y rdma.Ptr, want uint64, pause func() bool, observe func(string)) {
	for {
		a, b := th.Load(x), th.Load(y)
		observe(fmt.Sprintf("%d%d", a, b))
		if a == want && b == want || !pause() {
			return
		}
	}
}

var nicSpinCases = []nicSpinCase{
	{name: "NIC atomics write", nodes: []int{0, 1}, k: 5,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				spinReadXY(th, x, y, 1, pause, observe)
				return
			}
			th.RFAA(x, 1)
			th.RCAS(y, 0, 1)
		}},
	{name: "NIC atomics of two threads", nodes: []int{0, 1, 1}, k: 4,
		body: func(th *sim.Thread, x, y rdma.Ptr, pause func() bool, observe func(string)) {
			if th.ID() == 0 {
				for {
					a := th.Load(x)
					th.Load(y) // never written: the iteration reads two words
					observe(fmt.Sprint(a))
					if a == 2 || !pause() {
						return
					}
				}
			}
			th.RFAA(x, 1) // both contend for x's atomic lock
		}},
	{name: "RReadN reader", nodes: []int{1, 0}, k: 5,
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
}

// runNICSpinCase runs one execution: with parked, the spinner calls Pause (spin
// reduction); without, it gives up after c.k iterations.
func runNICSpinCase(t *testing.T, cfg nicmodel.Config, c nicSpinCase, ch sim.Chooser, parked bool) (string, sim.Result) {
	nic := newNICCfg(t, cfg)
	x := alloc(t, nic, 0, 2, "x,y")
	var seq []string
	gaveUp := false
	res := run(nic, c.nodes, sim.Config{StepBound: 5000}, ch, func(th *sim.Thread) {
		iters := 0
		pause := func() bool {
			if parked {
				th.Pause()
				return true
			}
			if iters++; iters >= c.k {
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
	return strings.Join(seq, ",") + noFinding(res), res
}

// TestEngineSpinReductionUnderDPOR: source-DPOR with sleep sets over parking and
// early wakes, with nicmodel's options (the halves of a NIC atomic and its
// arrival take part in the address's atomic lock), reaches exactly the
// observation sequences that every interleaving of the unreduced spin loops
// reaches, under every scope and arbitration.
func TestEngineSpinReductionUnderDPOR(t *testing.T) {
	for _, cfg := range []nicmodel.Config{
		{Nodes: 2},
		{Nodes: 2, Arbitration: nicmodel.ArbitrateAny},
		{Nodes: 2, Scope: nicmodel.ScopeGlob},
	} {
		for _, c := range nicSpinCases {
			t.Run(fmt.Sprintf("%s/%v/%v", c.name, cfg.Scope, cfg.Arbitration), func(t *testing.T) {
				want, _ := explore(t, 200_000, func(ch sim.Chooser) string {
					outcome, _ := runNICSpinCase(t, cfg, c, ch, false)
					return outcome
				})
				delete(want, "gave up")
				got := map[string]int{}
				d := sim.NewDFS(sim.DFSOptions{POR: true, Preemptions: -1, MaxExecutions: 200_000})
				for d.Next() {
					outcome, res := runNICSpinCase(t, cfg, c, d, true)
					d.Done(res)
					if !res.Abandoned {
						got[outcome]++
					}
				}
				if d.Err() != nil || !d.Complete() {
					t.Fatalf("dfs: %v, complete %v", d.Err(), d.Complete())
				}
				g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))
				if !slices.Equal(g, w) || len(w) < 2 {
					t.Errorf("observation sequences under DPOR\n  got  %q\n  want %q", g, w)
				}
				t.Logf("%d sequences; %d executions with DPOR and parking, %d pruned", len(want), d.Executions(), d.Pruned())
			})
		}
	}
}
