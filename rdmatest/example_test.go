package rdmatest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/rdmatest"
	"github.com/rdmasim/rdmasim/workload"
)

// Counter is an RDMA counter on the home node. Inc adds 1 and returns the value
// before: with one RDMA fetch-and-add (correct), or with a READ and a WRITE
// (broken: two threads can read the same value).
type Counter struct {
	word    rdma.Ptr
	readAdd bool
}

func (c *Counter) Inc(t rdma.Thread) uint64 {
	if !c.readAdd {
		return t.RFAA(c.word, 1)
	}
	v := t.RRead(c.word)
	t.RWrite(c.word, v+1)
	return v
}

func counterObject(readAdd bool) workload.Object[*Counter] {
	return workload.Object[*Counter]{
		New: func(s workload.Setup) (*Counter, error) {
			return &Counter{word: s.Alloc(s.Home(), 1, "counter"), readAdd: readAdd}, nil
		},
		Thread: func(t *workload.Thread, c *Counter, ops int) {
			for range ops {
				t.Do("inc", func() uint64 { return c.Inc(t) })
			}
		},
		Spec: workload.CounterSpec(),
	}
}

// Register is a 64-bit RDMA register on the home node. Split, it keeps the
// value's two 32-bit halves in two words, written by two WRITEs and read by one
// two-word READ — which is no snapshot, so a read can see half of one write and
// half of another (broken). Whole, it keeps the value in one word (correct: an
// 8-byte READ or WRITE never tears).
type Register struct {
	words rdma.Ptr
	split bool
}

func (r *Register) Write(t rdma.Thread, v uint64) {
	if !r.split {
		t.RWrite(r.words, v)
		return
	}
	t.RWrite(r.words, v>>32)
	t.RWrite(r.words.Add(1), v&0xffffffff)
}

func (r *Register) Read(t rdma.Thread) uint64 {
	if !r.split {
		return t.RRead(r.words)
	}
	var buf [2]uint64
	t.RReadN(r.words, buf[:])
	return buf[0]<<32 | buf[1]
}

func registerObject(split bool) workload.Object[*Register] {
	return workload.Object[*Register]{
		New: func(s workload.Setup) (*Register, error) {
			return &Register{words: s.Alloc(s.Home(), 2, "hi,lo"), split: split}, nil
		},
		Thread: func(t *workload.Thread, r *Register, ops int) {
			v := uint64(t.ID()+1) * 0x1_0000_0001 // both halves = id+1
			for range ops {
				t.Do("write", func() uint64 { r.Write(t, v); return 0 }, v)
				t.Do("read", func() uint64 { return r.Read(t) })
			}
		},
		Spec: workload.RegisterSpec(),
	}
}

// TestCounter: the FAA counter passes an exhaustive exploration; the READ +
// WRITE counter is caught by random, PCT and DFS alike.
func TestCounter(t *testing.T) {
	cfg := checker.DefaultConfig()
	t.Run("faa/dfs", func(t *testing.T) {
		rdmatest.Check(t, counterObject(false), cfg, rdmatest.Strategy("dfs"))
		requireComplete(t, counterObject(false), cfg)
	})
	for _, s := range []string{"random", "pct", "dfs"} {
		t.Run("read-write/"+s, func(t *testing.T) {
			rdmatest.Check(t, counterObject(true), cfg, rdmatest.Strategy(s), rdmatest.Schedules(500),
				rdmatest.ReplayDir(t.TempDir()), rdmatest.ExpectViolation(workload.Linearizability))
		})
	}
}

// TestRegister: the one-word register passes an exhaustive exploration; the
// split register's torn reads are caught by random, PCT and DFS.
func TestRegister(t *testing.T) {
	cfg := checker.DefaultConfig()
	cfg.Acquires = 1
	t.Run("whole/dfs", func(t *testing.T) {
		rdmatest.Check(t, registerObject(false), cfg, rdmatest.Strategy("dfs"))
		requireComplete(t, registerObject(false), cfg)
	})
	for _, s := range []string{"random", "pct", "dfs"} {
		t.Run("split/"+s, func(t *testing.T) {
			rdmatest.Check(t, registerObject(true), cfg, rdmatest.Strategy(s), rdmatest.Schedules(2000),
				rdmatest.ReplayDir(t.TempDir()), rdmatest.ExpectViolation(workload.Linearizability))
		})
	}
}

// requireComplete fails t unless an exhaustive exploration of w on cfg
// completes without a finding.
func requireComplete(t *testing.T, w workload.Workload, cfg checker.Config) {
	t.Helper()
	res, err := checker.Run(cfg, w, checker.DFS{Preemptions: -1, MaxExecutions: 1_000_000}, checker.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Shortest != nil {
		t.Fatalf("dfs: complete %v, finding %v, after %d executions", res.Complete, res.Shortest, res.Executions)
	}
	t.Logf("dfs complete: %d executions (%d pruned), no finding", res.Executions, res.Pruned)
}

// Check an object of your own: an RDMA counter, correct with fetch-and-add and
// broken with READ + WRITE. (The example hands Check a recording stand-in for
// t, to print the verdicts; in a test, pass the *testing.T.)
func ExampleCheck() {
	cfg := checker.DefaultConfig() // 2 nodes, 1 host + 2 remote threads, 2 operations each
	for _, readAdd := range []bool{false, true} {
		t := &fakeTB{name: "TestCounter"}
		rdmatest.Check(t, counterObject(readAdd), cfg, rdmatest.Strategy("dfs"), rdmatest.ReplayDir(tempDir()))
		fmt.Printf("read+write %v: %s\n", readAdd, t.verdict())
	}
	// Output:
	// read+write false: ok
	// read+write true: failed: rdmasim: linearizability: the history is not linearizable: at most 5 of 6 operations linearize (the last: n1/t1 inc → 4 @10–11); then, in state counter = 5, none of the operations due next is legal: n1/t0 inc → 3 @8–12
}

// tempDir is a scratch directory for the example's replay files.
func tempDir() string {
	d, err := os.MkdirTemp("", "rdmatest-example")
	if err != nil {
		panic(err)
	}
	return d
}
