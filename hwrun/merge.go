package hwrun

import (
	"fmt"
	"slices"
	"sort"
	"time"
	"unsafe"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// judge merges the nodes' reports of one run with one process per node and
// judges it as Run judges a run in one process: the workload, built here on a
// memory of the same layout, gets every thread's events replayed in their
// global order into one workload.Run (mutual exclusion, bypass, mixed
// atomicity, the workload's own monitors, the history for linearizability),
// and its final check reads the nodes' memory as they sent it.
func judge(cfg Config, w workload.Workload, setup time.Duration, layouts [][]uint64, reports []*nodeReport, dumps [][]uint64) (*Result, error) {
	words := cfg.WordsPerNode
	if words == 0 {
		words = 1 << 16
	}
	regions := make([][]byte, cfg.Nodes)
	for n := range regions {
		ws := make([]uint64, words)
		regions[n] = unsafe.Slice((*byte)(unsafe.Pointer(&ws[0])), words*rdma.WordBytes)
	}
	mem, err := memoryOf(regions, nil, -1)
	if err != nil {
		return nil, err
	}
	nr := &nodeRun{cfg: cfg, node: -1, mem: mem}
	if err := nr.build(w); err != nil {
		return nil, fmt.Errorf("the coordinator's copy of the workload: %v", err)
	}
	for n, l := range layouts {
		if !slices.Equal(l, mem.next) {
			return nil, fmt.Errorf("node %d's process laid the workload's memory out differently (bytes used per node %v, the coordinator's %v): the workload must allocate the same words in every process", n, l, mem.next)
		}
	}
	nthreads := len(mem.threads)
	res := &Result{Names: nr.names, Setup: setup, AtomicScope: "glob"}
	var failure *workload.Finding
	type item struct {
		base   uint64 // the event's place in the global order, or its thread's previous event's
		thread int
		index  int
		ev     *markEvent
	}
	var items []item
	for n, rep := range reports {
		if len(rep.Events) != len(rep.Threads) {
			return nil, fmt.Errorf("node %d: events of %d threads for %d threads", n, len(rep.Events), len(rep.Threads))
		}
		res.Ops = append(res.Ops, rep.Ops...)
		res.DataPath = max(res.DataPath, rep.DataPath)
		res.Hung = res.Hung || rep.Hung
		if rep.Scope != "glob" {
			res.AtomicScope = "hca"
		}
		if failure == nil && rep.Failure != nil {
			failure = rep.Failure
		}
		for i, id := range rep.Threads {
			if id < 0 || id >= nthreads || mem.threads[id].Node != n {
				return nil, fmt.Errorf("node %d reported thread %d, which is not one of its threads", n, id)
			}
			var base uint64
			for j := range rep.Events[i] {
				e := &rep.Events[i][j]
				if e.Seq != 0 {
					base = e.Seq
				}
				items = append(items, item{base, id, j, e})
			}
		}
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.base != b.base {
			return a.base < b.base
		}
		if a.thread != b.thread {
			return a.thread < b.thread
		}
		return a.index < b.index
	})

	lin := cfg.Linearizability && nr.prog.Spec != nil
	run := workload.NewRun(nr.prog, nthreads, workload.Options{Names: nr.names, Label: mem.Label, History: lin,
		GlobalAtomics: res.AtomicScope == "glob"})
	wts := make([]*workload.Thread, nthreads)
	for id, in := range mem.threads {
		wts[id] = run.Thread(id, replayThread{id: id, node: in.Node})
	}
	keyed := false
	for _, it := range items {
		if it.ev.Kind == workload.EvEnter && it.ev.Key != 0 {
			keyed = true
		}
	}
	refs := make([]workload.OpRef, nthreads)
	for _, it := range items {
		e, wt := it.ev, wts[it.thread]
		switch e.Kind {
		case workload.EvCall:
			if e.HasArg {
				refs[it.thread] = wt.Call(e.Name, e.Arg)
			} else {
				refs[it.thread] = wt.Call(e.Name)
			}
		case workload.EvReturn:
			if e.HasResult {
				wt.Return(refs[it.thread], e.Result)
			} else {
				wt.Return(refs[it.thread])
			}
		case workload.EvEnter:
			if keyed {
				wt.EnterKey(e.Key)
			} else {
				wt.Enter()
			}
		case workload.EvExit:
			wt.ExitKey(e.Key)
		case workload.EvDoorway:
			wt.Doorway()
		case workload.EvAccess:
			switch e.Access {
			case rdma.OpStore:
				wt.Store(e.Addr, 0)
			case rdma.OpCAS:
				wt.CAS(e.Addr, 0, 0)
			case rdma.OpSwap:
				wt.Swap(e.Addr, 0)
			case rdma.OpFAA:
				wt.FAA(e.Addr, 0)
			case rdma.OpRCAS:
				wt.RCAS(e.Addr, 0, 0)
			case rdma.OpRFAA:
				wt.RFAA(e.Addr, 0)
			}
		}
	}

	peek := func(p rdma.Ptr) uint64 {
		n, i := p.Node(), p.Offset()/rdma.WordBytes
		if n < 0 || n >= len(dumps) || i >= uint64(len(dumps[n])) {
			return 0
		}
		return dumps[n][i]
	}
	res.MaxBypass, res.Warnings = run.MaxBypass(), run.Warnings()
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	switch {
	case failure != nil:
		res.Finding = failure
	case run.Violation() != nil:
		res.Finding = run.Violation()
	case res.Hung:
		res.Finding = &workload.Finding{Property: Hung, Message: fmt.Sprintf("no operation completed for %v (a deadlock, or a lock that lets nobody in); %s", timeout, pendingOps(run))}
	default:
		res.Finding = run.Final(peek)
	}
	if lin && res.Finding == nil {
		r := workload.CheckLinearizability(run.History(), nr.prog.Spec, workload.LinOptions{Names: nr.names})
		res.Lin = &r
		if r.Verdict == workload.LinIllegal {
			res.Finding = &workload.Finding{Property: workload.Linearizability, Message: "the history is not linearizable: " + r.Reason}
		}
	}
	return res, nil
}

// replayThread is the backend of a replayed run: the events carry what the
// monitors judge, the memory operations do nothing.
type replayThread struct{ id, node int }

func (r replayThread) Load(rdma.Ptr) uint64                { return 0 }
func (r replayThread) Store(rdma.Ptr, uint64)              {}
func (r replayThread) CAS(rdma.Ptr, uint64, uint64) uint64 { return 0 }
func (r replayThread) Swap(rdma.Ptr, uint64) uint64        { return 0 }
func (r replayThread) FAA(rdma.Ptr, uint64) uint64         { return 0 }
func (r replayThread) Fence()                              {}
func (r replayThread) RRead(rdma.Ptr) uint64               { return 0 }
func (r replayThread) RReadN(rdma.Ptr, []uint64)           {}
func (r replayThread) RWrite(rdma.Ptr, uint64)             {}
func (r replayThread) RCAS(rdma.Ptr, uint64, uint64) uint64 {
	return 0
}
func (r replayThread) RFAA(rdma.Ptr, uint64) uint64 { return 0 }
func (r replayThread) ID() int                      { return r.id }
func (r replayThread) Node() int                    { return r.node }
func (r replayThread) Pause()                       {}
func (r replayThread) Alloc(int) rdma.Ptr           { return 0 }
