package checker_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
)

// TestExploreSafeLocksComplete: the must-hold: at 2 nodes, 1 host thread
// + 2 remote threads, 1 acquire each (ALock budgets 1), the whole reduced space
// of spin, mcs and alock is explored and nothing breaks.
func TestExploreSafeLocksComplete(t *testing.T) {
	for _, name := range []string{"spin", "mcs", "alock"} {
		t.Run(name, func(t *testing.T) {
			if raceEnabled && name != "spin" {
				t.Skip("tens of thousands of executions: too slow under -race")
			}
			t.Parallel()
			rep, err := checker.Exploration{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lockOf(t, name, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})),
				Preemptions: -1}.Run()
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Complete {
				t.Fatalf("not complete after %d executions", rep.Executions)
			}
			if rep.Shortest != nil {
				t.Fatalf("finding: %v", rep.Shortest.Finding)
			}
			if rep.Executions < 10 {
				t.Fatalf("%d executions: too few to have explored anything", rep.Executions)
			}
			t.Logf("%s: complete, %d executions, %d pruned, %d steps", name, rep.Executions, rep.Pruned, rep.Steps)
		})
	}
}

// TestExploreNaiveLocksShortest: DFS finds each naive lock's violation, and
// iterative deepening (preemptions, then length) gives the shortest
// counterexample, which replays.
func TestExploreNaiveLocksShortest(t *testing.T) {
	for _, name := range []string{"spin-naive", "mcs-naive", "ticket-naive"} {
		lock := lockOf(t, name, algorithms.Options{})
		rep, err := checker.Exploration{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lock), Preemptions: -1, StopAtFirst: true}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if rep.Shortest == nil {
			t.Fatalf("%s: DFS found nothing", name)
		}
		d, err := checker.ShortestCounterexample(hostPlusTwoRemote(1), checker.Lock(lock), 3, 200_000)
		if err != nil {
			t.Fatal(err)
		}
		if d.Shortest == nil {
			t.Fatalf("%s: no violation within 3 preemptions", name)
		}
		cx := d.Shortest
		if d.Preemptions < 1 {
			t.Errorf("%s: a violation without preemption? %v", name, cx.Finding)
		}
		t.Logf("%s: %s with %d preemptions, %d events (%d executions over all bounds, complete %v)",
			name, cx.Finding.Property, d.Preemptions, len(cx.Execution.Trace), d.Executions, d.Complete)
		cfg := hostPlusTwoRemote(1)
		cfg.Arbitration = "any" // what exploration runs
		ex, err := checker.Replay(cfg, checker.Lock(lock), cx.Decisions)
		if err != nil || ex.Finding == nil || ex.Finding.Property != cx.Finding.Property {
			t.Errorf("%s: replay: %v %v", name, err, ex.Finding)
		}
	}
}

// TestReductionCrossCheck: on small configurations the set of distinct outcomes
// (final memory, or the property broken) found with partial-order reduction is
// the set found by running every interleaving.
func TestReductionCrossCheck(t *testing.T) {
	cases := []struct {
		name    string
		threads []int
	}{
		{"spin", []int{1, 1}}, {"spin-naive", []int{1, 1}}, {"ticket-naive", []int{1, 1}},
		{"mcs-naive", []int{1, 1}}, {"spin", []int{1, 2}}, {"spin-naive", []int{1, 2}},
		{"mcs", []int{0, 2}},
	}
	for _, c := range cases {
		if (raceEnabled || testing.Short()) && (c.name == "mcs-naive" || c.name == "mcs") {
			continue
		}
		cfg := checker.Config{Nodes: 2, Threads: c.threads, Acquires: 1, Scope: "hca"}
		lock := lockOf(t, c.name, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		outcomes := func(noPOR bool) (map[string]bool, checker.ExplorationReport) {
			set := map[string]bool{}
			rep, err := checker.Exploration{Config: cfg, Workload: checker.Lock(lock), NoPOR: noPOR, Preemptions: -1, MaxExecutions: 2_000_000,
				OnExecution: func(ex checker.Execution) {
					if ex.Finding != nil {
						set[ex.Finding.Property] = true
					} else {
						set[fmt.Sprintf("ok %x", ex.Final)] = true
					}
				}}.Run()
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Complete {
				t.Fatalf("%s %v (POR off: %v): not complete", c.name, c.threads, noPOR)
			}
			return set, rep
		}
		full, fullRep := outcomes(true)
		reduced, redRep := outcomes(false)
		if !maps.Equal(full, reduced) {
			t.Errorf("%s %v: outcomes differ:\n all interleavings %v\n with reduction    %v", c.name, c.threads,
				slices.Sorted(maps.Keys(full)), slices.Sorted(maps.Keys(reduced)))
		}
		t.Logf("%s %v: %d outcomes; %d executions without reduction, %d with (+%d pruned): reduction ×%.1f",
			c.name, c.threads, len(full), fullRep.Executions, redRep.Executions, redRep.Pruned,
			float64(fullRep.Executions)/float64(redRep.Executions+redRep.Pruned))
	}
}

// TestPreemptionBound: the naive spinlock's race needs two preemptions (into the
// middle of the RDMA CAS, and back to finish it before the host releases): bounds
// 0 and 1 cannot reach it, 2 does.
func TestPreemptionBound(t *testing.T) {
	lock := lockOf(t, "spin-naive", algorithms.Options{})
	for _, c := range []struct {
		bound int
		want  bool
	}{{0, false}, {1, false}, {2, true}} {
		rep, err := checker.Exploration{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lock), Preemptions: c.bound}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Complete || (rep.Shortest != nil) != c.want {
			t.Errorf("bound %d: complete %v, finding %v", c.bound, rep.Complete, rep.Shortest)
		}
		t.Logf("bound %d: %d executions", c.bound, rep.Executions)
	}
}
