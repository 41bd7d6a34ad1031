package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/figures"
)

const figuresUsage = `Usage: rdmasim figures [--out DIR] [--which grid,ecdf,budget,loopback,qps|all] [--quick] [flags]
       rdmasim figures --from FILE [--from FILE…] [--raw FILE…] --which FIGURES [--out DIR]

Draws the figures of timed mode, each as DIR/NAME.svg and DIR/NAME.png:

  grid      throughput of the lock table: a panel per node count (5, 10, 20) and
            key count (20, 100, 1000), x threads per node (2 … 12), a line per
            lock (alock, spin, mcs) and p_local (1, .95, .9, .85); ALock budgets 5/20
  ecdf      the ECDF of the threads' mean latencies, 20 nodes × 8 threads, a
            panel per p_local and key count
  budget    ALock's throughput against its local and remote budgets
            (10 nodes × 8 threads, 100 keys, p_local .95)
  loopback  one node, 2 … 16 threads, a line per lock
  qps       throughput against the total QPs, 5 nodes × 8 threads, 1 … 16 lanes

Without --from it runs the sweeps the figures need in timed mode first
(10 ms simulated per configuration after 1 ms of warm-up; --quick: a much
smaller version of every sweep, for tests and CI) and keeps their rows as
DIR/NAME.csv and DIR/NAME.json, from which --from redraws them. With --from it
draws from files of rdmasim bench or of an earlier run (CSV or JSON; the shards
of one sweep are merged): every figure named in --which gets all their rows,
so name the figures the files are for. The ECDF needs per-thread means: give
the JSON file, or the CSV with its --raw file.

Ctrl-C (SIGINT) or SIGTERM stops the sweep running: its rows finished are
written to DIR/NAME.csv and .json, the figure is not drawn, and the exit
status is 1.

Flags:
`

// figureNames are the figures, in the order they are made.
var figureNames = []string{"grid", "ecdf", "budget", "loopback", "qps"}

// figureSweep is the grid a figure needs, full or quick, and for the ECDF
// the configuration it shows.
func figureSweep(name string, quick bool) (g bench.Grid, ecdfNodes, ecdfThreads int) {
	locks := []string{"alock", "spin", "mcs"}
	paper := func(g bench.Grid) bench.Grid { // ALock's budgets in the paper's evaluation
		g.LocalBudgets, g.RemoteBudgets = []int{5}, []int{20}
		return g
	}
	if quick {
		switch name {
		case "grid":
			return paper(bench.Grid{Locks: locks, Nodes: []int{2, 3}, Keys: []int{6, 12}, Locals: []float64{1, 0.9}, Threads: []int{1, 2}}), 0, 0
		case "ecdf":
			return paper(bench.Grid{Locks: locks, Nodes: []int{3}, Threads: []int{2}, Keys: []int{6, 12}, Locals: []float64{1, 0.9}}), 3, 2
		case "budget":
			return bench.Grid{Locks: []string{"alock"}, Nodes: []int{2}, Threads: []int{2}, Keys: []int{6}, Locals: []float64{0.9},
				LocalBudgets: []int{1, 5}, RemoteBudgets: []int{1, 5}}, 0, 0
		case "loopback":
			return paper(bench.Grid{Locks: locks, Nodes: []int{1}, Threads: []int{1, 2, 4}, Keys: []int{6}}), 0, 0
		case "qps":
			return paper(bench.Grid{Locks: locks, Nodes: []int{2}, Threads: []int{2}, Keys: []int{6}, Locals: []float64{0.9}, Lanes: []int{1, 2}}), 0, 0
		}
	}
	switch name {
	case "grid":
		return paper(bench.Grid{Locks: locks, Nodes: []int{5, 10, 20}, Keys: []int{20, 100, 1000}, Locals: []float64{1, .95, .9, .85},
			Threads: []int{2, 4, 6, 8, 10, 12}}), 0, 0
	case "ecdf":
		return paper(bench.Grid{Locks: locks, Nodes: []int{20}, Threads: []int{8}, Keys: []int{20, 100, 1000}, Locals: []float64{1, .95, .9, .85}}), 20, 8
	case "budget":
		return bench.Grid{Locks: []string{"alock"}, Nodes: []int{10}, Threads: []int{8}, Keys: []int{100}, Locals: []float64{.95},
			LocalBudgets: []int{1, 2, 5, 10, 20, 50}, RemoteBudgets: []int{1, 5, 20, 50}}, 0, 0
	case "loopback":
		return paper(bench.Grid{Locks: locks, Nodes: []int{1}, Threads: []int{2, 4, 6, 8, 10, 12, 14, 16}, Keys: []int{100}}), 0, 0
	case "qps":
		return paper(bench.Grid{Locks: locks, Nodes: []int{5}, Threads: []int{8}, Keys: []int{100}, Locals: []float64{.95},
			Lanes: []int{1, 2, 4, 8, 16}}), 0, 0
	}
	panic("unknown figure " + name)
}

// listFlag collects a repeatable flag; each use may be a comma list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

func cmdFigures(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("figures", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var from, raw listFlag
	var (
		out         = fs.String("out", "figures", "directory for the figures (and, when sweeps run, their rows); created if missing")
		which       = fs.String("which", "all", "figures to make, comma-separated: grid, ecdf, budget, loopback, qps, or all")
		quick       = fs.Bool("quick", false, "run much smaller sweeps (for tests and CI)")
		duration    = fs.Duration("duration", 0, "simulated time measured per configuration (0: 10ms, with --quick 1ms)")
		warmup      = fs.Duration("warmup", -1, "simulated warm-up per configuration (-1: 1ms, with --quick 100µs)")
		profile     = fs.String("profile", "", "NIC latency profile of the timed model (empty: its default)")
		seed        = fs.Int64("seed", 1, "seed of every configuration")
		partial     = fs.Bool("partial", false, "with --from: draw even when the files miss points of their grid, with a warning")
		ecdfNodes   = fs.Int("ecdf-nodes", 0, "with --from: the node count of the ECDF figure (0: the largest in the rows)")
		ecdfThreads = fs.Int("ecdf-threads", 0, "with --from: the threads per node of the ECDF figure (0: the largest of those rows)")
		sf          = addSweepFlags(fs)
	)
	fs.Var(&from, "from", "draw from this results file (CSV or JSON; repeatable, or a comma list) instead of running sweeps")
	fs.Var(&raw, "raw", "with --from: a per-thread file (rdmasim bench --raw) to join to the CSV rows (repeatable)")
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "figures", figuresUsage, stdout)
	}
	if fs.NArg() > 0 {
		return usagef("figures: unexpected argument %q (flags only; see rdmasim figures --help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	names, err := parseWhich(*which)
	if err != nil {
		return usagef("figures: --which %q: %v", *which, err)
	}
	if err := checkSweepFlags("figures", sf); err != nil {
		return err
	}
	switch {
	case *duration < 0:
		return usagef("figures: --duration %v: want > 0 (0: the default)", *duration)
	case *warmup < -1:
		return usagef("figures: --warmup %v: want ≥ 0 (-1: the default)", *warmup)
	case len(from) == 0 && len(raw) > 0:
		return usagef("figures: --raw goes with --from")
	case len(from) > 0 && !given["which"]:
		return usagef("figures: with --from, name the figures the files are for with --which (every figure named gets all their rows)")
	case len(from) > 0 && (given["quick"] || given["duration"] || given["warmup"] || given["profile"] || given["seed"]):
		return usagef("figures: --quick, --duration, --warmup, --profile and --seed set the sweeps run; with --from none runs")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return usagef("figures: --out %s: %v", *out, err)
	}

	if len(from) > 0 {
		res, err := mergeFiles(from, *partial, stderr, "figures")
		if err != nil {
			return err
		}
		for _, r := range raw {
			if err := bench.ReadRawFile(r, &res); err != nil {
				return usagef("figures: --raw %v", err)
			}
		}
		for _, name := range names {
			prefix := filepath.Join(*out, name)
			if err := drawFigure(name, res.Rows, prefix, *ecdfNodes, *ecdfThreads); err != nil {
				return usagef("%v", err)
			}
			fmt.Fprintf(stdout, "%s: %s.svg, %s.png (%d rows)\n", name, prefix, prefix, len(res.Rows))
		}
		return nil
	}

	dur, warm := 10*time.Millisecond, time.Millisecond
	if *quick {
		dur, warm = time.Millisecond, 100*time.Microsecond
	}
	if *duration > 0 {
		dur = *duration
	}
	if *warmup >= 0 {
		warm = *warmup
	}
	run, err := profileRunner([]string{*profile})
	if err != nil {
		return usagef("figures: %v", err)
	}
	for _, name := range names {
		g, en, et := figureSweep(name, *quick)
		g.Duration, g.Warmup = int64(dur), int64(warm)
		g.Profiles, g.Seeds = []string{*profile}, []int64{*seed}
		for _, l := range g.Locks {
			if _, err := parseLocks(l); err != nil {
				return usagef("figures: %s: %v", name, err)
			}
		}
		points := g.Points()
		prefix := filepath.Join(*out, name)
		res, runErr := runSweep(points, run, shard{i: 0, n: 1}, sf, stderr, "rdmasim: figures: "+name)
		if err := saveResult(res, prefix+".csv", "", prefix+".json"); err != nil {
			return usagef("figures: %v", err)
		}
		if runErr != nil {
			if err := finishSweep("figures: "+name, res, runErr); err != nil {
				return err
			}
		}
		if err := drawFigure(name, res.Rows, prefix, en, et); err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(stdout, "%s: %s.svg, %s.png (%d points; rows in %s.csv and .json)\n", name, prefix, prefix, len(res.Rows), prefix)
		if err := finishSweep("figures: "+name, res, nil); err != nil {
			return err // findings
		}
	}
	return nil
}

func parseWhich(spec string) ([]string, error) {
	if strings.TrimSpace(spec) == "all" {
		return figureNames, nil
	}
	names, err := bench.ParseNames(spec)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !slices.Contains(figureNames, n) {
			return nil, fmt.Errorf("no figure %q (figures: %s, or all)", n, strings.Join(figureNames, ", "))
		}
	}
	return names, nil
}

// drawFigure draws figure name from rows into prefix.svg and prefix.png.
func drawFigure(name string, rows []bench.Row, prefix string, ecdfNodes, ecdfThreads int) error {
	var err error
	switch name {
	case "grid":
		err = figures.ThroughputGrid(rows, prefix)
	case "ecdf":
		err = figures.LatencyECDF(rows, ecdfNodes, ecdfThreads, prefix)
	case "budget":
		err = figures.BudgetStudy(rows, prefix)
	case "loopback":
		err = figures.Loopback(rows, prefix)
	case "qps":
		err = figures.QPs(rows, prefix)
	}
	if err != nil {
		return fmt.Errorf("figures: %s: %v", name, strings.TrimPrefix(err.Error(), "figures: "))
	}
	return nil
}
