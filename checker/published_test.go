package checker_test

import (
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
)

// ascending is cfg with the placement knob at ascending: a multi-word WRITE
// places, and a multi-word READ reads, its words in address order.
func ascending(cfg checker.Config) checker.Config {
	cfg.Knobs = map[string]string{"placement": "ascending"}
	return cfg
}

// TestShiftLock: ShiftLock (all NIC atomics, hand-off by message) is safe on the
// small configurations under random and PCT schedules, and DFS explores 1
// acquire of 1 host + 2 remote threads completely.
func TestShiftLock(t *testing.T) {
	checkSafeLock(t, lockOf(t, "shiftlock", algorithms.Options{}), []checker.Config{hostPlusTwoRemote(2), twoByTwo(2)}, scale(20_000), 5)
}

// TestFARLock: under the default knobs FARLock breaks — the remote Peterson
// step's 2-word WRITE may place victim before r_flag, both cohorts take a ticket
// at once, and a host FAA inside the RDMA FAA's gap hands out one ticket twice (or loses one) —
// and random schedules and DFS find it; with ascending placement (r_flag lands
// first) random, PCT and DFS find nothing.
func TestFARLock(t *testing.T) {
	start := time.Now()
	lock := lockOf(t, "farlock", algorithms.Options{})
	rep, err := checker.Campaign{Config: checker.DefaultConfig(), Workload: checker.Lock(lock), Strategy: checker.StrategyRandom,
		Schedules: 5000, Seed: 2, MaxFindings: 1}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Shortest == nil {
		t.Fatalf("random, defaults: nothing found in %d schedules", rep.Schedules)
	}
	// One ticket issued twice is two owners; one ticket lost (both FAAs wrote the
	// same value, and a later one skipped it) is a deadlock.
	if p := rep.Shortest.Finding.Property; p != checker.MutualExclusion && p != checker.Deadlock {
		t.Fatalf("random, defaults: want mutual exclusion or deadlock, got %v", rep.Shortest.Finding)
	}
	replayFromFile(t, checker.DefaultConfig(), lock, rep.Shortest)
	if !raceEnabled {
		ex, err := checker.Exploration{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lock), Preemptions: -1, StopAtFirst: true}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if ex.Shortest == nil {
			t.Fatalf("dfs, defaults: nothing found in %d executions", ex.Executions)
		}
		t.Logf("dfs, defaults: %s after %d executions", ex.Shortest.Finding.Property, ex.Executions)
	}
	for _, c := range []struct {
		cfg      checker.Config
		strategy string
	}{{hostPlusTwoRemote(2), checker.StrategyRandom}, {hostPlusTwoRemote(2), checker.StrategyPCT}, {twoByTwo(2), checker.StrategyPCT}} {
		cfg := ascending(c.cfg)
		rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(lock), Strategy: c.strategy,
			Schedules: scale(20_000), Seed: 5}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Shortest != nil {
			t.Fatalf("%s %s: %v", cfg, c.strategy, rep.Shortest.Finding)
		}
	}
	t.Logf("%v", time.Since(start))
}
