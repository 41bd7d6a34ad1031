package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/traces"
	"github.com/rdmasim/rdmasim/workload"
)

const hwUsage = `Usage: rdmasim hw run [flags]

Runs lock algorithms on real threads and real memory, with the same workload and
monitors as rdmasim check, and reports violations, mixed-atomicity warnings,
throughput and acquire latency (local and remote threads apart).

  --backend native   one mmap'ed region per node, CPU operations as real
                     atomic instructions, one NIC goroutine per node that
                     performs an RDMA atomic as a load and then a store
  --backend verbs    real RDMA devices through libibverbs (a binary built with
                     go build -tags rdma): one registered region per node, one
                     RC QP per thread per node, set up before the run; the
                     device's atomic_cap is reported (NONE is refused)

One process per node: --procs launches every node as a process of its own on
this machine (rdmasim hw node), which exchange what their peers need (shared
memory files, or QP numbers, GIDs, rkeys and addresses) over a local socket;
--listen HOST:PORT without --procs waits for the nodes of a cluster to join
(rdmasim hw node --join HOST:PORT --node I on every machine, verbs backend). A
node that never joins, or whose process dies, is an error after
--peer-timeout (exit status 1).

Exit status: 0 every verdict as expected (safe locks ok; a naive lock may or
may not show its race in a run), 1 a safe lock showed a violation (or a run
with one process per node failed), 2 a usage error.

Flags:
`

// hwResult is one row of rdmasim hw run.
type hwResult struct {
	Algorithm   string         `json:"algorithm"`
	Config      hwrun.Config   `json:"config"`
	Backend     string         `json:"backend"`
	Trials      int            `json:"trials"`
	Verdict     string         `json:"verdict"` // ok or violation
	Property    string         `json:"property,omitempty"`
	Message     string         `json:"message,omitempty"`
	Violations  int            `json:"violations"` // trials with a violation
	Kinds       map[string]int `json:"kinds"`      // trials by outcome: "ok" or the property broken
	Warnings    []string       `json:"warnings,omitempty"`
	AcquiresPS  float64        `json:"acquires_per_s"` // over all trials
	Local       hwrun.Latency  `json:"acquire_local"`  // of the last trial
	Remote      hwrun.Latency  `json:"acquire_remote"`
	SetupNs     int64          `json:"setup_ns"`
	DataPathNs  int64          `json:"data_path_ns"`
	ExpectSafe  bool           `json:"expect_safe"`
	AtomicScope string         `json:"atomic_scope"` // hca or glob: the simulator's --scope to compare with
	AsExpected  bool           `json:"as_expected"`
	Procs       bool           `json:"procs,omitempty"` // one process per node
	lastResult  *hwrun.Result  // for --csv
}

func cmdHW(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(stdout, "Usage: rdmasim hw run [flags]                       (rdmasim hw run --help for the flags)\n"+
			"       rdmasim hw node --join HOST:PORT --node I  (rdmasim hw node --help)\n")
		if len(args) == 0 {
			return usagef("hw: want a subcommand: run or node")
		}
		return nil
	}
	if args[0] == "node" {
		return cmdHWNode(args[1:], stdout, stderr)
	}
	if args[0] != "run" {
		return usagef("hw: unknown subcommand %q (want run or node)", args[0])
	}
	fs := flag.NewFlagSet("hw run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		algs    = fs.String("alg", "spin,mcs,alock", "algorithms to run, comma-separated, or all")
		linz    = fs.Bool("linearizability", true, "check every trial's history with porcupine")
		format  = fs.String("format", "text", "output format: text or json")
		csvPath = fs.String("csv", "", "write the per-operation records of each algorithm's last trial to this file (one file per algorithm: NAME is inserted before the extension)")
		keys    = fs.Int("keys", 0, "run the lock table instead of the counter under one lock: this many keys (locks) in contiguous per-node ranges")
		localP  = fs.Float64("local", 0.9, "lock table: share of operations on the requester's own node (p_local)")
		zipf    = fs.Float64("zipf", 0, "lock table: Zipf exponent (> 1) of the key choice within a node's range (0: uniform)")
		budgetL = fs.Int("budget-local", 0, "ALock local cohort budget (0: the algorithm's default)")
		budgetR = fs.Int("budget-remote", 0, "ALock remote cohort budget (0: the algorithm's default)")
	)
	hwf := addHWFlags(fs, hwDefaults{acquires: 1000, trials: 1, timeout: 30 * time.Second})
	procs := addProcsFlags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return helpOr(err, fs, "hw run", hwUsage, stdout)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("hw run: unexpected argument %q (flags only)", fs.Arg(0))
	case *format != "text" && *format != "json":
		return usagef("hw run: --format %q: want text or json", *format)
	case *budgetL < 0 || *budgetR < 0:
		return usagef("hw run: budgets must be ≥ 0")
	case *keys < 0:
		return usagef("hw run: --keys %d: want ≥ 0 (0: one lock)", *keys)
	case *localP < 0 || *localP > 1:
		return usagef("hw run: --local %v: want 0 … 1", *localP)
	case *zipf != 0 && *zipf <= 1:
		return usagef("hw run: --zipf %v: want > 1 (or 0 for uniform)", *zipf)
	}
	var table *workload.LockTable
	if *keys > 0 {
		table = &workload.LockTable{Keys: *keys, Local: *localP, ZipfS: *zipf, CriticalSection: true, Seed: 1}
	}
	cfg, err := hwf.config("hw run")
	if err != nil {
		return err
	}
	cfg.Linearizability = *linz
	selected, err := selectAlgorithms(*algs)
	if err != nil {
		return usagef("hw run: %v", err)
	}
	opts := algOptions{BudgetLocal: *budgetL, BudgetRemote: *budgetR}
	cl, stopCluster, err := procs.start(cfg, stderr)
	if err != nil {
		return err
	}
	defer stopCluster()
	var results []hwResult
	for _, a := range selected {
		r, err := hwOneOn(cl, a, opts, cfg, hwf.trials, table)
		if err != nil {
			if len(results) > 0 {
				printHW(stdout, results) // what was measured is not thrown away
			}
			var ie incompleteError
			if errors.As(err, &ie) {
				return err
			}
			return usagef("hw run %s: %v", a.Name, err)
		}
		if *csvPath != "" && r.lastResult != nil {
			path := csvName(*csvPath, a.Name, len(selected))
			if err := traces.WriteFile(path, r.lastResult.WriteCSV); err != nil {
				return fmt.Errorf("hw run: --csv %s: %v", *csvPath, err)
			}
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
		printHW(stdout, results)
	}
	for _, r := range results {
		if !r.AsExpected {
			return errMismatch
		}
	}
	return nil
}

func hwOne(a algorithms.Algorithm, opts algOptions, cfg hwrun.Config, trials int, table *workload.LockTable) (hwResult, error) {
	return hwOneOn(nil, a, opts, cfg, trials, table)
}

// hwOneOn runs trials of algorithm a on cl, a session with one process per
// node, or in this process when cl is nil.
func hwOneOn(cl *hwrun.Cluster, a algorithms.Algorithm, opts algOptions, cfg hwrun.Config, trials int, table *workload.LockTable) (hwResult, error) {
	backend := cfg.Backend
	if backend == "" {
		backend = hwrun.Native
	}
	r := hwResult{Algorithm: a.Name, Config: cfg, Backend: backend, Trials: trials, Verdict: "ok", ExpectSafe: a.ExpectSafe, Procs: cl != nil}
	spec := newHWSpec(a, opts, table)
	w, err := spec.workload()
	if err != nil {
		return r, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return r, err
	}
	acquires, seconds := 0, 0.0
	seen := map[string]bool{}
	for range trials {
		var res *hwrun.Result
		if cl != nil {
			if res, err = cl.Run(cfg, w, specJSON); err != nil {
				return r, incompleteError{fmt.Sprintf("hw run %s: %v", a.Name, err)}
			}
		} else if res, err = hwrun.Run(cfg, w); err != nil {
			return r, err
		}
		r.lastResult, r.AtomicScope = res, res.AtomicScope
		for _, wn := range res.Warnings {
			if !seen[wn.Key] {
				seen[wn.Key] = true
				r.Warnings = append(r.Warnings, wn.Message)
			}
		}
		local, remote := res.Latencies(workload.OpAcquire)
		if table != nil { // local: the key lives on the requester's node
			local, remote = res.LatenciesBy(workload.OpAcquire, func(o hwrun.OpRecord) bool {
				return workload.KeyNode(int(o.Arg), table.Keys, cfg.Nodes) == o.Node
			})
		}
		acquires += local.Count + remote.Count
		seconds += res.DataPath.Seconds()
		r.Local, r.Remote, r.SetupNs, r.DataPathNs = local, remote, res.Setup.Nanoseconds(), res.DataPath.Nanoseconds()
		if r.Kinds == nil {
			r.Kinds = map[string]int{}
		}
		if res.Finding != nil {
			r.Kinds[res.Finding.Property]++
		} else {
			r.Kinds["ok"]++
		}
		if res.Finding != nil {
			r.Violations++
			if r.Property == "" {
				r.Verdict, r.Property, r.Message = "violation", res.Finding.Property, res.Finding.Message
			}
		}
	}
	if seconds > 0 {
		r.AcquiresPS = float64(acquires) / seconds
	}
	// A safe lock must show nothing; a naive one may or may not show its race
	// in a given run (the window is nanoseconds wide on real memory).
	r.AsExpected = !a.ExpectSafe || r.Violations == 0
	return r, nil
}

func printHW(w io.Writer, results []hwResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALGORITHM\tCONFIG\tVERDICT\tVIOLATIONS\tACQUIRES/S\tLOCAL p50/p99\tREMOTE p50/p99\tSETUP\tDATA PATH")
	for _, r := range results {
		verdict := r.Verdict
		if r.Property != "" {
			verdict += ": " + r.Property
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%.0f\t%s\t%s\t%v\t%v\n", r.Algorithm, hwConfigString(r.Config, r.Procs), verdict, r.Violations, r.Trials,
			r.AcquiresPS, latencyText(r.Local), latencyText(r.Remote), time.Duration(r.SetupNs).Round(time.Microsecond), time.Duration(r.DataPathNs).Round(time.Microsecond))
	}
	tw.Flush()
	for _, r := range results {
		if r.Message != "" {
			fmt.Fprintf(w, "\n%s: %s: %s\n", r.Algorithm, r.Property, r.Message)
		}
		for _, m := range r.Warnings {
			fmt.Fprintf(w, "\n%s: warning: mixed atomicity: %s\n", r.Algorithm, m)
		}
	}
	if len(results) == 0 {
		return
	}
	switch r := results[0]; r.Backend {
	case hwrun.Verbs:
		fmt.Fprintf(w, "\nverbs backend: atomic scope %s (compare with rdmasim check --scope %s); timings under an emulator (Soft-RoCE in a guest) are no performance data.\n", r.AtomicScope, r.AtomicScope)
	default:
		fmt.Fprintf(w, "\nnative backend: real threads and real memory on this machine; latencies are of this machine's goroutines, not of a NIC.\n")
	}
}

func hwConfigString(c hwrun.Config, procs bool) string {
	s := fmt.Sprintf("%dn threads=%v home=%d acq=%d", c.Nodes, c.Threads, c.Home, c.Ops)
	if procs {
		s += " procs"
	}
	switch {
	case c.Backend == hwrun.Verbs:
		return s + " verbs"
	case c.GlobalAtomics:
		return s + " glob"
	}
	return s + " hca"
}

func latencyText(l hwrun.Latency) string {
	if l.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%v/%v", time.Duration(l.P50), time.Duration(l.P99))
}

// csvName is the --csv path for algorithm alg: the path itself for one
// algorithm, else with -alg before the extension.
func csvName(path, alg string, n int) string {
	if n == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + alg + ext
}
