package bench_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rdmasim/rdmasim/bench"
)

// A sweep over two locks and three thread counts with a fake runner: the
// rows come back in point order, whatever the number of workers.
func ExampleSweep() {
	grid := bench.Grid{Locks: []string{"alock", "spin"}, Nodes: []int{5}, Threads: []int{2, 4, 8},
		Keys: []int{100}, Locals: []float64{0.95}, Duration: 10e6, Warmup: 1e6}
	fake := func(ctx context.Context, p bench.Point) (bench.Measurement, error) {
		ops := p.Nodes * p.Threads * 1000
		if p.Lock == "spin" {
			ops /= 2
		}
		lat := bench.Summarize([]int64{1500, 2500, 3500})
		return bench.Measurement{Ops: ops, Throughput: float64(ops) / (float64(p.Duration) / 1e9),
			Local: lat, All: lat}, nil
	}
	res, err := bench.Sweep(context.Background(), grid.Points(), fake, bench.Options{Workers: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Rows {
		fmt.Printf("%d %s: %.1f Mops/s\n", r.Index, r.Point, r.Measurement.Throughput/1e6)
	}
	bench.PrintTable(os.Stdout, res)
	// Output:
	// 0 alock n5 t2 k100 l0.95 b0/0 q0 - s1 d10000000 w1000000: 1.0 Mops/s
	// 1 alock n5 t4 k100 l0.95 b0/0 q0 - s1 d10000000 w1000000: 2.0 Mops/s
	// 2 alock n5 t8 k100 l0.95 b0/0 q0 - s1 d10000000 w1000000: 4.0 Mops/s
	// 3 spin n5 t2 k100 l0.95 b0/0 q0 - s1 d10000000 w1000000: 0.5 Mops/s
	// 4 spin n5 t4 k100 l0.95 b0/0 q0 - s1 d10000000 w1000000: 1.0 Mops/s
	// 5 spin n5 t8 k100 l0.95 b0/0 q0 - s1 d10000000 w1000000: 2.0 Mops/s
	// every point: budgets -/-, lanes 1, profile default, seed 1, duration 1ms+10ms (budgets local/remote, -: the lock's default; duration: warm-up+measured, simulated)
	// LOCK   NODES  THREADS  KEYS  LOCAL  OPS    MOPS/S  LOCAL µs p50/p99/p99.9  REMOTE µs p50/p99/p99.9  WALL s
	// alock  5      2        100   0.95   10000  1.000   2.50/3.50/3.50          -                        0.0
	// alock  5      4        100   0.95   20000  2.000   2.50/3.50/3.50          -                        0.0
	// alock  5      8        100   0.95   40000  4.000   2.50/3.50/3.50          -                        0.0
	// spin   5      2        100   0.95   5000   0.500   2.50/3.50/3.50          -                        0.0
	// spin   5      4        100   0.95   10000  1.000   2.50/3.50/3.50          -                        0.0
	// spin   5      8        100   0.95   20000  2.000   2.50/3.50/3.50          -                        0.0
}
