package checker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
	"github.com/rdmasim/rdmasim/workload"
)

// Strategies a campaign can use.
const (
	StrategyRandom = "random"
	StrategyPCT    = "pct"
)

// Campaign explores many schedules of one configuration.
type Campaign struct {
	Config   Config
	Workload workload.Workload
	Strategy string // StrategyRandom or StrategyPCT
	// Schedules to run; the campaign stops earlier once MaxFindings executions
	// broke a property.
	Schedules int
	// FirstSchedule is the index of the first schedule to run: schedules
	// FirstSchedule … FirstSchedule+Schedules-1 of the campaign of this Seed. A
	// campaign split into shards runs disjoint ranges.
	FirstSchedule int
	Seed          uint64
	Depth         int // PCT depth (default 3)
	// MaxFindings: stop after this many violating schedules, keeping the shortest
	// (default 1).
	MaxFindings int
	// Progress, if set, is called after every schedule with the count done (from
	// the goroutine that called Run).
	Progress func(done int)
	// ProgressFindings, if set, is called like Progress, with the violating
	// schedules seen so far.
	ProgressFindings func(done, findings int)
	// Stop, if set, ends the campaign early once it is closed: it is checked
	// before every schedule, the schedules already started run to their end,
	// and the report covers the schedules run (in order from the first) and
	// says Interrupted. An interrupted campaign does not shrink its shortest
	// violation.
	Stop <-chan struct{}
	// Workers run schedules in parallel (0: GOMAXPROCS). The report is the same
	// for any number of workers. With more than one, Lock is called from several
	// goroutines at once: it must build independent locks.
	Workers int
	// NoShrink keeps the shortest violating schedule as found; by default it is
	// shrunk (see Shrink) before its recorded re-run.
	NoShrink bool
}

// Report is the outcome of a campaign.
type Report struct {
	Schedules int   // schedules executed
	Steps     int64 // steps executed, over all schedules
	Findings  int   // schedules that broke a property
	// Kinds counts the violating schedules by the property they broke.
	Kinds map[string]int
	// Shortest is the shortest violating execution found, re-run with its trace
	// recorded; nil when every schedule passed.
	Shortest *Counterexample
	// MaxBypass is the largest bypass seen (see Execution.MaxBypass).
	MaxBypass int
	// LinUnknown counts histories whose linearizability check timed out.
	LinUnknown int
	// Warnings are the distinct warnings (mixed atomicity) of the schedules run,
	// first seen first.
	Warnings []workload.Finding
	// Bypass is the first execution that broke Config.BypassBound, re-run with
	// its trace. Fairness findings are kept apart from Findings and Shortest:
	// they do not make a lock unsafe.
	Bypass *Counterexample
	// Interrupted: Stop was closed before every schedule ran; Schedules says
	// how many did.
	Interrupted bool
}

// Counterexample is one violating execution, replayable from its decisions.
type Counterexample struct {
	Finding   sim.Finding
	Schedule  int    // which schedule of the campaign
	Seed      uint64 // the chooser's seed for that schedule
	Decisions []sim.Decision
	Execution Execution // the recorded re-run
	// LengthBefore is the length, in trace events, of the violating execution
	// as the campaign found it. When the campaign shrank it, Decisions and
	// Finding are the shrunk execution's (Schedule and Seed still name the
	// schedule it was shrunk from); otherwise LengthBefore = len(Execution.Trace).
	LengthBefore int
}

// ScheduleSeed derives the chooser seed of schedule i of a campaign, so that any
// range of schedules can be run on its own (SplitMix64 of seed+i).
func ScheduleSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Run executes the campaign.
func (c Campaign) Run() (Report, error) {
	w, err := newRunner(c.Config, c.Workload)
	if err != nil {
		return Report{}, err
	}
	if c.Schedules < 1 {
		return Report{}, fmt.Errorf("schedules = %d: want ≥ 1", c.Schedules)
	}
	if c.FirstSchedule < 0 {
		return Report{}, fmt.Errorf("first schedule = %d: want ≥ 0", c.FirstSchedule)
	}
	depth := c.Depth
	if depth == 0 {
		depth = 3
	}
	maxFindings := c.MaxFindings
	if maxFindings == 0 {
		maxFindings = 1
	}
	var k int
	switch c.Strategy {
	case StrategyRandom:
	case StrategyPCT:
		if depth < 1 || depth > 64 {
			return Report{}, fmt.Errorf("PCT depth = %d: want 1 … 64", depth)
		}
		// PCT draws its change points among the first k choices: calibrate k
		// with one random execution.
		ex, err := w.execute(sim.NewRandom(c.Seed), false, nil)
		if err != nil {
			return Report{}, err
		}
		k = max(len(ex.Decisions), 1)
	default:
		return Report{}, fmt.Errorf("unknown strategy %q (want random or pct)", c.Strategy)
	}
	threads := c.Config.total()
	workers := c.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Schedules run in batches, each spread over the workers; results are then
	// taken in schedule order, so the report does not depend on the number of
	// workers or on timing. Batches start small, so that an early violation stops
	// the campaign early, and grow to amortise the hand-off.
	batchMax := 32 * workers
	type outcome struct {
		steps      int
		bypass     int
		linUnknown bool
		finding    *sim.Finding
		decisions  []sim.Decision
		warnings   []workload.Finding
		err        error
	}
	results := make([]outcome, batchMax)
	scratches := make([]scratch, workers)
	runOne := func(i int, sc *scratch) outcome {
		seed := ScheduleSeed(c.Seed, c.FirstSchedule+i)
		var ch sim.Chooser
		if c.Strategy == StrategyPCT {
			// Store buffers under TSO are agents with ids after the
			// threads': give them priorities of their own too.
			ch = sim.NewPCT(seed, 2*threads, depth, k)
		} else {
			ch = sim.NewRandom(seed)
		}
		ex, err := w.execute(ch, false, sc)
		if err != nil {
			return outcome{err: err}
		}
		o := outcome{steps: ex.Steps, finding: ex.Finding, bypass: ex.MaxBypass, linUnknown: ex.Lin != nil && ex.Lin.Verdict == workload.LinUnknown, warnings: ex.Warnings}
		if ex.Finding != nil {
			o.decisions = slices.Clone(ex.Decisions) // they alias the scratch
		}
		return o
	}
	var rep Report
	var best *Counterexample
	for lo, batch := 0, workers; lo < c.Schedules; lo, batch = lo+batch, min(2*batch, batchMax) {
		n := min(batch, c.Schedules-lo)
		// ran: the schedules of the batch run, always a prefix of it (each
		// worker takes the next schedule in order, unless stopped).
		ran := n
		if workers == 1 {
			for j := range n {
				if isClosed(c.Stop) {
					ran = j
					break
				}
				results[j] = runOne(lo+j, &scratches[0])
			}
		} else {
			var next atomic.Int64
			var wg sync.WaitGroup
			for g := range min(workers, n) {
				sc := &scratches[g]
				wg.Go(func() {
					for {
						if isClosed(c.Stop) {
							return
						}
						j := int(next.Add(1) - 1)
						if j >= n {
							return
						}
						results[j] = runOne(lo+j, sc)
					}
				})
			}
			wg.Wait()
			ran = min(int(next.Load()), n)
		}
		if ran < n {
			rep.Interrupted = true
		}
		for j, o := range results[:ran] {
			if o.err != nil {
				return rep, o.err
			}
			rep.Schedules++
			rep.Steps += int64(o.steps)
			if c.Progress != nil {
				c.Progress(rep.Schedules)
			}
			if c.ProgressFindings != nil {
				c.ProgressFindings(rep.Schedules, rep.Findings+btoi(o.finding != nil && o.finding.Property != BypassBound))
			}
			rep.MaxBypass = max(rep.MaxBypass, o.bypass)
			rep.Warnings = addWarnings(rep.Warnings, o.warnings)
			if o.linUnknown {
				rep.LinUnknown++
			}
			if o.finding != nil && o.finding.Property == BypassBound {
				if rep.Bypass == nil {
					i := c.FirstSchedule + lo + j
					rep.Bypass = &Counterexample{Finding: *o.finding, Schedule: i, Seed: ScheduleSeed(c.Seed, i), Decisions: o.decisions}
				}
				continue
			}
			if o.finding == nil {
				continue
			}
			rep.Findings++
			if rep.Kinds == nil {
				rep.Kinds = map[string]int{}
			}
			rep.Kinds[o.finding.Property]++
			if best == nil || o.steps < best.Execution.Steps {
				i := c.FirstSchedule + lo + j
				best = &Counterexample{Finding: *o.finding, Schedule: i, Seed: ScheduleSeed(c.Seed, i), Decisions: o.decisions,
					Execution: Execution{Result: sim.Result{Steps: o.steps}}}
			}
			if rep.Findings >= maxFindings {
				break
			}
		}
		if rep.Findings >= maxFindings {
			rep.Interrupted = false // it would have stopped here anyway
			break
		}
		if rep.Interrupted {
			break
		}
	}
	if best != nil {
		if !c.NoShrink && !rep.Interrupted {
			if err := shrinkCounterexample(c.Config, c.Workload, best); err != nil {
				return rep, fmt.Errorf("schedule %d: %v", best.Schedule, err)
			}
		}
		cx, err := Replay(c.Config, c.Workload, best.Decisions)
		if err != nil {
			return rep, fmt.Errorf("schedule %d: %v", best.Schedule, err)
		}
		best.Execution = cx
		if c.NoShrink || rep.Interrupted {
			best.LengthBefore = len(cx.Trace)
		}
		rep.Shortest = best
	}
	if b := rep.Bypass; b != nil {
		cx, err := Replay(c.Config, c.Workload, b.Decisions)
		if err != nil {
			return rep, fmt.Errorf("schedule %d: %v", b.Schedule, err)
		}
		b.Execution, b.LengthBefore = cx, len(cx.Trace)
	}
	return rep, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Replay re-runs an execution from its decisions, recording its trace. It fails
// when the execution does not follow the decisions (the lock or the model changed
// since they were saved).
func Replay(cfg Config, wl workload.Workload, decisions []sim.Decision) (Execution, error) {
	r := sim.NewReplay(decisions)
	ex, err := Execute(cfg, wl, r, true)
	if err != nil {
		return ex, err
	}
	if err := r.Err(); err != nil {
		return ex, err
	}
	if n := r.Unused(); n > 0 {
		return ex, fmt.Errorf("replay diverged: the execution ended with %d of %d recorded decisions unused", n, len(decisions))
	}
	return ex, nil
}

// ReplayFile turns cx into a replay file: the configuration that ran (cfg, which
// must be the one the decisions replay under), the algorithm's name and its
// options as their owner encodes them, the campaign's strategy and seed, and one
// decision per line with the event it chose.
func (cx *Counterexample) ReplayFile(algorithm string, options json.RawMessage, cfg Config, strategy string, campaignSeed uint64) (*traces.Replay, error) {
	cj, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	r := &traces.Replay{Format: traces.ReplayFormat, Version: traces.ReplayVersion,
		Property: cx.Finding.Property, Message: cx.Finding.Message, Algorithm: algorithm, Options: options,
		Config: cj, Strategy: strategy, CampaignSeed: campaignSeed, Schedule: cx.Schedule, Seed: cx.Seed,
		Steps: cx.Execution.Steps, Length: len(cx.Execution.Trace)}
	for i, d := range cx.Decisions {
		td := traces.Decision{Pick: d.Pick, Of: d.Of}
		if i < len(cx.Execution.Choices) {
			td.Event = cx.Execution.Choices[i]
		}
		r.Decisions = append(r.Decisions, td)
	}
	return r, nil
}

// maxWarnings bounds the distinct warnings a report keeps.
const maxWarnings = 8

// addWarnings appends the warnings of ws not yet in have.
func addWarnings(have, ws []workload.Finding) []workload.Finding {
	for _, w := range ws {
		if len(have) >= maxWarnings {
			break
		}
		if !slices.ContainsFunc(have, func(h workload.Finding) bool { return h.Property == w.Property && h.Key == w.Key }) {
			have = append(have, w)
		}
	}
	return have
}

// SavedRun reads back what ReplayFile wrote: the configuration the decisions
// replay under (decoded strictly and validated) and the decisions, ready for
// Run with Saved or for Replay. The algorithm and its options are the
// caller's to decode (rf.Algorithm, rf.Options).
func SavedRun(rf *traces.Replay) (Config, Saved, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(rf.Config))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, Saved{}, fmt.Errorf("config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, Saved{}, fmt.Errorf("config: %v", err)
	}
	s := Saved{Decisions: make([]sim.Decision, len(rf.Decisions))}
	for i, d := range rf.Decisions {
		s.Decisions[i] = sim.Decision{Pick: d.Pick, Of: d.Of}
	}
	return cfg, s, nil
}
