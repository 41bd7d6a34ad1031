package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLitmusSuite(t *testing.T) {
	out, stderr, code := rdmasim(t, "litmus")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, stderr, out)
	}
	for _, want := range []string{"TEST", "KNOBS", "OUTCOME", "EXPECTED", "OBSERVED", "OK",
		"L1 ", "L16 ", "SB ", "ordering=relaxed", "cpu=tso", "as expected, 0 mismatched", "* "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "MISMATCH") {
		t.Errorf("a mismatch in the built-in suite:\n%s", out)
	}
}

func TestLitmusJSON(t *testing.T) {
	out, stderr, code := rdmasim(t, "litmus", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	if len(rows) < 40 {
		t.Fatalf("%d rows", len(rows))
	}
	tests := map[string]bool{}
	for _, r := range rows {
		for _, k := range []string{"test", "knobs", "expected", "observed", "ok", "outcome", "outcomes", "executions"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r["test"], k)
			}
		}
		if r["ok"] != true {
			t.Errorf("row %v not ok", r)
		}
		tests[r["test"].(string)] = true
	}
	for i := 1; i <= 16; i++ {
		if name := "L" + itoa(i); !tests[name] {
			t.Errorf("no row for %s", name)
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestLitmusFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.litmus", "test G\nnodes A\nword x@A\nthread T@A\n  store x 1\noutcome x == 1\nexpect allowed\n")
	wrong := write("wrong.litmus", "test W\nnodes A\nword x@A\nthread T@A\n  store x 1\noutcome x == 1\nexpect forbidden\n")
	bad := write("bad.litmus", "test B\nnodes A\nword x@A\nthread T@A\n  r = load y\n")

	if out, stderr, code := rdmasim(t, "litmus", good); code != 0 || !strings.Contains(out, "G ") {
		t.Errorf("good: exit %d, %q\n%s", code, stderr, out)
	}
	out, _, code := rdmasim(t, "litmus", good, wrong)
	if code != 1 || !strings.Contains(out, "MISMATCH") || !strings.Contains(out, "1 mismatched") {
		t.Errorf("wrong: exit %d\n%s", code, out)
	}
	_, stderr, code := rdmasim(t, "litmus", good, bad)
	if code != 2 || !strings.Contains(stderr, "bad.litmus:5: unknown location \"y\"") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("bad: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := rdmasim(t, "litmus", filepath.Join(dir, "missing.litmus")); code != 2 || stderr == "" {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
	if _, _, code := rdmasim(t, "litmus", "--format", "yaml"); code != 2 {
		t.Errorf("--format yaml: exit %d", code)
	}
	if out, _, code := rdmasim(t, "litmus", "--help"); code != 0 || !strings.Contains(out, "Usage: rdmasim litmus") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}
