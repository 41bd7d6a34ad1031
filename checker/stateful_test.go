package checker_test

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// oracleConfig is the exhaustive oracle's configuration: local + remote
// threads on 2 nodes, the lock on node 0.
func oracleConfig(local, remote, acquires int) checker.Config {
	return checker.Config{Nodes: 2, Threads: []int{local, remote}, Home: 0, Acquires: acquires, Scope: "hca"}
}

func TestStateSearchOracleSmall(t *testing.T) {
	if raceEnabled {
		t.Skip("tens of thousands of states: too slow under -race")
	}
	for _, c := range []struct {
		alg           string
		local, remote int
		acq           int
		finals        int
	}{
		{"spin", 1, 2, 1, 1},
		{"mcs", 1, 2, 1, 13},
		{"alock", 1, 2, 1, 6},
	} {
		lock := lockOf(t, c.alg, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		rep, err := checker.StateSearch{Config: oracleConfig(c.local, c.remote, c.acq), Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		t.Logf("%s %d+%d×%d: complete=%v states=%d transitions=%d finals=%d findings=%d %v", c.alg, c.local, c.remote, c.acq,
			rep.Complete, rep.States, rep.Transitions, rep.FinalStates, rep.Findings, rep.Elapsed)
		if !rep.Complete || rep.Findings > 0 || rep.FinalStates != c.finals {
			t.Errorf("%s: complete=%v findings=%d finals=%d, want complete, none, %d", c.alg, rep.Complete, rep.Findings, rep.FinalStates, c.finals)
		}
	}
}

// TestStateSearchFinalsMatchStateless: the final memories of the stateful
// search are those of the stateless DFS.
func TestStateSearchFinalsMatchStateless(t *testing.T) {
	if raceEnabled {
		t.Skip("tens of thousands of states: too slow under -race")
	}
	for _, c := range []struct {
		name  string
		cfg   checker.Config
		noPOR bool
	}{
		{"spin", oracleConfig(1, 2, 1), false}, {"mcs", oracleConfig(1, 2, 1), false}, {"spin-naive", oracleConfig(1, 2, 1), false},
		{"alock", oracleConfig(1, 2, 1), false}, {"mcs-naive", oracleConfig(1, 2, 1), false}, {"ticket-naive", oracleConfig(1, 2, 1), false},
		{"spin", oracleConfig(2, 2, 1), false},
		// Against every interleaving, unreduced.
		{"spin", oracleConfig(1, 1, 2), true}, {"mcs", oracleConfig(1, 1, 1), true},
	} {
		name, cfg := c.name, c.cfg
		lock := lockOf(t, name, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		finals := map[uint64]bool{}
		kinds := map[string]bool{}
		x, err := checker.Exploration{Config: cfg, Workload: checker.Lock(lock), Preemptions: -1, NoPOR: c.noPOR,
			OnExecution: func(ex checker.Execution) {
				if ex.Finding == nil {
					finals[ex.Final] = true
				} else {
					kinds[ex.Finding.Property] = true
				}
			}}.Run()
		if err != nil {
			t.Fatal(err)
		}
		rep, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatal(err)
		}
		var want []uint64
		for f := range finals {
			want = append(want, f)
		}
		slices.Sort(want)
		t.Logf("%s %v (unreduced %v): stateless %d finals (%d executions), stateful %d (%d states, %d findings)", name, cfg.Threads, c.noPOR,
			len(want), x.Executions, rep.FinalStates, rep.States, rep.Findings)
		if !x.Complete || !slices.Equal(want, rep.Finals) {
			t.Errorf("%s: final memories differ: stateless %x, stateful %x", name, want, rep.Finals)
		}
		if len(kinds) != len(rep.Kinds) {
			t.Errorf("%s: findings differ: stateless %v, stateful %v", name, kinds, rep.Kinds)
		}
		for k := range kinds {
			if rep.Kinds[k] == 0 {
				t.Errorf("%s: the stateful search misses %s", name, k)
			}
		}
	}
}

// BenchmarkStateSearch: the stateful search on the oracle's small rows, one
// worker and two (states/s and transitions/s of the whole search).
func BenchmarkStateSearch(b *testing.B) {
	for _, c := range []struct {
		alg                string
		local, remote, acq int
		workers            int
	}{{"spin", 3, 3, 2, 1}, {"alock", 2, 2, 1, 1}, {"alock", 2, 2, 1, 2}, {"mcs", 2, 2, 1, 1}} {
		b.Run(fmt.Sprintf("%s-%d+%dx%d-w%d", c.alg, c.local, c.remote, c.acq, c.workers), func(b *testing.B) {
			lock, _ := algorithms.Lookup(c.alg)
			wl := checker.Lock(func(s rdma.Setup) (rdma.Lock, error) {
				return lock.New(s, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
			})
			for range b.N {
				rep, err := checker.StateSearch{Config: oracleConfig(c.local, c.remote, c.acq), Workload: wl, Workers: c.workers}.Run()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(rep.States), "states")
				b.ReportMetric(float64(rep.States)/rep.Elapsed.Seconds(), "states/s")
				b.ReportMetric(float64(rep.Transitions)/rep.Elapsed.Seconds(), "transitions/s")
			}
		})
	}
}

// TestStateSearchOracleTable runs the oracle's table (RDMASIM_ORACLE=alg:local+remote×k,…).
func TestStateSearchOracleTable(t *testing.T) {
	spec := os.Getenv("RDMASIM_ORACLE")
	if spec == "" {
		t.Skip("set RDMASIM_ORACLE=alock:1+2x1,…")
	}
	for _, row := range strings.Split(spec, ",") {
		parts := strings.FieldsFunc(row, func(c rune) bool { return c == ':' || c == '+' || c == 'x' })
		if len(parts) != 4 {
			t.Fatalf("%q: want alg:local+remote×k", row)
		}
		alg := parts[0]
		l, _ := strconv.Atoi(parts[1])
		r, _ := strconv.Atoi(parts[2])
		k, _ := strconv.Atoi(parts[3])
		lock := lockOf(t, alg, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		max, _ := strconv.ParseInt(os.Getenv("RDMASIM_MAX_STATES"), 10, 64)
		rep, err := checker.StateSearch{Config: oracleConfig(l, r, k), Workload: checker.Lock(lock), MaxStates: max,
			Progress: func(p checker.StateProgress) {
				t.Logf("%s: %d states, %d transitions, %.0f states/s", row, p.States, p.Transitions, float64(p.States)/p.Elapsed.Seconds())
			}, ProgressEvery: 1_000_000}.Run()
		if err != nil {
			t.Fatalf("%s: %v", row, err)
		}
		t.Logf("| %s %d + %d | %d | complete=%v findings=%d | %d | %d | %d | %.1f MB | %.2f s |", alg, l, r, k, rep.Complete, rep.Findings,
			rep.States, rep.Transitions, rep.FinalStates, float64(rep.MemoryBytes)/1e6, rep.Elapsed.Seconds())
	}
}

// TestStateSearchMinimal: the minimal search's counterexample has the fewest
// steps of any violating execution: as few as the unreduced DFS's fewest at 1
// host + 1 remote thread (every interleaving), and no more than the fewest of
// the reduced DFS and of iterative deepening at 1 host + 2 remote threads.
// (A reduced DFS explores one execution per trace, and where in it the
// violation falls depends on the representative: not always the fewest.)
func TestStateSearchMinimal(t *testing.T) {
	if raceEnabled {
		t.Skip("tens of thousands of states: too slow under -race")
	}
	for _, name := range []string{"spin-naive", "mcs-naive", "ticket-naive"} {
		for _, remote := range []int{1, 2} {
			lock := lockOf(t, name, algorithms.Options{})
			cfg := oracleConfig(1, remote, 1)
			fewest := -1
			x, err := checker.Exploration{Config: cfg, Workload: checker.Lock(lock), Preemptions: -1, NoPOR: remote == 1,
				OnExecution: func(ex checker.Execution) {
					if ex.Finding != nil && (fewest < 0 || ex.Steps < fewest) {
						fewest = ex.Steps
					}
				}}.Run()
			if err != nil {
				t.Fatal(err)
			}
			d, err := checker.ShortestCounterexample(cfg, checker.Lock(lock), 2, 100_000)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock), Minimal: true}.Run()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Shortest == nil || d.Shortest == nil {
				t.Fatalf("%s 1+%d: no violation found", name, remote)
			}
			got := rep.Shortest.Execution.Steps
			t.Logf("%s 1+%d: minimal %d steps (%s; %d states), DFS fewest %d (reduced %v, complete %v, %d executions), deepening %d",
				name, remote, got, rep.Shortest.Finding.Property, rep.States, fewest, remote != 1, x.Complete, x.Executions, d.Shortest.Execution.Steps)
			if !rep.Minimal || got > fewest || got > d.Shortest.Execution.Steps || (remote == 1 && got != fewest) {
				t.Errorf("%s 1+%d: minimal search %d steps, DFS %d, deepening %d", name, remote, got, fewest, d.Shortest.Execution.Steps)
			}
		}
	}
}

// TestStateSearchLasso: with acquires 0 (forever), a lock whose threads retry
// a NIC CAS starves a thread (a fair cycle in which it keeps failing), which
// replays as a starvation finding. The spinlock does, and so does MCS over
// RDMA: there is no swap verb, so a thread takes its place in the queue with
// an RDMA READ and a CAS retry loop (rdma.Carry marks what it carries), and
// its CAS can fail forever while another thread keeps enqueueing and leaving.
// MCS is FIFO only from its doorway on, after that loop.
func TestStateSearchLasso(t *testing.T) {
	for _, c := range []struct {
		alg    string
		cfg    checker.Config
		max    int64
		starve bool
	}{
		{"spin", oracleConfig(1, 2, 0), 0, true},
		{"mcs", oracleConfig(1, 1, 0), 0, true},
	} {
		lock := lockOf(t, c.alg, algorithms.Options{})
		rep, err := checker.StateSearch{Config: c.cfg, Workload: checker.Lock(lock), Lassos: true, MaxStates: c.max}.Run()
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		if (c.max == 0 && !rep.Complete) || rep.Findings > 0 {
			t.Fatalf("%s: complete=%v findings=%v", c.alg, rep.Complete, rep.Kinds)
		}
		l := rep.Lasso
		t.Logf("%s: %d states, %d transitions, complete %v, lasso %v", c.alg, rep.States, rep.Transitions, rep.Complete, l != nil)
		if (l != nil) != c.starve {
			t.Fatalf("%s: lasso %v, want %v", c.alg, l != nil, c.starve)
		}
		if l != nil {
			t.Logf("%s: thread %d starves: stem %d steps, cycle %d steps; replay: %v", c.alg, l.Thread, l.StemSteps, l.CycleSteps, l.Counterexample.Finding)
			if l.Counterexample.Finding.Property != checker.Starvation {
				t.Errorf("%s: the lasso replays to %v", c.alg, l.Counterexample.Finding)
			}
		}
	}
}

// TestStateSearchWorkers: the parallel search stores and expands every state
// once, so its figures and verdict equal the serial search's.
func TestStateSearchWorkers(t *testing.T) {
	names := []string{"mcs", "spin-naive", "alock", "spin"}
	if raceEnabled {
		names = []string{"spin", "spin-naive"} // small, and the race detector sees the workers share
	}
	for _, name := range names {
		lock := lockOf(t, name, algorithms.Options{})
		cfg := oracleConfig(1, 2, 1)
		one, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{2, 3} {
			rep, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock), Workers: workers}.Run()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, %d workers: %d states, %d transitions, %d finals, %d findings, %v", name, workers, rep.States, rep.Transitions, rep.FinalStates, rep.Findings, rep.Elapsed)
			if rep.States != one.States || rep.Transitions != one.Transitions || !slices.Equal(rep.Finals, one.Finals) ||
				rep.Findings != one.Findings || rep.Complete != one.Complete || (rep.Shortest == nil) != (one.Shortest == nil) {
				t.Errorf("%s, %d workers: %d states, %d transitions, %d finals, %d findings; one worker: %d, %d, %d, %d", name, workers,
					rep.States, rep.Transitions, rep.FinalStates, rep.Findings, one.States, one.Transitions, one.FinalStates, one.Findings)
			}
		}
	}
}

// TestStateSearchUncached: the visited set changes what is counted, not what
// is found: a tree search over every path (no caching) reaches the same final
// memories and the same verdict.
func TestStateSearchUncached(t *testing.T) {
	for _, name := range []string{"spin", "spin-naive"} {
		lock := lockOf(t, name, algorithms.Options{})
		cfg := oracleConfig(1, 1, 1)
		cached, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatal(err)
		}
		tree, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock), NoCache: true}.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: cached %d states, uncached %d paths' states; finals %d, %d; findings %d, %d", name, cached.States, tree.States,
			cached.FinalStates, tree.FinalStates, cached.Findings, tree.Findings)
		if !cached.Complete || !tree.Complete || !slices.Equal(cached.Finals, tree.Finals) || (cached.Findings == 0) != (tree.Findings == 0) {
			t.Errorf("%s: cached and uncached searches differ", name)
		}
	}
}

// TestStateSearchFinalsMatchRandom (RDMASIM_LONG): on configurations the
// stateless DFS cannot finish, random schedules reach exactly the final
// memories the stateful search reports (none it does not, and, at this many
// schedules, all of them): MCS 1 host + 2 remote × 2 acquires (109; the
// exhaustive oracle's model, coarser, has 16) and ALock 2 + 2 × 1 (18; the
// oracle: 6).
func TestStateSearchFinalsMatchRandom(t *testing.T) {
	if os.Getenv("RDMASIM_LONG") == "" {
		t.Skip("about a minute: set RDMASIM_LONG=1")
	}
	for _, c := range []struct {
		alg string
		cfg checker.Config
	}{{"mcs", oracleConfig(1, 2, 2)}, {"alock", oracleConfig(2, 2, 1)}} {
		lock := lockOf(t, c.alg, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		rep, err := checker.StateSearch{Config: c.cfg, Workload: checker.Lock(lock), Workers: 2}.Run()
		if err != nil {
			t.Fatal(err)
		}
		cfg := c.cfg
		cfg.Arbitration = "any"
		random := map[uint64]bool{}
		for i := range 200_000 {
			ex, err := checker.Execute(cfg, checker.Lock(lock), sim.NewRandom(uint64(i)), false)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Finding == nil {
				random[ex.Final] = true
			}
		}
		t.Logf("%s: stateful %d final memories (%d states), random %d", c.alg, rep.FinalStates, rep.States, len(random))
		for f := range random {
			if !slices.Contains(rep.Finals, f) {
				t.Errorf("%s: random schedules reach a final memory %x the stateful search does not", c.alg, f)
			}
		}
		if len(random) != rep.FinalStates {
			t.Errorf("%s: random %d final memories, stateful %d", c.alg, len(random), rep.FinalStates)
		}
	}
}

// pauseCounter is a spinlock that breaks the Pause contract: it counts its
// failed attempts across Pauses and, after two, reads another word before
// entering. A stateful search equates its spin iterations and must notice.
type pauseCounter struct{ word, other rdma.Ptr }

func (l *pauseCounter) Acquire(t rdma.Thread) {
	n := 0
	for t.RCAS(l.word, 0, 1) != 0 {
		n++
		t.Pause()
	}
	if n >= 2 {
		t.RRead(l.other)
	}
}

func (l *pauseCounter) Release(t rdma.Thread) { t.RWrite(l.word, 0) }

// TestStateSearchDetectsBrokenPauseContract: a lock that carries state from one
// spin iteration into the next is reported, not explored wrongly in silence.
func TestStateSearchDetectsBrokenPauseContract(t *testing.T) {
	wl := checker.Lock(func(s rdma.Setup) (rdma.Lock, error) {
		return &pauseCounter{word: s.Alloc(s.Home(), 1, "lock"), other: s.Alloc(s.Home(), 1, "other")}, nil
	})
	_, err := checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: wl}.Run()
	if err == nil || !strings.Contains(err.Error(), "not a deterministic function") && !strings.Contains(err.Error(), "not exact") {
		t.Fatalf("err = %v, want the broken exactness condition reported", err)
	}
	t.Log(err)
}

// TestStateSearchShards: the union of the shards' records gives the serial
// search's states, transitions, final memories and findings, for any number
// of shards.
func TestStateSearchShards(t *testing.T) {
	if raceEnabled {
		t.Skip("tens of thousands of states: too slow under -race")
	}
	for _, name := range []string{"mcs", "spin-naive", "alock", "spin"} {
		lock := lockOf(t, name, algorithms.Options{})
		cfg := oracleConfig(1, 2, 1)
		one, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2, 3} {
			out := map[uint64]int32{}
			finals := map[uint64]bool{}
			findings := map[uint64]bool{}
			complete := true
			for i := range n {
				rep, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock), Shard: i, Shards: n, ShardDepth: 6,
					Record: func(r checker.StateRecord) {
						if old, ok := out[r.FP]; !ok || r.Out > old {
							out[r.FP] = r.Out
						}
						if r.Final {
							finals[r.FinalMem] = true
						}
						if r.Finding {
							findings[r.FP] = true
						}
					}}.Run()
				if err != nil {
					t.Fatal(err)
				}
				complete = complete && rep.Complete
			}
			var transitions int64
			for _, o := range out {
				if o < 0 {
					t.Errorf("%s, %d shards: a state no shard expanded", name, n)
				}
				transitions += int64(max(o, 0))
			}
			t.Logf("%s, %d shards: %d states, %d transitions, %d finals, %d findings (one search: %d, %d, %d, %d)", name, n, len(out), transitions,
				len(finals), len(findings), one.States, one.Transitions, one.FinalStates, one.Findings)
			if int64(len(out)) != one.States || transitions != one.Transitions || len(finals) != one.FinalStates || len(findings) != one.Findings || !complete {
				t.Errorf("%s, %d shards: the union differs from the one search", name, n)
			}
		}
	}
}

// TestStateSearchEndsItsCoroutines: the threads' coroutines (reused across
// restores) all end with the search, finished or not.
func TestStateSearchEndsItsCoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, c := range []struct {
		name    string
		max     int64
		workers int
	}{{"mcs", 0, 1}, {"alock", 0, 1}, {"alock", 500, 1}, {"mcs-naive", 0, 1}, {"alock", 0, 2}} {
		lock := lockOf(t, c.name, algorithms.Options{})
		if _, err := (checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: checker.Lock(lock), MaxStates: c.max, Workers: c.workers}).Run(); err != nil {
			t.Fatal(err)
		}
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before the searches, %d after", before, after)
	}
}
