package hwrun_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

func lockWorkload(t testing.TB, name string) workload.Workload {
	t.Helper()
	a, err := algorithms.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return workload.LockCounter{Lock: func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }}
}

// TestSafeLocksNative: the safe locks keep mutual exclusion and every update on
// real threads and real atomics, with HCA-style NIC atomics; the records and
// latencies add up.
func TestSafeLocksNative(t *testing.T) {
	for _, name := range []string{"spin", "mcs", "alock"} {
		for _, threads := range [][]int{{2}, {1, 2}} {
			cfg := hwrun.Config{Nodes: len(threads), Threads: threads, Ops: 300, Linearizability: true, Timeout: 20 * time.Second}
			if len(threads) == 1 {
				cfg.Nodes = 1
			}
			res, err := hwrun.Run(cfg, lockWorkload(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if res.Finding != nil {
				t.Fatalf("%s %v: %v", name, threads, res.Finding)
			}
			n := 0
			for _, k := range threads {
				n += k
			}
			if got, want := len(res.Ops), 4*n*cfg.Ops; got != want {
				t.Errorf("%s %v: %d operation records, want %d", name, threads, got, want)
			}
			if res.Lin == nil || res.Lin.Verdict != workload.LinOK {
				t.Errorf("%s %v: linearizability %v", name, threads, res.Lin)
			}
			local, remote := res.Latencies(workload.OpAcquire)
			if local.Count+remote.Count != n*cfg.Ops || local.P50 <= 0 {
				t.Errorf("%s %v: acquire latencies %+v %+v", name, threads, local, remote)
			}
			if len(res.Warnings) > 0 {
				t.Errorf("%s: mixed-atomicity warning on a safe lock: %v", name, res.Warnings)
			}
			t.Logf("%s %v: %.0f acquires/s, acquire p50 local %v remote %v, setup %v, data path %v",
				name, threads, res.Throughput(workload.OpAcquire), time.Duration(local.P50), time.Duration(remote.P50), res.Setup, res.DataPath)
		}
	}
}

// TestNaiveLockNative: the naive spinlock mixes a CPU CAS and a NIC CAS on one
// word. The mixed-atomicity monitor says so on every run, whatever the
// interleaving; and on real threads the race shows: with 2 host and 2 remote
// threads, 20,000 acquires each, 26 of 30 runs broke mutual exclusion on a
// quiet machine when this was written. The threads must run in parallel for
// the race to show, so on a machine busy with other work fewer runs break
// (none in 10 once, with the load at 4 on 2 cores): the test runs up to 40,
// or 25 s, and stops at the first violation. With global atomics the lock is
// safe and no warning is given.
func TestNaiveLockNative(t *testing.T) {
	cfg := hwrun.Config{Nodes: 2, Threads: []int{2, 2}, Ops: 20000, Timeout: 10 * time.Second}
	violations, runs := 0, 0
	start := time.Now()
	for ; runs < 40 && violations == 0 && time.Since(start) < 25*time.Second; runs++ {
		res, err := hwrun.Run(cfg, lockWorkload(t, "spin-naive"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) == 0 || res.Warnings[0].Property != workload.MixedAtomicity || !strings.Contains(res.Warnings[0].Message, "lock") {
			t.Fatalf("warnings %v, want mixed atomicity on the lock word", res.Warnings)
		}
		if res.Finding != nil {
			violations++
			t.Logf("violation: %v", res.Finding)
			if res.Finding.Property != workload.MutualExclusion && res.Finding.Property != workload.LostUpdate && res.Finding.Property != hwrun.Hung {
				t.Errorf("a kind of violation the simulator does not produce for spin-naive: %v", res.Finding)
			}
		}
	}
	t.Logf("%d runs in %v, %d with a violation", runs, time.Since(start).Round(time.Millisecond), violations)
	if violations == 0 {
		t.Errorf("spin-naive kept mutual exclusion in %d runs of 4 threads × 20,000 acquires", runs)
	}
	cfg.GlobalAtomics, cfg.Ops = true, 2000
	res, err := hwrun.Run(cfg, lockWorkload(t, "spin-naive"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Finding != nil || len(res.Warnings) > 0 {
		t.Errorf("global atomics: %v, warnings %v", res.Finding, res.Warnings)
	}
}

// brokenLock never lets anyone in after the first holder: a deadlock, which a
// native run reports as hung after its timeout.
type brokenLock struct{ w rdma.Ptr }

func (l *brokenLock) Acquire(t rdma.Thread) {
	for t.RCAS(l.w, 0, 1) != 0 {
		t.Pause()
	}
}
func (l *brokenLock) Release(rdma.Thread) {} // never frees

// TestHungAndMisuse: a lock that never frees is reported as hung after the
// timeout (every thread unwinds at its next Pause); a CPU operation on another
// node's memory and a panic are findings naming the thread.
func TestHungAndMisuse(t *testing.T) {
	hung := workload.LockCounter{Lock: func(s rdma.Setup) (rdma.Lock, error) { return &brokenLock{w: s.Alloc(s.Home(), 1, "lock")}, nil }}
	res, err := hwrun.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 2, Timeout: 200 * time.Millisecond}, hung)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hung || res.Finding == nil || res.Finding.Property != hwrun.Hung || !strings.Contains(res.Finding.Message, "acquire") {
		t.Fatalf("hung %v, finding %v", res.Hung, res.Finding)
	}

	misuse := workload.Object[rdma.Ptr]{
		New:    func(s workload.Setup) (rdma.Ptr, error) { return s.Alloc(0, 1, "w"), nil },
		Thread: func(t *workload.Thread, w rdma.Ptr, ops int) { t.Store(w, 1) },
	}
	res, err = hwrun.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 1}, misuse)
	if err != nil {
		t.Fatal(err)
	}
	if res.Finding == nil || res.Finding.Property != "misuse" || !strings.Contains(res.Finding.Message, "another node") {
		t.Errorf("misuse: %v", res.Finding)
	}

	panics := workload.Object[int]{
		New:    func(s workload.Setup) (int, error) { return 1, nil },
		Thread: func(t *workload.Thread, _ int, ops int) { var s []int; _ = s[t.ID()+ops] },
	}
	res, err = hwrun.Run(hwrun.Config{Nodes: 1, Threads: []int{1}, Ops: 1}, panics)
	if err != nil {
		t.Fatal(err)
	}
	if res.Finding == nil || res.Finding.Property != "panic" || !strings.Contains(res.Finding.Message, "run_test.go:") {
		t.Errorf("panic: %v", res.Finding)
	}

	for _, bad := range []hwrun.Config{{Nodes: 0, Threads: []int{1}, Ops: 1}, {Nodes: 2, Threads: []int{1, 2, 3}, Ops: 1}, {Nodes: 1, Threads: []int{1}}} {
		if _, err := hwrun.Run(bad, hung); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestCSV: one line per operation, in start order, after the header.
func TestCSV(t *testing.T) {
	res, err := hwrun.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 3}, lockWorkload(t, "mcs"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if lines[0] != "thread,node,local,op,start_ns,end_ns,latency_ns" || len(lines) != 1+4*2*3 {
		t.Errorf("csv: %d lines, header %q", len(lines), lines[0])
	}
}

// TestEveryLockNative: every registered lock runs on the native backend
// (whose threads cannot post asynchronous verbs) without a panic or a misuse;
// the ones expected safe show no violation.
func TestEveryLockNative(t *testing.T) {
	for _, a := range algorithms.All() {
		res, err := hwrun.Run(hwrun.Config{Nodes: 2, Threads: []int{1, 2}, Ops: 300, Timeout: 5 * time.Second}, lockWorkload(t, a.Name))
		if err != nil {
			t.Fatal(err)
		}
		if f := res.Finding; f != nil && (f.Property == "panic" || f.Property == "misuse" || a.ExpectSafe) {
			t.Errorf("%s: %v", a.Name, f)
		}
	}
}

// TestPostedVerbsNative: the native backend's threads post verbs (rdma.Async):
// a 2-word WRITE from a local buffer, an inline WRITE, a READ into a local
// buffer, CAS and FAA with their old values from Wait, completions from Poll
// in posting order, and a blocking verb after posted ones.
func TestPostedVerbsNative(t *testing.T) {
	checkPostedVerbs(t, hwrun.Config{Nodes: 2, Threads: []int{1, 0}, Ops: 1})
}

// checkPostedVerbs runs the posted-verbs program on cfg's backend.
func checkPostedVerbs(t *testing.T, cfg hwrun.Config) {
	type words struct{ remote, local rdma.Ptr }
	var got []uint64
	obj := workload.Object[words]{
		New: func(s workload.Setup) (words, error) {
			return words{remote: s.Alloc(1, 4, "r"), local: s.Alloc(0, 4, "l")}, nil
		},
		Thread: func(t *workload.Thread, w words, ops int) {
			if !t.CanPost() {
				panic("the native backend's thread cannot post")
			}
			q := rdma.QP{Node: 1}
			t.Store(w.local, 7)
			t.Store(w.local.Add(1), 8)
			h1 := t.PostWrite(q, w.remote, w.local, 2, 0)
			h2 := t.PostWriteValue(q, w.remote.Add(2), 9, 0)
			h3 := t.PostCAS(q, w.remote, 7, 70, rdma.Fenced)
			h4 := t.PostFAA(q, w.remote.Add(1), 1, 0)
			var polled []uint64
			for len(polled) < 4 {
				if r, ok := t.Poll(q); ok {
					polled = append(polled, uint64(r))
				} else {
					t.Pause()
				}
			}
			got = append(got, polled...)
			got = append(got, t.Wait(h3), t.Wait(h4), t.Wait(h1), t.Wait(h2))
			h5 := t.PostRead(q, w.local.Add(2), w.remote, 3, 0)
			t.Wait(h5)
			got = append(got, t.Load(w.local.Add(2)), t.Load(w.local.Add(3)), t.RRead(w.remote.Add(2)))
		},
	}
	res, err := hwrun.Run(cfg, obj)
	if err != nil {
		t.Fatal(err)
	}
	if res.Finding != nil {
		t.Fatal(res.Finding)
	}
	want := []uint64{1, 2, 3, 4, 7, 8, 0, 0, 70, 9, 9}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (polled handles, CAS and FAA old values, READ results)", got, want)
	}
}
