package bench_test

import (
	"context"
	"testing"

	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/nicmodel"
)

func BenchmarkTimedPoint(b *testing.B) {
	prof, _ := nicmodel.BuiltinProfile("cx3")
	p := bench.Point{Lock: "alock", Nodes: 10, Threads: 6, Keys: 100, Local: 0.95, Seed: 1, Duration: 2_000_000, Warmup: 200_000}
	for b.Loop() {
		m, err := bench.Simulate(context.Background(), prof, p)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Events)/m.Wall, "events/s")
		b.ReportMetric(float64(m.Ops)/m.Wall, "ops/s")
	}
}
