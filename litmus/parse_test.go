package litmus_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/litmus"
)

const good = `# a comment
test T1
title a title
nodes A B
word x@B = 1
array buf@A 4 = 0 1 2 3
thread P@A
  store buf[0] 5
  h = put x buf       # WRITE from a buffer
  c = rcas x 0 1 qp=1 fenced
  v = wait c
  wait
  q = poll B qp=1
outcome v == 1 && x == 2 || buf[1] != v
expect allowed
expect forbidden scope=glob ordering=relaxed
`

func TestParseGood(t *testing.T) {
	lt, err := litmus.Parse("good.litmus", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if lt.Name != "T1" || lt.Title != "a title" || len(lt.Nodes) != 2 || len(lt.Locs) != 2 || len(lt.Threads) != 1 {
		t.Fatalf("parsed %+v", lt)
	}
	if got := len(lt.Threads[0].Instrs); got != 6 {
		t.Errorf("%d instructions, want 6", got)
	}
	if lt.Lanes != 2 {
		t.Errorf("lanes %d, want 2", lt.Lanes)
	}
	if got := lt.Outcome.String(); got != "v == 1 && x == 2 || buf[1] != v" {
		t.Errorf("outcome %q", got)
	}
	if lt.Expects[1].Knobs != "scope=glob ordering=relaxed" || lt.Expects[1].Line != 16 {
		t.Errorf("expect %+v", lt.Expects[1])
	}
	if lt.Locs[1].Init[3] != 3 {
		t.Errorf("init %v", lt.Locs[1].Init)
	}
}

// TestParseErrors: every bad input is rejected with the line of the problem
// and its reason.
func TestParseErrors(t *testing.T) {
	head := "test T\nnodes A B\nword x@B\nword a@A\nthread P@A\n"
	tail := "outcome x == 0\nexpect allowed\n"
	for _, c := range []struct {
		src  string
		line int
		want string
	}{
		{"", 0, "empty"},
		{"nodes A\n", 1, "first line must be `test NAME`"},
		{"test T\ntest U\n", 2, "second `test`"},
		{"test T\nword x@A\n", 2, "before the `nodes` line"},
		{"test T\nnodes A A\n", 2, "named twice"},
		{"test T\nnodes A\nword x@C\n", 3, "unknown node \"C\""},
		{"test T\nnodes A\nword x@A\nword x@A\n", 4, "declared twice"},
		{"test T\nnodes A\narray x@A 0\n", 3, "want 1 … 64"},
		{"test T\nnodes A\narray x@A 3 = 1 2\n", 3, "one initial value for all or one per word"},
		{"test T\nnodes A\nword x@A = z\n", 3, "bad initial value"},
		{head + "  r = load x\n" + tail, 6, "on node B; thread P runs on node A"},
		{head + "  r = load y\n" + tail, 6, "unknown location \"y\""},
		{head + "  load a\n" + tail, 6, "returns a value"},
		{head + "  r = store a 1\n" + tail, 6, "returns nothing"},
		{head + "  store a r\n" + tail, 6, "neither a number nor a register"},
		{head + "  frob a\n" + tail, 6, "unknown instruction"},
		{head + "  r=load a\n" + tail, 6, "with spaces"},
		{head + "  put x a qp=99\n" + tail, 6, "want qp=0"},
		{head + "  store a 1 fenced\n" + tail, 6, "posted verbs only"},
		{head + "  put x a 2\n" + tail, 6, "run past the end"},
		{head + "  get x a\n" + tail, 6, "buffer x is on node B"},
		{head + "  wait h\n" + tail, 6, "not a request handle"},
		{head + "  r = wait\n" + tail, 6, "without a handle returns nothing"},
		{head + "  poll C\n" + tail, 6, "unknown node"},
		{head + "  await a < 1\n" + tail, 6, "want == or !="},
		{head + "  r = load a\nthread Q@A\n  r = load a\n" + tail, 8, "already thread P's"},
		{head + "  r = load a\nthread P@B\n" + tail, 7, "declared twice"},
		{head + "  r = load a\n" + "outcome r = 1\nexpect allowed\n", 7, "unexpected \"=\""},
		{head + "  r = load a\n" + "outcome r == 1 &&\nexpect allowed\n", 7, "incomplete comparison"},
		{head + "  r = load a\n" + "outcome q == 1\nexpect allowed\n", 7, "not a register, a location or a number"},
		{head + "  r = load a\n" + "outcome 1 == 1\nexpect allowed\n", 7, "two constants"},
		{head + "  r = load a\n" + "outcome r == 1\nexpect maybe\n", 8, "want allowed or forbidden"},
		{head + "  r = load a\n" + "outcome r == 1\nexpect allowed colour=red\n", 8, "unknown knob"},
		{head + "  r = load a\n" + "outcome r == 1\nexpect allowed scope=wide\n", 8, "unknown value"},
		{head + "  r = load a\n" + "outcome r == 1\nexpect allowed\nexpect forbidden\n", 9, "second expectation"},
		{head + "  r = load a\n" + "outcome r == 1\n", 0, "no `expect` line"},
		{head + "  r = load a\n" + "expect allowed\n", 7, "before the `outcome`"},
		{head + "outcome x == 0\nexpect allowed\n", 5, "no instruction"},
		{"test T\nnodes A\n  r = load x\n", 3, "outside a thread"},
		{"test T\nnodes A\nbogus\n", 3, "unknown directive"},
		{"test T\x01\n", 0, "not a text file"},
	} {
		_, err := litmus.Parse("f.litmus", []byte(c.src))
		var pe *litmus.Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want a *litmus.Error", c.src, err)
			continue
		}
		if pe.Line != c.line || !strings.Contains(pe.Msg, c.want) {
			t.Errorf("%q:\n  got  %v\n  want line %d, %q", c.src, err, c.line, c.want)
		}
		if c.line > 0 && !strings.HasPrefix(err.Error(), "f.litmus:"+itoa(c.line)+": ") {
			t.Errorf("%q: message %q does not start with file:line", c.src, err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzParse feeds the parser arbitrary text, seeded with the suite: it never
// panics; a rejection names a line of the input; an accepted test runs (within
// small limits) without a runner error or a misuse.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/litmus/*.litmus")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(good))
	f.Fuzz(func(t *testing.T, src []byte) {
		lt, err := litmus.Parse("fuzz", src)
		if err != nil {
			var pe *litmus.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *litmus.Error", err)
			}
			if pe.Line < 0 || pe.Line > strings.Count(string(src), "\n")+1 {
				t.Fatalf("error at line %d of a %d-line input", pe.Line, strings.Count(string(src), "\n")+1)
			}
			return
		}
		if lt.Name == "" || len(lt.Threads) == 0 || len(lt.Expects) == 0 {
			t.Fatalf("accepted an incomplete test: %+v", lt)
		}
		r, err := litmus.Run(lt, lt.Expects[0], litmus.Options{MaxExecutions: 50, StepBound: 2000})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		for _, f := range r.Findings {
			if strings.HasPrefix(f, "misuse") || strings.HasPrefix(f, "panic") {
				t.Fatalf("an accepted test misuses the model: %s", f)
			}
		}
	})
}
