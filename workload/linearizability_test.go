package workload

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// linHistBuilder writes histories by hand, on a logical clock like the Run's.
type linHistBuilder struct {
	h     []Op
	clock int64
}

func newLinHist() *linHistBuilder { return &linHistBuilder{} }

func linOp(thread int, k string, v uint64) Op {
	op := Op{Thread: thread, Name: k}
	switch k {
	case OpWrite:
		op.Arg, op.HasArg = v, true
	case OpRead:
		op.Result, op.HasResult = v, true
	}
	return op
}

func (b *linHistBuilder) call(thread int, k string, v uint64) int {
	b.clock++
	op := linOp(thread, k, v)
	op.Call = b.clock
	b.h = append(b.h, op)
	return len(b.h) - 1
}

func (b *linHistBuilder) ret(i int, v uint64) {
	b.clock++
	b.h[i].Return = b.clock
	if b.h[i].Name == OpRead {
		b.h[i].Result = v
	}
}

// op is a call immediately followed by its return.
func (b *linHistBuilder) op(thread int, k string, v uint64) {
	b.ret(b.call(thread, k, v), v)
}

// cs is a sequential critical section of thread that reads read and writes read+1.
func (b *linHistBuilder) cs(thread int, read uint64) {
	b.op(thread, OpAcquire, 0)
	b.op(thread, OpRead, read)
	b.op(thread, OpWrite, read+1)
	b.op(thread, OpRelease, 0)
}

var linNames = []string{"n0/t0", "n1/t0", "n1/t1"}

func linCheck(t *testing.T, h []Op, o LinOptions) LinResult {
	t.Helper()
	if o.Names == nil {
		o.Names = linNames
	}
	start := time.Now()
	r := CheckLinearizability(h, LockSpec(), o)
	t.Logf("%d ops: %s in %v (checked %d, truncated %v) %s", len(h), r.Verdict, time.Since(start), r.Ops, r.Truncated, r.Reason)
	return r
}

func linWant(t *testing.T, r LinResult, want LinVerdict) {
	t.Helper()
	if r.Verdict != want {
		t.Fatalf("verdict %s (%s), want %s", r.Verdict, r.Reason, want)
	}
	if (want == LinOK) != (r.Reason == "") {
		t.Errorf("verdict %s with reason %q", r.Verdict, r.Reason)
	}
}

func TestLinSequentialOK(t *testing.T) {
	b := newLinHist()
	for i := range 12 {
		b.cs(i%3, uint64(i))
	}
	r := linCheck(t, b.h, LinOptions{})
	linWant(t, r, LinOK)
	if r.Ops != 48 || r.Truncated {
		t.Errorf("Ops = %d, Truncated = %v; want 48, false", r.Ops, r.Truncated)
	}
}

// TestLinConcurrentOK: a waiting acquire that overlaps the holder's critical
// section and returns after its release is fine.
func TestLinConcurrentOK(t *testing.T) {
	b := newLinHist()
	b.op(0, OpAcquire, 0)
	a1 := b.call(1, OpAcquire, 0) // n1/t0 waits
	a2 := b.call(2, OpAcquire, 0) // n1/t1 waits
	b.op(0, OpRead, 0)
	b.op(0, OpWrite, 1)
	rel := b.call(0, OpRelease, 0)
	b.ret(a2, 0) // n1/t1 gets the lock before the release returns
	b.ret(rel, 0)
	b.op(2, OpRead, 1)
	b.op(2, OpWrite, 2)
	b.op(2, OpRelease, 0)
	b.ret(a1, 0)
	b.op(1, OpRead, 2)
	b.op(1, OpWrite, 3)
	b.op(1, OpRelease, 0)
	linWant(t, linCheck(t, b.h, LinOptions{}), LinOK)
}

// TestLinOverlappingAcquiresIllegal: the second acquire returns before the first
// holder's release is even called.
func TestLinOverlappingAcquiresIllegal(t *testing.T) {
	b := newLinHist()
	b.op(0, OpAcquire, 0)
	b.op(1, OpAcquire, 0)
	b.op(0, OpRead, 0)
	b.op(0, OpWrite, 1)
	b.op(0, OpRelease, 0)
	b.op(1, OpRead, 1)
	b.op(1, OpWrite, 2)
	b.op(1, OpRelease, 0)
	r := linCheck(t, b.h, LinOptions{})
	linWant(t, r, LinIllegal)
	for _, s := range []string{"n1/t0 acquire", "held by n0/t0"} {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("reason %q does not mention %q", r.Reason, s)
		}
	}
}

// TestLinLostUpdateIllegal: the lock operations are fine, but the second critical
// section reads the value from before the first one's write.
func TestLinLostUpdateIllegal(t *testing.T) {
	b := newLinHist()
	b.cs(0, 0)
	b.cs(1, 0) // stale: should read 1
	b.cs(2, 1)
	r := linCheck(t, b.h, LinOptions{})
	linWant(t, r, LinIllegal)
	for _, s := range []string{"n1/t0 read → 0", "register 1"} {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("reason %q does not mention %q", r.Reason, s)
		}
	}
	// The lock operations alone are linearizable.
	var locks []Op
	for _, op := range b.h {
		if op.Name == OpAcquire || op.Name == OpRelease {
			locks = append(locks, op)
		}
	}
	linWant(t, linCheck(t, locks, LinOptions{}), LinOK)
}

// TestLinPending: operations that never returned may or may not have taken
// effect.
func TestLinPending(t *testing.T) {
	b := newLinHist()
	b.op(0, OpAcquire, 0)
	b.op(0, OpRead, 0)
	b.op(0, OpWrite, 1)
	b.call(0, OpRelease, 0)         // never returns, but took effect:
	b.op(1, OpAcquire, 0)           // n1/t0 got the lock
	b.call(2, OpAcquire, 0)         // never returns, did not take effect
	b.op(1, OpRead, 1)              // the write took effect
	b.call(1, OpWrite, 2)           // never returns
	ok := append([]Op(nil), b.h...) // a snapshot: consistent so far
	r := linCheck(t, ok, LinOptions{})
	linWant(t, r, LinOK)
	if r.Ops != len(ok) {
		t.Errorf("Ops = %d, want %d", r.Ops, len(ok))
	}

	// A pending operation is no free pass: n1/t1's acquire returns before n1/t0's
	// (pending) release is even called.
	b.op(2, OpAcquire, 0)
	linWant(t, linCheck(t, b.h, LinOptions{}), LinIllegal)

	// Nor is a pending read: the read that returned still has to match.
	c := newLinHist()
	c.cs(0, 0)
	c.op(1, OpAcquire, 0)
	c.call(1, OpRead, 0)
	linWant(t, linCheck(t, c.h, LinOptions{}), LinOK)
	c.h[len(c.h)-1].Return = c.clock + 1 // it returned 0: stale
	linWant(t, linCheck(t, c.h, LinOptions{}), LinIllegal)
}

func TestLinBigSequential(t *testing.T) {
	b := newLinHist()
	for i := range 5000 {
		b.cs(i%3, uint64(i))
	}
	start := time.Now()
	r := CheckLinearizability(b.h, LockSpec(), LinOptions{Names: linNames})
	t.Logf("%d ops: %s in %v", len(b.h), r.Verdict, time.Since(start))
	linWant(t, r, LinOK)
	if r.Ops != 20_000 || r.Truncated {
		t.Errorf("Ops = %d, Truncated = %v; want 20000, false", r.Ops, r.Truncated)
	}
}

// concurrentHistory is a linearizable history of n critical sections by threads
// threads with every interval widened by up to width ticks on each side (times
// are no longer distinct; porcupine does not mind). With stale, the last read
// returns a stale value, which makes it illegal and forces an exhaustive search.
func linConcurrentHistory(n, threads int, width int64, stale bool, seed uint64) []Op {
	rng := rand.New(rand.NewPCG(seed, 1))
	var h []Op
	point := int64(width + 1)
	add := func(thread int, k string, v uint64) {
		c := point - rng.Int64N(width+1)
		r := point + rng.Int64N(width+1)
		op := linOp(thread, k, v)
		op.Call, op.Return = c, r
		h = append(h, op)
		point += 2
	}
	for i := range n {
		th := rng.IntN(threads)
		v := uint64(i)
		if stale && i == n-1 {
			v--
		}
		add(th, OpAcquire, 0)
		add(th, OpRead, v)
		add(th, OpWrite, v+1)
		add(th, OpRelease, 0)
	}
	return h
}

func TestLinConcurrentWide(t *testing.T) {
	linWant(t, linCheck(t, linConcurrentHistory(50, 4, 6, false, 1), LinOptions{}), LinOK)
	linWant(t, linCheck(t, linConcurrentHistory(50, 4, 6, true, 1), LinOptions{}), LinIllegal)
}

// TestLinTimeoutUnknown: a check that cannot finish in time says unknown, and
// returns.
func TestLinTimeoutUnknown(t *testing.T) {
	for n := 16; ; n *= 2 {
		h := linConcurrentHistory(n, 8, 40, true, 2)
		start := time.Now()
		r := CheckLinearizability(h, LockSpec(), LinOptions{Timeout: time.Millisecond})
		t.Logf("%d ops: %s in %v: %s", len(h), r.Verdict, time.Since(start), r.Reason)
		switch r.Verdict {
		case LinUnknown:
			if !strings.HasPrefix(r.Reason, "timeout after 1ms") {
				t.Errorf("reason %q, want a timeout", r.Reason)
			}
			return
		case LinOK:
			t.Fatalf("verdict ok on an illegal history")
		}
		if n >= 1<<12 { // 16k operations, well under MaxOps
			t.Fatalf("no timeout up to %d ops", len(h))
		}
	}
}

func TestLinMaxOps(t *testing.T) {
	b := newLinHist()
	for i := range 100 {
		b.cs(i%3, uint64(i))
	}
	good := len(b.h)
	b.cs(0, 0) // a lost update after the bound
	r := linCheck(t, b.h, LinOptions{MaxOps: 50})
	linWant(t, r, LinOK)
	if r.Ops != 50 || !r.Truncated {
		t.Errorf("Ops = %d, Truncated = %v; want 50, true", r.Ops, r.Truncated)
	}
	r = linCheck(t, b.h, LinOptions{})
	linWant(t, r, LinIllegal)
	if r.Ops != good+4 || r.Truncated {
		t.Errorf("Ops = %d, Truncated = %v; want %d, false", r.Ops, r.Truncated, good+4)
	}

	// An operation kept that returns after the cut may depend on one dropped: n1/t0's
	// acquire returns only after n0/t0's release, which is beyond the bound.
	c := newLinHist()
	c.op(0, OpAcquire, 0)
	a := c.call(1, OpAcquire, 0)
	c.op(0, OpRead, 0)
	c.op(0, OpWrite, 1)
	c.op(0, OpRelease, 0)
	c.ret(a, 0)
	linWant(t, linCheck(t, c.h, LinOptions{MaxOps: 4}), LinOK)
	linWant(t, linCheck(t, c.h, LinOptions{MaxOps: 5}), LinOK)
	// …but a violation before the cut is still found.
	c.h[2].Result = 7
	linWant(t, linCheck(t, c.h, LinOptions{MaxOps: 4}), LinIllegal)
}

func TestLinMalformedAndEmpty(t *testing.T) {
	linWant(t, CheckLinearizability(nil, LockSpec(), LinOptions{}), LinOK)
	r := CheckLinearizability([]Op{}, LockSpec(), LinOptions{})
	linWant(t, r, LinOK)
	if err := r.WriteHTML(filepath.Join(t.TempDir(), "x.html"), ""); err == nil {
		t.Error("WriteHTML of an empty history: no error")
	}
	for _, op := range []Op{
		{Thread: 0, Name: "", Call: 1, Return: 2},
		{Thread: -1, Name: OpAcquire, Call: 1, Return: 2},
		{Thread: 0, Name: OpAcquire, Call: 3, Return: 2},
	} {
		r := CheckLinearizability([]Op{op}, LockSpec(), LinOptions{})
		if r.Verdict != LinUnknown || !strings.HasPrefix(r.Reason, "malformed history") {
			t.Errorf("%+v: %s %q, want unknown, malformed", op, r.Verdict, r.Reason)
		}
	}
	r = CheckLinearizability([]Op{{Thread: 0, Name: OpAcquire, Call: 1, Return: 2}}, nil, LinOptions{})
	if r.Verdict != LinUnknown {
		t.Errorf("no spec: %s, want unknown", r.Verdict)
	}
}

func TestLinWriteHTML(t *testing.T) {
	dir := t.TempDir()
	b := newLinHist()
	b.cs(0, 0)
	b.op(1, OpAcquire, 0)
	b.call(1, OpRead, 0)
	for _, c := range []struct {
		name string
		h    []Op
		want []string
	}{
		{"ok.html", b.h, []string{"n0/t0 acquire", "n0/t0 read → 0", "n0/t0 write 1", "n1/t0 read (pending)", "held by n0/t0, register 0", "rdmasim", "lock-protected register", "context line"}},
		{"illegal.html", append(b.h[:len(b.h):len(b.h)], Op{Thread: 2, Name: OpAcquire, Call: 100, Return: 101}),
			[]string{"n1/t1 acquire", "n1/t0 acquire", "not linearizable", "none of the operations due next is legal"}},
	} {
		r := linCheck(t, c.h, LinOptions{})
		path := filepath.Join(dir, c.name)
		if err := r.WriteHTML(path, "context line"); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", c.name, len(data))
		for _, s := range append([]string{"<html"}, c.want...) {
			if !strings.Contains(string(data), s) {
				t.Errorf("%s does not contain %q", c.name, s)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "illegal.html ok.html" {
		t.Errorf("directory holds %v, want only the two HTML files", names)
	}
	if err := (LinResult{}).WriteHTML(filepath.Join(dir, "none.html"), ""); err == nil {
		t.Error("WriteHTML of a zero result: no error")
	}
	if err := CheckLinearizability(b.h, LockSpec(), LinOptions{}).WriteHTML(filepath.Join(dir, "missing", "x.html"), ""); err == nil {
		t.Error("WriteHTML into a missing directory: no error")
	}
}

func ExampleCheckLinearizability() {
	h := []Op{
		{Thread: 0, Name: OpAcquire, Call: 1, Return: 2},
		{Thread: 1, Name: OpAcquire, Call: 3, Return: 4},
	}
	r := CheckLinearizability(h, LockSpec(), LinOptions{Names: []string{"n0/t0", "n1/t0"}})
	fmt.Println(r.Verdict)
	fmt.Println(r.Reason)
	// Output:
	// illegal
	// at most 1 of 2 operations linearize (the last: n0/t0 acquire @1–2); then, in state held by n0/t0, register 0, none of the operations due next is legal: n1/t0 acquire @3–4
}
