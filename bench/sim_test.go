package bench_test

import (
	"context"
	"math"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/calibrate"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

func cx3(t *testing.T) *nicmodel.Profile {
	t.Helper()
	p, err := nicmodel.BuiltinProfile("cx3")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func simulate(t *testing.T, p bench.Point) bench.Measurement {
	t.Helper()
	m, err := bench.Simulate(context.Background(), cx3(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) > 0 {
		t.Fatalf("%s: %v", p, m.Findings)
	}
	return m
}

// TestLocality: ALock's throughput rises with p_local (local operations stay
// on the CPU); spin and MCS do not gain from it (their host threads take the
// lock through loopback verbs like everybody else).
func TestLocality(t *testing.T) {
	base := bench.Point{Nodes: 4, Threads: 4, Keys: 16, Seed: 1, Warmup: 100_000, Duration: 600_000}
	locals := []float64{0.5, 0.8, 1}
	for _, lock := range []string{"alock", "spin", "mcs"} {
		var tput []float64
		for _, l := range locals {
			p := base
			p.Lock, p.Local = lock, l
			tput = append(tput, simulate(t, p).Throughput)
		}
		t.Logf("%s: throughput at p_local %v: %.3g", lock, locals, tput)
		if lock == "alock" {
			for i := 1; i < len(tput); i++ {
				if tput[i] <= tput[i-1] {
					t.Errorf("alock: throughput %.3g at p_local %v is not above %.3g at %v", tput[i], locals[i], tput[i-1], locals[i-1])
				}
			}
			continue
		}
		if r := tput[2] / tput[0]; r > 1.2 || r < 0.8 {
			t.Errorf("%s gains %.2f× from p_local 1 over 0.5: its host threads should gain nothing", lock, r)
		}
	}
}

// TestUncontendedCost: one thread taking and releasing a lock on another node,
// with nobody else about, costs exactly what the verbs it issues cost (spin:
// an RDMA CAS and an RDMA WRITE, each measured alone by the calibration's
// closed-loop microbenchmark).
func TestUncontendedCost(t *testing.T) {
	prof := cx3(t)
	cas, err := calibrate.Simulate(prof, calibrate.Target{ID: "cas", Bench: calibrate.ClosedLatency, Verb: "cas"})
	if err != nil {
		t.Fatal(err)
	}
	write, err := calibrate.Simulate(prof, calibrate.Target{ID: "write", Bench: calibrate.ClosedLatency, Verb: "write"})
	if err != nil {
		t.Fatal(err)
	}
	// Two nodes, one key on each, one thread on each: thread n1/t0 with
	// p_local 0 always takes node 0's lock; n0/t0 (p_local 0) node 1's. They
	// never meet.
	m := simulate(t, bench.Point{Lock: "spin", Nodes: 2, Threads: 1, Keys: 2, Local: 0, Seed: 1, Warmup: 50_000, Duration: 500_000})
	want := cas + write
	if math.Abs(m.Remote.Mean-want) > 1 || m.Local.N != 0 {
		t.Errorf("uncontended remote lock + unlock: mean %.1f ns (%d ops, %d local), want CAS %.0f + WRITE %.0f = %.0f", m.Remote.Mean, m.Remote.N, m.Local.N, cas, write, want)
	}
}

// TestC8: one thread's stream of remote CAS with one outstanding reproduces
// row C8 of the calibration table within the fitted profile's error for it.
func TestC8(t *testing.T) {
	prof := cx3(t)
	for _, tg := range calibrate.CX3 {
		if tg.ID != "C8" {
			continue
		}
		v, err := calibrate.Simulate(prof, tg)
		if err != nil {
			t.Fatal(err)
		}
		if e := math.Abs(v-tg.Value) / tg.Value; e > 0.15 {
			t.Errorf("C8: %.0f ns against %.0f (%.0f%% off)", v, tg.Value, 100*e)
		}
		return
	}
	t.Fatal("no row C8")
}

func lockCounter(t *testing.T, name string) (workload.Workload, algorithms.Algorithm) {
	alg, err := algorithms.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return checker.Lock(func(s rdma.Setup) (rdma.Lock, error) { return alg.New(s, algorithms.Options{}) }), alg
}

// TestTimedMonitors: a timed run is one more schedule — on the safe locks
// every monitor holds (mutual exclusion, lost update, bypass bound,
// linearizability of the history), and every thread finishes.
func TestTimedMonitors(t *testing.T) {
	for _, name := range []string{"spin", "mcs", "alock", "ticket-naive", "dslr", "shiftlock"} {
		wl, alg := lockCounter(t, name)
		if !alg.ExpectSafe {
			continue
		}
		cfg := checker.Config{Nodes: 3, Threads: []int{2}, Home: 0, Acquires: 5, Scope: "hca", Timing: cx3(t), Linearizability: true}
		if alg.BypassBound != nil {
			cfg.BypassBound = alg.BypassBound(2, 4, algorithms.Options{})
		}
		for seed := uint64(1); seed <= 5; seed++ {
			ex, err := checker.RunTimed(cfg, wl, seed)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Finding != nil || ex.Horizon || ex.Abandoned {
				t.Fatalf("%s seed %d: %v (horizon %v)", name, seed, ex.Finding, ex.Horizon)
			}
			if ex.Lin == nil || ex.Lin.Verdict != workload.LinOK {
				t.Fatalf("%s seed %d: history not checked or not linearizable: %+v", name, seed, ex.Lin)
			}
			if got := len(ex.Ops); got != 6*5*4 {
				t.Fatalf("%s seed %d: %d operations timed, want %d", name, seed, got, 6*5*4)
			}
		}
	}
}

// TestTimedViolationReplays: a timed run of a naive lock breaks it, and the
// finding replays from its decisions like any other.
func TestTimedViolationReplays(t *testing.T) {
	for _, name := range []string{"spin-naive", "mcs-naive", "ticket-naive"} {
		wl, _ := lockCounter(t, name)
		cfg := checker.Config{Nodes: 2, Threads: []int{2, 2}, Home: 0, Acquires: 20, Scope: "hca", Timing: cx3(t)}
		found := false
		for seed := uint64(1); seed <= 20 && !found; seed++ {
			ex, err := checker.RunTimed(cfg, wl, seed)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Finding == nil {
				continue
			}
			found = true
			again, err := checker.Replay(cfg, wl, ex.Decisions)
			if err != nil {
				t.Fatal(err)
			}
			if again.Finding == nil || again.Finding.Property != ex.Finding.Property || again.Steps != ex.Steps {
				t.Errorf("%s seed %d: %v at step %d; replayed: %v at step %d", name, seed, ex.Finding, ex.Steps, again.Finding, again.Steps)
			}
			t.Logf("%s seed %d: %v (replays)", name, seed, ex.Finding)
		}
		if !found {
			t.Errorf("%s: no violation in 20 timed runs", name)
		}
	}
}
