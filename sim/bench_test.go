package sim_test

import (
	"iter"
	"testing"
)

// BenchmarkPullRoundTrip is the floor under every simulated step: one resume and
// one yield of an iter.Pull coroutine. BENCHMARKS.md compares the engine's
// per-step cost to it, measured in the same run.
func BenchmarkPullRoundTrip(b *testing.B) {
	seq := func(yield func(int) bool) {
		for i := 0; ; i++ {
			if !yield(i) {
				return
			}
		}
	}
	next, stop := iter.Pull(iter.Seq[int](seq))
	defer stop()
	for b.Loop() {
		next()
	}
}
