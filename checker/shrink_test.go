package checker_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// TestShrinkNaiveLocks: the counterexample a random campaign finds for each naive
// lock shrinks to one no longer, breaking the same property, that Replay follows
// exactly; and at least one of them gets strictly shorter (else the shrinker has
// lost its teeth).
func TestShrinkNaiveLocks(t *testing.T) {
	cfg := checker.DefaultConfig()
	shorter := 0
	for _, name := range []string{"spin-naive", "mcs-naive", "ticket-naive"} {
		lock := lockOf(t, name, algorithms.Options{})
		rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(lock), Strategy: checker.StrategyRandom,
			Schedules: 5000, Seed: 1, NoShrink: true}.Run()
		if err != nil {
			t.Fatal(err)
		}
		cx := rep.Shortest
		if cx == nil {
			t.Fatalf("%s: no violation in %d schedules", name, rep.Schedules)
		}
		shrunk, runs, err := checker.Shrink(cfg, checker.Lock(lock), cx.Decisions, cx.Finding.Property, 2000)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ex, err := checker.Replay(cfg, checker.Lock(lock), shrunk)
		if err != nil {
			t.Fatalf("%s: the shrunk list does not replay exactly: %v", name, err)
		}
		if ex.Finding == nil || ex.Finding.Property != cx.Finding.Property {
			t.Fatalf("%s: shrunk execution found %v, want %s", name, ex.Finding, cx.Finding.Property)
		}
		before, after := len(cx.Execution.Trace), len(ex.Trace)
		t.Logf("%s: %s: %d → %d events, %d → %d decisions, %d runs",
			name, cx.Finding.Property, before, after, len(cx.Decisions), len(shrunk), runs)
		if after > before {
			t.Errorf("%s: shrinking made the counterexample longer: %d → %d events", name, before, after)
		}
		if after < before {
			shorter++
		}
		// Shrinking is a fixpoint: the shrunk list does not shrink further.
		again, _, err := checker.Shrink(cfg, checker.Lock(lock), shrunk, "", 0)
		if err != nil {
			t.Fatalf("%s: shrinking again: %v", name, err)
		}
		if ex2, err := checker.Replay(cfg, checker.Lock(lock), again); err != nil || len(ex2.Trace) != after {
			t.Errorf("%s: shrinking the shrunk list again: %d events, %v; want %d", name, len(ex2.Trace), err, after)
		}
	}
	if shorter == 0 {
		t.Errorf("no counterexample got shorter")
	}
}

// TestCampaignShrinks: by default a campaign shrinks its counterexample; the
// report keeps the length before, the finding is the shrunk execution's, and
// the decisions replay to it.
func TestCampaignShrinks(t *testing.T) {
	cfg := checker.DefaultConfig()
	for _, name := range []string{"spin-naive", "mcs-naive", "ticket-naive"} {
		lock := lockOf(t, name, algorithms.Options{})
		for _, noShrink := range []bool{false, true} {
			rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(lock), Strategy: checker.StrategyPCT,
				Schedules: 5000, Seed: 3, MaxFindings: 5, NoShrink: noShrink}.Run()
			if err != nil {
				t.Fatal(err)
			}
			cx := rep.Shortest
			if cx == nil {
				t.Fatalf("%s: no violation", name)
			}
			n := len(cx.Execution.Trace)
			t.Logf("%s, pct, no-shrink %v: %s, %d → %d events", name, noShrink, cx.Finding.Property, cx.LengthBefore, n)
			if noShrink && cx.LengthBefore != n || n > cx.LengthBefore {
				t.Errorf("%s: LengthBefore %d, after %d", name, cx.LengthBefore, n)
			}
			if f := cx.Execution.Finding; f == nil || *f != cx.Finding {
				t.Errorf("%s: report finding %v, recorded re-run %v", name, cx.Finding, f)
			}
			replayFromFile(t, cfg, lock, cx)
		}
	}
}

// TestShrinkLenient: an edited list (picks out of range, too short) is replayed
// leniently and shrinks to an exact list; an input that breaks nothing is an
// error, and so is one that breaks another property than asked.
func TestShrinkLenient(t *testing.T) {
	cfg := checker.DefaultConfig()
	naive := lockOf(t, "spin-naive", algorithms.Options{})
	// Find some list that breaks mutual exclusion, then garble it.
	rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(naive), Strategy: checker.StrategyRandom, Schedules: 1000, Seed: 2, NoShrink: true}.Run()
	if err != nil || rep.Shortest == nil {
		t.Fatalf("no violation to start from: %v", err)
	}
	garbled := append([]sim.Decision(nil), rep.Shortest.Decisions...)
	for i := range garbled {
		garbled[i].Pick += 2 * garbled[i].Of // same pick modulo Of
		garbled[i].Of = 99
	}
	shrunk, _, err := checker.Shrink(cfg, checker.Lock(naive), garbled, checker.MutualExclusion, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ex, err := checker.Replay(cfg, checker.Lock(naive), shrunk); err != nil || ex.Finding == nil || ex.Finding.Property != checker.MutualExclusion {
		t.Fatalf("replay of the shrunk list: %v, %v", ex.Finding, err)
	}
	if _, _, err := checker.Shrink(cfg, checker.Lock(naive), garbled, checker.Deadlock, 0); err == nil {
		t.Errorf("shrinking a mutual exclusion violation for a deadlock: want an error")
	}
	safe := lockOf(t, "spin", algorithms.Options{})
	if _, _, err := checker.Shrink(cfg, checker.Lock(safe), garbled, "", 0); err == nil {
		t.Errorf("shrinking a list that breaks nothing: want an error")
	}
}

// livelockLock never lets anyone in: every spin iteration writes, so an
// execution ends at the step bound.
type livelockLock struct{ word rdma.Ptr }

func (l *livelockLock) Acquire(t rdma.Thread) {
	for {
		t.RFAA(l.word, 1)
		t.Pause()
	}
}
func (l *livelockLock) Release(t rdma.Thread) {}

// TestShrinkBounded: a finding at the step bound costs the whole bound in
// every candidate; the shrink still ends quickly, within its step budget.
func TestShrinkBounded(t *testing.T) {
	if raceEnabled {
		t.Skip("spends the shrinker's whole step budget: seconds under -race")
	}
	cfg := checker.DefaultConfig()
	cfg.StepBound = 10_000
	lock := func(s rdma.Setup) (rdma.Lock, error) {
		return &livelockLock{word: s.Alloc(s.Home(), 1, "word")}, nil
	}
	ex, err := checker.Execute(cfg, checker.Lock(lock), sim.NewRandom(1), false)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Finding == nil || ex.Finding.Property != checker.StepBound {
		t.Fatalf("want a step bound finding, got %v", ex.Finding)
	}
	shrunk, runs, err := checker.Shrink(cfg, checker.Lock(lock), ex.Decisions, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("step bound: %d → %d decisions in %d runs", len(ex.Decisions), len(shrunk), runs)
	if runs > 110 {
		t.Errorf("%d runs of %d steps each: the step budget did not bound the shrink", runs, cfg.StepBound)
	}
}
