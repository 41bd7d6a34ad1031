package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
)

// rdmasim runs the command line in-process and returns stdout, stderr and the exit status.
func rdmasim(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestCheckDefaultJSON(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := rdmasim(t, "check", "--format", "json", "--schedules", "3000", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	if n := len(algorithms.All()); len(rows) != n {
		t.Fatalf("%d rows, want one per algorithm (%d)", len(rows), n)
	}
	for _, r := range rows {
		for _, k := range []string{"algorithm", "verdict", "property", "schedules", "steps", "seconds", "replay", "length"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks key %q", r["algorithm"], k)
			}
		}
		name := r["algorithm"].(string)
		a, err := algorithms.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		naive := !a.ExpectSafe
		if got := r["verdict"]; (got == "violation") != naive {
			t.Errorf("%s: verdict %v", name, got)
		}
		if !naive {
			continue
		}
		replay := r["replay"].(string)
		if r["length"].(float64) < 3 || replay == "" {
			t.Errorf("%s: length %v, replay %q", name, r["length"], replay)
			continue
		}
		// Every saved counterexample replays to the same violation.
		rout, rerr, rcode := rdmasim(t, "replay", replay)
		if rcode != 0 || !strings.Contains(rout, r["property"].(string)) {
			t.Errorf("replay %s: exit %d\n%s%s", replay, rcode, rout, rerr)
		}
	}
}

func TestCheckText(t *testing.T) {
	out, _, code := rdmasim(t, "check", "--alg", "spin-naive", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"ALGORITHM", "spin-naive", "violation: mutual exclusion", "nic-atomic-read", "cs-enter", "replay: rdmasim replay"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestMisclassifiedMismatch: changing the classification turns expectations off,
// and the misuse is reported.
func TestMisclassified(t *testing.T) {
	out, stderr, code := rdmasim(t, "check", "--alg", "alock", "--as-local", "n1/t0", "--schedules", "10", "--out", t.TempDir())
	if code != 0 || !strings.Contains(out, "violation: misuse") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--alg", "nope"}, `unknown algorithm "nope"`},
		{[]string{"check", "--bogus"}, "flag provided but not defined"},
		{[]string{"check", "--nodes", "x"}, "invalid value"},
		{[]string{"check", "--nodes", "0"}, "nodes = 0"},
		{[]string{"check", "--threads", "1,2,3"}, "3 counts given for 2 nodes"},
		{[]string{"check", "--strategy", "dfs2"}, "strategy"},
		{[]string{"check", "--scope", "galaxy"}, "scope"},
		{[]string{"check", "--format", "xml"}, "format"},
		{[]string{"check", "--as-local", "n7/t0"}, "no thread"},
		{[]string{"check", "stray"}, "unexpected argument"},
		{[]string{"replay"}, "exactly one replay file"},
		{[]string{"replay", "/does/not/exist.json"}, "no such file"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"list", "x"}, "no arguments"},
		{nil, "no command"},
	} {
		out, stderr, code := rdmasim(t, c.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, stderr, c.want)
		}
		if strings.Contains(stderr+out, "goroutine") || strings.Contains(stderr+out, "panic") {
			t.Errorf("%v: looks like a stack trace:\n%s", c.args, stderr)
		}
		if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines > 0 && c.args != nil {
			t.Errorf("%v: %d-line error, want one line:\n%s", c.args, lines+1, stderr)
		}
	}
}

// TestCorruptReplay: damaged replay files are refused with one clear line.
func TestCorruptReplay(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	out, _, code := rdmasim(t, "check", "--alg", "ticket-naive", "--format", "json", "--out", dir)
	if code != 0 {
		t.Fatal(out)
	}
	var rows []struct{ Replay string }
	json.Unmarshal([]byte(out), &rows)
	data, err := os.ReadFile(rows[0].Replay)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(good, data, 0o644)
	if _, _, code := rdmasim(t, "replay", good); code != 0 {
		t.Fatalf("the untouched copy does not replay (exit %d)", code)
	}
	s := string(data)
	for name, c := range map[string]struct {
		content string
		want    string
		code    int
	}{
		"truncated":   {s[:len(s)/2], "not valid JSON", 2},
		"garbage":     {"hello", "not valid JSON", 2},
		"format":      {strings.Replace(s, `"rdmasim-replay"`, `"other"`, 1), "format", 2},
		"version":     {strings.Replace(s, `"version": 1`, `"version": 99`, 1), "version 99", 2},
		"algorithm":   {strings.Replace(s, `"ticket-naive"`, `"nope"`, 1), "unknown algorithm", 2},
		"config":      {strings.Replace(s, `"nodes": 2`, `"nodes": -1`, 1), "nodes", 2},
		"field":       {strings.Replace(s, `"home"`, `"hom"`, 1), "unknown field", 2},
		"pick":        {strings.Replace(s, `{"pick":0,"of":`, `{"pick":9,"of":`, 1), "invalid", 2},
		"diverged":    {regexp.MustCompile(`"of":\d+`).ReplaceAllString(s, `"of":77`), "diverged", 1},
		"no-decision": {strings.Replace(s, `"decisions": [`, `"decisions": [], "x": [`, 1), "unknown field", 2},
	} {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(c.content), 0o644)
		out, stderr, code := rdmasim(t, "replay", p)
		if code != c.code || !strings.Contains(out+stderr, c.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s%s", name, code, c.code, c.want, out, stderr)
		}
	}
}

func TestListAndHelp(t *testing.T) {
	out, _, code := rdmasim(t, "list")
	if code != 0 {
		t.Fatal(code)
	}
	for _, name := range []string{"spin", "spin-naive", "mcs", "mcs-naive", "ticket-naive", "alock"} {
		if !strings.Contains(out, name+" ") {
			t.Errorf("list lacks %s", name)
		}
	}
	for _, args := range [][]string{{"--help"}, {"help", "check"}, {"check", "--help"}, {"replay", "-h"}} {
		out, _, code := rdmasim(t, args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
}

func TestCheckDFS(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := rdmasim(t, "check", "--strategy", "dfs", "--alg", "spin,spin-naive,ticket-naive", "--acquires", "1", "--format", "json", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r["complete"] != true || r["executions"].(float64) < 1 {
			t.Errorf("%v: complete %v, executions %v", r["algorithm"], r["complete"], r["executions"])
		}
		if r["algorithm"] == "spin" && r["verdict"] != "ok" {
			t.Errorf("spin: %v", r["verdict"])
		}
		if r["algorithm"] != "spin" {
			if r["verdict"] != "violation" || r["preemptions"] == nil {
				t.Errorf("%v: verdict %v, preemptions %v", r["algorithm"], r["verdict"], r["preemptions"])
			}
			if _, _, code := rdmasim(t, "replay", r["replay"].(string)); code != 0 {
				t.Errorf("%v: replay exit %d", r["algorithm"], code)
			}
		}
	}
	if _, stderr, code := rdmasim(t, "check", "--strategy", "dfs", "--shard", "1/2"); code != 2 || !strings.Contains(stderr, "shard") {
		t.Errorf("dfs with --shard: exit %d %s", code, stderr)
	}
}

// TestFARLockReplay: the saved FARLock counterexample (default knobs: the 2-word
// WRITE of r_flag, victim places victim first, and a host FAA lands inside the
// RDMA FAA's gap) still replays to two owners.
func TestFARLockReplay(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "replays", "farlock-mutual-exclusion-seed1-s5270-56921d2d.json")
	out, stderr, code := rdmasim(t, "replay", path)
	if code != 0 || !strings.Contains(out, "mutual exclusion") || !strings.Contains(out, "word 2 of 2") {
		t.Fatalf("replay %s: exit %d\n%s%s", path, code, out, stderr)
	}
}

// TestSoftMemoryLimit: without GOMEMLIMIT the runtime's soft memory limit is
// three quarters of the machine's memory; with it, GOMEMLIMIT's.
func TestSoftMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	m := physicalMemory()
	if m <= 0 {
		t.Skip("the machine's memory is unknown here")
	}
	t.Setenv("GOMEMLIMIT", "")
	softMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != m/4*3 {
		t.Errorf("limit %d, want %d (3/4 of %d)", got, m/4*3, m)
	}
	debug.SetMemoryLimit(before)
	t.Setenv("GOMEMLIMIT", "1GiB")
	softMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with GOMEMLIMIT set: limit %d, want it left at %d", got, before)
	}
}
