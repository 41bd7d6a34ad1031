package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/calibrate"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/figures"
	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/stats"
	"github.com/rdmasim/rdmasim/workload"
)

const compareUsage = `Usage: rdmasim compare [flags]

Runs each algorithm on hardware (rdmasim hw run's backends) and in the
simulator on the same shape of run, and prints side by side the violations by
kind, and the hardware's throughput and acquire latency. The simulator runs
with the hardware's atomic scope (native: --global-atomics decides; verbs: the
devices' atomic_cap) and the knobs given here (--cas-writeback, --nic-writes),
so a kernel's behaviour can be matched with the model's knob. AGREE says
whether every kind of violation the hardware showed is one the simulator
produced (a hung run on hardware matches a deadlock, a starvation or a step
bound in the simulator).

The timing columns compare acquire latencies: the hardware's (LOCAL and
REMOTE p50/p99, µs) against one timed simulation of the same run on the
timing profile --profile (SIM p50/p99), with KS the two-sample
Kolmogorov–Smirnov distance D between the two distributions of acquire
latencies and its p-value; --plots DIR draws both ECDFs per algorithm (SVG and
PNG). The native backend's timings are those of goroutines on this machine,
and a Soft-RoCE guest's are an emulator's: no performance data, whatever the
profile. Calibrate a profile on the hardware first (rdmasim calibrate) for a
prediction worth comparing.

Exit status: 0 every hardware kind is one the simulator produced, 1 one is not,
2 a usage error.

Flags:
`

// compareRow is one row of rdmasim compare.
type compareRow struct {
	Algorithm   string         `json:"algorithm"`
	Hardware    map[string]int `json:"hardware"`  // trials by outcome ("ok" or the property)
	Simulator   map[string]int `json:"simulator"` // violating schedules by property
	Schedules   int            `json:"schedules"`
	AtomicScope string         `json:"atomic_scope"`
	Agree       bool           `json:"agree"`
	Missing     []string       `json:"missing,omitempty"` // hardware kinds the simulator did not produce
	AcquiresPS  float64        `json:"acquires_per_s"`
	Local       hwrun.Latency  `json:"acquire_local"`
	Remote      hwrun.Latency  `json:"acquire_remote"`
	// The timed simulation of the same run: its acquire latencies, and the
	// Kolmogorov–Smirnov distance to the hardware's with its p-value.
	SimAcquire bench.Latency `json:"sim_acquire"`
	KS         float64       `json:"ks_d"`
	KSP        float64       `json:"ks_p"`
	Plot       string        `json:"plot,omitempty"`
}

// hungMatches are the simulator's properties a hung hardware run can be.
var hungMatches = []string{workload.Deadlock, workload.Starvation, workload.StepBound}

func cmdCompare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		algs        = fs.String("alg", "spin,spin-naive,mcs,mcs-naive,ticket-naive,alock", "algorithms, comma-separated, or all")
		simAcquires = fs.Int("sim-acquires", 2, "simulator: critical sections per thread")
		schedules   = fs.Int("schedules", 20000, "simulator: random schedules")
		seed        = fs.Uint64("seed", 1, "simulator: campaign seed")
		writeBack   = fs.Bool("cas-writeback", false, "simulator: a failed NIC CAS writes back what it read (Linux 6.1's rxe does)")
		nicWrites   = fs.String("nic-writes", "interleave", "simulator: interleave or excluded")
		format      = fs.String("format", "text", "text or json")
		profile     = fs.String("profile", nicmodel.DefaultProfile, "simulator: the timing profile of the timed run (a built-in name or a .json file)")
		timedOps    = fs.Int("sim-timed-acquires", 500, "simulator: critical sections per thread in the timed run")
		plots       = fs.String("plots", "", "directory for ECDF plots of the acquire latencies, hardware against the timed simulation (SVG and PNG)")
	)
	hwf := addHWFlags(fs, hwDefaults{threads: "2,2", acquires: 20000, trials: 5, timeout: 10 * time.Second, acquiresHelpPrefix: "hardware: "})
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "compare", compareUsage, stdout)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("compare: unexpected argument %q (flags only)", fs.Arg(0))
	case *format != "text" && *format != "json":
		return usagef("compare: --format %q: want text or json", *format)
	case *schedules < 1 || *simAcquires < 1:
		return usagef("compare: --schedules and --sim-acquires must be ≥ 1")
	case *nicWrites != "interleave" && *nicWrites != "excluded":
		return usagef("compare: --nic-writes %q: want interleave or excluded", *nicWrites)
	}
	hw, err := hwf.config("compare")
	if err != nil {
		return err
	}
	prof, err := calibrate.LoadProfile(*profile)
	if err != nil {
		return usagef("compare: %v", err)
	}
	if *timedOps < 1 {
		return usagef("compare: --sim-timed-acquires %d: want ≥ 1", *timedOps)
	}
	if *plots != "" {
		if err := os.MkdirAll(*plots, 0o755); err != nil {
			return usagef("compare: --plots: %v", err)
		}
	}
	selected, err := selectAlgorithms(*algs)
	if err != nil {
		return usagef("compare: %v", err)
	}
	var rows []compareRow
	for _, a := range selected {
		h, err := hwOne(a, algOptions{}, hw, hwf.trials, nil)
		if err != nil {
			return usagef("compare %s: hardware: %v", a.Name, err)
		}
		row := compareRow{Algorithm: a.Name, Hardware: map[string]int{}, AtomicScope: h.AtomicScope,
			AcquiresPS: h.AcquiresPS, Local: h.Local, Remote: h.Remote}
		for k, n := range h.Kinds {
			row.Hardware[k] = n
		}
		sim := checker.Config{Nodes: hw.Nodes, Threads: hw.Threads, Home: hw.Home, Acquires: *simAcquires, Scope: h.AtomicScope,
			FailedCASWritesBack: *writeBack}
		if *nicWrites != "interleave" {
			sim.Knobs = map[string]string{"nic-writes": *nicWrites}
		}
		if err := sim.Validate(); err != nil {
			return usagef("compare: simulator: %v", err)
		}
		res, err := checker.Run(sim, factory(a, algOptions{}), checker.Random{Schedules: *schedules, Seed: *seed, MaxFindings: *schedules, NoShrink: true}, checker.Options{})
		if err != nil {
			return usagef("compare %s: simulator: %v", a.Name, err)
		}
		row.Simulator, row.Schedules = res.Kinds, res.Executions
		if row.Simulator == nil {
			row.Simulator = map[string]int{}
		}
		row.Missing = missingKinds(row.Hardware, row.Simulator)
		row.Agree = len(row.Missing) == 0
		if err := compareTiming(&row, a, h, sim, prof, *timedOps, *seed, *plots); err != nil {
			return usagef("compare %s: timed simulation: %v", a.Name, err)
		}
		rows = append(rows, row)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		printCompare(stdout, rows, hw.Backend, prof.Name)
	}
	for _, r := range rows {
		if !r.Agree {
			return errMismatch
		}
	}
	return nil
}

// missingKinds are the hardware's kinds of violation that the simulator did
// not produce.
func missingKinds(hw, sim map[string]int) []string {
	var missing []string
	for _, k := range slices.Sorted(maps.Keys(hw)) {
		switch {
		case k == "ok":
		case k == hwrun.Hung:
			if !slices.ContainsFunc(hungMatches, func(p string) bool { return sim[p] > 0 }) {
				missing = append(missing, k)
			}
		case sim[k] == 0:
			missing = append(missing, k)
		}
	}
	return missing
}

func kindsText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func printCompare(w io.Writer, rows []compareRow, backend, profile string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALGORITHM\tHARDWARE (trials)\tSIMULATOR (violating schedules)\tAGREE\tACQUIRES/S\tLOCAL p50/p99\tREMOTE p50/p99\tSIM p50/p99\tKS D (p)")
	for _, r := range rows {
		agree := "yes"
		if !r.Agree {
			agree = "no: " + strings.Join(r.Missing, ", ")
		}
		simLat := "-"
		if r.SimAcquire.N > 0 {
			simLat = fmt.Sprintf("%.2f/%.2f µs", r.SimAcquire.P50/1000, r.SimAcquire.P99/1000)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s of %d\t%s\t%.0f\t%s\t%s\t%s\t%.2f (%.2g)\n", r.Algorithm, kindsText(r.Hardware), kindsText(r.Simulator), r.Schedules,
			agree, r.AcquiresPS, latencyText(r.Local), latencyText(r.Remote), simLat, r.KS, r.KSP)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nhardware: the %s backend; simulator: random schedules with the hardware's atomic scope, and one timed run on profile %s for SIM and KS (the Kolmogorov–Smirnov distance between the hardware's and the simulation's acquire latencies, with its p-value). Timings of the native backend or of an emulated NIC are no performance data.\n", backend, profile)
}

// compareTiming runs the timed simulation of row's run (sim's shape, ops
// critical sections per thread) and fills in its acquire latencies and their
// distance to the hardware's (h's last trial).
func compareTiming(row *compareRow, a algorithms.Algorithm, h hwResult, sim checker.Config, prof *nicmodel.Profile, ops int, seed uint64, plots string) error {
	sim.Acquires, sim.Timing = ops, prof
	ex, err := checker.RunTimed(sim, factory(a, algOptions{}), seed)
	if err != nil {
		return err
	}
	var simLat []int64
	var simF []float64
	for _, o := range ex.Ops {
		if o.Name == workload.OpAcquire {
			simLat = append(simLat, o.End-o.Start)
			simF = append(simF, float64(o.End-o.Start))
		}
	}
	row.SimAcquire = bench.Summarize(simLat)
	var hwF []float64
	if h.lastResult != nil {
		for _, o := range h.lastResult.Ops {
			if o.Name == workload.OpAcquire {
				hwF = append(hwF, float64(o.EndNs-o.StartNs))
			}
		}
	}
	if len(hwF) == 0 || len(simF) == 0 {
		return nil
	}
	row.KS, row.KSP = stats.KS(hwF, simF)
	if plots != "" {
		prefix := filepath.Join(plots, a.Name+"-acquire-latency")
		title := fmt.Sprintf("%s: acquire latency, hardware vs %s", a.Name, prof.Name)
		if err := figures.ECDFCompare(hwF, simF, "hardware", "simulator ("+prof.Name+")", title, prefix); err != nil {
			return err
		}
		row.Plot = prefix + ".svg"
	}
	return nil
}
