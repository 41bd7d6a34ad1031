package checker

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// TestStateRestoreRoundTrip: along random executions, a state saved, left by
// a few random steps and restored has the same fingerprint and offers the same
// options, and firing the same option from it leads to the same fingerprint
// as the first time.
func TestStateRestoreRoundTrip(t *testing.T) {
	for _, name := range []string{"alock", "mcs", "spin-naive"} {
		wl := budgetOneLock(t, name)
		cfg := Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 2, Scope: "hca", Arbitration: "any"}
		s, err := newStateSys(cfg, wl, nil)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		checked := 0
		for run := range 20 {
			if err := s.fresh(true); err != nil {
				t.Fatal(err)
			}
			for step := 0; step < 400; step++ {
				if f, end, _, err := s.judge(); err != nil || f != nil || end {
					break
				}
				opts := slices.Clone(s.eng.Options())
				fp := s.fingerprint()
				var sn snap
				if err := s.save(&sn); err != nil {
					t.Fatal(err)
				}
				pick := rng.IntN(len(opts))
				s.eng.Fire(opts[pick])
				after := s.fingerprint()
				// Wander off, then come back.
				for range rng.IntN(5) {
					if f, end, o, err := s.judge(); err != nil || f != nil || end || len(o) == 0 {
						break
					}
					o := s.eng.Options()
					s.eng.Fire(o[rng.IntN(len(o))])
				}
				s.restore(&sn)
				if got := s.fingerprint(); got != fp {
					t.Fatalf("%s run %d step %d: restored fingerprint %x, saved %x", name, run, step, got, fp)
				}
				if got := s.eng.Options(); !sameOpts(got, opts) {
					t.Fatalf("%s run %d step %d: restored options %v, saved %v", name, run, step, got, opts)
				}
				s.eng.Fire(opts[pick])
				if got := s.fingerprint(); got != after {
					t.Fatalf("%s run %d step %d: the same step from the restored state leads to %x, first %x", name, run, step, got, after)
				}
				if err := s.eng.Err(); err != nil {
					t.Fatal(err)
				}
				checked++
			}
		}
		s.eng.Stop()
		t.Logf("%s: %d round trips", name, checked)
	}
}

func sameOpts(a, b []sim.Option) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWildMatch(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{{"desc.*[0]", "desc.t0[0]", true}, {"desc.*[0]", "desc.t0[1]", false}, {"counter", "counter", true}, {"count", "counter", false},
		{"*", "x", true}, {"d*c*[0]", "desc.t12[0]", true}, {"*[0]", "victim", false}, {"a*a", "a", false}} {
		if got := wildMatch(c.pat, c.s); got != c.want {
			t.Errorf("wildMatch(%q, %q) = %v", c.pat, c.s, got)
		}
	}
}

// TestStateSearchCleanSlates: with room for only a few positions, the
// engines start from a clean slate at nearly every restore (and re-root the
// positions of the states they restore); the search finds exactly what it
// finds with room for all, on 1 and 2 workers, and on a lock that breaks
// mutual exclusion.
func TestStateSearchCleanSlates(t *testing.T) {
	names := []string{"alock", "mcs", "spin-naive"}
	if underRace {
		names = names[2:] // (the workers' sharing is what the race detector is for)
	}
	for _, name := range names {
		wl := budgetOneLock(t, name)
		cfg := Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 2, Scope: "hca"}
		for _, workers := range []int{1, 2} {
			search := func(limit int) StateReport {
				t.Helper()
				maxPositions = limit
				defer func() { maxPositions = sim.DefaultMaxPositions }()
				rep, err := StateSearch{Config: cfg, Workload: wl, Workers: workers}.Run()
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			all, few := search(sim.DefaultMaxPositions), search(4)
			if few.States != all.States || few.Transitions != all.Transitions || few.FinalStates != all.FinalStates ||
				few.Findings != all.Findings || !few.Complete {
				t.Errorf("%s, %d workers: with room for 4 positions %d states, %d transitions, %d finals, %d findings, complete %v; with room for all %d, %d, %d, %d",
					name, workers, few.States, few.Transitions, few.FinalStates, few.Findings, few.Complete,
					all.States, all.Transitions, all.FinalStates, all.Findings)
			}
		}
	}
}

// TestVisitedLargeTables: past 4 Mi slots the visited set fills to 85 %
// before it doubles, and still tells new fingerprints from old.
func TestVisitedLargeTables(t *testing.T) {
	if testing.Short() || underRace {
		t.Skip("64 MB, and nothing concurrent")
	}
	var v visited
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4_000_000
	fps := make([]uint64, n)
	for i := range fps {
		fps[i] = r.Uint64()
		if !v.add(fps[i]) {
			t.Fatalf("fingerprint %d (%#x) taken for one already seen", i, fps[i])
		}
	}
	if v.n != n || len(v.t) != 1<<23 {
		t.Fatalf("%d stored in %d slots; want %d in %d", v.n, len(v.t), n, 1<<23)
	}
	for i := 0; i < n; i += 97 {
		if v.add(fps[i]) {
			t.Fatalf("fingerprint %d (%#x) taken for a new one", i, fps[i])
		}
	}
	// 4 Mi slots held 3,565,158 states before doubling; at 75 % it would
	// have doubled at 3,145,728.
	var w visited
	for i := range 3_500_000 {
		w.add(fps[i])
	}
	if len(w.t) != 1<<22 {
		t.Fatalf("3.5 M states in %d slots; want %d (85 %% full)", len(w.t), 1<<22)
	}
}

// TestStateSearchCompact: a compact visited set (32 bits a state) with room
// to spare finds what the 64-bit one does, on 1 and 2 workers, and says how
// many states it expects to have lost; one too small stops the search, not
// complete, once it is 90 % full.
func TestStateSearchCompact(t *testing.T) {
	names := []string{"alock", "mcs", "spin-naive"}
	if underRace {
		names = names[2:]
	}
	for _, name := range names {
		wl := budgetOneLock(t, name)
		cfg := Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 2, Scope: "hca"}
		for _, workers := range []int{1, 2} {
			full, err := StateSearch{Config: cfg, Workload: wl, Workers: workers}.Run()
			if err != nil {
				t.Fatal(err)
			}
			compact, err := StateSearch{Config: cfg, Workload: wl, Workers: workers, VisitedBytes: 16 << 20}.Run()
			if err != nil {
				t.Fatal(err)
			}
			if compact.States != full.States || compact.Transitions != full.Transitions || compact.FinalStates != full.FinalStates ||
				compact.Findings != full.Findings || !compact.Complete || compact.VisitedFull {
				t.Errorf("%s, %d workers: compact %d states, %d transitions, %d finals, %d findings, complete %v; 64-bit %d, %d, %d, %d",
					name, workers, compact.States, compact.Transitions, compact.FinalStates, compact.Findings, compact.Complete,
					full.States, full.Transitions, full.FinalStates, full.Findings)
			}
			if !(compact.OmittedEstimate > 0 && compact.OmittedEstimate < 1e-3) || compact.MemoryBytes < 16<<20/2 {
				t.Errorf("%s, %d workers: omitted estimate %g, memory %d bytes", name, workers, compact.OmittedEstimate, compact.MemoryBytes)
			}
			tiny, err := StateSearch{Config: cfg, Workload: wl, Workers: workers, VisitedBytes: 1}.Run()
			if err != nil {
				t.Fatal(err)
			}
			// 1024 slots per set (one set, or one per stripe of 64): the
			// search stops once one is 90 % full (922 states).
			sets := int64(1)
			if workers > 1 {
				sets = 64
			}
			switch {
			case full.States > 2*sets*922:
				if tiny.Complete || !tiny.VisitedFull || tiny.States > sets*922+int64(workers) || tiny.States < 900 {
					t.Errorf("%s, %d workers, 4 KiB sets: %d states, complete %v, full %v", name, workers, tiny.States, tiny.Complete, tiny.VisitedFull)
				}
			case full.States < sets*700:
				if !tiny.Complete || tiny.VisitedFull || tiny.States != full.States {
					t.Errorf("%s, %d workers, 4 KiB sets with room: %d states, complete %v, full %v", name, workers, tiny.States, tiny.Complete, tiny.VisitedFull)
				}
			}
		}
	}
}

// TestVisitedCompactCountsProbes: a compact set counts the occupied slots
// its insertions probed, each a chance of 2⁻³² to lose a state.
func TestVisitedCompactCountsProbes(t *testing.T) {
	v := compactVisited(4096)
	if len(v.tags) != 1024 {
		t.Fatalf("%d slots in 4 KiB", len(v.tags))
	}
	// Three fingerprints with the same home slot (low bits) and different
	// tags: 0 + 1 + 2 probes of occupied slots.
	for k := range uint64(3) {
		if !v.add(5 | (k+1)<<26) {
			t.Fatalf("fingerprint %d taken for one already seen", k)
		}
	}
	if v.probes != 3 || v.add(5|2<<26) {
		t.Fatalf("probes %d; or a fingerprint seen taken for a new one", v.probes)
	}
	// Same tag, same home slot: taken for the one already there (lost).
	if v.add(5 | 1<<26 | 1<<60) {
		t.Fatal("bits outside the tag and the slot told apart")
	}
	if got, want := v.omitted(), 3/math.Exp2(32); math.Abs(got-want) > want*1e-3 {
		t.Fatalf("omitted %g, want %g", got, want)
	}
}

// budgetOneLock is the counter workload over the built-in lock name, with
// budgets 1 and 1.
func budgetOneLock(t *testing.T, name string) workload.Workload {
	t.Helper()
	a, err := algorithms.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return Lock(func(s rdma.Setup) (rdma.Lock, error) {
		return a.New(s, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
	})
}
