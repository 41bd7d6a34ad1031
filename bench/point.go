package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Point is one configuration of the lock-table benchmark: which lock, the
// shape of the cluster and the workload, the lock's knobs, and how long the
// timed simulation runs.
type Point struct {
	Lock    string `json:"lock"`    // a name of the algorithms registry
	Nodes   int    `json:"nodes"`   // nodes in the cluster (≥ 1)
	Threads int    `json:"threads"` // threads on every node (≥ 1)
	// Keys is the number of keys (locks) of the table, split into contiguous
	// ranges of about Keys/Nodes keys, one per node, the range's locks
	// homed on that node. Keys ≥ Nodes.
	Keys int `json:"keys"`
	// Local is p_local: the probability that an operation picks a key homed
	// on its thread's own node (otherwise one of another node, uniformly).
	Local float64 `json:"local"`
	// LocalBudget and RemoteBudget are ALock's cohort budgets; 0 is the
	// lock's default. Other locks ignore them.
	LocalBudget  int `json:"local_budget"`
	RemoteBudget int `json:"remote_budget"`
	// Lanes is the number of QPs per thread per pair of nodes (0 means 1).
	Lanes   int    `json:"lanes"`
	Profile string `json:"profile"` // latency profile of the timed NIC model ("" its default)
	Seed    int64  `json:"seed"`
	// Duration and Warmup are simulated nanoseconds: the run is measured for
	// Duration after a Warmup whose operations are not counted.
	Duration int64 `json:"duration_ns"`
	Warmup   int64 `json:"warmup_ns"`
}

// Key is a stable, compact text of every field of p, usable as a map key and
// a table label: two points have the same Key exactly when they are equal.
// Example: "alock n5 t8 k100 l0.95 b5/20 q1 cx3 s1 d10000000 w1000000".
// The budgets and lanes are written as given (0: the default).
func (p Point) Key() string {
	profile := p.Profile
	if profile == "" {
		profile = "-"
	}
	return fmt.Sprintf("%s n%d t%d k%d l%s b%d/%d q%d %s s%d d%d w%d", p.Lock, p.Nodes, p.Threads, p.Keys,
		FormatFloat(p.Local), p.LocalBudget, p.RemoteBudget, p.Lanes, profile, p.Seed, p.Duration, p.Warmup)
}

// String is Key.
func (p Point) String() string { return p.Key() }

// QPs is the total number of queue pairs of the configuration as the QP
// figure counts them: threads × nodes × lanes (lanes 0 counts as 1).
func (p Point) QPs() int { return p.Threads * p.Nodes * max(p.Lanes, 1) }

// Validate reports the first field of p out of its range.
func (p Point) Validate() error {
	switch {
	case p.Lock == "":
		return fmt.Errorf("no lock")
	case p.Nodes < 1:
		return fmt.Errorf("nodes %d: want ≥ 1", p.Nodes)
	case p.Threads < 1:
		return fmt.Errorf("threads %d: want ≥ 1", p.Threads)
	case p.Keys < p.Nodes:
		return fmt.Errorf("keys %d: want ≥ nodes (%d): every node homes a range of at least one key", p.Keys, p.Nodes)
	case !(p.Local >= 0 && p.Local <= 1):
		return fmt.Errorf("local %v: want 0 … 1", p.Local)
	case p.LocalBudget < 0 || p.RemoteBudget < 0:
		return fmt.Errorf("budgets %d/%d: want ≥ 0 (0: the lock's default)", p.LocalBudget, p.RemoteBudget)
	case p.Lanes < 0:
		return fmt.Errorf("lanes %d: want ≥ 0 (0: 1)", p.Lanes)
	case p.Duration <= 0:
		return fmt.Errorf("duration %dns: want > 0", p.Duration)
	case p.Warmup < 0:
		return fmt.Errorf("warmup %dns: want ≥ 0", p.Warmup)
	}
	return nil
}

// FormatFloat writes f in the shortest form that reads back as f (0.95, 1).
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Runner measures one point: it runs the timed simulation of p and returns
// what it measured. It should return promptly with ctx.Err() once ctx is
// cancelled; Sweep drops that point's row. Sweep calls a Runner from several
// goroutines at once, one point each.
type Runner func(ctx context.Context, p Point) (Measurement, error)

// Latency summarizes the latencies of a set of operations, in nanoseconds
// of simulated time. N is the number of operations; the others are 0 when N
// is 0.
type Latency struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

// ThreadMean is the mean operation latency (ns) of one thread, and how many
// operations it completed in the measured interval.
type ThreadMean struct {
	Node   int     `json:"node"`
	Thread int     `json:"thread"` // index on its node
	Mean   float64 `json:"mean"`
	Ops    int     `json:"ops"`
}

// Measurement is what a Runner measured at one point.
type Measurement struct {
	Ops        int     `json:"ops"`        // operations completed in the measured interval
	Throughput float64 `json:"throughput"` // operations per simulated second
	// Local and Remote are the latencies of operations on keys homed on the
	// thread's own node and on another node; All is both together.
	Local       Latency      `json:"lat_local"`
	Remote      Latency      `json:"lat_remote"`
	All         Latency      `json:"lat_all"`
	ThreadMeans []ThreadMean `json:"thread_means,omitempty"`
	Events      int64        `json:"events"` // simulation events processed
	Wall        float64      `json:"wall_s"` // seconds of wall time the run took
	// Findings are the monitors' findings (a correctness problem seen while
	// measuring); a correct lock has none.
	Findings []string `json:"findings,omitempty"`
}

// splitList splits a comma-separated list, trimming spaces, and rejects an
// empty list or item.
func splitList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("the list is empty")
	}
	parts := strings.Split(s, ",")
	for i, f := range parts {
		parts[i] = strings.TrimSpace(f)
		if parts[i] == "" {
			return nil, fmt.Errorf("an empty item in the list %q", s)
		}
	}
	return parts, nil
}
