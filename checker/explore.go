package checker

import (
	"fmt"

	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// Exploration checks every interleaving of one configuration: a stateless DFS
// with partial-order reduction (source-DPOR and sleep sets), optionally bounded in
// preemptions.
type Exploration struct {
	Config   Config
	Workload workload.Workload
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
	// ProgressFindings, if set, is called like Progress, with the violating
	// executions so far.
	ProgressFindings func(executions, pruned, findings int)
	// Stop, if set, ends the exploration early once it is closed: it is
	// checked before every execution. The report is then not Complete and
	// says Interrupted; Executions and Pruned say how much ran.
	Stop <-chan struct{}
	// OnExecution, if set, sees every execution run to its end.
	OnExecution func(ex Execution)
}

// ExplorationReport is the outcome of an exploration.
type ExplorationReport struct {
	Config Config // the configuration explored (arbitration "any")
	// Complete: the whole reduced (and bounded) space was explored. Only then
	// does "no finding" mean "no execution of this configuration breaks a
	// property".
	Complete   bool
	Executions int            // executions run to their end
	Pruned     int            // executions abandoned as redundant (sleep sets)
	Steps      int64          // steps over all executions
	Findings   int            // violating executions
	Kinds      map[string]int // violating executions by the property they broke
	// Shortest is the shortest violating execution (in steps), re-run with its
	// trace recorded.
	Shortest *Counterexample
	// Warnings: as in Report.
	Warnings []workload.Finding
	// MaxBypass and Bypass: as in Report (fairness, apart from the findings).
	MaxBypass int
	Bypass    *Counterexample
	// Interrupted: Stop was closed before the exploration ended.
	Interrupted bool
}

// Run explores.
//
// Exploration always arbitrates NIC atomics in any order: for safety the two
// arbitrations reach the same states (a FIFO execution without its queueing
// steps is an any-order one, and an any-order execution is a FIFO one in which
// each atomic arrives just before it reads), and FIFO's arrival steps would
// multiply equivalent executions. The report's Config says so.
func (x Exploration) Run() (ExplorationReport, error) {
	if x.Config.Timing != nil {
		// Time decides the order of the steps not due at once: a DFS over
		// the chooser's decisions would not be every interleaving.
		return ExplorationReport{}, fmt.Errorf("exhaustive exploration runs untimed executions only (Config.Timing is set)")
	}
	x.Config.Arbitration = "any"
	w, err := newRunner(x.Config, x.Workload)
	if err != nil {
		return ExplorationReport{}, err
	}
	d := sim.NewDFS(sim.DFSOptions{POR: !x.NoPOR, Preemptions: x.Preemptions, MaxExecutions: x.MaxExecutions})
	var rep ExplorationReport
	var best *Counterexample
	var bypass []sim.Decision
	var sc scratch
	for d.Next() {
		if isClosed(x.Stop) {
			rep.Interrupted = true
			break
		}
		ex, err := w.execute(d, false, &sc)
		if err != nil {
			return rep, err
		}
		d.Done(ex.Result)
		rep.Steps += int64(ex.Steps)
		if x.Progress != nil {
			x.Progress(d.Executions(), d.Pruned())
		}
		if x.ProgressFindings != nil {
			f := rep.Findings
			if !ex.Abandoned && ex.Finding != nil && ex.Finding.Property != BypassBound {
				f++
			}
			x.ProgressFindings(d.Executions(), d.Pruned(), f)
		}
		if ex.Abandoned {
			continue
		}
		if x.OnExecution != nil {
			x.OnExecution(ex)
		}
		rep.MaxBypass = max(rep.MaxBypass, ex.MaxBypass)
		rep.Warnings = addWarnings(rep.Warnings, ex.Warnings)
		if ex.Finding != nil && ex.Finding.Property == BypassBound {
			if bypass == nil {
				bypass = append([]sim.Decision(nil), ex.Decisions...)
			}
			continue
		}
		if ex.Finding == nil {
			continue
		}
		rep.Findings++
		if rep.Kinds == nil {
			rep.Kinds = map[string]int{}
		}
		rep.Kinds[ex.Finding.Property]++
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
	rep.Config = x.Config
	rep.Complete = d.Complete() && !rep.Interrupted
	rep.Executions, rep.Pruned = d.Executions(), d.Pruned()
	if best != nil {
		cx, err := Replay(x.Config, x.Workload, best.Decisions)
		if err != nil {
			return rep, fmt.Errorf("exploration: execution %d does not replay: %v", best.Schedule, err)
		}
		best.Execution = cx
		rep.Shortest = best
	}
	if bypass != nil {
		cx, err := Replay(x.Config, x.Workload, bypass)
		if err != nil {
			return rep, err
		}
		rep.Bypass = &Counterexample{Finding: *cx.Finding, Decisions: bypass, Execution: cx, LengthBefore: len(cx.Trace)}
	}
	return rep, nil
}

// Deepening is the result of ShortestCounterexample.
type Deepening struct {
	Preemptions int             // the fewest preemptions of any violating execution
	Shortest    *Counterexample // the shortest (in events) among those
	Executions  int             // executions run over all bounds
	Complete    bool            // the bound's space was explored completely
	Interrupted bool            // stopped before it was done
}

// ShortestCounterexample searches by iterative deepening, as CHESS does: a DFS
// bounded to 0 preemptions, then 1, 2, … up to maxPreemptions; at the first bound
// with a violating execution, it explores that whole bounded space and returns the
// execution with the fewest trace events. Nil Shortest: no violation within the
// bound.
func ShortestCounterexample(cfg Config, wl workload.Workload, maxPreemptions, maxExecutions int) (Deepening, error) {
	return shortestCounterexample(cfg, wl, maxPreemptions, maxExecutions, nil)
}

// shortestCounterexample is ShortestCounterexample, ended early (Interrupted)
// once stop is closed.
func shortestCounterexample(cfg Config, wl workload.Workload, maxPreemptions, maxExecutions int, stop <-chan struct{}) (Deepening, error) {
	var out Deepening
	for p := 0; p <= maxPreemptions; p++ {
		var best *Execution
		x := Exploration{Config: cfg, Workload: wl, Preemptions: p, MaxExecutions: maxExecutions, Stop: stop,
			OnExecution: func(ex Execution) {
				if ex.Finding != nil && (best == nil || ex.Steps < best.Steps) {
					ex.Decisions = append([]sim.Decision(nil), ex.Decisions...)
					best = &ex
				}
			}}
		rep, err := x.Run()
		out.Executions += rep.Executions + rep.Pruned
		if err != nil {
			return out, err
		}
		if rep.Interrupted {
			out.Interrupted = true
			return out, nil
		}
		if best == nil {
			continue
		}
		cx, err := Replay(rep.Config, wl, best.Decisions)
		if err != nil {
			return out, err
		}
		out.Preemptions, out.Complete = p, rep.Complete
		out.Shortest = &Counterexample{Finding: *cx.Finding, Decisions: best.Decisions, Execution: cx, LengthBefore: len(cx.Trace)}
		return out, nil
	}
	return out, nil
}
