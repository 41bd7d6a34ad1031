package nicmodel_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// hashChecker checks, at every decision, that the model's memory hash (kept
// at every write) is the one memory gives.
type hashChecker struct {
	sim.Chooser
	tb  testing.TB
	nic *nicmodel.NIC
}

func (c hashChecker) Choose(opts []sim.Option) int {
	if !nicmodel.MemHashIsFresh(c.nic) {
		c.tb.Fatal("the memory hash is stale")
	}
	return c.Chooser.Choose(opts)
}

// TestMemHashFollowsEveryWrite: every way memory changes (CPU stores and
// atomics, TSO drains, NIC WRITEs and atomics under both scopes, posted
// requests, allocations, snapshots restored) keeps the incremental memory
// hash that StateHash uses equal to the memory's.
func TestMemHashFollowsEveryWrite(t *testing.T) {
	for _, knobs := range []string{"defaults", "scope=glob", "cpu=tso", "cas-writeback=on"} {
		t.Run(knobs, func(t *testing.T) {
			cfg := nicmodel.Config{Nodes: 2, Arbitration: nicmodel.ArbitrateAny}
			if err := cfg.ParseKnobs(knobs); err != nil {
				t.Fatal(err)
			}
			for seed := range uint64(3000) {
				nic := newNICCfg(t, cfg)
				c := sim.NewRandom(seed)
				x, y := alloc(t, nic, 0, 1, "x"), alloc(t, nic, 1, 2, "y")
				if err := nic.Init(x, 3); err != nil {
					t.Fatal(err)
				}
				ch := hashChecker{Chooser: c, tb: t, nic: nic}
				res := run(nic, []int{0, 1, 1}, sim.Config{}, ch, func(th *sim.Thread) {
					switch th.ID() {
					case 0:
						th.Store(x, 5)
						th.CAS(x, 5, 0)
						th.Swap(x, 7)
						th.FAA(x, 1)
						th.Alloc(2)
					case 1:
						th.RWrite(x, 9)
						th.RCAS(x, 9, 4)
					case 2:
						th.RFAA(y, 2)
						th.PostWriteValue(rdma.QPTo(0), x, 0, 0)
						th.Wait(th.PostCAS(rdma.QPTo(1), y, 2, 6, 0))
					}
				})
				if res.Finding != nil {
					t.Fatalf("%v", res.Finding)
				}
				if !nicmodel.MemHashIsFresh(nic) {
					t.Fatal("the memory hash is stale at the end")
				}
			}
		})
	}
}
