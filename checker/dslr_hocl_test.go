package checker_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

// publishedCampaigns runs name through random and PCT schedules on the default
// configuration with its derived bypass bound (if any), and through a complete
// DFS of 1 host + 2 remote threads, 1 acquire each: no finding anywhere.
func publishedCampaigns(t *testing.T, name string, randomN, pctN int) {
	t.Helper()
	a, err := algorithms.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	lock := lockOf(t, name, algorithms.Options{})
	cfg := checker.DefaultConfig()
	if a.BypassBound != nil {
		cfg.BypassBound = a.BypassBound(1, 2, algorithms.Options{})
	}
	for _, c := range []struct {
		strategy  string
		schedules int
	}{{checker.StrategyRandom, randomN}, {checker.StrategyPCT, pctN}} {
		rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(lock), Strategy: c.strategy, Schedules: c.schedules, Seed: 3}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Shortest != nil || rep.Bypass != nil {
			t.Fatalf("%s: finding %v, bypass %v", c.strategy, rep.Shortest, rep.Bypass)
		}
		if rep.Schedules != c.schedules {
			t.Fatalf("%s: %d schedules, asked for %d", c.strategy, rep.Schedules, c.schedules)
		}
		t.Logf("%s: %d schedules, max bypass %d (bound %d)", c.strategy, rep.Schedules, rep.MaxBypass, cfg.BypassBound)
	}
	dcfg := hostPlusTwoRemote(1)
	dcfg.BypassBound = cfg.BypassBound
	rep, err := checker.Exploration{Config: dcfg, Workload: checker.Lock(lock), Preemptions: -1}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || rep.Shortest != nil || rep.Executions < 10 {
		t.Fatalf("dfs: complete %v after %d executions, finding %v", rep.Complete, rep.Executions, rep.Shortest)
	}
	t.Logf("dfs: complete, %d executions (+%d pruned), max bypass %d", rep.Executions, rep.Pruned, rep.MaxBypass)
}

// TestDSLR: no finding under random, PCT and a complete DFS, the FIFO bound
// n-1 holds (and is approached: some thread waits behind another), and the
// executions go through the paper's reset path: a thread bounces off the frozen
// object (its FA is withdrawn) and the resetter's CAS(L, ResetFrom, 0) succeeds.
func TestDSLR(t *testing.T) {
	publishedCampaigns(t, "dslr", scale(20_000), scale(20_000))

	lock := lockOf(t, "dslr", algorithms.Options{})
	var bounced, reset, waited bool
	for seed := uint64(1); seed <= 200 && !(bounced && reset && waited); seed++ {
		ex, err := checker.Execute(checker.DefaultConfig(), checker.Lock(lock), sim.NewRandom(seed), true)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Finding != nil {
			t.Fatalf("seed %d: %v", seed, ex.Finding)
		}
		for _, e := range ex.Trace {
			switch {
			case e.Label != "lock":
			case e.Kind == traces.NICAtomicRead && e.Op.String() == "RFAA" && e.Read>>16&0xffff >= 3:
				bounced = true // an FA on maxX that finds it at COUNT_MAX: withdrawn
			case e.Kind == traces.NICAtomicWrite && e.Op.String() == "RCAS" && e.Wrote == 0:
				reset = true // CAS(L, ResetFrom, 0)
			}
		}
		waited = waited || ex.MaxBypass > 0
	}
	if !bounced || !reset || !waited {
		t.Errorf("in 200 executions: a withdrawn ticket %v, a reset %v, a bypass > 0 %v", bounced, reset, waited)
	}
}

// TestHOCL: no finding under random, PCT and a complete DFS (HOCL derives no
// bypass bound: its global lock is a CAS retry loop), and the hand-over bound:
// per acquisition of the global lock word, at most kMaxHandOverTime (2 here)
// critical sections, and the bound is reached.
func TestHOCL(t *testing.T) {
	publishedCampaigns(t, "hocl", scale(20_000), scale(20_000))

	lock := lockOf(t, "hocl", algorithms.Options{})
	cfg := checker.Config{Nodes: 2, Threads: []int{1, 3}, Acquires: 2, Scope: "hca"}
	most := 0
	for seed := uint64(1); seed <= 300; seed++ {
		ex, err := checker.Execute(cfg, checker.Lock(lock), sim.NewRandom(seed), true)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Finding != nil {
			t.Fatalf("seed %d: %v", seed, ex.Finding)
		}
		held := -1 // critical sections in the current tenure of the global lock; -1: free
		for _, e := range ex.Trace {
			switch {
			case e.Label == "lock" && e.Kind == traces.NICAtomicWrite && e.Wrote != 0 && !strings.Contains(e.Note, "failed"):
				held = 0
			case e.Label == "lock" && e.Kind == traces.NICWrite && e.Wrote == 0:
				held = -1
			case e.Kind == traces.Mark && e.Note == "cs-enter":
				if held < 0 {
					t.Fatalf("seed %d: a critical section while the global lock is free", seed)
				}
				held++
				most = max(most, held)
			}
		}
	}
	if most != 2 {
		t.Errorf("most critical sections per tenure of the global lock: %d, want the hand-over bound 2", most)
	}
}

// TestHOCLCASWriteback replays the saved counterexample of hocl under
// cas-writeback=on (DFS, 1 + 1 threads, 1 acquire): n1/t0's failing RCAS reads
// the holder's tag, the holder's release WRITE of 0 lands before the NIC writes
// that tag back, and the lock is held by nobody forever. With
// nic-writes=excluded the WRITE waits for the RCAS, and DFS finds nothing.
func TestHOCLCASWriteback(t *testing.T) {
	back, err := traces.Load("../testdata/replays/hocl-deadlock-dfs-893416de.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg checker.Config
	if err := json.Unmarshal(back.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if back.Algorithm != "hocl" || !cfg.FailedCASWritesBack {
		t.Fatalf("replay of %s, cas-writeback %v", back.Algorithm, cfg.FailedCASWritesBack)
	}
	_, saved, err := checker.SavedRun(back)
	if err != nil {
		t.Fatal(err)
	}
	dec := saved.Decisions
	lock := lockOf(t, "hocl", algorithms.Options{})
	ex, err := checker.Replay(cfg, checker.Lock(lock), dec)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Finding == nil || ex.Finding.Property != checker.Deadlock || ex.Finding.Message != back.Message {
		t.Fatalf("replay found %v, the file saved %s: %s", ex.Finding, back.Property, back.Message)
	}

	cfg.Knobs = map[string]string{"nic-writes": "excluded"}
	rep, err := checker.Exploration{Config: cfg, Workload: checker.Lock(lock), Preemptions: -1}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Complete || rep.Shortest != nil {
		t.Fatalf("nic-writes=excluded: complete %v, finding %v", rep.Complete, rep.Shortest)
	}
}
