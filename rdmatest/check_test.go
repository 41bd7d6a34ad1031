package rdmatest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/rdmatest"
	"github.com/rdmasim/rdmasim/traces"
)

// shortcutLock is a test-and-set lock on one word of the home node. With
// shortcut set, threads on the home node take it with a CPU CAS and free it with
// a CPU store, which breaks mutual exclusion under atomic scope hca (the CAS can
// land between an RDMA CAS's read and its write); without, every thread goes
// through the NIC (loopback for host threads), which is safe.
type shortcutLock struct {
	word rdma.Ptr
	cpu  []bool // by thread id: takes the CPU shortcut
}

func newShortcutLock(shortcut bool) checker.LockFactory {
	return func(s rdma.Setup) (rdma.Lock, error) {
		l := &shortcutLock{word: s.Alloc(s.Home(), 1, "lock")}
		for _, th := range s.Threads() {
			l.cpu = append(l.cpu, shortcut && th.Local)
		}
		return l, nil
	}
}

func (l *shortcutLock) Acquire(t rdma.Thread) {
	if l.cpu[t.ID()] {
		for t.CAS(l.word, 0, 1) != 0 {
			t.Pause()
		}
		return
	}
	for t.RCAS(l.word, 0, 1) != 0 {
		t.Pause()
	}
}

func (l *shortcutLock) Release(t rdma.Thread) {
	if l.cpu[t.ID()] {
		t.Store(l.word, 0)
		return
	}
	t.RWrite(l.word, 0)
}

// fakeTB records what Check tells a test. Only the methods Check calls are
// implemented; the embedded nil TB makes any other call panic.
type fakeTB struct {
	testing.TB
	name   string
	logs   []string
	errors []string
	fatal  bool
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return f.name }
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	f.fatal = true
}

// verdict is "ok", or "failed: " and the first line of the first error.
func (f *fakeTB) verdict() string {
	if len(f.errors) == 0 {
		return "ok"
	}
	first, _, _ := strings.Cut(f.errors[0], "\n")
	return "failed: " + first
}

// TestCheckFailsOnABrokenLock: Check fails the test with the shrunk trace, a
// replay file that replays to the same finding, and the command to reproduce.
func TestCheckFailsOnABrokenLock(t *testing.T) {
	dir := t.TempDir()
	tb := &fakeTB{name: "TestUser/hca"}
	cfg := checker.DefaultConfig()
	lock := newShortcutLock(true)
	rdmatest.CheckLock(tb, lock, cfg, rdmatest.ReplayDir(dir), rdmatest.Schedules(500))
	if len(tb.errors) != 1 || tb.fatal {
		t.Fatalf("want one Errorf, got %d errors (fatal %v): %q", len(tb.errors), tb.fatal, tb.errors)
	}
	msg := tb.errors[0]
	t.Logf("the failure as a user sees it:\n%s", msg)
	for _, want := range []string{
		"rdmasim: mutual exclusion:",
		"cs-enter, while",
		"replay file: " + filepath.Join(dir, "TestUser_hca"),
		"RDMASIM_SEED=", "RDMASIM_SCHEDULES=", "RDMASIM_STRATEGY=",
		`-run '^TestUser$/^hca$'`,
		"RDMASIM_REPLAY=",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q", want)
		}
	}
	if len(tb.logs) == 0 || !strings.Contains(tb.logs[0], "seed") {
		t.Errorf("the settings are not logged first: %q", tb.logs)
	}

	// The next run replays the saved failure first, and fails on it without
	// exploring; RDMASIM_REPLAY replays the one file.
	tb2 := &fakeTB{name: "TestUser/hca"}
	rdmatest.CheckLock(tb2, lock, cfg, rdmatest.ReplayDir(dir), rdmatest.Schedules(500))
	if len(tb2.errors) != 1 || !strings.Contains(tb2.errors[0], "saved failure") || !strings.Contains(tb2.errors[0], "still fails") {
		t.Errorf("second run: errors %q, want the saved failure replayed first", tb2.errors)
	}
	for _, l := range tb2.logs {
		if strings.Contains(l, "schedules, seed") {
			t.Errorf("second run explored (%q) after a saved failure failed", l)
		}
	}

	files, _ := filepath.Glob(filepath.Join(dir, "TestUser_hca", "*.json"))
	if len(files) != 1 {
		t.Fatalf("%d replay files, want 1", len(files))
	}
	r, err := traces.Load(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.Algorithm != "custom:TestUser/hca" || r.Property != checker.MutualExclusion {
		t.Errorf("replay file names %q, %q", r.Algorithm, r.Property)
	}
	cfg2, saved, err := checker.SavedRun(r)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := checker.Replay(cfg2, checker.Lock(lock), saved.Decisions)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Finding == nil || ex.Finding.Property != r.Property || ex.Finding.Message != r.Message || len(ex.Trace) != r.Length {
		t.Errorf("replay: %v, %d events; file: %s: %s, %d events", ex.Finding, len(ex.Trace), r.Property, r.Message, r.Length)
	}
}

// TestCheckPassesOnASafeLock: no failure, and the settings are logged.
func TestCheckPassesOnASafeLock(t *testing.T) {
	tb := &fakeTB{name: "TestUser"}
	rdmatest.CheckLock(tb, newShortcutLock(false), checker.DefaultConfig(), rdmatest.Seed(7))
	if len(tb.errors) > 0 {
		t.Fatalf("a safe lock failed: %q", tb.errors)
	}
	if os.Getenv("RDMASIM_SEED") == "" && (len(tb.logs) == 0 || !strings.Contains(tb.logs[0], "seed 7")) {
		t.Errorf("logs %q: want the seed first", tb.logs)
	}
}

// TestCheckExpectViolation: ExpectViolation inverts the verdict, for the named
// property or any.
func TestCheckExpectViolation(t *testing.T) {
	cfg := checker.DefaultConfig()
	broken, safe := newShortcutLock(true), newShortcutLock(false)
	for _, c := range []struct {
		name string
		lock checker.LockFactory
		opt  rdmatest.Option
		want string // "" passes, else a substring of the failure
	}{
		{"broken, any", broken, rdmatest.ExpectViolation(""), ""},
		{"broken, mutual exclusion", broken, rdmatest.ExpectViolation(checker.MutualExclusion), ""},
		{"broken, deadlock", broken, rdmatest.ExpectViolation(checker.Deadlock), "expected a violation of deadlock, found another"},
		{"safe, any", safe, rdmatest.ExpectViolation(""), "expected a violation, but none of"},
		{"safe, mutual exclusion", safe, rdmatest.ExpectViolation(checker.MutualExclusion), "expected a violation of mutual exclusion"},
		{"unknown property", broken, rdmatest.ExpectViolation("mutex"), `ExpectViolation("mutex"): no such property`},
	} {
		tb := &fakeTB{name: "TestUser"}
		rdmatest.CheckLock(tb, c.lock, cfg, c.opt, rdmatest.ReplayDir(t.TempDir()), rdmatest.Schedules(500))
		switch {
		case c.want == "" && len(tb.errors) > 0:
			t.Errorf("%s: failed: %q", c.name, tb.errors)
		case c.want != "" && (len(tb.errors) == 0 || !strings.Contains(tb.errors[0], c.want)):
			t.Errorf("%s: errors %q, want one containing %q", c.name, tb.errors, c.want)
		}
	}
}

// TestCheckEnvironment: the environment overrides options, and a bad value is a
// fatal usage error.
func TestCheckEnvironment(t *testing.T) {
	t.Setenv("RDMASIM_SCHEDULES", "37")
	t.Setenv("RDMASIM_SEED", "5")
	t.Setenv("RDMASIM_STRATEGY", "pct")
	tb := &fakeTB{name: "TestUser"}
	rdmatest.CheckLock(tb, newShortcutLock(false), checker.DefaultConfig(), rdmatest.Schedules(10), rdmatest.Seed(9))
	if len(tb.errors) > 0 || len(tb.logs) < 2 {
		t.Fatalf("errors %q, logs %q", tb.errors, tb.logs)
	}
	for _, want := range []string{"strategy pct", "37 schedules", "seed 5"} {
		if !strings.Contains(tb.logs[0], want) {
			t.Errorf("settings %q lack %q", tb.logs[0], want)
		}
	}
	if !strings.Contains(tb.logs[1], "37 schedules") {
		t.Errorf("ran %q, want 37 schedules", tb.logs[1])
	}

	for _, bad := range [][2]string{{"RDMASIM_SCHEDULES", "many"}, {"RDMASIM_SCHEDULES", "0"}, {"RDMASIM_SEED", "-1"}, {"RDMASIM_STRATEGY", "bfs"}} {
		t.Setenv(bad[0], bad[1])
		tb := &fakeTB{name: "TestUser"}
		rdmatest.CheckLock(tb, newShortcutLock(false), checker.DefaultConfig())
		if !tb.fatal {
			t.Errorf("%s=%s: want a fatal error, got %q", bad[0], bad[1], tb.errors)
		}
		t.Setenv(bad[0], map[string]string{"RDMASIM_SCHEDULES": "37", "RDMASIM_SEED": "5", "RDMASIM_STRATEGY": "pct"}[bad[0]])
	}
}

// Check a lock in one line of a test: rdmatest.CheckLock(t, newLock, cfg) fails t
// with the shortest counterexample if any schedule breaks a property; a lock
// known to be broken says so with ExpectViolation, and then fails t if the
// checker finds nothing. (This example hands Check a recording stand-in for t,
// to print the verdicts.)
func ExampleCheckLock() {
	cfg := checker.DefaultConfig()
	for _, c := range []struct {
		what string
		lock checker.LockFactory
		opts []rdmatest.Option
	}{
		{"loopback lock", newShortcutLock(false), nil},
		{"CPU-shortcut lock, known broken", newShortcutLock(true), []rdmatest.Option{rdmatest.ExpectViolation(checker.MutualExclusion)}},
		{"loopback lock, wrongly expected broken", newShortcutLock(false), []rdmatest.Option{rdmatest.ExpectViolation("")}},
	} {
		t := &fakeTB{name: "TestMyLock"} // in a real test: the *testing.T
		rdmatest.CheckLock(t, c.lock, cfg, c.opts...)
		fmt.Printf("%s: %s\n", c.what, t.verdict())
	}
	// Output:
	// loopback lock: ok
	// CPU-shortcut lock, known broken: ok
	// loopback lock, wrongly expected broken: failed: rdmasim: expected a violation, but none of 2000 executions (random, seed 1) broke any property;
}
