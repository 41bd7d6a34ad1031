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
		{"hw", "run", "--alg", "nope"}, {"hw", "run", "--nodes", "0"}, {"hw", "run", "--bogus"}} {
		errb.Reset()
		if code := run(bad, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", bad, code, errb.String())
		}
	}
}
