package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/calibrate"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// SimRunner is the Runner of timed mode for the timing profile named ("": the
// default, cx3; a name with a slash or ending in .json is a profile file):
// every point runs the lock-table workload in the simulator with simulated
// latencies (Simulate).
func SimRunner(profile string) (Runner, error) {
	if profile == "" {
		profile = nicmodel.DefaultProfile
	}
	prof, err := calibrate.LoadProfile(profile)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, p Point) (Measurement, error) {
		return Simulate(ctx, prof, p)
	}, nil
}

// Simulate runs one point of the lock-table benchmark in timed mode: every
// thread takes and releases locks of the table until the simulated clock
// passes warm-up + duration; operations (lock + unlock) that start after the
// warm-up and end before the end are measured.
func Simulate(ctx context.Context, prof *nicmodel.Profile, p Point) (Measurement, error) {
	alg, err := algorithms.Lookup(p.Lock)
	if err != nil {
		return Measurement{}, err
	}
	if p.Duration <= 0 {
		return Measurement{}, fmt.Errorf("%s: duration %d ns: want > 0", p, p.Duration)
	}
	opts := algorithms.Options{BudgetLocal: p.LocalBudget, BudgetRemote: p.RemoteBudget}
	cfg := checker.Config{Nodes: p.Nodes, Threads: []int{p.Threads}, Home: 0, Acquires: 0, Scope: "hca",
		Timing: prof, Until: p.Warmup + p.Duration}
	if p.Lanes > 1 {
		cfg.Knobs = map[string]string{"lanes": strconv.Itoa(p.Lanes)}
	}
	wl := workload.LockTable{Lock: func(s rdma.Setup) (rdma.Lock, error) { return alg.New(s, opts) },
		Keys: p.Keys, Local: p.Local, Seed: uint64(p.Seed)}
	start := time.Now()
	acc := newMeasurer(p)
	ex, err := checker.RunTimedStream(ctx, cfg, wl, uint64(p.Seed), acc.add)
	if err != nil {
		return Measurement{}, err
	}
	if ctx.Err() != nil {
		return Measurement{}, ctx.Err()
	}
	m := acc.measurement(int64(ex.Steps))
	m.Wall = time.Since(start).Seconds()
	if ex.Finding != nil {
		m.Findings = append(m.Findings, ex.Finding.String())
	}
	return m, nil
}

// measurer turns the operation times of a lock-table run into the point's
// measurement as they come: an operation is an acquire and the release after
// it; it counts towards throughput if it ends inside the measured window, and
// towards the latencies if it starts and ends inside it.
type measurer struct {
	p                  Point
	warm, end          int64
	pending            []pendingOp // by thread: its acquire, if one is open
	all, local, remote []int64
	perSum, perOps     []int64
	perNode            []int
	done               int
}

type pendingOp struct {
	start int64
	key   int
	open  bool
}

func newMeasurer(p Point) *measurer {
	n := p.Nodes * p.Threads
	return &measurer{p: p, warm: p.Warmup, end: p.Warmup + p.Duration, pending: make([]pendingOp, n),
		perSum: make([]int64, n), perOps: make([]int64, n), perNode: make([]int, n)}
}

func (m *measurer) add(o checker.OpTime) {
	switch o.Name {
	case workload.OpAcquire:
		m.pending[o.Thread] = pendingOp{start: o.Start, key: int(o.Arg), open: true}
	case workload.OpRelease:
		op := m.pending[o.Thread]
		if !op.open {
			return
		}
		m.pending[o.Thread].open = false
		if o.End > m.warm && o.End <= m.end {
			m.done++
		}
		if op.start < m.warm || o.End > m.end {
			return
		}
		lat := o.End - op.start
		m.all = append(m.all, lat)
		if workload.KeyNode(op.key, m.p.Keys, m.p.Nodes) == o.Node {
			m.local = append(m.local, lat)
		} else {
			m.remote = append(m.remote, lat)
		}
		if o.Thread < len(m.perSum) {
			m.perSum[o.Thread] += lat
			m.perOps[o.Thread]++
			m.perNode[o.Thread] = o.Node
		}
	}
}

func (m *measurer) measurement(events int64) Measurement {
	p := m.p
	out := Measurement{Ops: m.done, Throughput: float64(m.done) / (float64(p.Duration) / 1e9),
		All: Summarize(m.all), Local: Summarize(m.local), Remote: Summarize(m.remote), Events: events}
	for th := range m.perSum {
		if m.perOps[th] == 0 {
			continue
		}
		out.ThreadMeans = append(out.ThreadMeans, ThreadMean{Node: m.perNode[th], Thread: th % p.Threads,
			Mean: float64(m.perSum[th]) / float64(m.perOps[th]), Ops: int(m.perOps[th])})
	}
	return out
}
