package checker

import (
	"errors"
	"fmt"

	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// Strategy is how Run explores a configuration: Random, PCT, DFS or Saved.
type Strategy interface {
	// Name is the strategy's name in reports and replay files: random, pct,
	// dfs or replay.
	Name() string
}

// Random runs seeded random schedules: schedule i gets the chooser seed
// ScheduleSeed(Seed, i). It stops once MaxFindings schedules broke a property
// (default 1), shrinks the shortest and re-runs it with its trace.
type Random struct {
	Schedules     int
	FirstSchedule int // a shard's first schedule (see Campaign.FirstSchedule)
	Seed          uint64
	MaxFindings   int
	Workers       int  // 0: all cores; results do not depend on it
	NoShrink      bool // keep the shortest violation as found
}

// PCT is probabilistic concurrency testing of depth Depth (default 3) over the
// same seeded schedules as Random.
type PCT struct {
	Random
	Depth int
}

// DFS explores every interleaving (stateless, source-DPOR and sleep sets), up
// to MaxExecutions (0: no limit), optionally bounded in preemptions
// (Preemptions ≥ 0; -1: unbounded). A violation is then reported as its
// shortest story: the fewest preemptions (up to ShortestPreemptions, default
// 5), then the fewest events.
type DFS struct {
	Preemptions         int
	MaxExecutions       int
	NoPOR               bool
	ShortestPreemptions int
}

// Saved replays one execution from its saved decisions.
type Saved struct {
	Decisions []sim.Decision
}

// Name implements Strategy.
func (Random) Name() string { return StrategyRandom }

// Name implements Strategy.
func (PCT) Name() string { return StrategyPCT }

// Name implements Strategy.
func (DFS) Name() string { return StrategyDFS }

// Name implements Strategy.
func (Saved) Name() string { return StrategyReplay }

// The strategies' names.
const (
	StrategyDFS    = "dfs"
	StrategyReplay = "replay"
)

// Progress is what a long run reports as it goes.
type Progress struct {
	Done     int // schedules or executions done
	Total    int // schedules to run; 0 when unknown (dfs)
	Pruned   int // dfs: executions abandoned as redundant
	Findings int // violating executions so far
}

// Options tune Run.
type Options struct {
	// Progress, if set, is called as the run goes (from the goroutine that
	// called Run).
	Progress func(Progress)
	// Stop, if set, ends the run early once it is closed (between two
	// executions); the result then says Interrupted.
	Stop <-chan struct{}
}

// Result is the outcome of Run, whatever the strategy.
type Result struct {
	Strategy string
	// Config is the configuration the counterexamples replay under (dfs
	// arbitrates NIC atomics in any order; see Exploration.Run).
	Config Config
	// Executions run to their end (schedules, for random and PCT); Pruned:
	// dfs executions abandoned as redundant.
	Executions int
	Pruned     int
	Steps      int64
	Findings   int
	// Kinds counts the violating executions by the property they broke.
	Kinds map[string]int
	// Complete: dfs explored the whole reduced space (only then does no finding
	// prove the configuration safe); a replay ran its one execution.
	Complete bool
	// Shortest is the violation shown: shrunk (random, PCT) or the shortest by
	// preemptions then events (dfs); nil when nothing broke.
	Shortest *Counterexample
	// Preemptions of Shortest, for dfs.
	Preemptions *int
	MaxBypass   int
	Bypass      *Counterexample
	LinUnknown  int
	Warnings    []workload.Finding
	// Execution is the one execution of a replay.
	Execution *Execution
	// Interrupted: Options.Stop was closed before the run was done; the
	// counts say how much ran, and a dfs result is not Complete.
	Interrupted bool
}

// Run explores cfg's executions of the workload w with strategy s: the one
// entry point the command line and rdmatest use.
func Run(cfg Config, w workload.Workload, s Strategy, o Options) (Result, error) {
	progress := func(p Progress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	switch s := s.(type) {
	case Random:
		return runCampaign(cfg, w, s, StrategyRandom, 0, o, progress)
	case PCT:
		return runCampaign(cfg, w, s.Random, StrategyPCT, s.Depth, o, progress)
	case DFS:
		x := Exploration{Config: cfg, Workload: w, NoPOR: s.NoPOR, Preemptions: s.Preemptions, MaxExecutions: s.MaxExecutions, Stop: o.Stop,
			ProgressFindings: func(executions, pruned, findings int) {
				progress(Progress{Done: executions, Pruned: pruned, Findings: findings})
			}}
		rep, err := x.Run()
		if err != nil {
			return Result{}, err
		}
		res := Result{Strategy: s.Name(), Config: rep.Config, Executions: rep.Executions, Pruned: rep.Pruned, Steps: rep.Steps,
			Findings: rep.Findings, Kinds: rep.Kinds, Complete: rep.Complete, Shortest: rep.Shortest, MaxBypass: rep.MaxBypass, Bypass: rep.Bypass,
			Warnings: rep.Warnings, Interrupted: rep.Interrupted}
		if cx := res.Shortest; cx != nil && !res.Interrupted {
			// The shortest story: fewest preemptions first, then fewest events.
			bound := s.Preemptions
			if bound < 0 {
				bound = s.ShortestPreemptions
				if bound <= 0 {
					bound = 5
				}
			}
			d, err := shortestCounterexample(cfg, w, bound, s.MaxExecutions, o.Stop)
			if err != nil {
				return res, err
			}
			// An interruption keeps the story found.
			res.Interrupted = d.Interrupted
			before := len(cx.Execution.Trace)
			if d.Shortest != nil && !d.Interrupted {
				res.Shortest = d.Shortest
				res.Preemptions = &d.Preemptions
			}
			res.Shortest.LengthBefore = before
		}
		return res, nil
	case Saved:
		ex, err := Replay(cfg, w, s.Decisions)
		if err != nil {
			return Result{}, err
		}
		res := Result{Strategy: s.Name(), Config: cfg, Executions: 1, Steps: int64(ex.Steps), Complete: true, Execution: &ex,
			MaxBypass: ex.MaxBypass, Warnings: ex.Warnings}
		if ex.Finding != nil {
			res.Findings = 1
			res.Shortest = &Counterexample{Finding: *ex.Finding, Decisions: s.Decisions, Execution: ex, LengthBefore: len(ex.Trace)}
		}
		return res, nil
	case nil:
		return Result{}, errors.New("no strategy")
	default:
		return Result{}, fmt.Errorf("unknown strategy %T", s)
	}
}

// ParseStrategy makes the strategy named name (random, pct, dfs) from common
// settings: schedules and seed for random and PCT, depth for PCT, preemptions
// and maxExecutions for dfs.
func ParseStrategy(name string, schedules int, seed uint64, depth, preemptions, maxExecutions int) (Strategy, error) {
	switch name {
	case StrategyRandom:
		return Random{Schedules: schedules, Seed: seed}, nil
	case StrategyPCT:
		if depth < 1 || depth > 64 {
			return nil, fmt.Errorf("PCT depth %d: want 1 … 64", depth)
		}
		return PCT{Random: Random{Schedules: schedules, Seed: seed}, Depth: depth}, nil
	case StrategyDFS:
		if preemptions < -1 {
			return nil, fmt.Errorf("preemptions %d: want ≥ 0, or -1 for no bound", preemptions)
		}
		return DFS{Preemptions: preemptions, MaxExecutions: maxExecutions}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (want random, pct or dfs)", name)
}

// runCampaign runs the random or PCT (depth > 0; 0 means 3) campaign of r.
func runCampaign(cfg Config, w workload.Workload, r Random, strategy string, depth int, o Options, progress func(Progress)) (Result, error) {
	c := Campaign{Config: cfg, Workload: w, Strategy: strategy, Schedules: r.Schedules, FirstSchedule: r.FirstSchedule,
		Seed: r.Seed, Depth: depth, MaxFindings: r.MaxFindings, Workers: r.Workers, NoShrink: r.NoShrink, Stop: o.Stop,
		ProgressFindings: func(done, findings int) { progress(Progress{Done: done, Total: r.Schedules, Findings: findings}) }}
	rep, err := c.Run()
	if err != nil {
		return Result{}, err
	}
	return Result{Strategy: strategy, Config: cfg, Executions: rep.Schedules, Steps: rep.Steps, Findings: rep.Findings, Kinds: rep.Kinds,
		Shortest: rep.Shortest, MaxBypass: rep.MaxBypass, Bypass: rep.Bypass, LinUnknown: rep.LinUnknown, Warnings: rep.Warnings,
		Interrupted: rep.Interrupted}, nil
}
