package hwrun_test

import (
	"sync"
	"testing"

	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/workload"
)

// BenchmarkNativeLocks measures lock operations (acquire + release) per second
// on the native backend for spin, mcs and alock, at 1 node × 2 threads and 2
// nodes × 2 threads, against a sync.Mutex taken by as many goroutines in the
// same run. The per-operation timing and the monitors' marks are included: it
// is the cost of a checked run, not of the bare lock.
func BenchmarkNativeLocks(b *testing.B) {
	const ops = 2000
	for _, shape := range []struct {
		name    string
		nodes   int
		threads []int
	}{{"1x2", 1, []int{2}}, {"2x2", 2, []int{2}}} {
		for _, name := range []string{"spin", "mcs", "alock"} {
			b.Run(name+"/"+shape.name, func(b *testing.B) {
				w := lockWorkload(b, name)
				total := 0
				for b.Loop() {
					res, err := hwrun.Run(hwrun.Config{Nodes: shape.nodes, Threads: shape.threads, Ops: ops}, w)
					if err != nil || res.Finding != nil {
						b.Fatal(err, res.Finding)
					}
					l, r := res.Latencies(workload.OpAcquire)
					total += l.Count + r.Count
				}
				b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "lockops/s")
			})
		}
		b.Run("sync.Mutex/"+shape.name, func(b *testing.B) {
			n := shape.nodes * shape.threads[0]
			total := 0
			for b.Loop() {
				var mu sync.Mutex
				counter := 0
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						for range ops {
							mu.Lock()
							counter++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				total += counter
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "lockops/s")
		})
	}
}
