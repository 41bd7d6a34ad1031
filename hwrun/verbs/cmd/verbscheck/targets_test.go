package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/calibrate"
)

// TestLatencyTargets checks that -targets writes a file rdmasim calibrate
// reads (unknown fields refused, as its --targets does) and can simulate: the
// Go rows' medians, perftest's rows only with a weight and only where they
// measure what a microbenchmark measures.
func TestLatencyTargets(t *testing.T) {
	perf := func(typ float64) []perftestLat { return []perftestLat{{typical: typ, p99: 2 * typ}} }
	rows := []*latRow{
		{verb: "READ", tool: "ib_read_lat", bench: "closed-latency", calVerb: "read", perfBench: "closed-latency",
			goMedians: []time.Duration{50 * time.Microsecond, 40 * time.Microsecond, 45 * time.Microsecond}, perf: perf(31.5)},
		{verb: "WRITE", tool: "ib_write_lat", bench: "closed-latency", calVerb: "write",
			goMedians: []time.Duration{44 * time.Microsecond}, perf: perf(19)},
		{verb: "WRITE ping-pong/2", tool: "ib_write_lat", bench: "half-ping-pong", calVerb: "write", perfBench: "half-ping-pong",
			goMedians: []time.Duration{31 * time.Microsecond}, perf: []perftestLat{{typical: math.NaN(), p99: math.NaN(), note: "inf"}}},
		{verb: "CAS", tool: "ib_atomic_lat", bench: "closed-latency", calVerb: "cas", perfBench: "closed-latency",
			goMedians: []time.Duration{46 * time.Microsecond}, perf: perf(32.8)},
	}
	for _, tc := range []struct {
		pingPong bool
		weight   float64
		want     map[string]float64 // id: value
	}{
		{false, 0, map[string]float64{"go-read": 45000, "go-write": 44000, "go-cas": 46000}},
		{true, 0, map[string]float64{"go-read": 45000, "go-write": 44000, "go-write-pingpong": 31000, "go-cas": 46000}},
		{true, 0.5, map[string]float64{"go-read": 45000, "go-write": 44000, "go-write-pingpong": 31000, "go-cas": 46000,
			"perftest-read": 31500, "perftest-cas": 32800}},
	} {
		tgs := latencyTargets(rows, "6.12.117", "rxe0", "rxe1", 300*time.Nanosecond, 300, 3, tc.pingPong, tc.weight, "2026-11-30")
		b, err := json.Marshal(tgs)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var back []calibrate.Target
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("weight %v: calibrate cannot read the targets: %v", tc.weight, err)
		}
		if len(back) != len(tc.want) {
			t.Fatalf("weight %v: %d targets, want %d: %+v", tc.weight, len(back), len(tc.want), back)
		}
		for _, tg := range back {
			if math.Abs(tg.Value-tc.want[tg.ID]) > 1e-6 {
				t.Errorf("weight %v: %s = %v, want %v", tc.weight, tg.ID, tg.Value, tc.want[tg.ID])
			}
			if !strings.Contains(tg.What, "EMULATOR") {
				t.Errorf("%s: the emulator caveat is missing from %q", tg.ID, tg.What)
			}
			if strings.HasPrefix(tg.ID, "perftest-") != (tg.Weight != 0) {
				t.Errorf("%s: weight %v", tg.ID, tg.Weight)
			}
		}
		p, err := calibrate.LoadProfile("cx3")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := calibrate.Evaluate(p, back); err != nil {
			t.Errorf("weight %v: calibrate cannot simulate the targets: %v", tc.weight, err)
		}
	}
}
