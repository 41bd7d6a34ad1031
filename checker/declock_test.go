package checker_test

import (
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
)

// TestDecLock: DecLock's exclusive side (cohort lock per node in front of the
// queue-notify lock on the home) is safe on the small configurations under
// random and PCT schedules, and DFS explores 1 acquire of 1 host + 2 remote
// threads completely.
func TestDecLock(t *testing.T) {
	start := time.Now()
	lock := lockOf(t, "declock", algorithms.Options{})
	for _, c := range []struct {
		cfg      checker.Config
		strategy string
	}{{hostPlusTwoRemote(2), checker.StrategyRandom}, {hostPlusTwoRemote(2), checker.StrategyPCT}, {twoByTwo(2), checker.StrategyRandom}, {twoByTwo(2), checker.StrategyPCT}} {
		rep, err := checker.Campaign{Config: c.cfg, Workload: checker.Lock(lock), Strategy: c.strategy,
			Schedules: scale(10_000), Seed: 7}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Shortest != nil {
			t.Fatalf("%s %s: %v", c.cfg, c.strategy, rep.Shortest.Finding)
		}
	}
	if !raceEnabled {
		rep, err := checker.Exploration{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lock), Preemptions: -1}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Complete || rep.Shortest != nil {
			t.Fatalf("dfs: complete %v after %d executions, finding %v", rep.Complete, rep.Executions, rep.Shortest)
		}
		t.Logf("dfs: %d executions", rep.Executions)
	}
	t.Logf("%v", time.Since(start))
}
