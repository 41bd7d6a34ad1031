package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckStates: --strategy states reports its figures in JSON, a minimal
// counterexample says so, and an endless workload's starvation lasso is saved
// as a replay file that replays to starvation.
func TestCheckStates(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"check", "--alg", "spin,spin-naive,hocl", "--strategy", "states", "--minimal", "--acquires", "1", "--format", "json",
		"--progress=false", "--out", dir}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	// HOCL posts verbs, which a saved state does not cover: its row says so
	// and the run goes on.
	if rows[2]["verdict"] != "unsupported" || rows[2]["as_expected"] != true {
		t.Errorf("hocl: %v", rows[2])
	}
	for _, r := range rows[:2] {
		for _, k := range []string{"states", "transitions", "final_states", "complete", "omitted_estimate", "memory_bytes", "minimal"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%v: no %q", r["algorithm"], k)
			}
		}
	}
	if rows[0]["verdict"] != "ok" || rows[0]["complete"] != true || rows[0]["final_states"].(float64) != 1 {
		t.Errorf("spin: %v", rows[0])
	}
	if rows[1]["verdict"] != "violation" || rows[1]["minimal"] != true {
		t.Errorf("spin-naive: %v", rows[1])
	}

	out.Reset()
	code = run([]string{"check", "--alg", "spin", "--strategy", "states", "--acquires", "0", "--format", "json", "--progress=false", "--out", dir}, &out, &errb)
	rows = nil
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("exit %d: %v: %s", code, err, errb.String())
	}
	if len(rows) != 1 || rows[0]["property"] != "starvation" || rows[0]["lasso"] == nil {
		t.Fatalf("spin forever: %v", rows)
	}
	out.Reset()
	if code := run([]string{"replay", rows[0]["replay"].(string)}, &out, &errb); code != 1 && code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errb.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("finding: starvation")) {
		t.Errorf("the lasso's replay does not end in starvation:\n%s", out.String())
	}
}

// TestCheckStatesShards: --strategy states --shard i/n writes each shard's
// stored states next to its replays, and rdmasim merge of the shards' JSON
// gives the unsharded run's states, transitions, final states and verdict.
func TestCheckStatesShards(t *testing.T) {
	dir := t.TempDir()
	args := []string{"check", "--alg", "mcs,spin-naive", "--strategy", "states", "--acquires", "1", "--format", "json", "--progress=false", "--out", dir}
	var whole, errb bytes.Buffer
	if code := run(append(args, "--workers", "1"), &whole, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var files []string
	for i := range 2 {
		var out bytes.Buffer
		if code := run(append(args, "--shard", []string{"0/2", "1/2"}[i]), &out, &errb); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errb.String())
		}
		path := filepath.Join(dir, []string{"s0.json", "s1.json"}[i])
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	var merged bytes.Buffer
	if code := run(append([]string{"merge", "--format", "json"}, files...), &merged, &errb); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errb.String())
	}
	var a, b []map[string]any
	if err := json.Unmarshal(whole.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(merged.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("%d and %d rows", len(a), len(b))
	}
	for i := range a {
		for _, k := range []string{"algorithm", "verdict", "states", "transitions", "final_states", "complete"} {
			if a[i][k] != b[i][k] {
				t.Errorf("%v: %s: whole %v, merged %v", a[i]["algorithm"], k, a[i][k], b[i][k])
			}
		}
	}
}

// TestCheckStatesVisitedMemory: --visited-memory keeps 32-bit fingerprints in
// a set of that size: with room, the same states; too small, the search stops
// and says why; a size it cannot read, or the wrong strategy, is a usage
// error naming the flag.
func TestCheckStatesVisitedMemory(t *testing.T) {
	rows := func(mem string) map[string]any {
		t.Helper()
		var out, errb bytes.Buffer
		code := run([]string{"check", "--alg", "mcs", "--strategy", "states", "--acquires", "1", "--workers", "1", "--format", "json",
			"--progress=false", "--out", t.TempDir(), "--visited-memory", mem}, &out, &errb)
		var r []map[string]any
		if err := json.Unmarshal(out.Bytes(), &r); err != nil || code != 0 || len(r) != 1 {
			t.Fatalf("--visited-memory %s: exit %d, %v: %s", mem, code, err, errb.String())
		}
		return r[0]
	}
	if r := rows("1MiB"); r["states"].(float64) != 3005 || r["complete"] != true || r["visited_full"] != nil || r["omitted_estimate"].(float64) <= 0 {
		t.Errorf("1 MiB: %v", r)
	}
	if r := rows("4KiB"); r["complete"] != false || r["visited_full"] != true || r["states"].(float64) > 923 {
		t.Errorf("4 KiB: %v", r)
	}
	for _, c := range []struct{ args, want string }{
		{"--strategy states --visited-memory 8XB", `--visited-memory "8XB": unknown unit "XB"`},
		{"--strategy states --visited-memory -1", `--visited-memory "-1": want a positive size`},
		{"--visited-memory 8GiB", "--visited-memory applies to --strategy states"},
		{"--strategy states --minimal --visited-memory 8GiB", "--visited-memory does not apply to --minimal"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"check", "--alg", "mcs"}, strings.Fields(c.args)...)
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: exit %d, %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}
