package checker_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

// drawConfig draws a small workload configuration.
func drawConfig(t *rapid.T) checker.Config {
	nodes := rapid.IntRange(1, 3).Draw(t, "nodes")
	counts := rapid.SliceOfN(rapid.IntRange(0, 2), nodes, nodes).Draw(t, "threads")
	if slices.Max(counts) == 0 {
		counts[0] = 1
	}
	return checker.Config{
		Nodes:    nodes,
		Threads:  counts,
		Home:     rapid.IntRange(0, nodes-1).Draw(t, "home"),
		Acquires: rapid.IntRange(1, 3).Draw(t, "acquires"),
		Scope:    rapid.SampledFrom([]string{"hca", "glob"}).Draw(t, "scope"),
	}
}

// TestPropertyReplayReproduces: for any configuration, algorithm and seed, an
// execution run twice gives the same trace bytes, and its decision list replays to
// the same trace and finding.
func TestPropertyReplayReproduces(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		a := rapid.SampledFrom(algorithms.All()).Draw(t, "algorithm")
		seed := rapid.Uint64().Draw(t, "seed")
		lock := func(s rdmaSetup) (rdmaLock, error) { return a.New(s, algorithms.Options{}) }
		run := func(c sim.Chooser) (checker.Execution, []byte) {
			ex, err := checker.Execute(cfg, checker.Lock(lock), c, true)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			traces.Render(&b, ex.Names, ex.Trace)
			fmt.Fprintf(&b, "%v\n", ex.Finding)
			return ex, b.Bytes()
		}
		ex1, b1 := run(sim.NewRandom(seed))
		_, b2 := run(sim.NewRandom(seed))
		if !bytes.Equal(b1, b2) {
			t.Fatalf("same seed, different traces:\n%s\n----\n%s", b1, b2)
		}
		r := sim.NewReplay(ex1.Decisions)
		_, b3 := run(r)
		if r.Err() != nil || r.Unused() != 0 || !bytes.Equal(b1, b3) {
			t.Fatalf("replay differs (err %v, %d unused):\n%s\n----\n%s", r.Err(), r.Unused(), b1, b3)
		}
	})
}

// TestPropertySafeLocksAnyConfig: the locks expected safe have no finding on any
// small configuration, under either atomic scope, for any seed.
func TestPropertySafeLocksAnyConfig(t *testing.T) {
	var safe []algorithms.Algorithm
	for _, a := range algorithms.All() {
		if a.ExpectSafe {
			safe = append(safe, a)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		a := rapid.SampledFrom(safe).Draw(t, "algorithm")
		lock := func(s rdmaSetup) (rdmaLock, error) { return a.New(s, algorithms.Options{}) }
		var ch sim.Chooser = sim.NewRandom(rapid.Uint64().Draw(t, "seed"))
		if rapid.Bool().Draw(t, "pct") {
			ch = sim.NewPCT(rapid.Uint64().Draw(t, "pct seed"), 8, 3, 100)
		}
		ex, err := checker.Execute(cfg, checker.Lock(lock), ch, false)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Finding != nil {
			t.Fatalf("%s on %s: %v", a.Name, cfg, ex.Finding)
		}
	})
}
