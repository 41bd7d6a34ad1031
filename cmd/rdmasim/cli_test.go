package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/traces"
)

// fakeClock makes progressClock advance one second per reading, and calls
// at(n) at the n-th reading (from 1).
func fakeClock(t *testing.T, at func(n int)) {
	t.Helper()
	old := progressClock
	t.Cleanup(func() { progressClock = old })
	now, n := time.Unix(1e9, 0), 0
	progressClock = func() time.Time {
		n++
		if at != nil {
			at(n)
		}
		now = now.Add(time.Second)
		return now
	}
}

// fakeStop replaces the signal handler with a channel the test closes.
func fakeStop(t *testing.T) (stop func()) {
	t.Helper()
	old := notifyStop
	t.Cleanup(func() { notifyStop = old })
	ch := make(chan struct{})
	closed := false
	notifyStop = func() (<-chan struct{}, func()) { return ch, func() {} }
	return func() {
		if !closed {
			closed = true
			close(ch)
		}
	}
}

// TestReplayNamesDifferBySettings: runs that differ in a setting write their
// replay files under different names into one --out, so that neither
// overwrites the other; the same settings give the same name.
func TestReplayNamesDifferBySettings(t *testing.T) {
	dir := t.TempDir()
	replayOf := func(args ...string) (string, row) {
		t.Helper()
		out, stderr, code := rdmasim(t, append([]string{"check", "--format", "json", "--out", dir}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		r := parseRows(t, out)[0]
		if r.Replay == "" {
			t.Fatalf("%v: no replay file", args)
		}
		return r.Replay, r
	}
	runs := [][]string{
		{"--alg", "spin-naive"},
		{"--alg", "spin-naive", "--budget-local", "1"}, // spin-naive ignores budgets: the same schedule breaks it
		{"--alg", "spin-naive", "--acquires", "3"},
		{"--alg", "spin-naive", "--knob", "lanes=2"},
		{"--alg", "spin-naive", "--linearizability=false"},
		{"--alg", "spin-naive", "--strategy", "pct"},
		{"--alg", "spin-naive", "--strategy", "pct", "--depth", "4"},
		{"--alg", "spin-naive", "--strategy", "dfs", "--acquires", "1"},
		{"--alg", "spin-naive", "--strategy", "dfs", "--acquires", "1", "--preemptions", "2"},
		{"--alg", "spin-naive", "--strategy", "dfs", "--acquires", "1", "--preemptions", "2", "--seed", "5"},
	}
	paths := map[string][]string{}
	for _, args := range runs {
		p, _ := replayOf(args...)
		if prev, ok := paths[p]; ok {
			t.Errorf("%v and %v both write %s", prev, args, p)
		}
		paths[p] = args
	}
	if !regexp.MustCompile(`/spin-naive-mutual-exclusion-seed1-s\d+-[0-9a-f]{8}\.json$`).MatchString(firstKey(paths, runs[0])) {
		t.Errorf("replay name %s is not alg-property-seed-schedule-hash.json", firstKey(paths, runs[0]))
	}
	// Every file is still the counterexample of its own run.
	for p, args := range paths {
		if out, _, code := rdmasim(t, "replay", p); code != 0 {
			t.Errorf("%v: replay %s: exit %d\n%s", args, p, code, out)
		}
		rf, err := traces.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		var o algOptions
		json.Unmarshal(rf.Options, &o)
		if want := strings.Contains(strings.Join(args, " "), "--budget-local 1"); want != (o.BudgetLocal == 1) {
			t.Errorf("%v: %s records options %s", args, p, rf.Options)
		}
	}
	// The same settings, the same name.
	if p, _ := replayOf(runs[1]...); paths[p] == nil {
		t.Errorf("a second run of %v wrote a new name %s", runs[1], p)
	}
}

func firstKey(m map[string][]string, v []string) string {
	for k, x := range m {
		if strings.Join(x, " ") == strings.Join(v, " ") {
			return k
		}
	}
	return ""
}

// TestMergeForeignReplay: merge does not show a replay file that another run
// wrote in the place of the shards' own.
func TestMergeForeignReplay(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 2, "--alg", "spin-naive", "--schedules", "200")
	out, stderr, code := rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	path := parseRows(t, out)[0].Replay
	// Another run's counterexample (other seed and acquires), under the
	// shards' name, as a run before the file names had settings in them would
	// have left it.
	other, _, code := rdmasim(t, "check", "--alg", "spin-naive", "--seed", "9", "--acquires", "3", "--format", "json", "--out", filepath.Join(dir, "other"))
	if code != 0 {
		t.Fatal(other)
	}
	data, err := os.ReadFile(parseRows(t, other)[0].Replay)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = rdmasim(t, append([]string{"merge"}, files...)...)
	if code != 0 || strings.Contains(out, "cs-enter") || strings.Contains(out, "rdmasim replay "+path) || !strings.Contains(out, "another run") {
		t.Errorf("merge (text) shows another run's replay or does not say so: exit %d\n%s", code, out)
	}
	out, _, code = rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
	var rows []struct {
		Replay      string `json:"replay"`
		ReplayError string `json:"replay_error"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if rows[0].Replay != "" || !strings.Contains(rows[0].ReplayError, "another run") {
		t.Errorf("merge (json): replay %q, replay_error %q", rows[0].Replay, rows[0].ReplayError)
	}
	// The same file, renamed with the hash of other settings (PCT depth is not
	// recorded in the file): refused by its name.
	files = runShards(t, filepath.Join(dir, "pct"), 2, "--alg", "spin-naive", "--schedules", "200", "--strategy", "pct")
	out, _, _ = rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
	path = parseRows(t, out)[0].Replay
	for _, f := range files {
		// As if the shards had run with --depth 5 and found the file there.
		data, _ := os.ReadFile(f)
		os.WriteFile(f, []byte(strings.ReplaceAll(string(data), `"depth": 3`, `"depth": 5`)), 0o644)
	}
	out, _, _ = rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
	json.Unmarshal([]byte(out), &rows)
	if len(rows) != 1 || rows[0].Replay != "" || !strings.Contains(rows[0].ReplayError, "settings hash") {
		t.Errorf("a replay named for depth 3 merged into shards of depth 5: %+v (file %s)", rows, path)
	}
}

// TestUnwritableOut: when --out cannot be written, every row is still printed,
// then one error naming --out and the path given; exit status 2; nothing is
// left behind.
func TestUnwritableOut(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	os.WriteFile(regular, []byte("x"), 0o644)
	outs := []string{regular, filepath.Join(regular, "sub")}
	if _, err := os.Stat("/proc/self"); err == nil {
		outs = append(outs, "/proc/nope")
	}
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	if os.Geteuid() != 0 { // root writes anywhere
		outs = append(outs, ro, filepath.Join(ro, "sub"))
	}
	for _, out := range outs {
		for _, format := range []string{"text", "json"} {
			stdout, stderr, code := rdmasim(t, "check", "--alg", "spin-naive,spin,mcs-naive", "--schedules", "300", "--format", format, "--out", out)
			if code != 2 {
				t.Errorf("--out %s (%s): exit %d, want 2", out, format, code)
			}
			for _, alg := range []string{"spin-naive", "spin", "mcs-naive"} {
				if !strings.Contains(stdout, alg) {
					t.Errorf("--out %s (%s): the %s row is not printed:\n%s", out, format, alg, stdout)
				}
			}
			if format == "text" && !strings.Contains(stdout, "cs-enter") {
				t.Errorf("--out %s: the counterexample is not printed:\n%s", out, stdout)
			}
			if format == "json" {
				if rows := parseRows(t, stdout); len(rows) != 3 || rows[0].Verdict != "violation" || rows[0].Replay != "" {
					t.Errorf("--out %s: rows %+v", out, rows)
				}
			}
			if !strings.Contains(stderr, "--out "+out+":") || strings.Contains(stderr, ".tmp") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("--out %s (%s): stderr %q: want one line naming --out %s and no temporary file", out, format, stderr, out)
			}
		}
	}
	if left, _ := os.ReadDir(ro); len(left) > 0 && os.Geteuid() != 0 {
		t.Errorf("left behind in the read-only directory: %v", left)
	}
}

// TestProgressLog: progress on a standard error that is not a terminal is a
// whole line every 5 s (of the injected clock), with schedules done of the
// total, findings, rate and ETA; --progress=false turns it off.
func TestProgressLog(t *testing.T) {
	fakeClock(t, nil)
	_, stderr, code := rdmasim(t, "check", "--alg", "spin,spin-naive", "--schedules", "200", "--max-findings", "1000", "--workers", "1", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	re := regexp.MustCompile(`^rdmasim: check: (spin|spin-naive): \d+/200 schedules, \d+ findings, \d+/s(, ETA [0-9.hms]+)?, [0-9.hms]+ elapsed$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("progress line %q does not match %s", l, re)
		}
	}
	// One line per 5 readings of the clock, one reading per schedule.
	if len(lines) < 70 || !strings.Contains(stderr, "spin-naive: 100/200 schedules") || strings.Contains(stderr, "\r") {
		t.Errorf("%d progress lines:\n%s", len(lines), stderr)
	}
	if !regexp.MustCompile(`spin-naive: 100/200 schedules, [1-9]\d* findings, 1/s, ETA 1m40s`).MatchString(stderr) {
		t.Errorf("no findings, rate or ETA in:\n%s", stderr)
	}
	_, stderr, _ = rdmasim(t, "check", "--alg", "spin", "--schedules", "200", "--workers", "1", "--progress=false")
	if stderr != "" {
		t.Errorf("--progress=false: stderr %q", stderr)
	}
	// DFS: executions, no ETA.
	_, stderr, _ = rdmasim(t, "check", "--alg", "spin", "--strategy", "dfs", "--acquires", "1", "--progress-interval", "1s", "--out", t.TempDir())
	if !regexp.MustCompile(`(?m)^rdmasim: check: spin: \d+ executions \(\+\d+ pruned, at most 2000000\), 0 findings, \d+/s, [0-9.hms]+ elapsed$`).MatchString(stderr) {
		t.Errorf("dfs progress:\n%s", stderr)
	}
	// States: states and transitions, the rate in states/s.
	_, stderr, _ = rdmasim(t, "check", "--alg", "mcs", "--strategy", "states", "--threads", "2,2", "--acquires", "1", "--workers", "1", "--progress-interval", "1ns")
	if !regexp.MustCompile(`(?m)^rdmasim: check: mcs: \d+ states, \d+ transitions, \d+ states/s, [0-9.hms]+ elapsed$`).MatchString(stderr) {
		t.Errorf("states progress:\n%s", stderr)
	}
}

// TestProgressTerminal: on a terminal the line is rewritten in place, and
// cleared at the end.
func TestProgressTerminal(t *testing.T) {
	var b bytes.Buffer
	fakeClock(t, nil)
	m := &progressMeter{w: &b, tty: true, now: progressClock}
	p := m.start("spin")
	for i := 1; i <= 3; i++ {
		p.update(i, 10, 0, func() string { return "x" })
	}
	p.done()
	if got := b.String(); strings.Count(got, "\r\033[K") != 4 || !strings.Contains(got, "spin: x, 1/s, ETA 7s") || strings.Contains(got, "\n") {
		t.Errorf("terminal progress %q", got)
	}
}

// TestInterrupt: a stop (as SIGINT or SIGTERM gives) ends the run with the
// rows computed so far, marked interrupted, and exit status 1.
func TestInterrupt(t *testing.T) {
	stop := fakeStop(t)
	fakeClock(t, func(n int) {
		if n == 300 {
			stop()
		}
	})
	out, stderr, code := rdmasim(t, "check", "--alg", "spin,mcs,alock", "--schedules", "1000000", "--format", "json", "--out", t.TempDir())
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("want the one row computed: %v\n%s", err, out)
	}
	if r := rows[0]; r["algorithm"] != "spin" || r["interrupted"] != true || r["complete"] != false || r["schedules"].(float64) < 290 || r["schedules"].(float64) >= 1e6 {
		t.Errorf("row %v", r)
	}
	if !strings.Contains(stderr, "interrupted: spin after") || !strings.Contains(stderr, "not run: mcs, alock") || !strings.Contains(stderr, "incomplete") {
		t.Errorf("stderr lacks what was interrupted:\n%s", stderr)
	}

	// Text, and a violation found before the stop.
	stop = fakeStop(t)
	fakeClock(t, func(n int) {
		if n == 10 {
			stop()
		}
	})
	out, stderr, code = rdmasim(t, "check", "--alg", "spin-naive", "--schedules", "1000000", "--max-findings", "1000000", "--out", t.TempDir())
	if code != 0 || !strings.Contains(out, "violation: mutual exclusion (interrupted)") || !strings.Contains(out, "cs-enter") || !strings.Contains(stderr, "interrupted") {
		t.Errorf("violation, then interrupted: exit %d (want 0: the violation expected was found)\n%s%s", code, out, stderr)
	}

	// DFS.
	stop = fakeStop(t)
	fakeClock(t, func(n int) {
		if n == 50 {
			stop()
		}
	})
	out, stderr, code = rdmasim(t, "check", "--alg", "alock", "--strategy", "dfs", "--acquires", "1", "--out", t.TempDir())
	if code != 1 || !strings.Contains(out, "ok (interrupted)") || !strings.Contains(out, "no (interrupted)") || !strings.Contains(stderr, "alock after") {
		t.Errorf("dfs: exit %d\n%s%s", code, out, stderr)
	}

	// Litmus.
	stop = fakeStop(t)
	stop()
	_, stderr, code = rdmasim(t, "litmus")
	if code != 1 || !strings.Contains(stderr, "interrupted after 0 of") {
		t.Errorf("litmus: exit %d\n%s", code, stderr)
	}
}

// TestSIGINT builds rdmasim, interrupts a long check with a real SIGINT, and
// gets the partial result.
func TestSIGINT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "rdmasim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "check", "--alg", "spin", "--schedules", "1000000000", "--format", "json", "--progress-interval", "10ms", "--out", t.TempDir())
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(errPipe)
	var stderr strings.Builder
	if sc.Scan() { // the first progress line: the run is under way
		stderr.WriteString(sc.Text() + "\n")
		cmd.Process.Signal(syscall.SIGINT)
	}
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("still running 60 s after SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, stderr.String())
	}
	rows := parseRows(t, stdout.String())
	if len(rows) != 1 || rows[0].Schedules < 1 || !strings.Contains(stdout.String(), `"interrupted": true`) {
		t.Errorf("rows %+v\n%s", rows, stdout.String())
	}
}

// TestFlagValidation: --nodes alone works, with the default threads following
// the node count; contradictions and bad values are one-line errors naming the
// flags, exit status 2.
func TestFlagValidation(t *testing.T) {
	for args, want := range map[string]string{
		"--nodes 3":                               "3n threads=[1 2 2] home=0",
		"--nodes 3 --home 2":                      "3n threads=[2 2 1] home=2",
		"--nodes 1":                               "1n threads=[1] home=0",
		"--nodes 3 --threads 2":                   "3n threads=[2 2 2] home=0",
		"--knob scope=glob":                       " glob ",
		"--scope glob --knob scope=glob":          " glob ",
		"--cpu tso --knob cpu=tso":                "cpu=tso",
		"--cas-writeback --knob cas-writeback=on": "cas-writeback",
	} {
		out, stderr, code := rdmasim(t, append([]string{"check", "--alg", "spin", "--schedules", "20", "--out", t.TempDir()}, strings.Fields(args)...)...)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, output lacks %q\n%s%s", args, code, want, out, stderr)
		}
	}
	for args, want := range map[string][]string{
		"--scope glob --knob scope=hca":                      {"--scope glob", "--knob scope=hca"},
		"--cpu tso --knob cpu=sc":                            {"--cpu tso", "--knob cpu=sc"},
		"--cpu sc --knob cpu=tso":                            {"--cpu sc", "--knob cpu=tso"},
		"--nic-writes excluded --knob nic-writes=interleave": {"--nic-writes excluded", "--knob nic-writes=interleave"},
		"--cas-writeback --knob cas-writeback=off":           {"--cas-writeback", "--knob cas-writeback=off"},
		"--knob cpu=tso --knob cpu=sc":                       {"cpu=sc", "--knob cpu=tso"},
		"--alg spin,spin":                                    {"--alg", "spin is given twice"},
		"--alg spin,mcs,spin":                                {"--alg", "twice"},
		"--alg spin,":                                        {"--alg", "empty"},
		"--alg all,spin":                                     {"--alg", "all"},
		"--depth 0":                                          {"--depth 0"},
		"--depth -2":                                         {"--depth -2"},
		"--depth 65":                                         {"--depth 65"},
		"--schedules -1":                                     {"--schedules -1"},
		"--step-bound -1":                                    {"--step-bound -1"},
		"--max-executions -5":                                {"--max-executions -5"},
		"--preemptions -2":                                   {"--preemptions -2"},
		"--max-findings -1":                                  {"--max-findings -1"},
		"--max-findings 0":                                   {"--max-findings 0"},
		"--workers -1":                                       {"--workers -1"},
		"--budget-local -1":                                  {"--budget-local -1"},
		"--budget-remote -1":                                 {"--budget-remote -1"},
		"--progress-interval -1s":                            {"--progress-interval"},
	} {
		out, stderr, code := rdmasim(t, append([]string{"check", "--schedules", "20"}, strings.Fields(args)...)...)
		checkUsageError(t, args, out, stderr, code, want...)
	}
	out, stderr, code := rdmasim(t, "check", "--alg", "")
	checkUsageError(t, `--alg ""`, out, stderr, code, "--alg is empty")
}

func checkUsageError(t *testing.T, args, out, stderr string, code int, want ...string) {
	t.Helper()
	if code != 2 || out != "" || strings.Count(strings.TrimSpace(stderr), "\n") > 0 || strings.Contains(stderr, "goroutine") {
		t.Errorf("%s: exit %d (want 2), stdout %q, stderr %q: want one line", args, code, out, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr %q lacks %q", args, stderr, w)
		}
	}
}

// TestMergeInterruptedShard: a shard that was interrupted makes the merged row
// interrupted, with a warning, and an ok verdict incomplete (exit status 1).
func TestMergeInterruptedShard(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 2, "--alg", "spin", "--schedules", "100")
	data, _ := os.ReadFile(files[1])
	s := strings.Replace(string(data), `"schedules": 50`, `"schedules": 20, "interrupted": true`, 1)
	os.WriteFile(files[1], []byte(s), 0o644)
	out, stderr, code := rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
	if code != 1 || !strings.Contains(stderr, "shard 1/2") || !strings.Contains(stderr, "interrupted after 20 of its 50 schedules") || !strings.Contains(out, `"interrupted": true`) {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	if rows := parseRows(t, out); len(rows) != 1 || rows[0].Schedules != 70 {
		t.Errorf("rows %+v", rows)
	}
}
