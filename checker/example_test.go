package checker_test

import (
	"fmt"

	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
)

// casLock is a lock a user writes: a test-and-set lock on one word at the home
// node. With cpuForLocal set, threads on the home node take the CPU shortcut.
type casLock struct {
	word        rdma.Ptr
	local       []bool
	cpuForLocal bool
}

func (l *casLock) Acquire(t rdma.Thread) {
	if l.cpuForLocal && l.local[t.ID()] {
		for t.CAS(l.word, 0, 1) != 0 {
			t.Pause()
		}
		return
	}
	for t.RCAS(l.word, 0, 1) != 0 { // loopback for host threads
		t.Pause()
	}
}

func (l *casLock) Release(t rdma.Thread) {
	if l.cpuForLocal && l.local[t.ID()] {
		t.Store(l.word, 0)
		return
	}
	t.RWrite(l.word, 0)
}

func newCASLock(cpuForLocal bool) checker.LockFactory {
	return func(s rdma.Setup) (rdma.Lock, error) {
		l := &casLock{word: s.Alloc(s.Home(), 1, "lock"), cpuForLocal: cpuForLocal}
		for _, th := range s.Threads() {
			l.local = append(l.local, th.Local)
		}
		return l, nil
	}
}

// Check a lock of your own: 2 nodes, 1 host thread and 2 remote threads, 2
// critical sections each, 2,000 random schedules.
func ExampleCampaign() {
	for _, cpuForLocal := range []bool{false, true} {
		rep, err := checker.Campaign{
			Config:    checker.DefaultConfig(),
			Workload:  checker.Lock(newCASLock(cpuForLocal)),
			Strategy:  checker.StrategyRandom,
			Schedules: 2000,
			Seed:      1,
		}.Run()
		if err != nil {
			fmt.Println(err)
			return
		}
		if rep.Shortest == nil {
			fmt.Printf("cpu shortcut %v: ok, %d schedules\n", cpuForLocal, rep.Schedules)
			continue
		}
		fmt.Printf("cpu shortcut %v: %s (%d events)\n", cpuForLocal, rep.Shortest.Finding.Property, len(rep.Shortest.Execution.Trace))
	}
	// Output:
	// cpu shortcut false: ok, 2000 schedules
	// cpu shortcut true: mutual exclusion (5 events)
}

// Run is the one entry point: a configuration, a workload and a strategy value
// in, a result out. Here the CPU-shortcut lock, explored exhaustively, then its
// counterexample replayed from its decisions.
func ExampleRun() {
	cfg := checker.DefaultConfig()
	cfg.Acquires = 1
	res, err := checker.Run(cfg, checker.Lock(newCASLock(true)), checker.DFS{Preemptions: -1, MaxExecutions: 100_000}, checker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	cx := res.Shortest
	fmt.Printf("dfs: complete %v, %s in %d events (%d preemptions)\n", res.Complete, cx.Finding.Property, len(cx.Execution.Trace), *res.Preemptions)
	again, err := checker.Run(res.Config, checker.Lock(newCASLock(true)), checker.Saved{Decisions: cx.Decisions}, checker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("replay: %s in %d events\n", again.Shortest.Finding.Property, len(again.Execution.Trace))
	// Output:
	// dfs: complete true, mutual exclusion in 5 events (2 preemptions)
	// replay: mutual exclusion in 5 events
}

// swapQueue is the enqueue of a queue lock over RDMA, which has no swap verb:
// READ the tail, then CAS until the CAS takes. rdma.Carry tells a stateful
// search what each attempt carries (the value last read); without it every
// failed attempt would be a state of its own.
type swapQueue struct{ tail rdma.Ptr }

func (q *swapQueue) Acquire(t rdma.Thread) {
	rdma.Carry(t) // the loop begins, carrying nothing yet
	cur := t.RRead(q.tail)
	for {
		rdma.Carry(t, cur)
		old := t.RCAS(q.tail, cur, uint64(t.ID()+1))
		if old == cur {
			return
		}
		cur = old
	}
}

func (q *swapQueue) Release(rdma.Thread) {}

// A stateful search visits every reachable state once. This "lock" only
// enqueues, so threads run their critical sections together: the search
// finds the overlap, with the fewest steps of any execution (Minimal).
func ExampleStateSearch() {
	cfg := checker.Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 1, Scope: "hca"}
	lock := func(s rdma.Setup) (rdma.Lock, error) { return &swapQueue{tail: s.Alloc(s.Home(), 1, "tail")}, nil }
	rep, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock), Minimal: true}.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s after %d steps (minimal: %v)\n", rep.Shortest.Finding.Property, rep.Shortest.Execution.Steps, rep.Minimal)
	// Output:
	// mutual exclusion after 6 steps (minimal: true)
}
