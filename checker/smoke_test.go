package checker

import (
	"testing"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/traces"
)

// testSpin is a spinlock on one word at home; host threads use CPU atomics when
// cpu is set (the naive, broken variant) and loopback verbs otherwise.
type testSpin struct {
	w     rdma.Ptr
	local []bool
	cpu   bool
}

func newTestSpin(cpu bool) LockFactory {
	return func(s rdma.Setup) (rdma.Lock, error) {
		l := &testSpin{w: s.Alloc(s.Home(), 1, "lock"), cpu: cpu}
		for _, in := range s.Threads() {
			l.local = append(l.local, in.Local)
		}
		return l, nil
	}
}

func (l *testSpin) Acquire(t rdma.Thread) {
	if l.cpu && l.local[t.ID()] {
		for t.CAS(l.w, 0, 1) != 0 {
			t.Pause()
		}
		return
	}
	for t.RCAS(l.w, 0, 1) != 0 {
		t.Pause()
	}
}

func (l *testSpin) Release(t rdma.Thread) {
	if l.cpu && l.local[t.ID()] {
		t.Store(l.w, 0)
		return
	}
	t.RWrite(l.w, 0)
}

func TestSmoke(t *testing.T) {
	for _, c := range []struct {
		name string
		cpu  bool
		want bool
	}{{"loopback", false, false}, {"naive", true, true}} {
		rep, err := Campaign{Config: DefaultConfig(), Lock: newTestSpin(c.cpu), Strategy: StrategyRandom, Schedules: 2000, Seed: 1}.Run()
		if err != nil {
			t.Fatal(err)
		}
		if (rep.Shortest != nil) != c.want {
			t.Errorf("%s: finding = %v, want %v", c.name, rep.Shortest, c.want)
		}
		t.Logf("%s: %d schedules, %d steps, findings %d", c.name, rep.Schedules, rep.Steps, rep.Findings)
		if rep.Shortest != nil {
			t.Logf("%v", rep.Shortest.Finding)
			for _, ev := range rep.Shortest.Execution.Trace {
				t.Log(ev.Format(rep.Shortest.Execution.Names))
			}
		}
	}
	_ = traces.CPU
}
