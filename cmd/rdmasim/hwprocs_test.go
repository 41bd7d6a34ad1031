package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestMain: hw run --procs launches this program as its node processes; under
// go test that is the test binary, which then runs the command it was given.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" && len(os.Args) > 1 && os.Args[1] == "hw" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestHWRunProcs: hw run --procs runs every node as a process of its own:
// the safe locks show no violation, a naive lock its mixed-atomicity warning;
// a cluster whose nodes never join, and a node with no coordinator, fail with
// one line and status 1; hw node's usage errors are status 2.
func TestHWRunProcs(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"hw", "run", "--procs", "--alg", "spin,mcs", "--acquires", "100", "--trials", "2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"spin", "mcs", "procs", "0/2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"hw", "run", "--procs", "--alg", "spin-naive", "--threads", "2", "--acquires", "500", "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("spin-naive: exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0]["procs"] != true {
		t.Fatalf("json: %v: %s", err, out.String())
	}
	if w, _ := rows[0]["warnings"].([]any); len(w) == 0 {
		t.Errorf("spin-naive: no mixed-atomicity warning in %v", rows[0])
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"hw", "run", "--listen", "127.0.0.1:0", "--peer-timeout", "300ms", "--alg", "spin"}, 1, "nodes 0, 1 never joined within 300ms"},
		{[]string{"hw", "node", "--join", "127.0.0.1:1", "--node", "0", "--peer-timeout", "300ms"}, 1, "no coordinator at 127.0.0.1:1"},
		{[]string{"hw", "node", "--node", "0"}, 2, "--join HOST:PORT is required"},
		{[]string{"hw", "node", "--join", "x:1"}, 2, "--node -1"},
		{[]string{"hw", "run", "--procs", "--peer-timeout", "0s"}, 2, "--peer-timeout"},
	} {
		out.Reset()
		errb.Reset()
		code := run(c.args, &out, &errb)
		msg := errb.String()
		if code != c.code || !strings.Contains(msg, c.want) || strings.Count(msg, "rdmasim: ") != 1 || strings.Contains(msg, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one error line with %q", c.args, code, msg, c.code, c.want)
		}
	}
	out.Reset()
	if code := run([]string{"hw", "node", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "--join") {
		t.Errorf("hw node --help: exit %d: %s", code, out.String())
	}
}
