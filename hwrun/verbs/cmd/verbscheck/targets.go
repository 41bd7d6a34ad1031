package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// -targets FILE writes what the latency benchmark measured as calibration
// targets (calibrate.Target, the file rdmasim calibrate --targets reads), so
// that a timing profile can be fitted to this NIC and the lock-level numbers
// predicted from it (rdmasim calibrate --fit, then rdmasim compare --profile).
//
// The Go data path's figures are the targets: blocking READ, WRITE and CAS
// (calibrate's closed-latency: one blocking verb at a time, post and poll
// included), and with -targets-pingpong the ping-pong WRITE (half-ping-pong).
// Their value is the median over rounds of each round's median, in ns. They
// are what rdmasim hw run's verbs backend executes, so a profile fitted to
// them models the path the locks take. The ping-pong is left out by default:
// in the 2-vCPU guest its two spinning sides fall, round after round, into a
// mode bound by the timer tick (≈ 4 ms instead of ≈ 40 µs on 6.1). perftest's
// figures are written too when
// -targets-perftest-weight is positive, and only where the tool measures what
// a microbenchmark measures: ib_read_lat and ib_atomic_lat (CMP_AND_SWP) are
// closed loops of one blocking verb (closed-latency), ib_write_lat is half a
// ping-pong round trip (half-ping-pong); its t_typical is a median. No
// message-rate target is written: the benchmark posts no stream of requests.

// target is one calibration target: the JSON of calibrate.Target, spelt out
// here because the hardware side never imports the simulator's packages
// (lint_test.go's TestLayering); targets_test.go checks that calibrate reads
// what this writes.
type target struct {
	ID     string  `json:"id"`
	What   string  `json:"what"`
	Value  float64 `json:"value"` // ns for latencies
	Bench  string  `json:"bench"`
	Verb   string  `json:"verb"`
	Weight float64 `json:"weight,omitempty"`
	Source string  `json:"source,omitempty"`
}

// calibrate's microbenchmarks that the latency benchmark measures.
const (
	closedLatency = "closed-latency"
	halfPingPong  = "half-ping-pong"
)

// emulated says whether a device is a software NIC (Soft-RoCE, soft-iWARP).
func emulated(dev string) bool { return strings.HasPrefix(dev, "rxe") || strings.HasPrefix(dev, "siw") }

// latencyTargets are the calibration targets of the benchmark's rows. A
// target's what is short (rdmasim calibrate prints it in its table) and keeps
// the emulator caveat; its source says how it was measured.
func latencyTargets(rows []*latRow, kernel, dev0, dev1 string, clock time.Duration, iters, rounds int, pingPong bool, perftestWeight float64, date string) []target {
	caveat := ""
	if emulated(dev0) || emulated(dev1) {
		caveat = "; " + dev0 + "->" + dev1 + ": EMULATOR timing, not performance data"
	}
	var tgs []target
	for _, r := range rows {
		if r.bench == "" || len(r.goMedians) == 0 || (r.bench == halfPingPong && !pingPong) {
			continue
		}
		source := fmt.Sprintf("verbscheck -latency (%s -> %s, kernel %s, %s): Go+cgo verbs.QP, %s; median over %d rounds of the median of %d samples, each including one time.Now pair (%v)",
			dev0, dev1, kernel, date, goWhat(r), rounds, iters, clock)
		if emulated(dev0) || emulated(dev1) {
			source += "; a software NIC (in hwrun/guest, Soft-RoCE under qemu's emulated CPU): emulator timing, not performance data"
		}
		tgs = append(tgs, target{ID: "go-" + targetID(r), What: "Go " + shortWhat(r.bench, r.calVerb) + ", median" + caveat,
			Value: float64(r.goMedian().Nanoseconds()), Bench: r.bench, Verb: r.calVerb, Source: source})
		if perftestWeight <= 0 || r.perfBench == "" {
			continue
		}
		typ, _, avail := r.perfMedian()
		if avail == 0 {
			continue
		}
		source = fmt.Sprintf("perftest %s -n %d t_typical (a median), 8 B, %s -> %s, kernel %s, %s: %s; median over %d usable runs",
			r.tool, iters, dev0, dev1, kernel, date, perfWhat(r), avail)
		tgs = append(tgs, target{ID: "perftest-" + targetID(r), What: r.tool + " t_typical (as " + string(r.perfBench) + ")" + caveat,
			Value: typ * 1000, Bench: r.perfBench, Verb: r.calVerb, Weight: perftestWeight, Source: source})
	}
	return tgs
}

// shortWhat names a measurement in a few words.
func shortWhat(bench, verb string) string {
	if bench == halfPingPong {
		return strings.ToUpper(verb) + " ping-pong/2"
	}
	return "blocking " + strings.ToUpper(verb)
}

func targetID(r *latRow) string {
	if r.bench == halfPingPong {
		return r.calVerb + "-pingpong"
	}
	return r.calVerb
}

func goWhat(r *latRow) string {
	if r.bench == halfPingPong {
		return "WRITE ping-pong, half the round trip (each side WRITEs to the other and spins on its own memory, as ib_write_lat)"
	}
	return "blocking " + strings.ToUpper(r.calVerb) + " (post, wait for the completion), one at a time"
}

func perfWhat(r *latRow) string {
	if r.perfBench == halfPingPong {
		return "half a ping-pong round trip, the same as half-ping-pong"
	}
	return "a closed loop of one blocking " + strings.ToUpper(r.calVerb) + ", the same as closed-latency"
}

// writeTargets writes the benchmark's targets to path and says so.
func writeTargets(path string, rows []*latRow, kernel, dev0, dev1 string, clock time.Duration) {
	tgs := latencyTargets(rows, kernel, dev0, dev1, clock, *latIters, *latRounds, *targetsPingPong, *perfWeight, time.Now().UTC().Format("2006-01-02"))
	b, err := json.MarshalIndent(tgs, "", "  ")
	if err != nil {
		fatal("targets: %v", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		fatal("targets: %v", err)
	}
	fmt.Printf("\n  calibration targets: %d written to %s (rdmasim calibrate --targets %s --fit …)\n", len(tgs), path, path)
	for _, t := range tgs {
		fmt.Printf("    %-22s %-15s %-5s %9.0f ns\n", t.ID, t.Bench, t.Verb, t.Value)
	}
}
