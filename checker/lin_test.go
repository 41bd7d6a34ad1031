package checker

import (
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// linNoLock is a deliberately broken lock: Acquire and Release do nothing.
type linNoLock struct{}

func (linNoLock) Acquire(rdma.Thread) {}
func (linNoLock) Release(rdma.Thread) {}

// TestLinExecute: histories recorded by the workload. With a lock that does
// nothing, an execution that breaks mutual exclusion has an illegal history, one
// that happens to be sequential a linearizable one; with a safe lock, every
// history is linearizable.
func TestLinExecute(t *testing.T) {
	cfg := Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 3, Scope: "hca"}
	run := func(t *testing.T, newLock LockFactory, seeds int) (illegal int) {
		t.Helper()
		w, err := newRunner(cfg, Lock(newLock))
		if err != nil {
			t.Fatal(err)
		}
		w.history = true
		for seed := range uint64(seeds) {
			ex, err := w.execute(sim.NewRandom(seed), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.History) == 0 {
				t.Fatalf("seed %d: no history", seed)
			}
			r := workload.CheckLinearizability(ex.History, workload.LockSpec(), workload.LinOptions{Names: ex.Names})
			want := workload.LinOK
			if ex.Finding != nil {
				want = workload.LinIllegal
				illegal++
			}
			if r.Verdict != want {
				t.Errorf("seed %d: finding %v, %d ops: verdict %s (%s), want %s", seed, ex.Finding, len(ex.History), r.Verdict, r.Reason, want)
			}
			if seed == 0 {
				t.Logf("seed 0: finding %v; %s %s", ex.Finding, r.Verdict, r.Reason)
			}
		}
		return illegal
	}
	t.Run("no-lock", func(t *testing.T) {
		n := run(t, func(rdma.Setup) (rdma.Lock, error) { return linNoLock{}, nil }, 50)
		t.Logf("%d of 50 executions break mutual exclusion", n)
		if n == 0 {
			t.Error("no execution broke the lock")
		}
	})
	for _, name := range []string{"spin", "mcs"} {
		t.Run(name, func(t *testing.T) {
			a, err := algorithms.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			if n := run(t, func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }, 50); n != 0 {
				t.Errorf("%d findings with a safe lock", n)
			}
		})
	}
}

// TestMixedAtomicity: the warning comes with the first execution of every naive
// lock (random, one schedule), never for the safe ones, and never under atomic
// scope glob.
func TestMixedAtomicity(t *testing.T) {
	for _, a := range algorithms.All() {
		for _, scope := range []string{"hca", "glob"} {
			cfg := DefaultConfig()
			cfg.Scope = scope
			newLock := func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }
			rep, err := Campaign{Config: cfg, Workload: Lock(newLock), Strategy: StrategyRandom, Schedules: 1, Seed: 1}.Run()
			if err != nil {
				t.Fatal(err)
			}
			naive := !a.ExpectSafe
			got := len(rep.Warnings) > 0
			t.Logf("%s %s: %v", a.Name, scope, rep.Warnings)
			if want := naive && scope == "hca"; got != want {
				t.Errorf("%s, scope %s: mixed-atomicity warning %v, want %v (%v)", a.Name, scope, got, want, rep.Warnings)
			}
			for _, w := range rep.Warnings {
				if w.Property != MixedAtomicity {
					t.Errorf("%s: warning %q is not mixed atomicity", a.Name, w.Property)
				}
			}
		}
	}
}
