package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
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
	Complete   bool `json:"complete"`
	Executions int  `json:"executions"` // executions run (schedules, for random and PCT)
	Pruned     int  `json:"pruned,omitempty"`
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
	LinUnknown   int    `json:"lin_unknown,omitempty"`
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
it as a replay file.

Flags:
`

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := checker.DefaultConfig()
	var (
		algs        = fs.String("alg", "all", "algorithms to check, comma-separated, or all (see rdmasim list)")
		nodes       = fs.Int("nodes", def.Nodes, "number of nodes")
		threads     = fs.String("threads", "1,2", "threads per node: one count for every node, or a comma-separated count per node")
		home        = fs.Int("home", def.Home, "the node that holds the lock")
		acquires    = fs.Int("acquires", def.Acquires, "critical sections per thread")
		strategy    = fs.String("strategy", checker.StrategyRandom, "schedule strategy: random, pct, or dfs (exhaustive, with partial-order reduction)")
		preemptions = fs.Int("preemptions", -1, "dfs: bound the preemptions per execution (-1: no bound; a bound turns the reduction off)")
		maxExec     = fs.Int("max-executions", 2_000_000, "dfs: stop after this many executions (the result then says complete=false)")
		schedules   = fs.Int("schedules", 20000, "schedules to explore per algorithm")
		seed        = fs.Uint64("seed", 1, "seed of the campaign (each schedule derives its own)")
		depth       = fs.Int("depth", 3, "PCT depth")
		scope       = fs.String("scope", "hca", "atomic scope of NIC atomics: hca (NIC atomics not atomic against the CPU) or glob")
		writeBack   = fs.Bool("cas-writeback", false, "a failed NIC CAS writes back the value it read")
		stepBound   = fs.Int("step-bound", checker.DefaultStepBound, "steps per execution before it is reported as a livelock")
		budgetL     = fs.Int("budget-local", 0, "ALock local cohort budget (0: the algorithm's default)")
		budgetR     = fs.Int("budget-remote", 0, "ALock remote cohort budget (0: the algorithm's default)")
		asLocal     = fs.String("as-local", "", "threads (ids or names like n1/t0) the lock is told are local to the home node")
		asRemote    = fs.String("as-remote", "", "threads the lock is told are remote")
		format      = fs.String("format", "text", "output format: text or json")
		outDir      = fs.String("out", "rdmasim-replays", "directory for replay files of counterexamples")
		maxFindings = fs.Int("max-findings", 20, "violating schedules to collect per algorithm before reporting the shortest")
		progress    = fs.Bool("progress", true, "show progress on standard error when it is a terminal")
		cpu         = fs.String("cpu", "sc", "host CPU memory model: sc, or tso (x86-TSO, a store buffer per thread)")
		nicWrites   = fs.String("nic-writes", "interleave", "whether a NIC WRITE may land inside a NIC atomic on its address (interleave) or waits (excluded)")
		knobs       knobFlags
		linz        = fs.Bool("linearizability", true, "check every execution's lock history with porcupine (and draw an illegal one next to its replay file)")
		workers     = fs.Int("workers", 0, "schedules run in parallel on this many cores (0: all); results do not depend on it")
		shardSpec   = fs.String("shard", "0/1", "run shard i/n of the campaign only: schedules i*S/n … (i+1)*S/n-1 of --schedules S (0 ≤ i < n); rdmasim merge combines the shards' --format json outputs")
	)
	fs.Var(&knobs, "knob", "set any model knob, name=value (repeatable): ordering, fence, placement, lanes, … (see rdmasim litmus --help)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, checkUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return usagef("check: %v (see rdmasim check --help)", err)
	}
	if fs.NArg() > 0 {
		return usagef("check: unexpected argument %q (flags only; see rdmasim check --help)", fs.Arg(0))
	}
	if *format != "text" && *format != "json" {
		return usagef("check: --format %q: want text or json", *format)
	}
	if *schedules < 1 {
		return usagef("check: --schedules %d: want ≥ 1", *schedules)
	}
	if *workers < 0 {
		return usagef("check: --workers %d: want ≥ 0", *workers)
	}
	if *maxFindings < 1 {
		return usagef("check: --max-findings %d: want ≥ 1", *maxFindings)
	}
	if *budgetL < 0 || *budgetR < 0 {
		return usagef("check: budgets must be ≥ 0")
	}
	if *strategy == "dfs" && *shardSpec != "0/1" {
		return usagef("check: --shard splits random and PCT campaigns, not --strategy dfs")
	}
	if *maxExec < 1 {
		return usagef("check: --max-executions %d: want ≥ 1", *maxExec)
	}
	if *strategy != checker.StrategyRandom && *strategy != checker.StrategyPCT && *strategy != "dfs" {
		return usagef("check: --strategy %q: want random, pct or dfs", *strategy)
	}
	sh, err := parseShard(*shardSpec)
	if err != nil {
		return usagef("check: --shard %q: %v", *shardSpec, err)
	}
	sh.first, sh.count = shardRange(sh.i, sh.n, *schedules)
	sh.total = *schedules
	if sh.count < 1 {
		return usagef("check: --shard %s: this shard has no schedules: %d schedules split %d ways (want at most %d shards)", *shardSpec, *schedules, sh.n, *schedules)
	}
	counts, err := parseInts(*threads)
	if err != nil {
		return usagef("check: --threads %q: %v", *threads, err)
	}
	cfg := checker.Config{Nodes: *nodes, Threads: counts, Home: *home, Acquires: *acquires, Linearizability: *linz,
		Scope: *scope, FailedCASWritesBack: *writeBack, StepBound: *stepBound}
	if *cpu != "sc" {
		knobs.set("cpu", *cpu)
	}
	if *nicWrites != "interleave" {
		knobs.set("nic-writes", *nicWrites)
	}
	cfg.Knobs = knobs.m
	if err := cfg.Validate(); err != nil {
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
	opts := algOptions{BudgetLocal: *budgetL, BudgetRemote: *budgetR}
	tty := *progress && isTerminal(stderr)

	var results []checkResult
	for _, a := range selected {
		r, err := checkOne(a, opts, cfg, *strategy, sh, *seed, *depth, *maxFindings, *workers, *preemptions, *maxExec, *outDir, tty, stderr)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		printResults(stdout, results)
	}
	for _, r := range results {
		if !r.AsExpected {
			return errMismatch
		}
	}
	return nil
}

func checkOne(a algorithms.Algorithm, opts algOptions, cfg checker.Config, strategy string, sh shard, seed uint64, depth, maxFindings, workers, preemptions, maxExec int, outDir string, tty bool, stderr io.Writer) (checkResult, error) {
	start := time.Now()
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
	r := checkResult{Algorithm: a.Name, Config: cfg.String(), Settings: cfg, Strategy: strategy, Seed: seed,
		Verdict: "ok", Options: opts, MaxFindings: maxFindings}
	progress := func(format string, args ...any) {}
	if tty {
		last := time.Now()
		progress = func(format string, args ...any) {
			if now := time.Now(); now.Sub(last) > 200*time.Millisecond {
				last = now
				fmt.Fprintf(stderr, "\r\033[K%s: %s, %.1fs", a.Name, fmt.Sprintf(format, args...), now.Sub(start).Seconds())
			}
		}
	}
	var cx, bypass *checker.Counterexample
	var st checker.Strategy
	switch strategy {
	case checker.StrategyDFS:
		st = checker.DFS{Preemptions: preemptions, MaxExecutions: maxExec}
	case checker.StrategyPCT:
		st = checker.PCT{Random: checker.Random{Schedules: sh.count, FirstSchedule: sh.first, Seed: seed, MaxFindings: maxFindings, Workers: workers}, Depth: depth}
	default:
		st = checker.Random{Schedules: sh.count, FirstSchedule: sh.first, Seed: seed, MaxFindings: maxFindings, Workers: workers}
	}
	rep, err := checker.Run(cfg, lock, st, checker.Options{Progress: func(p checker.Progress) {
		rate := float64(p.Done+p.Pruned) / time.Since(start).Seconds()
		if p.Total > 0 {
			progress("%d/%d schedules, %.0f/s", p.Done, p.Total, rate)
		} else {
			progress("%d executions (%d pruned), %.0f/s", p.Done, p.Pruned, rate)
		}
	}})
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return r, usagef("check %s: %v", a.Name, err)
	}
	runCfg := rep.Config // the configuration the counterexample replays under
	cx, bypass = rep.Shortest, rep.Bypass
	r.MaxBypass, r.LinUnknown = rep.MaxBypass, rep.LinUnknown
	r.Schedules, r.Executions, r.Findings, r.Steps = rep.Executions, rep.Executions, rep.Findings, rep.Steps
	for _, w := range rep.Warnings {
		r.Warnings = append(r.Warnings, w.Message)
	}
	if strategy == checker.StrategyDFS {
		r.Settings, r.Config = runCfg, runCfg.String()
		r.Complete, r.Pruned, r.Preemptions = rep.Complete, rep.Pruned, rep.Preemptions
	} else {
		r.Shard, r.FirstSchedule, r.CampaignSchedules = sh.String(), sh.first, sh.total
		if strategy == checker.StrategyPCT {
			r.Depth = depth
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
		name := fmt.Sprintf("%s-%s-seed%d-s%d.json", a.Name, slug(cx.Finding.Property), seed, cx.Schedule)
		if strategy == "dfs" {
			name = fmt.Sprintf("%s-%s-dfs.json", a.Name, slug(cx.Finding.Property))
		}
		path := filepath.Join(outDir, name)
		if err := saveReplay(path, a.Name, opts, runCfg, strategy, seed, cx); err != nil {
			return r, fmt.Errorf("saving the counterexample: %v", err)
		}
		r.Replay = path
		if lin := cx.Execution.Lin; lin != nil && lin.Verdict == workload.LinIllegal {
			html := strings.TrimSuffix(path, ".json") + ".history.html"
			if err := lin.WriteHTML(html, fmt.Sprintf("%s on %s; replay: rdmasim replay %s", a.Name, runCfg, path)); err != nil {
				return r, fmt.Errorf("drawing the history: %v", err)
			}
			r.HistoryHTML = html
		}
	}
	r.BypassBound = cfg.BypassBound
	if bypass != nil {
		path := filepath.Join(outDir, fmt.Sprintf("%s-bypass-bound-%s-seed%d-s%d.json", a.Name, strategy, seed, bypass.Schedule))
		if err := saveReplay(path, a.Name, opts, runCfg, strategy, seed, bypass); err != nil {
			return r, fmt.Errorf("saving the bypass counterexample: %v", err)
		}
		r.BypassReplay, r.bypassMsg = path, bypass.Finding.Message
	}
	r.AsExpected = r.Expected == "" || r.Verdict == r.Expected
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// defaultKnobs reports whether cfg keeps the NIC knobs and the locality
// classification the registry's expected verdicts are stated for.
func defaultKnobs(cfg checker.Config) bool {
	return (cfg.Scope == "" || cfg.Scope == "hca") && !cfg.FailedCASWritesBack && len(cfg.Knobs) == 0 &&
		len(cfg.TreatAsLocal) == 0 && len(cfg.TreatAsRemote) == 0
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
	case r.BypassReplay != "":
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
	exhaustive := false
	for _, r := range results {
		exhaustive = exhaustive || r.Strategy == "dfs"
	}
	if exhaustive {
		fmt.Fprintln(tw, "ALGORITHM\tCONFIG\tVERDICT\tEXPECTED\tBYPASS\tEXECUTIONS\tCOMPLETE\tSTEPS\tSECONDS")
	} else {
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
		exp := r.Expected
		if exp == "" {
			exp = "-"
		}
		if !r.AsExpected {
			exp += " (MISMATCH)"
		}
		if exhaustive {
			complete := "no (bounded: stopped at --max-executions)"
			if r.Complete {
				complete = "yes"
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
		fmt.Fprintf(w, "replay: rdmasim replay %s\n", r.Replay)
		if r.HistoryHTML != "" {
			fmt.Fprintf(w, "lock history (porcupine): %s\n", r.HistoryHTML)
		}
	}
	for _, r := range results {
		if r.BypassReplay != "" {
			fmt.Fprintf(w, "\n%s: bypass bound %d exceeded: %s\nreplay: rdmasim replay %s\n", r.Algorithm, r.BypassBound, r.bypassMsg, r.BypassReplay)
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
	if spec == "all" || spec == "" {
		return algorithms.All(), nil
	}
	var out []algorithms.Algorithm
	for _, name := range strings.Split(spec, ",") {
		a, err := algorithms.Lookup(strings.TrimSpace(name))
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
	k.set(name, value)
	return nil
}

func (k *knobFlags) set(name, value string) {
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[name] = value
}
