package hwrun_test

import (
	"os"
	"strconv"
	"strings"
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

// TestVerbsPosted: posted verbs (rdma.Async) over real QPs: post, poll in
// posting order, wait for atomics' old values, a blocking verb after them.
func TestVerbsPosted(t *testing.T) {
	devs := verbsDevices(t)
	checkPostedVerbs(t, hwrun.Config{Backend: hwrun.Verbs, Devices: devs, Nodes: 2, Threads: []int{1, 0}, Ops: 1, Timeout: 20 * time.Second})
}

// TestVerbsNaiveLocks: the naive locks on real verbs, in rounds of one short
// trial each, until a round shows a violation or the time budget runs out
// (RDMASIM_VERBS_BUDGET seconds, default 60; at most 40 rounds). Every trial
// must warn of mixed atomicity, and every violation must be of a kind the
// simulator produces for these locks (two owners, a lost update, a hand-off
// that never arrives: a hung run).
//
// On Linux 6.1 a violation is required: there a failed RDMA CAS writes back
// what it read, so a CPU store landing inside it is undone, and in every CI
// run so far (six) one of the first six rounds broke, within 18 s of the 40 s
// budget (a lost hand-off: hung, or two owners). On 6.12 a failed CAS writes nothing and the race needs a CPU
// atomic inside a successful one: it broke in none of the 63 trials of four
// CI runs (and once in 1 to 9 rounds when this test was written), too rarely
// for a bounded CI step to demand it honestly, so there the rounds are only
// logged with their outcomes. The atomicity gap itself is shown by verbscheck
// on both kernels.
func TestVerbsNaiveLocks(t *testing.T) {
	devs := verbsDevices(t)
	budget := 40 * time.Second
	if v, err := strconv.Atoi(os.Getenv("RDMASIM_VERBS_BUDGET")); err == nil && v > 0 {
		budget = time.Duration(v) * time.Second
	}
	possible := map[string]bool{"mutual exclusion": true, "lost update": true, hwrun.Hung: true, "linearizability": true}
	kinds := map[string]map[string]int{}
	broken, rounds := 0, 0
	start := time.Now()
	for rounds < 40 && broken == 0 && time.Since(start) < budget {
		rounds++
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
				t.Logf("round %d, %s: %v", rounds, name, f)
			} else {
				kinds[name]["ok"]++
			}
		}
	}
	t.Logf("%d rounds in %v, trials by outcome: %v", rounds, time.Since(start).Round(time.Second), kinds)
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	writesBack := strings.HasPrefix(string(release), "6.1.")
	switch {
	case broken == 0 && writesBack:
		t.Errorf("no naive lock broke within the budget on %s, a kernel whose failed RDMA CAS writes back (every CI run so far broke within three rounds)", strings.TrimSpace(string(release)))
	case broken == 0:
		t.Logf("no naive lock broke within the budget on %s: the race is real but rare there (see the comment)", strings.TrimSpace(string(release)))
	}
}

// TestVerbsProcs: spin, mcs and alock with one process per node on real
// verbs (each process opens its device, registers its arena, creates its QPs,
// and exchanges QP numbers, GIDs, rkeys and addresses through the
// coordinator): no violation, every operation recorded, a linearizable
// history; and spin-naive's mixed-atomicity warning across processes.
func TestVerbsProcs(t *testing.T) {
	devs := verbsDevices(t)
	c, dir, err := startCluster(t, 2, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close(); noLeftovers(t, dir) }()
	for _, name := range []string{"spin", "mcs", "alock", "spin-naive"} {
		cfg := hwrun.Config{Backend: hwrun.Verbs, Devices: devs, Nodes: 2, Threads: []int{1, 2}, Ops: 40,
			Linearizability: true, Timeout: 60 * time.Second}
		res, err := c.Run(cfg, lockWorkload(t, name), spec(testSpec{Lock: name}))
		if err != nil {
			t.Fatal(err)
		}
		if name == "spin-naive" {
			if len(res.Warnings) == 0 {
				t.Errorf("spin-naive across processes on verbs: no mixed-atomicity warning")
			}
			t.Logf("spin-naive: %v", res.Finding)
			continue
		}
		if res.Finding != nil {
			t.Errorf("%s on verbs across processes: %v", name, res.Finding)
		}
		if len(res.Ops) != 4*3*cfg.Ops {
			t.Errorf("%s: %d records, want %d", name, len(res.Ops), 4*3*cfg.Ops)
		}
		local, remote := res.Latencies("acquire")
		t.Logf("%s on %v across processes (atomic scope %s): setup %v, data path %v, acquire p50 local %v remote %v (emulator speed)",
			name, devs, res.AtomicScope, res.Setup, res.DataPath, time.Duration(local.P50), time.Duration(remote.P50))
	}
}
