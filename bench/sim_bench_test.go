package bench_test

import (
	"context"
	"testing"

	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/nicmodel"
)

// BenchmarkTimedPoint runs one lock-table point in timed mode on one core:
// simulated lock operations (lock + unlock) and simulated events (steps) per
// wall-clock second. Compare events/s with checker's BenchmarkStepsALock2x2
// steps/s in the same run.
func BenchmarkTimedPoint(b *testing.B) {
	for _, p := range []bench.Point{
		{Lock: "alock", Nodes: 5, Threads: 8, Keys: 100, Local: 0.95, Seed: 1, Duration: 2_000_000, Warmup: 200_000},
		{Lock: "alock", Nodes: 20, Threads: 12, Keys: 1000, Local: 1, Seed: 1, Duration: 300_000, Warmup: 50_000},
	} {
		b.Run(p.String(), func(b *testing.B) {
			prof, _ := nicmodel.BuiltinProfile("cx3")
			var ops, events int64
			var wall float64
			for b.Loop() {
				m, err := bench.Simulate(context.Background(), prof, p)
				if err != nil {
					b.Fatal(err)
				}
				ops += int64(m.Ops)
				events += m.Events
				wall += m.Wall
			}
			b.ReportMetric(float64(events)/wall, "events/s")
			b.ReportMetric(float64(ops)/wall, "simops/s")
		})
	}
}
