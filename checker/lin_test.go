package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// linNoLock is a deliberately broken lock: Acquire and Release do nothing.
type linNoLock struct{}

func (linNoLock) Acquire(rdma.Thread) {}
func (linNoLock) Release(rdma.Thread) {}

// TestLinExecute: histories recorded by the workload. With a lock that does
// nothing, an execution that breaks mutual exclusion has an illegal history, one
// that happens to be sequential a linearizable one; with a safe lock, every
// history is linearizable.
func TestLinExecute(t *testing.T) {
	cfg := Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 3, Scope: "hca"}
	run := func(t *testing.T, newLock LockFactory, seeds int) (illegal int) {
		t.Helper()
		w, err := newRunner(cfg, Lock(newLock))
		if err != nil {
			t.Fatal(err)
		}
		w.history = true
		for seed := range uint64(seeds) {
			ex, err := w.execute(sim.NewRandom(seed), false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.History) == 0 {
				t.Fatalf("seed %d: no history", seed)
			}
			r := workload.CheckLinearizability(ex.History, workload.LockSpec(), workload.LinOptions{Names: ex.Names})
			want := workload.LinOK
			if ex.Finding != nil {
				want = workload.LinIllegal
				illegal++
			}
			if r.Verdict != want {
				t.Errorf("seed %d: finding %v, %d ops: verdict %s (%s), want %s", seed, ex.Finding, len(ex.History), r.Verdict, r.Reason, want)
			}
			if seed == 0 {
				t.Logf("seed 0: finding %v; %s %s", ex.Finding, r.Verdict, r.Reason)
			}
		}
		return illegal
	}
	t.Run("no-lock", func(t *testing.T) {
		n := run(t, func(rdma.Setup) (rdma.Lock, error) { return linNoLock{}, nil }, 50)
		t.Logf("%d of 50 executions break mutual exclusion", n)
		if n == 0 {
			t.Error("no execution broke the lock")
		}
	})
	for _, name := range []string{"spin", "mcs"} {
		t.Run(name, func(t *testing.T) {
			a, err := algorithms.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			if n := run(t, func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }, 50); n != 0 {
				t.Errorf("%d findings with a safe lock", n)
			}
		})
	}
}

// TestMixedAtomicity: the warning comes with the first execution of every naive
// lock (random, one schedule), never for the safe ones, and never under atomic
// scope glob.
func TestMixedAtomicity(t *testing.T) {
	for _, a := range algorithms.All() {
		for _, scope := range []string{"hca", "glob"} {
			cfg := DefaultConfig()
			cfg.Scope = scope
			newLock := func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }
			rep, err := Campaign{Config: cfg, Workload: Lock(newLock), Strategy: StrategyRandom, Schedules: 1, Seed: 1}.Run()
			if err != nil {
				t.Fatal(err)
			}
			naive := !a.ExpectSafe
			got := len(rep.Warnings) > 0
			t.Logf("%s %s: %v", a.Name, scope, rep.Warnings)
			if want := naive && scope == "hca"; got != want {
				t.Errorf("%s, scope %s: mixed-atomicity warning %v, want %v (%v)", a.Name, scope, got, want, rep.Warnings)
			}
			for _, w := range rep.Warnings {
				if w.Property != MixedAtomicity {
					t.Errorf("%s: warning %q is not mixed atomicity", a.Name, w.Property)
				}
			}
		}
	}
}

// panicLock panics in Acquire on the second thread: a bug in a user's lock.
type panicLock struct{ word rdma.Ptr }

func (l *panicLock) Acquire(t rdma.Thread) {
	t.RRead(l.word)
	if t.ID() == 1 {
		var none []int
		_ = none[t.ID()] // the line the report must name
	}
}
func (l *panicLock) Release(t rdma.Thread) {}

// TestPanicSite: a panic in the lock's code is reported with the file and line
// in that code, the thread and the step; a constructor that returns a nil lock
// is an error that says so.
func TestPanicSite(t *testing.T) {
	newLock := func(s rdma.Setup) (rdma.Lock, error) { return &panicLock{word: s.Alloc(s.Home(), 1, "w")}, nil }
	ex, err := Execute(DefaultConfig(), Lock(newLock), sim.NewRandom(1), false)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Finding == nil || ex.Finding.Property != Panic {
		t.Fatalf("finding %v, want a panic", ex.Finding)
	}
	for _, want := range []string{"n1/t0 panicked at step", "index out of range", "lin_test.go:", "panicLock"} {
		if !strings.Contains(ex.Finding.Message, want) {
			t.Errorf("message %q lacks %q", ex.Finding.Message, want)
		}
	}
	t.Log(ex.Finding.Message)

	nilLock := func(s rdma.Setup) (rdma.Lock, error) { return nil, nil }
	_, err = Execute(DefaultConfig(), Lock(nilLock), sim.NewRandom(1), false)
	if err == nil || !strings.Contains(err.Error(), "nil lock") {
		t.Errorf("nil lock: error %v, want one that says so", err)
	}
}

// TestLockTable: the lock table workload keeps every key's lock safe for the
// safe locks, breaks a naive one, and its key choices follow p_local.
func TestLockTable(t *testing.T) {
	for _, c := range []struct {
		alg  string
		zipf float64
		want string // "" or the property
	}{{"alock", 0, ""}, {"mcs", 1.5, ""}, {"spin-naive", 0, MutualExclusion}} {
		a, err := algorithms.Lookup(c.alg)
		if err != nil {
			t.Fatal(err)
		}
		newLock := func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }
		cfg := Config{Nodes: 2, Threads: []int{2}, Acquires: 3, Scope: "hca"}
		wl := workload.LockTable{Lock: newLock, Keys: 4, Local: 0.5, ZipfS: c.zipf, CriticalSection: true, Seed: 3}
		rep, err := Campaign{Config: cfg, Workload: wl, Strategy: StrategyRandom, Schedules: 300, Seed: 1}.Run()
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if rep.Shortest != nil {
			got = rep.Shortest.Finding.Property
			t.Logf("%s: %s", c.alg, rep.Shortest.Finding.Message)
		}
		if got != c.want {
			t.Errorf("%s: finding %q, want %q", c.alg, got, c.want)
		}
	}
	// Key choices follow p_local: count acquires on the thread's own node.
	for _, local := range []float64{0, 0.5, 1} {
		var own, all int
		newLock := func(s rdma.Setup) (rdma.Lock, error) {
			return &countLock{home: s.Home(), own: &own, all: &all}, nil
		}
		cfg := Config{Nodes: 3, Threads: []int{1}, Acquires: 200, Scope: "hca"}
		wl := workload.LockTable{Lock: newLock, Keys: 6, Local: local, Seed: 1}
		if _, err := Execute(cfg, wl, sim.NewRandom(1), false); err != nil {
			t.Fatal(err)
		}
		frac := float64(own) / float64(all)
		t.Logf("p_local %.1f: %d of %d acquires local (%.2f)", local, own, all, frac)
		if all != 600 || frac < local-0.1 || frac > local+0.1 {
			t.Errorf("p_local %.1f: %d of %d acquires on the own node", local, own, all)
		}
	}
	for _, bad := range []workload.LockTable{{Keys: 4}, {Lock: newPanic, Keys: 0}, {Lock: newPanic, Keys: 2, Local: 1.5}} {
		if _, err := Execute(DefaultConfig(), bad, sim.NewRandom(1), false); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if n := workload.KeyNode(5, 6, 3); n != 2 {
		t.Errorf("KeyNode(5, 6, 3) = %d, want 2", n)
	}
}

func newPanic(s rdma.Setup) (rdma.Lock, error) { return &panicLock{}, nil }

// countLock counts acquires, and those by a thread on the lock's home node.
type countLock struct {
	home     int
	own, all *int
}

func (l *countLock) Acquire(t rdma.Thread) {
	*l.all++
	if t.Node() == l.home {
		*l.own++
	}
}
func (l *countLock) Release(rdma.Thread) {}

// TestPinnedCampaigns pins what the default campaign (seed 1, 2,000 schedules,
// up to 20 findings) does on every built-in lock, as measured before the
// workload seam was introduced: the same steps, schedules and counterexample
// lengths mean the same executions, byte for byte in their decisions.
func TestPinnedCampaigns(t *testing.T) {
	want := map[string][3]int{ // steps, schedules, events in the counterexample shown
		"spin": {110497, 2000, 0}, "spin-naive": {1215, 43, 5}, "mcs": {191423, 2000, 0},
		"mcs-naive": {2737, 46, 10}, "ticket-naive": {1192, 34, 7}, "alock": {223641, 2000, 0}, "alock-nofence": {223641, 2000, 0},
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		w := want[name]
		a, err := algorithms.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		newLock := func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }
		res, err := Run(DefaultConfig(), Lock(newLock), Random{Schedules: 2000, Seed: 1, MaxFindings: 20}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		if res.Shortest != nil {
			events = len(res.Shortest.Execution.Trace)
		}
		if got := [3]int{int(res.Steps), res.Executions, events}; got != w {
			t.Errorf("%s: steps, schedules, events %v, pinned %v", a.Name, got, w)
		}
	}
}

// TestUnderKnobs checks every verdict the registry states under a knob setting
// (what `rdmasim list` shows): a named violation must be among the first 20
// violating schedules of a random campaign of up to 20,000, a safe verdict
// must survive 2,000 random and 2,000 PCT schedules (the long sweeps in the
// README's knob table go further).
func TestUnderKnobs(t *testing.T) {
	for _, a := range algorithms.All() {
		for _, k := range a.UnderKnobs {
			cfg := DefaultConfig()
			cfg.Linearizability = false
			cfg.Knobs = map[string]string{}
			for _, kv := range strings.Fields(k.Knobs) {
				name, value, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("%s: knob %q: want name=value", a.Name, kv)
				}
				cfg.Knobs[name] = value
			}
			newLock := func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, algorithms.Options{}) }
			if k.Violation != "" {
				res, err := Run(cfg, Lock(newLock), Random{Schedules: 20000, Seed: 1, NoShrink: true, MaxFindings: 20}, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Kinds[k.Violation] == 0 {
					t.Errorf("%s under %s: found %v, the registry says %s", a.Name, k.Knobs, res.Kinds, k.Violation)
				}
				continue
			}
			for _, st := range []Strategy{Random{Schedules: 2000, Seed: 1}, PCT{Random: Random{Schedules: 2000, Seed: 1}}} {
				res, err := Run(cfg, Lock(newLock), st, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Shortest != nil {
					t.Errorf("%s under %s (%s): %v, the registry says safe", a.Name, k.Knobs, st.Name(), res.Shortest.Finding)
				}
			}
		}
	}
}

// uniqueResults is a monitor of a user's own: no two "inc" operations may
// return the same value (a fetch-and-add hands out each value once). It also
// counts the returns it saw, and at the end checks it saw every one.
type uniqueResults struct {
	seen    map[uint64]string
	returns int
	want    int
}

func (m *uniqueResults) Observe(r *workload.Run, ev *workload.Event) *workload.Finding {
	if ev.Kind != workload.EvReturn || ev.Op.Name != "inc" {
		return nil
	}
	m.returns++
	if who, ok := m.seen[ev.Op.Result]; ok {
		return &workload.Finding{Property: "unique results", Message: fmt.Sprintf("%s and %s both got %d", who, r.Name(ev.Thread), ev.Op.Result)}
	}
	m.seen[ev.Op.Result] = r.Name(ev.Thread)
	return nil
}

func (m *uniqueResults) Finish(r *workload.Run) *workload.Finding {
	if m.returns != m.want {
		return &workload.Finding{Property: "unique results", Message: fmt.Sprintf("saw %d returns, want %d", m.returns, m.want)}
	}
	return nil
}

// TestUserMonitor: a workload's own monitor (Program.Monitors, through
// Object.Monitors) sees the operations' returns and its finding is a
// violation; its Finish runs at the end of a completed execution.
func TestUserMonitor(t *testing.T) {
	counter := func(readAdd bool) workload.Workload {
		return workload.Object[rdma.Ptr]{
			New: func(s workload.Setup) (rdma.Ptr, error) { return s.Alloc(s.Home(), 1, "counter"), nil },
			Thread: func(t *workload.Thread, w rdma.Ptr, ops int) {
				for range ops {
					t.Do("inc", func() uint64 {
						if !readAdd {
							return t.RFAA(w, 1)
						}
						v := t.RRead(w)
						t.RWrite(w, v+1)
						return v
					})
				}
			},
			Monitors: func(rdma.Ptr) []workload.Monitor {
				return []workload.Monitor{&uniqueResults{seen: map[uint64]string{}, want: 3 * 2}}
			},
		}
	}
	cfg := DefaultConfig()
	res, err := Run(cfg, counter(false), Random{Schedules: 500, Seed: 1}, Options{})
	if err != nil || res.Shortest != nil {
		t.Fatalf("FAA counter: %v, %v", err, res.Shortest)
	}
	res, err = Run(cfg, counter(true), Random{Schedules: 500, Seed: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Shortest == nil || res.Shortest.Finding.Property != "unique results" {
		t.Fatalf("READ+WRITE counter: %v, want the monitor's finding", res.Shortest)
	}
	t.Log(res.Shortest.Finding.Message)
}
