package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
