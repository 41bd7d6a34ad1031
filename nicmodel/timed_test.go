package nicmodel_test

import (
	"reflect"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// TestTimedPruning: looking only at the threads whose lower bound may be due
// first gives the very execution a scan of every thread gives.
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
		run := func(full bool) checker.TimedExecution {
			nicmodel.SetFullTimedScan(full)
			defer nicmodel.SetFullTimedScan(false)
			ex, err := checker.RunTimed(cfg, wl, 7)
			if err != nil {
				t.Fatal(err)
			}
			return ex
		}
		nicmodel.SetDebugTimed(true)
		run(false)
		nicmodel.SetDebugTimed(false)
		pruned, full := run(false), run(true)
		if len(pruned.Ops) < 50 {
			t.Errorf("%s: only %d operations", name, len(pruned.Ops))
		}
		if !reflect.DeepEqual(pruned.Ops, full.Ops) || pruned.Steps != full.Steps || !reflect.DeepEqual(pruned.Decisions, full.Decisions) {
			t.Errorf("%s: pruned and full scans differ: %d/%d ops, %d/%d steps", name, len(pruned.Ops), len(full.Ops), pruned.Steps, full.Steps)
		}
	}
}
