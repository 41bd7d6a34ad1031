package checker

import (
	"context"
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// OpTime is one operation of a timed execution, as the workload marked it
// (Call to Return), in simulated nanoseconds.
type OpTime struct {
	Thread, Node int
	Name         string
	Arg          uint64
	HasArg       bool
	Start, End   int64
}

// TimedExecution is a timed execution with the times of its operations.
type TimedExecution struct {
	Execution
	// Ops are the operations that returned, in the order they returned.
	Ops []OpTime
}

// RunTimed runs the workload once in timed mode (cfg.Timing must be set): the
// chooser, seeded with seed, decides only among steps due at the same instant.
// Like any execution, it is judged by the monitors and its decisions replay it
// (Replay with the same cfg).
func RunTimed(cfg Config, w workload.Workload, seed uint64) (TimedExecution, error) {
	return RunTimedContext(context.Background(), cfg, w, seed)
}

// RunTimedContext is RunTimed, abandoned (Result.Abandoned) soon after ctx is
// done.
func RunTimedContext(ctx context.Context, cfg Config, w workload.Workload, seed uint64) (TimedExecution, error) {
	return RunTimedStream(ctx, cfg, w, seed, nil)
}

// RunTimedStream is RunTimedContext handing every operation to each as it
// returns, for runs with more operations than memory should hold: with each
// set, the result keeps neither the operations (Ops) nor the decisions (the
// seed reproduces the run: RunTimed with the same arguments).
func RunTimedStream(ctx context.Context, cfg Config, w workload.Workload, seed uint64, each func(OpTime)) (TimedExecution, error) {
	if cfg.Timing == nil {
		return TimedExecution{}, fmt.Errorf("a timed run needs a timing profile (Config.Timing)")
	}
	r, err := newRunner(cfg, w)
	if err != nil {
		return TimedExecution{}, err
	}
	rec := &opRecorder{each: each}
	r.timer = func(st *sim.Thread) rdma.Thread { return &timedThread{Thread: st, rec: rec} }
	r.stop, r.forget = ctx.Done(), each != nil
	ex, err := r.execute(sim.NewRandom(seed), false, nil)
	if err != nil {
		return TimedExecution{}, err
	}
	return TimedExecution{Execution: ex, Ops: rec.ops}, nil
}

type opRecorder struct {
	each func(OpTime) // if set, takes every operation (then ops stays empty)
	ops  []OpTime
	open []OpTime // by thread: the operation called and not yet returned
}

// timedThread is a simulated thread that tells the recorder when its
// operations start and end (workload.OpTimer).
type timedThread struct {
	*sim.Thread
	rec *opRecorder
}

func (t *timedThread) OpStarted(name string, arg uint64, hasArg bool) {
	r := t.rec
	id := t.ID()
	for len(r.open) <= id {
		r.open = append(r.open, OpTime{})
	}
	r.open[id] = OpTime{Thread: id, Node: t.Node(), Name: name, Arg: arg, HasArg: hasArg, Start: t.Now()}
}

func (t *timedThread) OpEnded() {
	r := t.rec
	id := t.ID()
	if id >= len(r.open) {
		return
	}
	op := r.open[id]
	op.End = t.Now()
	if r.each != nil {
		r.each(op)
		return
	}
	r.ops = append(r.ops, op)
}
