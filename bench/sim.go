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
	ex, err := checker.RunTimedContext(ctx, cfg, wl, uint64(p.Seed))
	if err != nil {
		return Measurement{}, err
	}
	if ctx.Err() != nil {
		return Measurement{}, ctx.Err()
	}
	m := measure(ex, p)
	m.Wall = time.Since(start).Seconds()
	if ex.Finding != nil {
		m.Findings = append(m.Findings, ex.Finding.String())
	}
	return m, nil
}

// measure turns the operation times of a lock-table run into the point's
// measurement: an operation is an acquire and the release after it.
func measure(ex checker.TimedExecution, p Point) Measurement {
	warm, end := p.Warmup, p.Warmup+p.Duration
	type open struct {
		start int64
		key   int
		ok    bool
	}
	pending := map[int]open{}
	var all, local, remote []int64
	type acc struct {
		node     int
		sum, ops int64
	}
	per := map[int]*acc{}
	done := 0
	for _, o := range ex.Ops {
		switch o.Name {
		case workload.OpAcquire:
			pending[o.Thread] = open{start: o.Start, key: int(o.Arg), ok: true}
		case workload.OpRelease:
			op := pending[o.Thread]
			if !op.ok {
				continue
			}
			delete(pending, o.Thread)
			if o.End > warm && o.End <= end {
				done++
			}
			if op.start < warm || o.End > end {
				continue
			}
			lat := o.End - op.start
			all = append(all, lat)
			if workload.KeyNode(op.key, p.Keys, p.Nodes) == o.Node {
				local = append(local, lat)
			} else {
				remote = append(remote, lat)
			}
			a := per[o.Thread]
			if a == nil {
				a = &acc{node: o.Node}
				per[o.Thread] = a
			}
			a.sum += lat
			a.ops++
		}
	}
	m := Measurement{Ops: done, Throughput: float64(done) / (float64(p.Duration) / 1e9),
		All: Summarize(all), Local: Summarize(local), Remote: Summarize(remote), Events: int64(ex.Steps)}
	for th := range p.Nodes * p.Threads {
		a := per[th]
		if a == nil {
			continue
		}
		m.ThreadMeans = append(m.ThreadMeans, ThreadMean{Node: a.node, Thread: th % p.Threads, Mean: float64(a.sum) / float64(a.ops), Ops: int(a.ops)})
	}
	return m
}
