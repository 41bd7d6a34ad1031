// Package calibrate fits a timing profile (nicmodel.Profile) to single-operation
// measurements of a real NIC, and shows how well a profile reproduces them.
//
// A Target is one published or measured figure — a verb's latency, a message
// rate — together with the microbenchmark that measures the same thing in
// timed mode: a few threads issuing verbs, run by checker.RunTimed on the
// profile. Simulate runs every target's microbenchmark; Fit adjusts the
// profile's free parameters with Nelder–Mead (gonum/optimize) to minimise the
// sum of squared relative errors, over the logarithms of the parameters so
// they stay positive.
//
// Only single-operation figures go in. Lock-level throughput and latency are
// what timed mode must predict, so they are never fitted.
package calibrate

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
	"gonum.org/v1/gonum/optimize"
)

// LoadProfile returns the built-in profile of that name, or reads a profile
// file (a name with a slash or ending in .json is a file).
func LoadProfile(name string) (*nicmodel.Profile, error) {
	if !strings.ContainsRune(name, '/') && !strings.HasSuffix(name, ".json") {
		return nicmodel.BuiltinProfile(name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("timing profile: %v", err)
	}
	p, err := nicmodel.ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("timing profile %s: %v", name, err)
	}
	return p, nil
}

// Bench is a microbenchmark kind.
type Bench string

// The microbenchmarks. Latencies are per operation in ns, rates in
// operations per µs (Mops/s).
const (
	// ClosedLatency: one thread issues a blocking verb to another node, one at
	// a time: the mean time per verb, post and poll included (perftest's
	// ib_*_lat, a closed-loop client).
	ClosedLatency Bench = "closed-latency"
	// OpenRoundTrip: the same with the thread's post, doorbell and poll
	// costs taken out: the round trip the NIC and the wire take (an
	// open-loop client with one request outstanding).
	OpenRoundTrip Bench = "open-round-trip"
	// HalfPingPong: two threads on two nodes WRITE a value into each other's
	// memory and wait for it with CPU loads: half the round trip (perftest's
	// ib_write_lat).
	HalfPingPong Bench = "half-ping-pong"
	// MessageRate: one thread keeps Window requests outstanding on one QP to
	// one word (perftest's ib_*_bw): completions per µs.
	MessageRate Bench = "message-rate"
	// SpreadRate: Threads threads keep Window requests outstanding each, to
	// distinct words of one node: operations per µs (the target NIC's peak).
	SpreadRate Bench = "spread-rate"
)

// Target is one figure to fit and the microbenchmark that measures it.
type Target struct {
	ID     string  `json:"id"`
	What   string  `json:"what"`
	Value  float64 `json:"value"` // ns for latencies, Mops/s for rates
	Bench  Bench   `json:"bench"`
	Verb   string  `json:"verb"`              // read, write, cas, faa
	Window int     `json:"window,omitempty"`  // rates: requests outstanding per thread
	Thread int     `json:"threads,omitempty"` // spread-rate: threads
	Weight float64 `json:"weight,omitempty"`  // in the fit (0: 1)
	Source string  `json:"source,omitempty"`
}

// Unit is the target's unit.
func (t Target) Unit() string {
	if t.Bench == MessageRate || t.Bench == SpreadRate {
		return "Mops/s"
	}
	return "ns"
}

// CX3 are the ConnectX-3 figures the built-in profile cx3 is fitted to: the
// single-operation rows C1–C10 of the project's calibration table (see
// docs/timed.md for their sources).
var CX3 = []Target{
	{ID: "C1", What: "READ round trip, perftest ib_read_lat, 8 B", Value: 1990, Bench: ClosedLatency, Verb: "read"},
	{ID: "C2", What: "WRITE one way, half of ib_write_lat's ping-pong", Value: 990, Bench: HalfPingPong, Verb: "write"},
	{ID: "C3", What: "FAA round trip, ib_atomic_lat", Value: 2340, Bench: ClosedLatency, Verb: "faa"},
	{ID: "C4", What: "FAA rate, 1 QP, one remote word, ib_atomic_bw", Value: 2.45, Bench: MessageRate, Verb: "faa", Window: 16},
	{ID: "C5r", What: "READ rate, 1 QP, ib_read_bw", Value: 4.76, Bench: MessageRate, Verb: "read", Window: 16},
	{ID: "C5w", What: "WRITE rate, 1 QP, ib_write_bw", Value: 5.46, Bench: MessageRate, Verb: "write", Window: 16},
	{ID: "C6", What: "READ, closed loop, 1 client, mean incl. post and poll", Value: 2217, Bench: ClosedLatency, Verb: "read"},
	{ID: "C7", What: "signaled WRITE, closed loop, 1 client, mean", Value: 2075, Bench: ClosedLatency, Verb: "write"},
	{ID: "C8", What: "CAS, open loop, 1 outstanding: 0.769 Mops/s", Value: 1300, Bench: OpenRoundTrip, Verb: "cas"},
	{ID: "C9", What: "READ, open loop, 1 outstanding: 0.755 Mops/s", Value: 1325, Bench: OpenRoundTrip, Verb: "read"},
	{ID: "C10", What: "FAA on random counters, peak rate", Value: 2.7, Bench: SpreadRate, Verb: "faa", Window: 16, Thread: 4},
}

// ops is how many operations a microbenchmark times (after warmUp more).
const (
	ops    = 100
	warmUp = 20
)

// Simulate runs target t's microbenchmark on profile p and returns its value.
func Simulate(p *nicmodel.Profile, t Target) (float64, error) {
	switch t.Bench {
	case ClosedLatency, OpenRoundTrip, HalfPingPong, MessageRate, SpreadRate:
	default:
		return 0, fmt.Errorf("target %s: unknown microbenchmark %q", t.ID, t.Bench)
	}
	verb, ok := verbs[t.Verb]
	if !ok {
		return 0, fmt.Errorf("target %s: unknown verb %q (want read, write, cas or faa)", t.ID, t.Verb)
	}
	threads := []int{1, 0}
	switch t.Bench {
	case HalfPingPong:
		threads = []int{1, 1}
	case SpreadRate:
		threads = []int{max(t.Thread, 1), 0}
	}
	window := max(t.Window, 1)
	cfg := checker.Config{Nodes: 2, Threads: threads, Acquires: ops + warmUp, Scope: "hca", Timing: p}
	ex, err := checker.RunTimed(cfg, micro{bench: t.Bench, verb: verb, window: window}, 1)
	if err != nil {
		return 0, fmt.Errorf("target %s: %v", t.ID, err)
	}
	if ex.Finding != nil {
		return 0, fmt.Errorf("target %s: the microbenchmark broke: %v", t.ID, ex.Finding)
	}
	// Operations of thread 0 after the warm-up.
	var times []checker.OpTime
	for _, o := range ex.Ops {
		if o.Thread == 0 {
			times = append(times, o)
		}
	}
	if len(times) < ops+warmUp {
		return 0, fmt.Errorf("target %s: %d operations timed, want %d", t.ID, len(times), ops+warmUp)
	}
	times = times[warmUp:]
	span := float64(times[len(times)-1].End - times[0].Start)
	switch t.Bench {
	case ClosedLatency:
		return span / float64(len(times)), nil
	case OpenRoundTrip:
		return span/float64(len(times)) - p.Post - p.Doorbell - p.Poll, nil
	case HalfPingPong:
		return span / float64(len(times)) / 2, nil
	case MessageRate:
		return float64(len(times)) / span * 1000, nil
	default: // SpreadRate: every thread's operations over the same span
		return float64(len(times)*threads[0]) / span * 1000, nil
	}
}

var verbs = map[string]rdma.Op{"read": rdma.OpRRead, "write": rdma.OpRWrite, "cas": rdma.OpRCAS, "faa": rdma.OpRFAA}

// micro is the workload of a microbenchmark: every operation of a rate
// benchmark is a batch of window posted requests.
type micro struct {
	bench  Bench
	verb   rdma.Op
	window int
}

func (m micro) Build(s workload.Setup) (*workload.Program, error) {
	infos := s.Threads()
	target := make([]rdma.Ptr, len(infos))
	for i := range infos {
		target[i] = s.Alloc(1, 1, fmt.Sprintf("word%d", i))
	}
	if m.bench != SpreadRate {
		for i := range target {
			target[i] = target[0] // one word
		}
	}
	bufs := make([]rdma.Ptr, len(infos))
	for i, in := range infos {
		bufs[i] = s.Alloc(in.Node, max(m.window, 1), fmt.Sprintf("buf%d", i))
	}
	ping := [2]rdma.Ptr{s.Alloc(0, 1, "ping"), s.Alloc(1, 1, "pong")}
	n := s.OpsPerThread()
	return &workload.Program{Thread: func(t *workload.Thread) {
		id := t.ID()
		p := target[id]
		switch m.bench {
		case HalfPingPong:
			me, peer := ping[t.Node()], ping[1-t.Node()]
			for i := 1; i <= n; i++ {
				op := t.Call("round")
				if t.Node() == 0 {
					t.PostWriteValue(rdma.QPTo(1), peer, uint64(i), 0)
				}
				for t.Load(me) != uint64(i) {
					t.Pause()
				}
				if t.Node() == 1 {
					t.PostWriteValue(rdma.QPTo(0), peer, uint64(i), 0)
				}
				t.Return(op)
			}
		case MessageRate, SpreadRate:
			// A sliding window: every operation waits for the oldest request
			// and posts the next one, so window requests stay outstanding.
			qp := rdma.QPTo(1)
			post := func() rdma.Req {
				switch m.verb {
				case rdma.OpRRead:
					return t.PostRead(qp, bufs[id], p, 1, 0)
				case rdma.OpRWrite:
					return t.PostWriteValue(qp, p, 1, 0)
				case rdma.OpRCAS:
					return t.PostCAS(qp, p, 0, 0, 0)
				}
				return t.PostFAA(qp, p, 1, 0)
			}
			ring := make([]rdma.Req, m.window)
			for i := range ring {
				ring[i] = post()
			}
			for i := range n {
				op := t.Call("request")
				t.Wait(ring[i%m.window])
				ring[i%m.window] = post()
				t.Return(op)
			}
		default:
			for range n {
				op := t.Call("verb")
				switch m.verb {
				case rdma.OpRRead:
					t.RRead(p)
				case rdma.OpRWrite:
					t.RWrite(p, 1)
				case rdma.OpRCAS:
					t.RCAS(p, 0, 0)
				default:
					t.RFAA(p, 1)
				}
				t.Return(op)
			}
		}
	}}, nil
}

// Row is one target with its simulated value.
type Row struct {
	Target
	Simulated float64
	Error     float64 // relative: (simulated − value) / value
}

// Evaluate simulates every target on p.
func Evaluate(p *nicmodel.Profile, targets []Target) ([]Row, error) {
	rows := make([]Row, len(targets))
	for i, t := range targets {
		v, err := Simulate(p, t)
		if err != nil {
			return nil, err
		}
		rows[i] = Row{Target: t, Simulated: v, Error: (v - t.Value) / t.Value}
	}
	return rows, nil
}

// DefaultFitted are the parameters Fit adjusts unless told otherwise: those
// the single-operation figures determine. The CPU costs, the QP cache and the
// outstanding-request limit are not among them: no single-operation figure
// of the table measures them.
var DefaultFitted = []string{"post_ns", "doorbell_ns", "poll_ns", "tx_ns", "rx_ns", "wire_ns", "pcie_read_ns",
	"pcie_write_ns", "response_ns", "atomic_ns", "atomic_window_ns"}

// Fit returns a copy of start with the parameters named fitted adjusted to
// the targets, the rows of the fitted profile, and the number of profiles it
// simulated.
func Fit(start *nicmodel.Profile, targets []Target, fitted []string) (*nicmodel.Profile, []Row, int, error) {
	for _, name := range fitted {
		if start.Param(name) == nil {
			return nil, nil, 0, fmt.Errorf("no parameter %q to fit (parameters: %v)", name, nicmodel.ParamNames())
		}
	}
	if len(fitted) == 0 {
		return nil, nil, 0, fmt.Errorf("no parameter to fit")
	}
	if _, err := Evaluate(start, targets); err != nil {
		return nil, nil, 0, err
	}
	prof := func(x []float64) *nicmodel.Profile {
		p := *start
		p.Fitted = slices.Clone(fitted)
		for i, name := range fitted {
			*p.Param(name) = math.Round(math.Exp(x[i])*10) / 10
		}
		return &p
	}
	evals := 0
	loss := func(x []float64) float64 {
		evals++
		rows, err := Evaluate(prof(x), targets)
		if err != nil {
			return math.Inf(1)
		}
		var sum float64
		for _, r := range rows {
			w := r.Weight
			if w == 0 {
				w = 1
			}
			sum += w * r.Error * r.Error
		}
		return sum
	}
	x0 := make([]float64, len(fitted))
	for i, name := range fitted {
		x0[i] = math.Log(max(*start.Param(name), 1))
	}
	// Nelder–Mead restarted from its result with a fresh simplex until a
	// restart gains nothing: the loss is flat below a nanosecond (times are
	// whole nanoseconds), where a simplex can stall short of the minimum.
	x, fx := x0, loss(x0)
	for range 6 {
		res, err := optimize.Minimize(optimize.Problem{Func: loss}, x,
			&optimize.Settings{FuncEvaluations: 1500, Converger: &optimize.FunctionConverge{Absolute: 1e-9, Iterations: 60}},
			&optimize.NelderMead{SimplexSize: 0.2})
		if err != nil && res == nil {
			return nil, nil, evals, fmt.Errorf("fitting: %v", err)
		}
		if res.F >= fx-1e-9 {
			break
		}
		x, fx = res.X, res.F
	}
	best := prof(x)
	rows, err := Evaluate(best, targets)
	if err != nil {
		return nil, nil, evals, err
	}
	return best, rows, evals, nil
}
