package bench

import (
	"math"
	"slices"
)

// Summarize returns the count, mean and exact quantiles of lat (nanoseconds).
// The quantiles use the nearest-rank definition: the q-quantile of n sorted
// values x[1] ≤ … ≤ x[n] is x[⌈q·n⌉] (x[1] when q·n ≤ 1), always one of the
// values measured, never an interpolation. So P50 of {1, 2, 3, 4} is 2, P99 of
// 100 values is the 99th smallest, and P99.9 of fewer than 1000 values is the
// largest. lat is not modified. An empty lat gives the zero Latency.
func Summarize(lat []int64) Latency {
	n := len(lat)
	if n == 0 {
		return Latency{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	return Latency{N: n, Mean: sum / float64(n),
		P50: nearestRank(s, 0.5), P99: nearestRank(s, 0.99), P999: nearestRank(s, 0.999)}
}

// nearestRank is the q-quantile of sorted s by nearest rank.
func nearestRank(s []int64, q float64) float64 {
	// q·n in exact-enough arithmetic: 0.999·1000 is 999 (not 999.0000000001).
	r := int(math.Ceil(q*float64(len(s)) - 1e-9))
	r = min(max(r, 1), len(s))
	return float64(s[r-1])
}
