package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestKolmogorovQ(t *testing.T) {
	// Critical values of the Kolmogorov distribution (Smirnov's tables).
	for _, c := range []struct{ lambda, p float64 }{
		{0, 1}, {1.22385, 0.10}, {1.35810, 0.05}, {1.62762, 0.01}, {1.94947, 0.001},
		{0.5, 0.96394}, {0.8, 0.54414}, {1.0, 0.26999},
	} {
		if got := KolmogorovQ(c.lambda); math.Abs(got-c.p) > 5e-5 {
			t.Errorf("Q(%v) = %.6f, want %.5f", c.lambda, got, c.p)
		}
	}
	// The two series agree where they meet.
	if a, b := KolmogorovQ(0.9999999), KolmogorovQ(1); math.Abs(a-b) > 1e-6 {
		t.Errorf("Q jumps at 1: %v vs %v", a, b)
	}
}

// bruteD is sup |F_a − F_b| evaluated at every value of either sample.
func bruteD(a, b []float64) float64 {
	cdf := func(s []float64, x float64) float64 {
		k := 0
		for _, v := range s {
			if v <= x {
				k++
			}
		}
		return float64(k) / float64(len(s))
	}
	var d float64
	for _, x := range append(slices.Clone(a), b...) {
		d = max(d, math.Abs(cdf(a, x)-cdf(b, x)))
	}
	return d
}

func TestKS(t *testing.T) {
	same := []float64{3, 1, 2, 5, 4}
	if d, p := KS(same, same); d != 0 || p != 1 {
		t.Errorf("identical: d %v p %v", d, p)
	}
	if d, p := KS([]float64{1, 2, 3}, []float64{10, 11, 12, 13}); d != 1 || p > 0.1 {
		t.Errorf("disjoint: d %v p %v", d, p)
	}
	// A worked example: n = m = 8, the samples interleave so that F_a leads
	// F_b by 5/8 at x = 5 (5 of a, none of b at or below it).
	a := []float64{1, 2, 3, 4, 5, 9, 11, 13}
	b := []float64{6, 7, 8, 10, 12, 14, 15, 16}
	d, p := KS(a, b)
	if d != 5.0/8 {
		t.Errorf("d = %v, want 0.625", d)
	}
	// n_e = 4, λ = (2 + 0.12 + 0.055)·0.625 = 1.359375; Q(1.359375) ≈ 0.0498.
	if math.Abs(p-0.0498) > 5e-4 {
		t.Errorf("p = %v, want ≈ 0.0498", p)
	}
	// Against brute force, ties included, on random samples.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		x := make([]float64, 1+r.IntN(30))
		y := make([]float64, 1+r.IntN(30))
		for i := range x {
			x[i] = float64(r.IntN(12))
		}
		for i := range y {
			y[i] = float64(r.IntN(12) + r.IntN(3))
		}
		d, p := KS(x, y)
		if want := bruteD(x, y); math.Abs(d-want) > 1e-12 {
			t.Fatalf("KS(%v, %v) d = %v, want %v", x, y, d, want)
		}
		if !(p >= 0 && p <= 1) {
			t.Fatalf("p = %v", p)
		}
	}
	// Large samples of one distribution: p is not small (seeded, so fixed).
	x, y := make([]float64, 2000), make([]float64, 3000)
	for i := range x {
		x[i] = r.ExpFloat64()
	}
	for i := range y {
		y[i] = r.ExpFloat64()
	}
	if _, p := KS(x, y); p < 0.01 {
		t.Errorf("same distribution: p = %v", p)
	}
	for i := range y {
		y[i] *= 1.2
	}
	if _, p := KS(x, y); p > 1e-3 {
		t.Errorf("scaled by 1.2: p = %v", p)
	}
	if d, p := KS(nil, []float64{1}); d != 1 || p != 1 {
		t.Errorf("empty: %v %v", d, p)
	}
}

func TestECDF(t *testing.T) {
	xs, ys := ECDF([]float64{3, 1, 3, 2})
	if !slices.Equal(xs, []float64{1, 2, 3}) || !slices.Equal(ys, []float64{0.25, 0.5, 1}) {
		t.Errorf("ECDF = %v %v", xs, ys)
	}
}
