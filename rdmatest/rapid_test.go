package rdmatest_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdmatest"
)

// noFinding is the property a user writes: no schedule rapid draws breaks
// anything.
func noFinding(cfg checker.Config, lock checker.LockFactory) func(*rapid.T) {
	return func(t *rapid.T) {
		ex, err := checker.Execute(cfg, checker.Lock(lock), rdmatest.RapidChooser(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Finding != nil {
			t.Fatalf("%v", ex.Finding)
		}
	}
}

// TestRapidHelperBrokenLock is run by TestRapidFindsBrokenLock in a child
// process: a rapid check of a broken lock, which must fail.
func TestRapidHelperBrokenLock(t *testing.T) {
	if os.Getenv("RDMASIM_RAPID_HELPER") != "1" {
		t.Skip("run by TestRapidFindsBrokenLock")
	}
	rapid.Check(t, noFinding(checker.DefaultConfig(), newShortcutLock(true)))
}

// TestRapidFindsBrokenLock: rapid, drawing the schedule through RapidChooser,
// finds the broken lock's mutual exclusion violation, saves it under
// testdata/rapid/<TestName>/, and replays the saved file first on the next run.
// The check runs in a child process (this test binary, in a scratch directory),
// since it must fail.
func TestRapidFindsBrokenLock(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	run := func() string {
		cmd := exec.Command(bin, "-test.run=^TestRapidHelperBrokenLock$", "-test.count=1", "-rapid.shrinktime=20s")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "RDMASIM_RAPID_HELPER=1", "RAPID_NOFAILFILE=false", "RAPID_FAILFILE=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("the rapid check of a broken lock passed (err %v):\n%s", err, out)
		}
		if !strings.Contains(string(out), checker.MutualExclusion) {
			t.Fatalf("the failure does not mention %s:\n%s", checker.MutualExclusion, out)
		}
		return string(out)
	}
	out := run()
	files, _ := filepath.Glob(filepath.Join(dir, "testdata", "rapid", "TestRapidHelperBrokenLock", "*.fail"))
	if len(files) != 1 {
		t.Fatalf("rapid saved %d fail files, want 1:\n%s", len(files), out)
	}
	t.Logf("first run:\n%s", out)
	// The second run replays the saved file and fails the same way, writing no
	// new file.
	run()
	again, _ := filepath.Glob(filepath.Join(dir, "testdata", "rapid", "TestRapidHelperBrokenLock", "*.fail"))
	if len(again) != 1 {
		t.Errorf("after the replay: %d fail files, want 1", len(again))
	}
}

// TestRapidSafeLock: 200 schedules drawn by rapid (two checks of rapid's
// default 100) break nothing in a safe lock.
func TestRapidSafeLock(t *testing.T) {
	for range 2 {
		rapid.Check(t, noFinding(checker.DefaultConfig(), newShortcutLock(false)))
	}
}
