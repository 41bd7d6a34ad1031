package hwrun_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/hwrun/verbs"
)

// verbsDevices skips t where there is no verbs device to run on: a build
// without the rdma tag, or a machine without an RDMA device (run it in the
// Soft-RoCE guest: hwrun/guest/run.sh, as .ci/run does).
func verbsDevices(t *testing.T) []string {
	t.Helper()
	if !verbs.Supported() {
		t.Skip("verbs support not compiled in (go test -tags rdma)")
	}
	names, err := verbs.DeviceNames()
	if err != nil || len(names) == 0 {
		t.Skipf("no RDMA device here (%v): run in the Soft-RoCE guest", err)
	}
	return names
}

// TestVerbsSafeLocks: spin, mcs and alock on real verbs (remote threads on the
// other device, host threads on the lock's node, loopback verbs through their
// own device): no violation, every operation recorded.
func TestVerbsSafeLocks(t *testing.T) {
	devs := verbsDevices(t)
	for _, name := range []string{"spin", "mcs", "alock"} {
		cfg := hwrun.Config{Backend: hwrun.Verbs, Devices: devs, Nodes: 2, Threads: []int{1, 2}, Ops: 40,
			Linearizability: true, Timeout: 60 * time.Second}
		res, err := hwrun.Run(cfg, lockWorkload(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if res.Finding != nil {
			t.Errorf("%s on verbs: %v", name, res.Finding)
		}
		if len(res.Ops) != 4*3*cfg.Ops {
			t.Errorf("%s: %d records, want %d", name, len(res.Ops), 4*3*cfg.Ops)
		}
		local, remote := res.Latencies("acquire")
		t.Logf("%s on %v (atomic scope %s): setup %v, data path %v, acquire p50 local %v remote %v (emulator speed: not performance data)",
			name, devs, res.AtomicScope, res.Setup, res.DataPath, time.Duration(local.P50), time.Duration(remote.P50))
	}
}

// TestVerbsNaiveLocks: the naive locks on real verbs, in rounds of one short
// trial each, until a round shows a violation (at most RDMASIM_VERBS_ROUNDS
// rounds, default 40). Every trial must warn of mixed atomicity, and every
// violation must be of a kind the simulator produces for these locks (two
// owners, a lost update, a hand-off that never arrives: a hung run). On rxe in
// the guest a trial of 1,000 acquires per thread breaks about one time in six;
// the rate is the emulator's, only the existence carries over.
func TestVerbsNaiveLocks(t *testing.T) {
	devs := verbsDevices(t)
	rounds := 40
	if v, err := strconv.Atoi(os.Getenv("RDMASIM_VERBS_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	possible := map[string]bool{"mutual exclusion": true, "lost update": true, hwrun.Hung: true, "linearizability": true}
	kinds := map[string]map[string]int{}
	broken := 0
	for round := 1; round <= rounds && broken == 0; round++ {
		for _, name := range []string{"spin-naive", "ticket-naive", "mcs-naive"} {
			cfg := hwrun.Config{Backend: hwrun.Verbs, Devices: devs, Nodes: 2, Threads: []int{2, 2}, Ops: 1000, Timeout: 5 * time.Second}
			res, err := hwrun.Run(cfg, lockWorkload(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) == 0 {
				t.Errorf("%s: no mixed-atomicity warning", name)
			}
			if kinds[name] == nil {
				kinds[name] = map[string]int{}
			}
			if f := res.Finding; f != nil {
				kinds[name][f.Property]++
				broken++
				if !possible[f.Property] {
					t.Errorf("%s: %v: a kind of violation the simulator does not produce for this lock", name, f)
				}
				t.Logf("round %d, %s: %v", round, name, f)
			} else {
				kinds[name]["ok"]++
			}
		}
	}
	t.Logf("trials by outcome: %v", kinds)
	if broken == 0 {
		t.Errorf("no naive lock broke in %d rounds", rounds)
	}
}
