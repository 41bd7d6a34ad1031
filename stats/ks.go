// Package stats holds the statistics rdmasim needs to compare samples of
// latencies: the two-sample Kolmogorov–Smirnov test and empirical CDFs.
//
// # The two-sample Kolmogorov–Smirnov test
//
// Given samples a (n values) and b (m values) with empirical CDFs F_a and F_b,
// the statistic is the largest vertical distance between them,
//
//	D = sup_x |F_a(x) − F_b(x)|,
//
// computed exactly (ties handled) by gonum's stat.KolmogorovSmirnov. D is 0 for
// identical samples and 1 for samples that do not overlap.
//
// The p-value is the probability of a D at least this large if both samples
// came from one continuous distribution. KS uses the asymptotic Kolmogorov
// distribution with the effective sample size n_e = n·m/(n+m) and Stephens'
// small-sample correction (as in Numerical Recipes, §14.3):
//
//	λ = (√n_e + 0.12 + 0.11/√n_e) · D
//	p = Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² λ²)
//
// Q is the survival function of the Kolmogorov distribution: Q(0) = 1,
// Q(1.2238) ≈ 0.10, Q(1.3581) ≈ 0.05, Q(1.6276) ≈ 0.01. The approximation is
// good when n_e is at least 4 or so, and is conservative with ties (discrete
// latencies): p is then too large, never too small.
package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// KS returns the two-sample Kolmogorov–Smirnov statistic d of a and b and
// its asymptotic p-value (see the package documentation). a and b are not
// modified. If either is empty, d is 0 when both are and 1 otherwise, and p
// is 1 (no evidence either way). NaN values give NaN.
func KS(a, b []float64) (d, p float64) {
	if len(a) == 0 || len(b) == 0 {
		if len(a) == len(b) {
			return 0, 1
		}
		return 1, 1
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	d = stat.KolmogorovSmirnov(x, nil, y, nil)
	if math.IsNaN(d) {
		return d, math.NaN()
	}
	n, m := float64(len(a)), float64(len(b))
	ne := math.Sqrt(n * m / (n + m))
	return d, KolmogorovQ((ne + 0.12 + 0.11/ne) * d)
}

// KolmogorovQ is the survival function of the Kolmogorov distribution,
// Q(λ) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² λ²) = P(K > λ): 1 for λ ≤ 0, falling
// to 0. The series is summed until its terms no longer matter; for small λ,
// where it converges slowly, the equivalent form 1 − (√(2π)/λ) Σ_{j≥1}
// exp(−(2j−1)² π² / (8λ²)) is used.
func KolmogorovQ(lambda float64) float64 {
	switch {
	case math.IsNaN(lambda):
		return math.NaN()
	case lambda <= 0:
		return 1
	case lambda < 1:
		var s float64
		for j := 1; j <= 20; j++ {
			k := float64(2*j - 1)
			s += math.Exp(-k * k * math.Pi * math.Pi / (8 * lambda * lambda))
		}
		return min(1, max(0, 1-math.Sqrt(2*math.Pi)/lambda*s))
	}
	var sum float64
	sign := 1.0
	for j := 1; j <= 100; j++ {
		term := sign * math.Exp(-2*float64(j*j)*lambda*lambda)
		sum += term
		if math.Abs(term) < 1e-17 {
			break
		}
		sign = -sign
	}
	return min(1, max(0, 2*sum))
}

// ECDF returns the points of the empirical CDF of sample: the sorted values
// xs and, for each, the fraction of the sample at or below it, ys (the last
// is 1). Repeated values appear once, with their highest fraction. sample is
// not modified.
func ECDF(sample []float64) (xs, ys []float64) {
	s := slices.Clone(sample)
	slices.Sort(s)
	n := float64(len(s))
	for i, v := range s {
		if i+1 < len(s) && s[i+1] == v {
			continue
		}
		xs = append(xs, v)
		ys = append(ys, float64(i+1)/n)
	}
	return xs, ys
}
