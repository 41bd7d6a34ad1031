package checker_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
)

// TestCampaignStop: closing Stop ends a campaign between schedules; the report
// covers the schedules run, a prefix of the campaign, and says Interrupted.
func TestCampaignStop(t *testing.T) {
	for _, workers := range []int{1, 2} {
		for _, strategy := range []string{checker.StrategyRandom, checker.StrategyPCT} {
			stop := make(chan struct{})
			seen := 0
			c := checker.Campaign{Config: hostPlusTwoRemote(2), Workload: checker.Lock(lockOf(t, "spin", algorithms.Options{})), Strategy: strategy,
				Schedules: 5000, Seed: 3, Workers: workers, Stop: stop,
				ProgressFindings: func(done, findings int) {
					if seen++; seen == 40 {
						close(stop)
					}
				}}
			rep, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Interrupted || rep.Schedules < 40 || rep.Schedules >= 5000 {
				t.Fatalf("workers %d %s: interrupted %v after %d schedules: want interrupted after 40 … 4999", workers, strategy, rep.Interrupted, rep.Schedules)
			}
			// The schedules run are the first ones of the campaign.
			c.Stop, c.ProgressFindings, c.Schedules = nil, nil, rep.Schedules
			whole, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			if whole.Interrupted || whole.Steps != rep.Steps || whole.MaxBypass != rep.MaxBypass {
				t.Errorf("workers %d %s: the interrupted campaign is not the prefix of %d schedules: steps %d vs %d", workers, strategy, rep.Schedules, rep.Steps, whole.Steps)
			}
		}
	}

	// Stopped before it starts: nothing runs.
	stop := make(chan struct{})
	close(stop)
	rep, err := checker.Campaign{Config: hostPlusTwoRemote(2), Workload: checker.Lock(lockOf(t, "spin-naive", algorithms.Options{})), Strategy: checker.StrategyRandom,
		Schedules: 100, Seed: 1, Stop: stop}.Run()
	if err != nil || !rep.Interrupted || rep.Schedules != 0 || rep.Shortest != nil {
		t.Fatalf("stopped before the start: %v, %+v", err, rep)
	}

	// A violation found before the stop is kept (and replayed, not shrunk).
	stop = make(chan struct{})
	rep, err = checker.Campaign{Config: hostPlusTwoRemote(2), Workload: checker.Lock(lockOf(t, "spin-naive", algorithms.Options{})), Strategy: checker.StrategyRandom,
		Schedules: 100000, Seed: 1, MaxFindings: 1000, Workers: 1, Stop: stop,
		ProgressFindings: func(done, findings int) {
			if findings == 1 {
				select {
				case <-stop:
				default:
					close(stop)
				}
			}
		}}.Run()
	if err != nil || !rep.Interrupted || rep.Findings != 1 || rep.Shortest == nil || rep.Shortest.Execution.Finding == nil {
		t.Fatalf("violation then stop: %v, interrupted %v, findings %d, shortest %v", err, rep.Interrupted, rep.Findings, rep.Shortest)
	}
	if rep.Shortest.LengthBefore != len(rep.Shortest.Execution.Trace) {
		t.Errorf("an interrupted campaign shrank its counterexample (%d → %d events)", rep.Shortest.LengthBefore, len(rep.Shortest.Execution.Trace))
	}
}

// TestExplorationStop: closing Stop ends an exploration between executions,
// not Complete, Interrupted, with the executions run counted.
func TestExplorationStop(t *testing.T) {
	stop := make(chan struct{})
	rep, err := checker.Exploration{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lockOf(t, "alock", algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})),
		Preemptions: -1, Stop: stop,
		ProgressFindings: func(executions, pruned, findings int) {
			if executions+pruned == 25 {
				close(stop)
			}
		}}.Run()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Complete || rep.Executions+rep.Pruned != 25 {
		t.Fatalf("interrupted %v, complete %v, %d executions + %d pruned: want interrupted after 25", rep.Interrupted, rep.Complete, rep.Executions, rep.Pruned)
	}
}
