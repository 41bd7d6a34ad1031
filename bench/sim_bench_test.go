package bench_test

import (
	"context"
	"testing"

	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/nicmodel"
)

func BenchmarkTimedPoint(b *testing.B) {
	prof, _ := nicmodel.BuiltinProfile("cx3")
	p := bench.Point{Lock: "alock", Nodes: 20, Threads: 12, Keys: 1000, Local: 1, Seed: 1, Duration: 300_000, Warmup: 50_000}
	for b.Loop() {
		m, err := bench.Simulate(context.Background(), prof, p)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Events)/m.Wall, "events/s")
		b.ReportMetric(float64(m.Ops)/m.Wall, "ops/s")
	}
}
