package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHWRun: rdmasim hw run runs the safe locks on the native backend with no
// violation, prints the table, writes JSON and per-operation CSV, and refuses
// bad flags with status 2.
func TestHWRun(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"hw", "run", "--acquires", "50", "--trials", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ALGORITHM", "spin", "mcs", "alock", "ACQUIRES/S", "0/2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The lock table: every key's lock, local and remote operations by key.
	out.Reset()
	if code := run([]string{"hw", "run", "--alg", "alock", "--nodes", "3", "--threads", "2", "--keys", "12", "--local", "0.8", "--acquires", "200", "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("lock table: exit %d: %s", code, errb.String())
	}
	var table []map[string]any
	if err := json.Unmarshal(out.Bytes(), &table); err != nil || len(table) != 1 || table[0]["verdict"] != "ok" {
		t.Fatalf("lock table: %v: %s", err, out.String())
	}
	local := table[0]["acquire_local"].(map[string]any)["count"].(float64)
	remote := table[0]["acquire_remote"].(map[string]any)["count"].(float64)
	if local+remote != 6*200 || local < remote {
		t.Errorf("lock table, p_local 0.8: %v local and %v remote acquires", local, remote)
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "ops.csv")
	out.Reset()
	if code := run([]string{"hw", "run", "--alg", "spin-naive", "--acquires", "20", "--format", "json", "--csv", csvPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("json: %v: %s", err, out.String())
	}
	if w, _ := rows[0]["warnings"].([]any); len(w) == 0 {
		t.Errorf("spin-naive: no mixed-atomicity warning in %v", rows[0])
	}
	data, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(data), "thread,node,local,op,start_ns,end_ns,latency_ns\n") {
		t.Errorf("csv: %v %q", err, data)
	}
	for _, bad := range [][]string{{"hw"}, {"hw", "walk"}, {"hw", "run", "--backend", "ib"}, {"hw", "run", "--backend", "verbs", "--global-atomics"}, {"hw", "run", "--trials", "0"},
		{"hw", "run", "--alg", "nope"}, {"hw", "run", "--nodes", "0"}, {"hw", "run", "--bogus"},
		{"hw", "run", "--keys", "-1"}, {"hw", "run", "--keys", "4", "--local", "2"}, {"hw", "run", "--keys", "4", "--zipf", "0.5"}} {
		errb.Reset()
		if code := run(bad, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad, code, errb.String())
		}
	}
}

// TestCompare: rdmasim compare puts the native backend's violations next to
// the simulator's, per kind, and says whether every hardware kind is one the
// simulator produced.
func TestCompare(t *testing.T) {
	var out, errb bytes.Buffer
	plots := t.TempDir()
	code := run([]string{"compare", "--alg", "spin,spin-naive", "--acquires", "3000", "--trials", "2", "--schedules", "500", "--format", "json", "--sim-timed-acquires", "50", "--plots", plots}, &out, &errb)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []compareRow
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("json: %v: %s", err, out.String())
	}
	spin, naive := rows[0], rows[1]
	if spin.Hardware["ok"] != 2 || len(spin.Simulator) != 0 || !spin.Agree {
		t.Errorf("spin: %+v", spin)
	}
	// The timing columns: the timed simulation's acquire latencies, the KS
	// distance to the hardware's, and the plot.
	if spin.SimAcquire.N != 4*50 || spin.KS <= 0 || spin.KS > 1 || spin.KSP < 0 || spin.KSP > 1 || spin.Plot == "" {
		t.Errorf("spin: timing: %+v", spin)
	}
	if _, err := os.Stat(spin.Plot); err != nil {
		t.Errorf("spin: no plot: %v", err)
	}
	if naive.Simulator["mutual exclusion"] == 0 {
		t.Errorf("spin-naive: the simulator found no mutual exclusion violation in 500 schedules: %+v", naive)
	}
	if naive.Agree != (len(naive.Missing) == 0) || (code == 0) != naive.Agree {
		t.Errorf("spin-naive: agree %v, missing %v, exit %d", naive.Agree, naive.Missing, code)
	}
	if got := missingKinds(map[string]int{"hung": 1, "mutual exclusion": 2, "ok": 3}, map[string]int{"deadlock": 1}); len(got) != 1 || got[0] != "mutual exclusion" {
		t.Errorf("missingKinds: %v", got)
	}
	for _, bad := range [][]string{{"compare", "--trials", "0"}, {"compare", "--nic-writes", "maybe"}, {"compare", "--alg", "nope"}, {"compare", "x"}, {"compare", "--profile", "nope"}, {"compare", "--sim-timed-acquires", "0"}} {
		if code := run(bad, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
