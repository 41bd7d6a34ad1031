package nicmodel_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// TestTimedPruning: looking only at the threads whose lower bound may be due
// first finds, at every step, the very steps a scan of every thread finds.
func TestTimedPruning(t *testing.T) {
	prof, err := nicmodel.BuiltinProfile(nicmodel.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alock", "spin", "mcs", "spin-naive"} {
		alg, err := algorithms.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		wl := workload.LockTable{Lock: func(s rdma.Setup) (rdma.Lock, error) { return alg.New(s, algorithms.Options{}) }, Keys: 6, Local: 0.8, Seed: 3}
		cfg := checker.Config{Nodes: 3, Threads: []int{3}, Scope: "hca", Timing: prof, Until: 300_000}
		// Every step, the steps due first are worked out both ways and
		// compared (a difference panics).
		nicmodel.SetDebugTimed(true)
		ex, err := checker.RunTimed(cfg, wl, 7)
		nicmodel.SetDebugTimed(false)
		if err != nil {
			t.Fatal(err)
		}
		if len(ex.Ops) < 50 {
			t.Errorf("%s: only %d operations", name, len(ex.Ops))
		}
	}
}
