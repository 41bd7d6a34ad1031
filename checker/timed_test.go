package checker

import (
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// verbLoop: thread 0 issues its verb on a word of node 1 ops times, each an
// operation of its own.
type verbLoop struct{ verb rdma.Op }

func (v verbLoop) Build(s workload.Setup) (*workload.Program, error) {
	p := s.Alloc(1, 1, "word")
	ops := s.OpsPerThread()
	return &workload.Program{Thread: func(t *workload.Thread) {
		if t.ID() != 0 {
			return
		}
		for range ops {
			op := t.Call("verb")
			switch v.verb {
			case rdma.OpRRead:
				t.RRead(p)
			case rdma.OpRWrite:
				t.RWrite(p, 1)
			case rdma.OpRCAS:
				t.RCAS(p, 0, 0)
			}
			t.Return(op)
		}
	}}, nil
}

func TestTimedVerbLatency(t *testing.T) {
	prof, err := nicmodel.BuiltinProfile(nicmodel.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Nodes: 2, Threads: []int{1, 0}, Acquires: 100, Scope: "hca", Timing: prof}
	for _, verb := range []rdma.Op{rdma.OpRRead, rdma.OpRWrite, rdma.OpRCAS} {
		ex, err := RunTimed(cfg, verbLoop{verb}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Finding != nil {
			t.Fatalf("%v: %v", verb, ex.Finding)
		}
		if len(ex.Ops) != 100 {
			t.Fatalf("%v: %d ops timed, want 100", verb, len(ex.Ops))
		}
		last := ex.Ops[len(ex.Ops)-1]
		t.Logf("%v: first %d ns, last %d ns, end %d", verb, ex.Ops[0].End-ex.Ops[0].Start, last.End-last.Start, ex.Time)
	}
}

func TestTimedRefusesExploration(t *testing.T) {
	prof, err := nicmodel.BuiltinProfile(nicmodel.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Nodes: 2, Threads: []int{1, 0}, Acquires: 1, Scope: "hca", Timing: prof}
	if _, err := (Exploration{Config: cfg, Workload: verbLoop{rdma.OpRRead}}).Run(); err == nil {
		t.Error("a DFS of timed executions ran")
	}
}
