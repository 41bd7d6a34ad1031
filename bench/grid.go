package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Grid is a set of points: the Cartesian product of its lists. An empty
// list stands for one default value: Nodes, Threads 1; Keys the node count;
// Locals 1; budgets and lanes 0 (the lock's defaults); Profiles ""; Seeds 1.
// Locks must not be empty. Duration and Warmup are the same for every point.
type Grid struct {
	Locks                       []string
	Nodes, Threads, Keys        []int
	Locals                      []float64
	LocalBudgets, RemoteBudgets []int
	Lanes                       []int
	Profiles                    []string
	Seeds                       []int64
	Duration, Warmup            int64 // simulated ns
}

// Points expands g in this fixed order, the first list varying slowest:
// Locks, Profiles, Nodes, Keys, Locals, LocalBudgets, RemoteBudgets, Lanes,
// Threads, Seeds. Each list keeps its own order. So the points of one curve
// of the throughput figure (threads varying, everything else fixed) are
// consecutive, and the same Grid always gives the same points in the same
// order. An empty Keys list gives each point Keys = Nodes.
func (g Grid) Points() []Point {
	ints := func(l []int, def int) []int {
		if len(l) == 0 {
			return []int{def}
		}
		return l
	}
	profiles := g.Profiles
	if len(profiles) == 0 {
		profiles = []string{""}
	}
	locals := g.Locals
	if len(locals) == 0 {
		locals = []float64{1}
	}
	seeds := g.Seeds
	if len(seeds) == 0 {
		seeds = []int64{1}
	}
	var out []Point
	for _, lock := range g.Locks {
		for _, prof := range profiles {
			for _, n := range ints(g.Nodes, 1) {
				for _, k := range ints(g.Keys, -1) {
					if k == -1 {
						k = n
					}
					for _, l := range locals {
						for _, bl := range ints(g.LocalBudgets, 0) {
							for _, br := range ints(g.RemoteBudgets, 0) {
								for _, q := range ints(g.Lanes, 0) {
									for _, t := range ints(g.Threads, 1) {
										for _, s := range seeds {
											out = append(out, Point{Lock: lock, Nodes: n, Threads: t, Keys: k, Local: l,
												LocalBudget: bl, RemoteBudget: br, Lanes: q, Profile: prof, Seed: s,
												Duration: g.Duration, Warmup: g.Warmup})
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// GridID is a short hash of the keys of points, in order: the shards of one
// sweep carry the same GridID, and a different list of points (another
// grid, or the same points in another order) has another one.
func GridID(points []Point) string {
	h := sha256.New()
	for _, p := range points {
		h.Write([]byte(p.Key()))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// ParseNames reads a comma-separated list of names ("alock,spin,mcs"): no
// empty item, no name twice.
func ParseNames(s string) ([]string, error) {
	parts, err := splitList(s)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range parts {
		if seen[p] {
			return nil, fmt.Errorf("%s is given twice", p)
		}
		seen[p] = true
	}
	return parts, nil
}

// ParseInts reads a comma-separated list of whole numbers, each at least
// least ("2,4,8,12"): no empty item, no number twice.
func ParseInts(s string, least int) ([]int, error) {
	parts, err := splitList(s)
	if err != nil {
		return nil, err
	}
	var out []int
	seen := map[int]bool{}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a whole number", p)
		case n < least:
			return nil, fmt.Errorf("%d: want ≥ %d", n, least)
		case seen[n]:
			return nil, fmt.Errorf("%d is given twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// ParseInt64s is ParseInts for int64 values (seeds), with no lower bound.
func ParseInt64s(s string) ([]int64, error) {
	parts, err := splitList(s)
	if err != nil {
		return nil, err
	}
	var out []int64
	seen := map[int64]bool{}
	for _, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a whole number", p)
		case seen[n]:
			return nil, fmt.Errorf("%d is given twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// ParseFractions reads a comma-separated list of numbers in [0, 1]
// ("1,.95,.9,.85"): no empty item, no value twice.
func ParseFractions(s string) ([]float64, error) {
	parts, err := splitList(s)
	if err != nil {
		return nil, err
	}
	var out []float64
	seen := map[float64]bool{}
	for _, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a number", p)
		case !(f >= 0 && f <= 1):
			return nil, fmt.Errorf("%s: want a fraction, 0 … 1", p)
		case seen[f]:
			return nil, fmt.Errorf("%s is given twice", p)
		}
		seen[f] = true
		out = append(out, f)
	}
	return out, nil
}
