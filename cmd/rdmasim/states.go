package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
)

// strategyStates is --strategy states: the stateful search (checker.StateSearch).
const strategyStates = "states"

// statesFields are the columns of a --strategy states row (JSON: flattened
// into the row).
type statesFields struct {
	States      int64 `json:"states"`
	Transitions int64 `json:"transitions"`
	// FinalStates: distinct final memories of the states in which every
	// thread finished.
	FinalStates int `json:"final_states"`
	// OmittedEstimate: the expected number of states lost to 64-bit
	// fingerprint collisions (hash compaction).
	OmittedEstimate float64 `json:"omitted_estimate"`
	MemoryBytes     int64   `json:"memory_bytes"`
	StatesPerSecond float64 `json:"states_per_second"`
	// Minimal: the counterexample has the fewest steps of any violating
	// execution (--minimal).
	Minimal bool `json:"minimal"`
	// Lasso: a starvation lasso of an endless workload (--acquires 0): the
	// starving thread, the stem's and the cycle's lengths in steps; its
	// replay is the row's replay file.
	Lasso *lassoJSON `json:"lasso,omitempty"`
}

type lassoJSON struct {
	Thread     string `json:"thread"`
	StemSteps  int    `json:"stem_steps"`
	CycleSteps int    `json:"cycle_steps"`
	Repeats    int    `json:"repeats"`
}

// statesSettings are the flags of --strategy states.
type statesSettings struct {
	minimal   bool
	maxStates int64
}

// checkStates is checkOne for --strategy states.
func (c *checkRun) checkStates(a algorithms.Algorithm) (checkResult, error) {
	start := time.Now()
	cfg, opts := c.cfg, c.opts
	lock := factory(a, opts)
	hash := settingsHash(cfg, opts, strategyStates, 0, 0, 0, int(c.states.maxStates))
	r := checkResult{Algorithm: a.Name, Strategy: strategyStates, Verdict: "ok", Options: opts, statesFields: &statesFields{}}
	p := c.progress.start(a.Name)
	workers := c.workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	rep, err := checker.StateSearch{Config: cfg, Workload: lock, MaxStates: c.states.maxStates, Minimal: c.states.minimal,
		Lassos: cfg.Acquires == 0, Stop: c.stop, ProgressEvery: 20_000, Workers: workers,
		Progress: func(pr checker.StateProgress) {
			p.update(int(pr.States), 0, 0, func() string {
				return fmt.Sprintf("%d states, %d transitions, %.0f states/s", pr.States, pr.Transitions, float64(pr.States)/pr.Elapsed.Seconds())
			})
		}}.Run()
	p.done()
	if errors.Is(err, nicmodel.ErrNotSnapshottable) {
		// Not an error of the run: this lock posts verbs (or the CPUs are
		// TSO), which a saved state does not cover yet.
		r.Config, r.Settings, r.Verdict, r.Message, r.AsExpected = cfg.String(), cfg, "unsupported", err.Error(), true
		r.Seconds = time.Since(start).Seconds()
		return r, nil
	}
	if err != nil {
		return r, usagef("check %s: %v", a.Name, err)
	}
	runCfg := rep.Config
	r.Settings, r.Config = runCfg, runCfg.String()
	r.Complete, r.Interrupted = rep.Complete, rep.Interrupted
	r.Findings, r.Steps = rep.Findings, rep.Transitions
	sf := r.statesFields
	sf.States, sf.Transitions, sf.FinalStates = rep.States, rep.Transitions, rep.FinalStates
	sf.OmittedEstimate, sf.MemoryBytes, sf.Minimal = rep.OmittedEstimate, rep.MemoryBytes, rep.Minimal && rep.Shortest != nil
	if s := rep.Elapsed.Seconds(); s > 0 {
		sf.StatesPerSecond = math.Round(float64(rep.States) / s)
	}
	if defaultKnobs(cfg) && cfg.Acquires > 0 {
		r.Expected = "violation"
		if a.ExpectSafe {
			r.Expected = "ok"
		}
	}
	cx := rep.Shortest
	replayCfg := runCfg
	if cx == nil && rep.Lasso != nil {
		l := rep.Lasso
		cx = l.Counterexample
		replayCfg.StepBound = l.StemSteps + l.Repeats*l.CycleSteps
		_, names := runCfg.ThreadInfos()
		sf.Lasso = &lassoJSON{Thread: names[l.Thread], StemSteps: l.StemSteps, CycleSteps: l.CycleSteps, Repeats: l.Repeats}
	}
	if cx != nil {
		r.Verdict, r.Property, r.Message = "violation", cx.Finding.Property, cx.Finding.Message
		r.trace, r.names = cx.Execution.Trace, cx.Execution.Names
		r.Length, r.LengthBefore = len(cx.Execution.Trace), cx.LengthBefore
		path := filepath.Join(c.outDir, fmt.Sprintf("%s-%s-states-%s.json", a.Name, slug(cx.Finding.Property), hash))
		if err := c.save(path, func(path string) error { return saveReplay(path, a.Name, opts, replayCfg, strategyStates, 0, cx) }); err != nil {
			r.ReplayError = fmt.Sprintf("not saved: --out %s: %v", c.outDir, err)
		} else {
			r.Replay = path
		}
	}
	r.AsExpected = r.Expected == "" || r.Verdict == r.Expected
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// printStatesRow prints a --strategy states row of the table.
func printStatesRow(tw io.Writer, r checkResult, v, exp string) {
	complete := "no (stopped at --max-states)"
	switch {
	case r.Complete:
		complete = "yes"
	case r.Interrupted:
		complete = "no (interrupted)"
	}
	sf := r.statesFields
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%.2g\t%.1f MB\t%.2f\n", r.Algorithm, r.Config, v, exp, sf.States, sf.Transitions, sf.FinalStates,
		complete, sf.OmittedEstimate, float64(sf.MemoryBytes)/1e6, r.Seconds)
}

// statesHeader is the table's header when a row is a --strategy states row.
const statesHeader = "ALGORITHM\tCONFIG\tVERDICT\tEXPECTED\tSTATES\tTRANSITIONS\tFINAL\tCOMPLETE\tOMITTED\tMEMORY\tSECONDS"
