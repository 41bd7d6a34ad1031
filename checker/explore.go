package checker

import (
	"fmt"

	"github.com/rdmasim/rdmasim/sim"
)

// Exploration checks every interleaving of one configuration: a stateless DFS
// with partial-order reduction (source-DPOR and sleep sets), optionally bounded in
// preemptions.
type Exploration struct {
	Config Config
	Lock   LockFactory
	// NoPOR turns partial-order reduction off: every interleaving is run.
	NoPOR bool
	// Preemptions bounds preemptions per execution (negative: unbounded). With
	// a bound, the reduction is off.
	Preemptions int
	// MaxExecutions stops early (0: no limit); the report is then not Complete.
	MaxExecutions int
	// StopAtFirst stops at the first violating execution.
	StopAtFirst bool
	// Progress, if set, is called after every execution.
	Progress func(executions, pruned int)
}

// ExplorationReport is the outcome of an exploration.
type ExplorationReport struct {
	// Complete: the whole reduced (and bounded) space was explored. Only then
	// does "no finding" mean "no execution of this configuration breaks a
	// property".
	Complete   bool
	Executions int   // executions run to their end
	Pruned     int   // executions abandoned as redundant (sleep sets)
	Steps      int64 // steps over all executions
	Findings   int   // violating executions
	// Shortest is the shortest violating execution (in steps), re-run with its
	// trace recorded.
	Shortest *Counterexample
}

// Run explores.
func (x Exploration) Run() (ExplorationReport, error) {
	w, err := newWorkload(x.Config, x.Lock)
	if err != nil {
		return ExplorationReport{}, err
	}
	d := sim.NewDFS(sim.DFSOptions{POR: !x.NoPOR, Preemptions: x.Preemptions, MaxExecutions: x.MaxExecutions})
	var rep ExplorationReport
	var best *Counterexample
	var sc scratch
	for d.Next() {
		ex, err := w.execute(d, false, &sc)
		if err != nil {
			return rep, err
		}
		d.Done(ex.Result)
		rep.Steps += int64(ex.Steps)
		if x.Progress != nil {
			x.Progress(d.Executions(), d.Pruned())
		}
		if ex.Abandoned || ex.Finding == nil {
			continue
		}
		rep.Findings++
		if best == nil || ex.Steps < best.Execution.Steps {
			best = &Counterexample{Finding: *ex.Finding, Schedule: d.Executions() + d.Pruned() - 1,
				Decisions: append([]sim.Decision(nil), ex.Decisions...), Execution: Execution{Result: sim.Result{Steps: ex.Steps}}}
		}
		if x.StopAtFirst {
			break
		}
	}
	if err := d.Err(); err != nil {
		return rep, err
	}
	rep.Complete = d.Complete()
	rep.Executions, rep.Pruned = d.Executions(), d.Pruned()
	if best != nil {
		cx, err := Replay(x.Config, x.Lock, best.Decisions)
		if err != nil {
			return rep, fmt.Errorf("exploration: execution %d does not replay: %v", best.Schedule, err)
		}
		best.Execution = cx
		rep.Shortest = best
	}
	return rep, nil
}
