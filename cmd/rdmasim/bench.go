package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/bench"
)

const benchUsage = `Usage: rdmasim bench [flags]
       rdmasim bench merge [--partial] [--format table|json] [--csv FILE] FILE...

Runs the lock-table benchmark in timed mode (simulated NIC latencies) over a
grid of configurations: every combination of the comma-separated lists given
(--alg, --nodes, --threads, --keys, --local, --local-budget, --remote-budget,
--lanes, --profile, --seed). Each thread takes locks of a table of --keys keys,
split into contiguous per-node ranges, picking a key of its own node with
probability --local (p_local). Per configuration it prints the total
throughput (Mops/s, simulated) and the latency of local and remote operations
apart (p50/p99/p99.9, µs); --csv, --raw and --format json keep everything.

Points run in parallel on --workers cores; the rows do not depend on it.
--shard i/n runs points i·P/n … (i+1)·P/n − 1 of the P points (as rdmasim
check splits a campaign); rdmasim bench merge combines the shards' --csv or
--format json files, refusing files of different grids and naming the points
missing.

Ctrl-C (SIGINT) or SIGTERM stops the sweep: the rows finished are printed and
written, and the exit status is 1. A second Ctrl-C ends it at once.

Exit status: 0 done, 1 interrupted or a point had findings (a correctness
problem seen while measuring), 2 usage error, unknown lock, a point the timed
simulation refused, or a file not written.

Flags:
`

// sweepFlags are the flags of a sweep that rdmasim bench and rdmasim figures share.
type sweepFlags struct {
	workers  *int
	progress *bool
	every    *time.Duration
}

func addSweepFlags(fs *flag.FlagSet) sweepFlags {
	return sweepFlags{
		workers:  fs.Int("workers", 0, "points run at once (0: all cores); the results do not depend on it"),
		progress: fs.Bool("progress", true, "show progress on standard error: a bar redrawn in place on a terminal, otherwise a line every 5 s"),
		every:    fs.Duration("progress-interval", 0, "how often progress is shown (0: 200ms on a terminal, 5s otherwise)"),
	}
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return cmdBenchMerge(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		algs      = fs.String("alg", "alock,spin,mcs", "locks to measure, comma-separated (see rdmasim list)")
		nodes     = fs.String("nodes", "5", "node counts, comma-separated")
		threads   = fs.String("threads", "2,4,8,12", "threads per node, comma-separated")
		keys      = fs.String("keys", "100", "keys in the lock table (contiguous per-node ranges), comma-separated; each ≥ the node count")
		local     = fs.String("local", "0.95", "p_local, the probability that an operation takes a key of its own node: fractions, comma-separated")
		budgetL   = fs.String("local-budget", "0", "ALock local cohort budgets, comma-separated (0: the lock's default; the ALock paper uses 5)")
		budgetR   = fs.String("remote-budget", "0", "ALock remote cohort budgets, comma-separated (0: the lock's default; the ALock paper uses 20)")
		lanes     = fs.String("lanes", "1", "QPs per thread per node pair, comma-separated")
		duration  = fs.Duration("duration", 10*time.Millisecond, "simulated time measured per configuration, after the warm-up")
		warmup    = fs.Duration("warmup", time.Millisecond, "simulated warm-up per configuration, not measured")
		profile   = fs.String("profile", "", "NIC latency profiles of the timed model, comma-separated (empty: its default)")
		seeds     = fs.String("seed", "1", "seeds, comma-separated")
		shardSpec = fs.String("shard", "0/1", "run shard i/n of the points only: points i*P/n … (i+1)*P/n-1 of the P points (0 ≤ i < n); rdmasim bench merge combines the shards")
		csvPath   = fs.String("csv", "", "write the rows as CSV to this file (one row per configuration; columns in the bench package documentation)")
		rawPath   = fs.String("raw", "", "write every thread's mean latency to this CSV file")
		format    = fs.String("format", "table", "standard output: table or json (the rows with their per-thread means)")
		sf        = addSweepFlags(fs)
	)
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "bench", benchUsage, stdout)
	}
	if fs.NArg() > 0 {
		return usagef("bench: unexpected argument %q (flags only; see rdmasim bench --help)", fs.Arg(0))
	}
	if *format != "table" && *format != "json" {
		return usagef("bench: --format %q: want table or json", *format)
	}
	g := bench.Grid{Duration: int64(*duration), Warmup: int64(*warmup)}
	var err error
	if g.Locks, err = parseLocks(*algs); err != nil {
		return usagef("bench: --alg %q: %v", *algs, err)
	}
	for _, l := range []struct {
		name, val string
		least     int
		dst       *[]int
	}{
		{"nodes", *nodes, 1, &g.Nodes}, {"threads", *threads, 1, &g.Threads}, {"keys", *keys, 1, &g.Keys},
		{"local-budget", *budgetL, 0, &g.LocalBudgets}, {"remote-budget", *budgetR, 0, &g.RemoteBudgets}, {"lanes", *lanes, 1, &g.Lanes},
	} {
		if *l.dst, err = bench.ParseInts(l.val, l.least); err != nil {
			return usagef("bench: --%s %q: %v", l.name, l.val, err)
		}
	}
	if g.Locals, err = bench.ParseFractions(*local); err != nil {
		return usagef("bench: --local %q: %v", *local, err)
	}
	if g.Seeds, err = bench.ParseInt64s(*seeds); err != nil {
		return usagef("bench: --seed %q: %v", *seeds, err)
	}
	if *profile == "" {
		g.Profiles = []string{""}
	} else if g.Profiles, err = bench.ParseNames(*profile); err != nil {
		return usagef("bench: --profile %q: %v", *profile, err)
	}
	points := g.Points()
	for _, p := range points {
		if err := p.Validate(); err != nil {
			return usagef("bench: %s: %v", p, err)
		}
	}
	sh, err := parseShard(*shardSpec)
	if err != nil {
		return usagef("bench: --shard %q: %v", *shardSpec, err)
	}
	if err := checkSweepFlags("bench", sf); err != nil {
		return err
	}
	run, err := profileRunner(g.Profiles)
	if err != nil {
		return usagef("bench: %v", err)
	}
	res, runErr := runSweep(points, run, sh, sf, stderr, "rdmasim: bench")
	if runErr != nil && !errors.Is(runErr, bench.ErrInterrupted) && len(res.Rows) == 0 {
		return usagef("bench: %v", strings.TrimPrefix(runErr.Error(), "bench: "))
	}
	// Every row measured is printed and written, whatever happened after it.
	if *format == "json" {
		if err := bench.WriteJSON(stdout, res); err != nil {
			return err
		}
	} else {
		bench.PrintTable(stdout, res)
	}
	if err := saveResult(res, *csvPath, *rawPath, ""); err != nil {
		return usagef("bench: %v", err)
	}
	return finishSweep("bench", res, runErr)
}

// parseLocks reads --alg: names of the algorithms registry, comma-separated.
func parseLocks(spec string) ([]string, error) {
	names, err := bench.ParseNames(spec)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := algorithms.Lookup(n); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func checkSweepFlags(cmd string, sf sweepFlags) error {
	switch {
	case *sf.workers < 0:
		return usagef("%s: --workers %d: want ≥ 0 (0: all cores)", cmd, *sf.workers)
	case *sf.every < 0:
		return usagef("%s: --progress-interval %v: want ≥ 0", cmd, *sf.every)
	}
	return nil
}

// profileRunner asks simRunner for the runner of every profile and returns
// one that runs each point with its profile's.
func profileRunner(profiles []string) (bench.Runner, error) {
	runners := map[string]bench.Runner{}
	for _, p := range profiles {
		r, err := simRunner(p)
		if err != nil {
			if p != "" {
				return nil, fmt.Errorf("--profile %s: %v", p, err)
			}
			return nil, err
		}
		runners[p] = r
	}
	return func(ctx context.Context, p bench.Point) (bench.Measurement, error) {
		return runners[p.Profile](ctx, p)
	}, nil
}

// runSweep runs the points of shard sh with progress on stderr, until done
// or the first SIGINT or SIGTERM.
func runSweep(points []bench.Point, run bench.Runner, sh shard, sf sweepFlags, stderr io.Writer, name string) (bench.Result, error) {
	stop, release := notifyStop()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	opts := bench.Options{Workers: *sf.workers, Shard: sh.i, Shards: sh.n, Now: progressClock, Heartbeat: time.Second}
	var prog *bench.Progress
	if *sf.progress {
		prog = bench.NewProgress(stderr, isTerminal(stderr), name, *sf.every, progressClock)
		opts.Progress = prog.Update
	}
	res, err := bench.Sweep(ctx, points, run, opts)
	prog.Done()
	return res, err
}

// saveResult writes res to the files named (none when "").
func saveResult(res bench.Result, csvPath, rawPath, jsonPath string) error {
	for _, f := range []struct {
		path string
		save func(string, bench.Result) error
	}{{csvPath, bench.SaveCSV}, {rawPath, bench.SaveRawCSV}, {jsonPath, bench.SaveJSON}} {
		if f.path == "" {
			continue
		}
		if err := f.save(f.path, res); err != nil {
			return fmt.Errorf("cannot write %s: %v", f.path, err)
		}
	}
	return nil
}

// finishSweep turns the outcome of a sweep whose rows are out into the
// command's error: the runner's (exit 2), an interruption (exit 1), or
// findings (exit 1).
func finishSweep(cmd string, res bench.Result, runErr error) error {
	switch {
	case errors.Is(runErr, bench.ErrInterrupted):
		return incompleteError{fmt.Sprintf("%s: interrupted after %d of %d points of this shard; the rows finished are above (and in the files asked for)",
			cmd, len(res.Rows), len(bench.ShardIndices(res.Shard, res.Shards, res.Points)))}
	case runErr != nil:
		return usagef("%s: %v (the rows finished before are above)", cmd, strings.TrimPrefix(runErr.Error(), "bench: "))
	}
	n := 0
	for _, r := range res.Rows {
		if len(r.Measurement.Findings) > 0 {
			n++
		}
	}
	if n > 0 {
		return incompleteError{fmt.Sprintf("%s: %d of %d points had findings (correctness problems seen while measuring; listed above)", cmd, n, len(res.Rows))}
	}
	return nil
}

const benchMergeUsage = `Usage: rdmasim bench merge [--partial] [--format table|json] [--csv FILE] FILE...

Combines the --csv or --format json outputs of the shards of one rdmasim bench
sweep (--shard i/n) into one result, in point order. Files of different grids
are refused, and so is a point measured twice; points no file has (a shard
missing or interrupted) are named, and refused unless --partial is given.

Flags:
`

func cmdBenchMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "standard output: table or json")
	csvPath := fs.String("csv", "", "write the merged rows as CSV to this file")
	partial := fs.Bool("partial", false, "merge even when points are missing, with a warning")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return helpOr(err, fs, "bench merge", benchMergeUsage, stdout)
	}
	if *format != "table" && *format != "json" {
		return usagef("bench merge: --format %q: want table or json", *format)
	}
	if len(files) == 0 {
		return usagef("bench merge: no files given (want the --csv or --format json outputs of rdmasim bench --shard i/n)")
	}
	merged, err := mergeFiles(files, *partial, stderr, "bench merge")
	if err != nil {
		return err
	}
	if *format == "json" {
		if err := bench.WriteJSON(stdout, merged); err != nil {
			return err
		}
	} else {
		bench.PrintTable(stdout, merged)
	}
	if err := saveResult(merged, *csvPath, "", ""); err != nil {
		return usagef("bench merge: %v", err)
	}
	return nil
}

// mergeFiles reads sweep output files and merges them (bench.Merge); missing
// points are an error unless partial, then a warning.
func mergeFiles(files []string, partial bool, stderr io.Writer, cmd string) (bench.Result, error) {
	var results []bench.Result
	for _, f := range files {
		r, err := bench.ReadFile(f)
		if err != nil {
			return bench.Result{}, usagef("%s: %v", cmd, err)
		}
		results = append(results, r)
	}
	merged, missing, err := bench.Merge(results...)
	if err != nil {
		return bench.Result{}, usagef("%s: %v", cmd, mergeErrNames(err, files))
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%d of the grid's %d points have no row (points %s)", len(missing), merged.Points, indexRanges(missing))
		if !partial {
			return bench.Result{}, usagef("%s: %s; --partial merges the rows given", cmd, msg)
		}
		fmt.Fprintf(stderr, "rdmasim: %s: warning: %s\n", cmd, msg)
	}
	return merged, nil
}

// mergeErrNames replaces "result k" in a bench.Merge error by the k-th file.
func mergeErrNames(err error, files []string) string {
	s := err.Error()
	for k := len(files); k >= 1; k-- {
		s = strings.ReplaceAll(s, fmt.Sprintf("result %d", k), files[k-1])
	}
	return s
}

// indexRanges writes sorted indices as ranges: "0-3, 7, 9-10".
func indexRanges(idx []int) string {
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
