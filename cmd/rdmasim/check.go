package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/calibrate"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/traces"
	"github.com/rdmasim/rdmasim/workload"
)

// algOptions is the JSON form of algorithms.Options kept in replay files.
type algOptions struct {
	BudgetLocal  int `json:"budget_local"`
	BudgetRemote int `json:"budget_remote"`
}

func (o algOptions) options() algorithms.Options {
	return algorithms.Options{BudgetLocal: o.BudgetLocal, BudgetRemote: o.BudgetRemote}
}

// factory is the counter-under-lock workload over algorithm a.
func factory(a algorithms.Algorithm, o algOptions) workload.Workload {
	return checker.Lock(func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, o.options()) })
}

// checkResult is one row of `rdmasim check`, and one object of its JSON output.
type checkResult struct {
	Algorithm string         `json:"algorithm"`
	Config    string         `json:"config"`
	Settings  checker.Config `json:"settings"`
	Strategy  string         `json:"strategy"`
	Seed      uint64         `json:"seed"`
	Expected  string         `json:"expected"` // "ok" or "violation"
	Verdict   string         `json:"verdict"`  // "ok" or "violation"
	Property  string         `json:"property"`
	Message   string         `json:"message"`
	Schedules int            `json:"schedules"`
	Findings  int            `json:"findings"` // violating schedules seen
	// Warnings are the monitors' warnings (mixed atomicity), distinct.
	Warnings   []string `json:"warnings,omitempty"`
	Steps      int64    `json:"steps"`
	Seconds    float64  `json:"seconds"`
	Replay     string   `json:"replay"`
	Length     int      `json:"length"`
	AsExpected bool     `json:"as_expected"`
	// LengthBefore is the counterexample's length before shrinking (random and
	// PCT) or before iterative deepening (dfs).
	LengthBefore int `json:"length_before,omitempty"`
	// Complete (dfs only): every interleaving of the reduced space was explored.
	Complete bool `json:"complete"`
	// Interrupted: a signal ended the run early; the counts say how much ran.
	Interrupted bool `json:"interrupted,omitempty"`
	Executions  int  `json:"executions"` // executions run (schedules, for random and PCT)
	Pruned      int  `json:"pruned,omitempty"`
	// Preemptions (dfs with a violation): the fewest preemptions of any
	// violating execution, found by iterative deepening.
	Preemptions *int `json:"preemptions,omitempty"`
	// Fairness: the most critical sections of others one thread waited through
	// (max_bypass), the bound the algorithm derives for this shape (0: none),
	// and a replay of an execution that exceeded it.
	// HistoryHTML: porcupine's drawing of the counterexample's illegal lock
	// history, next to its replay file.
	HistoryHTML string `json:"history_html,omitempty"`
	// LinUnknown: histories whose linearizability check timed out.
	LinUnknown int `json:"lin_unknown,omitempty"`
	// ReplayError says why there is no replay file for a violation: it could
	// not be written into --out (check), or the file given is not this
	// campaign's (merge).
	ReplayError  string `json:"replay_error,omitempty"`
	MaxBypass    int    `json:"max_bypass"`
	BypassBound  int    `json:"bypass_bound"`
	BypassReplay string `json:"bypass_replay,omitempty"`
	bypassMsg    string
	// Shard i/n: this row ran schedules FirstSchedule … FirstSchedule+n-1 of
	// the campaign of CampaignSchedules schedules ("0/1": all of it). Empty in
	// the rows of rdmasim merge.
	Shard             string `json:"shard,omitempty"`
	FirstSchedule     int    `json:"first_schedule"`
	CampaignSchedules int    `json:"campaign_schedules"`
	// The remaining campaign settings, so that rdmasim merge can tell shards of
	// one campaign from shards of another.
	Depth       int        `json:"depth,omitempty"` // PCT only
	Options     algOptions `json:"options"`
	MaxFindings int        `json:"max_findings"`
	// CounterexampleSchedule is the campaign index of the schedule the shown
	// counterexample comes from (violations only).
	CounterexampleSchedule *int `json:"counterexample_schedule,omitempty"`

	// The figures of --strategy states (see states.go); nil otherwise.
	*StatesFields

	trace     []traces.Event
	names     []string
	shardText string // the SHARD column of the text table; no column when no row has one
	note      string // printed instead of the trace when there is none
}

const checkUsage = `Usage: rdmasim check [flags]

Checks lock algorithms under the simulated NIC: runs the workload (every thread
takes the lock --acquires times and increments a counter on the home node inside
the critical section) under many schedules, and reports mutual exclusion, lost
updates, deadlock, misuse (a CPU operation on another node's memory) and step-bound
findings. For each violation it prints the shortest counterexample found and saves
it as a replay file in --out, named after the algorithm, the property, the seed,
the schedule and a hash of the run's settings.

Ctrl-C (SIGINT) or SIGTERM stops the run between schedules and prints the results
so far, marked interrupted; a second Ctrl-C ends it at once.

Flags:
`

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := checker.DefaultConfig()
	var (
		algs        = fs.String("alg", "all", "algorithms to check, comma-separated, or all (see rdmasim list)")
		nodes       = fs.Int("nodes", def.Nodes, "number of nodes")
		threads     = fs.String("threads", "", "threads per node: one count for every node, or a comma-separated count per node (default: 1 on the home node, 2 on every other node)")
		home        = fs.Int("home", def.Home, "the node that holds the lock")
		acquires    = fs.Int("acquires", def.Acquires, "critical sections per thread")
		strategy    = fs.String("strategy", checker.StrategyRandom, "schedule strategy: random, pct, dfs (exhaustive, with partial-order reduction), or states (exhaustive, stateful: every state once)")
		minimal     = fs.Bool("minimal", false, "states: search in order of steps, so the counterexample has the fewest steps of any")
		finalIgnore = fs.String("final-ignore", "", "states: leave the words whose labels match these comma-separated patterns out of final_states (\"*\" matches anything: desc.*[0]), to compare with a model that does not keep them")
		maxStates   = fs.Int64("max-states", 0, "states: stop after this many states (0: no limit; the result then says complete=false)")
		visitedMem  = fs.String("visited-memory", "", "states: keep 32 bits of each state's fingerprint in a visited set of this size that never grows (such as 8GiB or 512MiB; default: 64 bits in a set that grows as needed); the search stops, complete=false, when it is 90% full")
		preemptions = fs.Int("preemptions", -1, "dfs: bound the preemptions per execution (-1: no bound; a bound turns the reduction off)")
		maxExec     = fs.Int("max-executions", 2_000_000, "dfs: stop after this many executions (the result then says complete=false)")
		schedules   = fs.Int("schedules", 20000, "schedules to explore per algorithm")
		seed        = fs.Uint64("seed", 1, "seed of the campaign (each schedule derives its own)")
		depth       = fs.Int("depth", 3, "PCT depth (1 … 64)")
		scope       = fs.String("scope", "hca", "atomic scope of NIC atomics: hca (NIC atomics not atomic against the CPU) or glob")
		writeBack   = fs.Bool("cas-writeback", false, "a failed NIC CAS writes back the value it read")
		stepBound   = fs.Int("step-bound", 0, "steps per execution before it is reported as a livelock (0: scaled to the workload, at least 100000)")
		budgetL     = fs.Int("budget-local", 0, "ALock local cohort budget (0: the algorithm's default)")
		budgetR     = fs.Int("budget-remote", 0, "ALock remote cohort budget (0: the algorithm's default)")
		asLocal     = fs.String("as-local", "", "threads (ids or names like n1/t0) the lock is told are local to the home node")
		asRemote    = fs.String("as-remote", "", "threads the lock is told are remote")
		format      = fs.String("format", "text", "output format: text or json")
		outDir      = fs.String("out", "rdmasim-replays", "directory for replay files of counterexamples")
		maxFindings = fs.Int("max-findings", 20, "violating schedules to collect per algorithm before reporting the shortest")
		progress    = fs.Bool("progress", true, "show progress on standard error: a line updated in place on a terminal, otherwise a line every 5 s")
		progEvery   = fs.Duration("progress-interval", 0, "how often progress is shown (0: 200ms on a terminal, 5s otherwise)")
		cpu         = fs.String("cpu", "sc", "host CPU memory model: sc, or tso (x86-TSO, a store buffer per thread)")
		nicWrites   = fs.String("nic-writes", "interleave", "whether a NIC WRITE may land inside a NIC atomic on its address (interleave) or waits (excluded)")
		knobs       knobFlags
		linz        = fs.Bool("linearizability", true, "check every execution's lock history with porcupine (and draw an illegal one next to its replay file)")
		workers     = fs.Int("workers", 0, "schedules run in parallel on this many cores (0: all); results do not depend on it")
		timed       = fs.String("timed", "", "run every schedule in timed mode on this timing profile (a built-in name such as cx3, or a .json file): the chooser decides only among steps due at the same simulated instant (random and pct)")
		shardSpec   = fs.String("shard", "0/1", "run shard i/n of the campaign only: schedules i*S/n … (i+1)*S/n-1 of --schedules S (0 ≤ i < n); rdmasim merge combines the shards' --format json outputs")
	)
	fs.Var(&knobs, "knob", "set any model knob, name=value (repeatable): ordering, fence, placement, lanes, … (see rdmasim litmus --help)")
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "check", checkUsage, stdout)
	}
	if fs.NArg() > 0 {
		return usagef("check: unexpected argument %q (flags only; see rdmasim check --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *format != "text" && *format != "json" {
		return usagef("check: --format %q: want text or json", *format)
	}
	if *strategy != checker.StrategyRandom && *strategy != checker.StrategyPCT && *strategy != "dfs" && *strategy != strategyStates {
		return usagef("check: --strategy %q: want random, pct, dfs or states", *strategy)
	}
	visitedBytes, err := parseBytes(*visitedMem)
	if err != nil {
		return usagef("check: --visited-memory %q: %v", *visitedMem, err)
	}
	switch {
	case *finalIgnore != "" && *strategy != strategyStates:
		return usagef("check: --final-ignore applies to --strategy states")
	case *visitedMem != "" && *strategy != strategyStates:
		return usagef("check: --visited-memory applies to --strategy states")
	case *visitedMem != "" && *minimal:
		return usagef("check: --visited-memory does not apply to --minimal (its search keeps 64-bit fingerprints)")
	case *schedules < 1:
		return usagef("check: --schedules %d: want ≥ 1", *schedules)
	case *depth < 1 || *depth > 64:
		return usagef("check: --depth %d: want 1 … 64", *depth)
	case *preemptions < -1:
		return usagef("check: --preemptions %d: want ≥ 0, or -1 for no bound", *preemptions)
	case *maxExec < 1:
		return usagef("check: --max-executions %d: want ≥ 1", *maxExec)
	case *stepBound < 0:
		return usagef("check: --step-bound %d: want ≥ 1 (0: scaled to the workload, at least %d)", *stepBound, checker.DefaultStepBound)
	case *maxFindings < 1:
		return usagef("check: --max-findings %d: want ≥ 1", *maxFindings)
	case *workers < 0:
		return usagef("check: --workers %d: want ≥ 0 (0: all cores)", *workers)
	case *budgetL < 0:
		return usagef("check: --budget-local %d: want ≥ 0 (0: the algorithm's default)", *budgetL)
	case *budgetR < 0:
		return usagef("check: --budget-remote %d: want ≥ 0 (0: the algorithm's default)", *budgetR)
	case *progEvery < 0:
		return usagef("check: --progress-interval %v: want ≥ 0", *progEvery)
	}
	if *strategy == "dfs" && *shardSpec != "0/1" {
		return usagef("check: --shard splits random and PCT campaigns, not --strategy %s", *strategy)
	}
	sh, err := parseShard(*shardSpec)
	if err != nil {
		return usagef("check: --shard %q: %v", *shardSpec, err)
	}
	sh.first, sh.count = shardRange(sh.i, sh.n, *schedules)
	sh.total = *schedules
	if sh.count < 1 && *strategy != strategyStates {
		return usagef("check: --shard %s: this shard has no schedules: %d schedules split %d ways (want at most %d shards)", *shardSpec, *schedules, sh.n, *schedules)
	}
	counts := defaultThreads(*nodes, *home)
	if given["threads"] {
		if counts, err = parseInts(*threads); err != nil {
			return usagef("check: --threads %q: %v", *threads, err)
		}
	}
	cfg := checker.Config{Nodes: *nodes, Threads: counts, Home: *home, Acquires: *acquires, Linearizability: *linz,
		Scope: *scope, FailedCASWritesBack: *writeBack, StepBound: *stepBound}
	// A flag and a --knob of the same setting must agree.
	onOff := map[bool]string{false: "off", true: "on"}
	for _, fk := range []struct{ flag, knob, value string }{
		{"scope", "scope", *scope},
		{"cas-writeback", "cas-writeback", onOff[*writeBack]},
		{"cpu", "cpu", *cpu},
		{"nic-writes", "nic-writes", *nicWrites},
	} {
		v, ok := knobs.m[fk.knob]
		if !ok || !given[fk.flag] || v == fk.value {
			continue
		}
		flagText := "--" + fk.flag + " " + fk.value
		if fk.flag == "cas-writeback" {
			flagText = fmt.Sprintf("--cas-writeback=%v", *writeBack)
		}
		return usagef("check: %s contradicts --knob %s=%s", flagText, fk.knob, v)
	}
	// The knobs with a field of their own are kept there, as the flags set them.
	if v, ok := knobs.m["scope"]; ok {
		cfg.Scope = v
		delete(knobs.m, "scope")
	}
	if v, ok := knobs.m["cas-writeback"]; ok && (v == "on" || v == "off") {
		cfg.FailedCASWritesBack = v == "on"
		delete(knobs.m, "cas-writeback")
	}
	if *cpu != "sc" {
		knobs.set("cpu", *cpu)
	}
	if *nicWrites != "interleave" {
		knobs.set("nic-writes", *nicWrites)
	}
	cfg.Knobs = knobs.m
	if len(cfg.Knobs) == 0 {
		cfg.Knobs = nil
	}
	if *timed != "" {
		if *strategy == checker.StrategyDFS || *strategy == strategyStates {
			return usagef("check: --timed runs random or pct schedules, not %s (time decides the order of steps not due at once)", *strategy)
		}
		if cfg.Timing, err = calibrate.LoadProfile(*timed); err != nil {
			return usagef("check: --timed: %v", err)
		}
	}
	vcfg := cfg
	if *strategy == strategyStates && cfg.Acquires == 0 && cfg.StepBound == 0 {
		vcfg.StepBound = 1 // an endless workload: the stateful search needs no bound
	}
	if err := vcfg.Validate(); err != nil {
		return usagef("check: %v", err)
	}
	_, names := cfg.ThreadInfos()
	if cfg.TreatAsLocal, err = parseThreads(*asLocal, names); err != nil {
		return usagef("check: --as-local: %v", err)
	}
	if cfg.TreatAsRemote, err = parseThreads(*asRemote, names); err != nil {
		return usagef("check: --as-remote: %v", err)
	}
	selected, err := selectAlgorithms(*algs)
	if err != nil {
		return usagef("check: %v", err)
	}
	c := &checkRun{opts: algOptions{BudgetLocal: *budgetL, BudgetRemote: *budgetR}, cfg: cfg, strategy: *strategy, sh: sh, seed: *seed,
		depth: *depth, maxFindings: *maxFindings, workers: *workers, preemptions: *preemptions, maxExec: *maxExec, outDir: *outDir,
		states: statesSettings{minimal: *minimal, maxStates: *maxStates, finalIgnore: splitList(*finalIgnore), visitedBytes: visitedBytes}}
	if *progress {
		c.progress = &progressMeter{w: stderr, tty: isTerminal(stderr), every: *progEvery, now: progressClock}
	}
	stop, release := notifyStop()
	defer release()
	c.stop = stop

	var results []checkResult
	var notRun []string
	var runErr error
	for k, a := range selected {
		if stopped(stop) {
			for _, b := range selected[k:] {
				notRun = append(notRun, b.Name)
			}
			break
		}
		r, err := c.checkOne(a)
		if err != nil {
			runErr = err
			break
		}
		results = append(results, r)
	}
	// Every row computed is printed, whatever happened after it.
	if len(results) > 0 || runErr == nil {
		if *format == "json" {
			if results == nil {
				results = []checkResult{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(results); err != nil {
				return err
			}
		} else {
			printResults(stdout, results)
		}
	}
	if c.saveErr != nil {
		return usagef("check: --out %s: cannot write replay files there: %v (the results above are complete; their replay files were not saved)", *outDir, c.saveErr)
	}
	if runErr != nil {
		return runErr
	}
	return finishCheck(results, notRun, stderr)
}

// finishCheck returns the outcome of a check run: errMismatch when a verdict
// differs from the expected one, an incomplete error when the run was
// interrupted before it could tell.
func finishCheck(results []checkResult, notRun []string, stderr io.Writer) error {
	var interrupted []string
	incomplete := len(notRun) > 0
	for _, r := range results {
		if !r.Interrupted {
			continue
		}
		var ran string
		switch {
		case r.Strategy == "dfs":
			ran = fmt.Sprintf("%s after %d executions (+%d pruned)", r.Algorithm, r.Executions, r.Pruned)
		case r.StatesFields != nil:
			ran = fmt.Sprintf("%s after %d states", r.Algorithm, r.States)
		case r.Shard == "0/1":
			ran = fmt.Sprintf("%s after %d of %d schedules", r.Algorithm, r.Schedules, r.CampaignSchedules)
		default:
			ran = fmt.Sprintf("%s after %d schedules of shard %s", r.Algorithm, r.Schedules, r.Shard)
		}
		interrupted = append(interrupted, ran)
		incomplete = incomplete || r.Verdict != "violation"
	}
	if len(interrupted) > 0 || len(notRun) > 0 {
		msg := "check: interrupted"
		if len(interrupted) > 0 {
			msg += ": " + strings.Join(interrupted, ", ")
		}
		if len(notRun) > 0 {
			msg += "; not run: " + strings.Join(notRun, ", ")
		}
		if incomplete {
			return incompleteError{msg + "; the results are incomplete"}
		}
		fmt.Fprintf(stderr, "rdmasim: %s; every verdict above is a violation found before the interruption\n", msg)
	}
	for _, r := range results {
		if !r.AsExpected {
			return errMismatch
		}
	}
	return nil
}

// defaultThreads is --threads when not given: 1 thread on the home node, 2 on
// every other node.
func defaultThreads(nodes, home int) []int {
	if nodes < 1 || nodes > 64 {
		return []int{1} // Validate reports the node count
	}
	counts := make([]int, nodes)
	for i := range counts {
		counts[i] = 2
		if i == home {
			counts[i] = 1
		}
	}
	if nodes == 1 {
		counts[0] = 1
	}
	return counts
}

// checkRun holds the settings of one rdmasim check run, shared by its
// algorithms, and what went wrong writing into --out.
type checkRun struct {
	opts                                              algOptions
	cfg                                               checker.Config
	strategy                                          string
	sh                                                shard
	seed                                              uint64
	depth, maxFindings, workers, preemptions, maxExec int
	outDir                                            string
	progress                                          *progressMeter // nil: no progress shown
	stop                                              <-chan struct{}
	saveErr                                           error // the first failure to write into outDir
	states                                            statesSettings
}

// settingsHash is a short stable hash of everything a replay file of this run
// depends on besides the algorithm, the property and the schedule: the
// configuration, the algorithm's options, the strategy and its parameters. Two
// runs whose replay files could differ write them under different names.
func settingsHash(cfg checker.Config, opts algOptions, strategy string, seed uint64, depth, preemptions, maxExec int) string {
	// The seed is in the file (dfs does not use it, but records it).
	key := map[string]any{"config": cfg, "options": opts, "strategy": strategy, "seed": seed}
	switch strategy {
	case "dfs":
		key["preemptions"], key["max_executions"] = preemptions, maxExec
	case checker.StrategyPCT:
		key["depth"] = depth
	}
	b, err := json.Marshal(key) // map keys in sorted order
	if err != nil {
		panic(err) // a Config always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}

// save writes one file into --out with write; on failure it keeps the first
// error (the run goes on, and every result is still printed) and returns why.
func (c *checkRun) save(path string, write func(string) error) error {
	err := write(path)
	if err == nil {
		return nil
	}
	// The cause, without the name of a temporary file.
	var pe *iofs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	if c.saveErr == nil {
		c.saveErr = err
	}
	return err
}

func (c *checkRun) checkOne(a algorithms.Algorithm) (checkResult, error) {
	if c.strategy == strategyStates {
		return c.checkStates(a)
	}
	start := time.Now()
	cfg, opts, strategy, seed, sh := c.cfg, c.opts, c.strategy, c.seed, c.sh
	lock := factory(a, opts)
	if a.BypassBound != nil {
		infos, _ := cfg.ThreadInfos()
		local := 0
		for _, in := range infos {
			if in.Local {
				local++
			}
		}
		cfg.BypassBound = a.BypassBound(local, len(infos)-local, opts.options())
	}
	hash := settingsHash(cfg, opts, strategy, seed, c.depth, c.preemptions, c.maxExec)
	r := checkResult{Algorithm: a.Name, Config: cfg.String(), Settings: cfg, Strategy: strategy, Seed: seed,
		Verdict: "ok", Options: opts, MaxFindings: c.maxFindings}
	p := c.progress.start(a.Name)
	var cx, bypass *checker.Counterexample
	var st checker.Strategy
	switch strategy {
	case checker.StrategyDFS:
		st = checker.DFS{Preemptions: c.preemptions, MaxExecutions: c.maxExec}
	case checker.StrategyPCT:
		st = checker.PCT{Random: checker.Random{Schedules: sh.count, FirstSchedule: sh.first, Seed: seed, MaxFindings: c.maxFindings, Workers: c.workers}, Depth: c.depth}
	default:
		st = checker.Random{Schedules: sh.count, FirstSchedule: sh.first, Seed: seed, MaxFindings: c.maxFindings, Workers: c.workers}
	}
	rep, err := checker.Run(cfg, lock, st, checker.Options{Stop: c.stop, Progress: func(pr checker.Progress) {
		if pr.Total > 0 {
			p.update(pr.Done, pr.Total, pr.Findings, func() string {
				return fmt.Sprintf("%d/%d schedules, %d findings", pr.Done, pr.Total, pr.Findings)
			})
		} else {
			p.update(pr.Done+pr.Pruned, 0, pr.Findings, func() string {
				return fmt.Sprintf("%d executions (+%d pruned, at most %d), %d findings", pr.Done, pr.Pruned, c.maxExec, pr.Findings)
			})
		}
	}})
	p.done()
	if err != nil {
		return r, usagef("check %s: %v", a.Name, err)
	}
	runCfg := rep.Config // the configuration the counterexample replays under
	cx, bypass = rep.Shortest, rep.Bypass
	r.MaxBypass, r.LinUnknown = rep.MaxBypass, rep.LinUnknown
	r.Schedules, r.Executions, r.Findings, r.Steps = rep.Executions, rep.Executions, rep.Findings, rep.Steps
	r.Interrupted = rep.Interrupted
	for _, w := range rep.Warnings {
		r.Warnings = append(r.Warnings, w.Message)
	}
	if strategy == checker.StrategyDFS {
		r.Settings, r.Config = runCfg, runCfg.String()
		r.Complete, r.Pruned, r.Preemptions = rep.Complete, rep.Pruned, rep.Preemptions
	} else {
		r.Shard, r.FirstSchedule, r.CampaignSchedules = sh.String(), sh.first, sh.total
		r.Interrupted = rep.Interrupted
		if strategy == checker.StrategyPCT {
			r.Depth = c.depth
		}
		if sh.n > 1 {
			r.shardText = sh.String()
		}
	}
	switch {
	case !defaultKnobs(cfg):
	case a.ExpectSafe:
		r.Expected = "ok"
	default:
		r.Expected = "violation"
	}
	if cx != nil {
		r.Verdict, r.Property, r.Message = "violation", cx.Finding.Property, cx.Finding.Message
		r.trace, r.names = cx.Execution.Trace, cx.Execution.Names
		r.Length, r.LengthBefore = len(cx.Execution.Trace), cx.LengthBefore
		r.CounterexampleSchedule = &cx.Schedule
		name := fmt.Sprintf("%s-%s-seed%d-s%d-%s.json", a.Name, slug(cx.Finding.Property), seed, cx.Schedule, hash)
		if strategy == "dfs" {
			name = fmt.Sprintf("%s-%s-dfs-%s.json", a.Name, slug(cx.Finding.Property), hash)
		}
		path := filepath.Join(c.outDir, name)
		if err := c.save(path, func(path string) error { return saveReplay(path, a.Name, opts, runCfg, strategy, seed, cx) }); err != nil {
			r.ReplayError = fmt.Sprintf("not saved: --out %s: %v", c.outDir, err)
		} else {
			r.Replay = path
			if lin := cx.Execution.Lin; lin != nil && lin.Verdict == workload.LinIllegal {
				html := strings.TrimSuffix(path, ".json") + ".history.html"
				if err := c.save(html, func(path string) error {
					return lin.WriteHTML(path, fmt.Sprintf("%s on %s; replay: rdmasim replay %s", a.Name, runCfg, r.Replay))
				}); err == nil {
					r.HistoryHTML = html
				}
			}
		}
	}
	r.BypassBound = cfg.BypassBound
	if bypass != nil {
		r.bypassMsg = bypass.Finding.Message
		path := filepath.Join(c.outDir, fmt.Sprintf("%s-bypass-bound-%s-seed%d-s%d-%s.json", a.Name, strategy, seed, bypass.Schedule, hash))
		if err := c.save(path, func(path string) error { return saveReplay(path, a.Name, opts, runCfg, strategy, seed, bypass) }); err == nil {
			r.BypassReplay = path
		}
	}
	r.AsExpected = r.Expected == "" || r.Verdict == r.Expected
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// defaultKnobs reports whether cfg keeps the NIC knobs and the locality
// classification the registry's expected verdicts are stated for, and
// explores untimed: a timed run sees only the interleavings its timing
// allows, so a naive lock may pass it.
func defaultKnobs(cfg checker.Config) bool {
	return (cfg.Scope == "" || cfg.Scope == "hca") && !cfg.FailedCASWritesBack && len(cfg.Knobs) == 0 &&
		len(cfg.TreatAsLocal) == 0 && len(cfg.TreatAsRemote) == 0 && cfg.Timing == nil
}

func saveReplay(path, alg string, opts algOptions, cfg checker.Config, strategy string, campaignSeed uint64, cx *checker.Counterexample) error {
	ob, _ := json.Marshal(opts)
	rf, err := cx.ReplayFile(alg, ob, cfg, strategy, campaignSeed)
	if err != nil {
		return err
	}
	return rf.Save(path)
}

// bypassText is the BYPASS column: the maximum observed, against the bound.
func (r checkResult) bypassText() string {
	switch {
	case r.BypassReplay != "" || r.bypassMsg != "":
		return fmt.Sprintf("%d > %d EXCEEDED", r.MaxBypass, r.BypassBound)
	case r.BypassBound > 0:
		return fmt.Sprintf("%d ≤ %d", r.MaxBypass, r.BypassBound)
	}
	return fmt.Sprint(r.MaxBypass)
}

func printResults(w io.Writer, results []checkResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	sharded := false
	for _, r := range results {
		sharded = sharded || r.shardText != ""
	}
	if sharded {
		fmt.Fprint(tw, "SHARD\t")
	}
	exhaustive, stateful := false, false
	for _, r := range results {
		exhaustive = exhaustive || r.Strategy == "dfs"
		stateful = stateful || r.StatesFields != nil
	}
	switch {
	case stateful:
		fmt.Fprintln(tw, statesHeader)
	case exhaustive:
		fmt.Fprintln(tw, "ALGORITHM\tCONFIG\tVERDICT\tEXPECTED\tBYPASS\tEXECUTIONS\tCOMPLETE\tSTEPS\tSECONDS")
	default:
		fmt.Fprintln(tw, "ALGORITHM\tCONFIG\tVERDICT\tEXPECTED\tBYPASS\tSCHEDULES\tSTEPS\tSECONDS")
	}
	for _, r := range results {
		if sharded {
			fmt.Fprintf(tw, "%s\t", r.shardText)
		}
		v := r.Verdict
		if r.Verdict == "violation" {
			v += ": " + r.Property
		}
		if r.Interrupted {
			v += " (interrupted)"
		}
		exp := r.Expected
		if exp == "" {
			exp = "-"
		}
		if !r.AsExpected {
			exp += " (MISMATCH)"
		}
		if r.StatesFields != nil {
			printStatesRow(tw, r, v, exp)
			continue
		}
		if exhaustive {
			complete := "no (bounded: stopped at --max-executions)"
			switch {
			case r.Complete:
				complete = "yes"
			case r.Interrupted:
				complete = "no (interrupted)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d (+%d pruned)\t%s\t%d\t%.2f\n", r.Algorithm, r.Config, v, exp, r.bypassText(), r.Executions, r.Pruned, complete, r.Steps, r.Seconds)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.2f\n", r.Algorithm, r.Config, v, exp, r.bypassText(), r.Schedules, r.Steps, r.Seconds)
	}
	tw.Flush()
	for _, r := range results {
		if r.Verdict != "violation" {
			continue
		}
		fmt.Fprintf(w, "\n%s: %s: %s\n", r.Algorithm, r.Property, r.Message)
		switch {
		case r.StatesFields != nil && r.StatesFields.Lasso != nil:
			l := r.StatesFields.Lasso
			fmt.Fprintf(w, "starvation lasso: %s waits forever: a stem of %d steps, then a cycle of %d steps a fair scheduler can repeat (replayed %d times), %d events:\n",
				l.Thread, l.StemSteps, l.CycleSteps, l.Repeats, r.Length)
		case r.StatesFields != nil && r.StatesFields.Minimal:
			fmt.Fprintf(w, "minimal counterexample (the fewest steps of any violating execution), %d events:\n", r.Length)
		case r.Preemptions != nil:
			fmt.Fprintf(w, "shortest counterexample (fewest preemptions, %d, then fewest events), %d events:\n", *r.Preemptions, r.Length)
		case r.LengthBefore > r.Length:
			fmt.Fprintf(w, "shortest counterexample of %d found, shrunk from %d to %d events:\n", r.Findings, r.LengthBefore, r.Length)
		default:
			fmt.Fprintf(w, "shortest counterexample of %d found, %d events:\n", r.Findings, r.Length)
		}
		traces.Render(w, r.names, r.trace)
		if r.trace == nil && r.note != "" {
			fmt.Fprintf(w, "  (%s)\n", r.note)
		}
		switch {
		case r.Replay != "":
			fmt.Fprintf(w, "replay: rdmasim replay %s\n", r.Replay)
		case r.ReplayError != "":
			fmt.Fprintf(w, "replay: %s\n", r.ReplayError)
		}
		if r.HistoryHTML != "" {
			fmt.Fprintf(w, "lock history (porcupine): %s\n", r.HistoryHTML)
		}
	}
	for _, r := range results {
		switch {
		case r.BypassReplay != "":
			fmt.Fprintf(w, "\n%s: bypass bound %d exceeded: %s\nreplay: rdmasim replay %s\n", r.Algorithm, r.BypassBound, r.bypassMsg, r.BypassReplay)
		case r.bypassMsg != "":
			fmt.Fprintf(w, "\n%s: bypass bound %d exceeded: %s\nreplay: not saved (see --out)\n", r.Algorithm, r.BypassBound, r.bypassMsg)
		}
	}
	for _, r := range results {
		for _, m := range r.Warnings {
			fmt.Fprintf(w, "\n%s: warning: mixed atomicity: %s\n", r.Algorithm, m)
		}
	}
}

// shard is part i of a campaign split n ways: schedules first … first+count-1
// of the total.
type shard struct {
	i, n                int
	first, count, total int
}

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.i, s.n) }

// parseShard reads "i/n" with 0 ≤ i < n.
func parseShard(spec string) (shard, error) {
	is, ns, ok := strings.Cut(spec, "/")
	i, ierr := parseCount(is)
	n, nerr := parseCount(ns)
	switch {
	case !ok || ierr != nil || nerr != nil:
		return shard{}, fmt.Errorf("want i/n, two whole numbers with 0 ≤ i < n, such as 0/4")
	case n < 1:
		return shard{}, fmt.Errorf("the shard count n is %d: want ≥ 1", n)
	case i >= n:
		return shard{}, fmt.Errorf("shard index %d is not below the shard count %d: the shards are 0/%d … %d/%d", i, n, n, n-1, n)
	}
	return shard{i: i, n: n}, nil
}

// parseCount reads a whole number written with decimal digits only.
func parseCount(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return strconv.Atoi(s)
}

// shardRange returns the schedules of shard i of n of a campaign of total
// schedules: first = i*total/n up to (i+1)*total/n, exactly and without
// overflow, so that the n shards cover 0 … total-1 once.
func shardRange(i, n, total int) (first, count int) {
	at := func(i int) int {
		hi, lo := bits.Mul64(uint64(i), uint64(total))
		q, _ := bits.Div64(hi, lo, uint64(n)) // i ≤ n, so the quotient fits
		return int(q)
	}
	first = at(i)
	return first, at(i+1) - first
}

func selectAlgorithms(spec string) ([]algorithms.Algorithm, error) {
	if spec == "all" {
		return algorithms.All(), nil
	}
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("--alg is empty: want algorithm names, comma-separated, or all (see rdmasim list)")
	}
	var out []algorithms.Algorithm
	seen := map[string]bool{}
	for _, name := range strings.Split(spec, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return nil, fmt.Errorf("--alg %q: an empty name in the list", spec)
		case name == "all":
			return nil, fmt.Errorf("--alg %q: all stands alone, not in a list", spec)
		case seen[name]:
			return nil, fmt.Errorf("--alg %q: %s is given twice", spec, name)
		}
		seen[name] = true
		a, err := algorithms.Lookup(name)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseThreads reads a comma-separated list of thread ids or names (n1/t0).
func parseThreads(s string, names []string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		id := -1
		for i, n := range names {
			if n == f {
				id = i
			}
		}
		if id < 0 {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 || n >= len(names) {
				return nil, fmt.Errorf("no thread %q (threads are %s, or ids 0 … %d)", f, strings.Join(names, ", "), len(names)-1)
			}
			id = n
		}
		out = append(out, id)
	}
	return out, nil
}

func slug(s string) string { return strings.ReplaceAll(s, " ", "-") }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && terminal(int(f.Fd()))
}

// knobFlags collects --knob name=value.
type knobFlags struct{ m map[string]string }

func (k *knobFlags) String() string { return fmt.Sprint(k.m) }

func (k *knobFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("want name=value, such as ordering=relaxed")
	}
	if old, ok := k.m[name]; ok && old != value {
		return fmt.Errorf("contradicts --knob %s=%s", name, old)
	}
	k.set(name, value)
	return nil
}

func (k *knobFlags) set(name, value string) {
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[name] = value
}
