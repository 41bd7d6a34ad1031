package checker_test

import (
	"slices"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
)

// oracleConfig is the exhaustive oracle's configuration: local + remote
// threads on 2 nodes, the lock on node 0.
func oracleConfig(local, remote, acquires int) checker.Config {
	return checker.Config{Nodes: 2, Threads: []int{local, remote}, Home: 0, Acquires: acquires, Scope: "hca"}
}

func TestStateSearchOracleSmall(t *testing.T) {
	for _, c := range []struct {
		alg           string
		local, remote int
		acq           int
		finals        int
	}{
		{"spin", 1, 2, 1, 1},
		{"mcs", 1, 2, 1, 13},
		{"alock", 1, 2, 1, 6},
	} {
		lock := lockOf(t, c.alg, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		rep, err := checker.StateSearch{Config: oracleConfig(c.local, c.remote, c.acq), Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		t.Logf("%s %d+%d×%d: complete=%v states=%d transitions=%d finals=%d findings=%d %v", c.alg, c.local, c.remote, c.acq,
			rep.Complete, rep.States, rep.Transitions, rep.FinalStates, rep.Findings, rep.Elapsed)
		if !rep.Complete || rep.Findings > 0 || rep.FinalStates != c.finals {
			t.Errorf("%s: complete=%v findings=%d finals=%d, want complete, none, %d", c.alg, rep.Complete, rep.Findings, rep.FinalStates, c.finals)
		}
	}
}

// TestStateSearchFinalsMatchStateless: the final memories of the stateful
// search are those of the stateless DFS.
func TestStateSearchFinalsMatchStateless(t *testing.T) {
	for _, name := range []string{"spin", "mcs", "spin-naive"} {
		lock := lockOf(t, name, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		cfg := oracleConfig(1, 2, 1)
		finals := map[uint64]bool{}
		_, err := checker.Exploration{Config: cfg, Workload: checker.Lock(lock), Preemptions: -1,
			OnExecution: func(ex checker.Execution) {
				if ex.Finding == nil {
					finals[ex.Final] = true
				}
			}}.Run()
		if err != nil {
			t.Fatal(err)
		}
		rep, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		for f := range finals {
			want = append(want, f)
		}
		slices.Sort(want)
		t.Logf("%s: stateless %d finals, stateful %d (%d states, %d findings)", name, len(want), rep.FinalStates, rep.States, rep.Findings)
		if !slices.Equal(want, rep.Finals) && rep.Findings == 0 {
			t.Errorf("%s: final memories differ: stateless %x, stateful %x", name, want, rep.Finals)
		}
	}
}

func BenchmarkStateSearchALock12(b *testing.B) {
	lock, _ := algorithms.Lookup("alock")
	for range b.N {
		rep, err := checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: checker.Lock(func(s rdma.Setup) (rdma.Lock, error) {
			return lock.New(s, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		})}.Run()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.States), "states")
		b.ReportMetric(float64(rep.Transitions)/rep.Elapsed.Seconds(), "transitions/s")
	}
}
