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
	reused := 0
	for _, name := range []string{"alock", "spin", "mcs", "spin-naive"} {
		alg, err := algorithms.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		// Many threads doing CPU steps of one cost: many steps due at once,
		// and the engine offers most of them again without asking the model.
		wl := workload.LockTable{Lock: func(s rdma.Setup) (rdma.Lock, error) { return alg.New(s, algorithms.Options{}) }, Keys: 12, Local: 0.9, Seed: 3}
		cfg := checker.Config{Nodes: 3, Threads: []int{8}, Scope: "hca", Timing: prof, Until: 100_000}
		// Every step, the steps due first are worked out both ways and
		// compared (a difference panics).
		nicmodel.SetDebugTimed(true)
		nicmodel.ResetStillDueChecked()
		ex, err := checker.RunTimed(cfg, wl, 7)
		nicmodel.SetDebugTimed(false)
		if err != nil {
			t.Fatal(err)
		}
		reused += nicmodel.StillDueChecked()
		if len(ex.Ops) < 50 {
			t.Errorf("%s: only %d operations", name, len(ex.Ops))
		}
	}
	if reused < 100 {
		t.Errorf("the engine offered the steps due again without the model only %d times: the check checked little", reused)
	}
}
