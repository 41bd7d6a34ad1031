package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
)

// algOptions is the JSON form of algorithms.Options kept in replay files.
type algOptions struct {
	BudgetLocal  int `json:"budget_local"`
	BudgetRemote int `json:"budget_remote"`
}

func (o algOptions) options() algorithms.Options {
	return algorithms.Options{BudgetLocal: o.BudgetLocal, BudgetRemote: o.BudgetRemote}
}

func factory(a algorithms.Algorithm, o algOptions) checker.LockFactory {
	return func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, o.options()) }
}

// checkResult is one row of `rdmasim check`, and one object of its JSON output.
type checkResult struct {
	Algorithm  string         `json:"algorithm"`
	Config     string         `json:"config"`
	Settings   checker.Config `json:"settings"`
	Strategy   string         `json:"strategy"`
	Seed       uint64         `json:"seed"`
	Expected   string         `json:"expected"` // "ok" or "violation"
	Verdict    string         `json:"verdict"`  // "ok" or "violation"
	Property   string         `json:"property"`
	Message    string         `json:"message"`
	Schedules  int            `json:"schedules"`
	Findings   int            `json:"findings"` // violating schedules seen
	Steps      int64          `json:"steps"`
	Seconds    float64        `json:"seconds"`
	Replay     string         `json:"replay"`
	Length     int            `json:"length"`
	AsExpected bool           `json:"as_expected"`

	trace []traces.Event
	names []string
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
		strategy    = fs.String("strategy", checker.StrategyRandom, "schedule strategy: random or pct")
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
		workers     = fs.Int("workers", 0, "schedules run in parallel on this many cores (0: all); results do not depend on it")
	)
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
	if *strategy != checker.StrategyRandom && *strategy != checker.StrategyPCT {
		return usagef("check: --strategy %q: want random or pct", *strategy)
	}
	counts, err := parseInts(*threads)
	if err != nil {
		return usagef("check: --threads %q: %v", *threads, err)
	}
	cfg := checker.Config{Nodes: *nodes, Threads: counts, Home: *home, Acquires: *acquires,
		Scope: *scope, FailedCASWritesBack: *writeBack, StepBound: *stepBound}
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
		r, err := checkOne(a, opts, cfg, *strategy, *schedules, *seed, *depth, *maxFindings, *workers, *outDir, tty, stderr)
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

func checkOne(a algorithms.Algorithm, opts algOptions, cfg checker.Config, strategy string, schedules int, seed uint64, depth, maxFindings, workers int, outDir string, tty bool, stderr io.Writer) (checkResult, error) {
	start := time.Now()
	camp := checker.Campaign{Config: cfg, Lock: factory(a, opts), Strategy: strategy,
		Schedules: schedules, Seed: seed, Depth: depth, MaxFindings: maxFindings, Workers: workers}
	if tty {
		last := time.Now()
		camp.Progress = func(done int) {
			if now := time.Now(); now.Sub(last) > 200*time.Millisecond || done == schedules {
				last = now
				el := now.Sub(start).Seconds()
				fmt.Fprintf(stderr, "\r\033[K%s: %d/%d schedules, %.0f/s, %.1fs", a.Name, done, schedules, float64(done)/el, el)
			}
		}
	}
	rep, err := camp.Run()
	if tty {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return checkResult{}, usagef("check %s: %v", a.Name, err)
	}
	r := checkResult{Algorithm: a.Name, Config: cfg.String(), Settings: cfg, Strategy: strategy, Seed: seed,
		Verdict: "ok", Schedules: rep.Schedules, Findings: rep.Findings, Steps: rep.Steps}
	switch {
	case !defaultKnobs(cfg):
	case a.ExpectSafe:
		r.Expected = "ok"
	default:
		r.Expected = "violation"
	}
	if cx := rep.Shortest; cx != nil {
		r.Verdict, r.Property, r.Message = "violation", cx.Finding.Property, cx.Finding.Message
		r.trace, r.names = cx.Execution.Trace, cx.Execution.Names
		r.Length = len(cx.Execution.Trace)
		path := filepath.Join(outDir, fmt.Sprintf("%s-%s-seed%d-s%d.json", a.Name, slug(cx.Finding.Property), seed, cx.Schedule))
		if err := saveReplay(path, a.Name, opts, cfg, strategy, seed, cx); err != nil {
			return r, fmt.Errorf("saving the counterexample: %v", err)
		}
		r.Replay = path
	}
	r.AsExpected = r.Expected == "" || r.Verdict == r.Expected
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// defaultKnobs reports whether cfg keeps the NIC knobs and the locality
// classification the registry's expected verdicts are stated for.
func defaultKnobs(cfg checker.Config) bool {
	return (cfg.Scope == "" || cfg.Scope == "hca") && !cfg.FailedCASWritesBack &&
		len(cfg.TreatAsLocal) == 0 && len(cfg.TreatAsRemote) == 0
}

func saveReplay(path, alg string, opts algOptions, cfg checker.Config, strategy string, campaignSeed uint64, cx *checker.Counterexample) error {
	ob, _ := json.Marshal(opts)
	cb, _ := json.Marshal(cfg)
	rf := traces.Replay{Format: traces.ReplayFormat, Version: traces.ReplayVersion,
		Property: cx.Finding.Property, Message: cx.Finding.Message, Algorithm: alg,
		Options: ob, Config: cb, Strategy: strategy, CampaignSeed: campaignSeed, Seed: cx.Seed, Schedule: cx.Schedule,
		Steps: cx.Execution.Steps, Length: len(cx.Execution.Trace)}
	for i, d := range cx.Decisions {
		td := traces.Decision{Pick: d.Pick, Of: d.Of}
		if i < len(cx.Execution.Choices) {
			td.Event = cx.Execution.Choices[i]
		}
		rf.Decisions = append(rf.Decisions, td)
	}
	return rf.Save(path)
}

func printResults(w io.Writer, results []checkResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALGORITHM\tCONFIG\tVERDICT\tEXPECTED\tSCHEDULES\tSTEPS\tSECONDS")
	for _, r := range results {
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%.2f\n", r.Algorithm, r.Config, v, exp, r.Schedules, r.Steps, r.Seconds)
	}
	tw.Flush()
	for _, r := range results {
		if r.Verdict != "violation" {
			continue
		}
		fmt.Fprintf(w, "\n%s: %s: %s\n", r.Algorithm, r.Property, r.Message)
		fmt.Fprintf(w, "shortest counterexample of %d found, %d events:\n", r.Findings, r.Length)
		traces.Render(w, r.names, r.trace)
		fmt.Fprintf(w, "replay: rdmasim replay %s\n", r.Replay)
	}
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
