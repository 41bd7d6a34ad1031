package main

import (
	"fmt"
	"math"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/hwrun/verbs"
)

// The latency microbenchmark measures the per-verb cost of the Go+cgo data
// path (verbs.QP's blocking Read, Write and CAS, 8 bytes, d0 -> d1) next to
// perftest's ib_read_lat, ib_write_lat and ib_atomic_lat between the same two
// devices, run right before each Go measurement. Under an emulator both sides
// are emulator speed: the ratio is functional evidence of the binding's
// overhead, never performance data.
//
// ib_write_lat is a ping-pong (each side WRITEs to the other and spins on its
// own memory; it reports half the round trip), so a blocking WRITE, which
// waits for the responder's acknowledgement, is a whole round trip. The
// benchmark therefore also runs a Go ping-pong WRITE measured the way
// ib_write_lat measures, and compares that with ib_write_lat too.

type latStats struct {
	n           int
	median, p99 time.Duration
}

func stats(d []time.Duration) latStats {
	s := slices.Clone(d)
	slices.Sort(s)
	pick := func(q float64) time.Duration {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return latStats{n: len(s), median: pick(0.5), p99: pick(0.99)}
}

// perftestLat is what the latency table needs from one perftest run.
type perftestLat struct {
	typical, p99 float64 // µs; NaN when unavailable
	wall         time.Duration
	note         string // why it is unavailable
}

func (p perftestLat) ok() bool { return !math.IsNaN(p.typical) }

// parsePerftestLat finds the result row of a perftest latency tool's output
// (the line after the "#bytes" header whose first field is a number) and takes
// t_typical and the 99% percentile from the columns the header names. A
// missing table or a value that is not a finite positive number (the guest
// sometimes prints inf or -nan) makes the figure unavailable.
func parsePerftestLat(out string) perftestLat {
	res := perftestLat{typical: math.NaN(), p99: math.NaN()}
	typCol, p99Col := -1, -1
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "#bytes" {
			for i, h := range f {
				switch {
				case strings.HasPrefix(h, "t_typical"):
					typCol = i
				case h == "99%" && p99Col < 0:
					p99Col = i
				}
			}
			continue
		}
		if typCol < 0 || !isNumber(f[0]) {
			continue
		}
		num := func(col int) (float64, bool) {
			if col < 0 || col >= len(f) {
				return math.NaN(), false
			}
			v, err := strconv.ParseFloat(f[col], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
				return math.NaN(), false
			}
			return v, true
		}
		t, okT := num(typCol)
		p, _ := num(p99Col)
		if !okT {
			res.note = fmt.Sprintf("t_typical is %q", f[min(typCol, len(f)-1)])
			return res
		}
		res.typical, res.p99 = t, p
		return res
	}
	res.note = "no result row in the output"
	return res
}

// perftestLatency runs one perftest latency tool with n iterations and 8-byte
// messages (atomics are 8 bytes anyway) and parses its result.
func perftestLatency(tool string, port, n int) perftestLat {
	if _, err := exec.LookPath(tool); err != nil {
		return perftestLat{typical: math.NaN(), p99: math.NaN(), note: "not installed"}
	}
	args := []string{"-x", "0", "-n", strconv.Itoa(n), "-F", "-p", strconv.Itoa(port)}
	if tool != "ib_atomic_lat" {
		args = append(args, "-s", "8")
	}
	out, wall, err := perftestPair(tool, args)
	if err != nil {
		return perftestLat{typical: math.NaN(), p99: math.NaN(), wall: wall, note: err.Error()}
	}
	res := parsePerftestLat(string(out))
	res.wall = wall
	return res
}

// measure times n calls of op after warm calls, one by one, on a thread locked
// to its OS thread (not pinned to a CPU: perftest is not either).
func measure(warm, n int, op func() error) ([]time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for range warm {
		if err := op(); err != nil {
			return nil, err
		}
	}
	d := make([]time.Duration, n)
	for i := range d {
		t := time.Now()
		if err := op(); err != nil {
			return nil, err
		}
		d[i] = time.Since(t)
	}
	return d, nil
}

// pingPong measures WRITE latency the way ib_write_lat does: side a WRITEs
// sequence number i into b's memory, b spins until it sees i and WRITEs i back
// into a's, a spins until it sees it; each round trip, halved, is one sample.
// Send completions are drained while spinning.
func pingPong(qa, qb *verbs.QP, la, lb *verbs.Arena, warm, n int) ([]time.Duration, error) {
	ra, rb := la.Remote(), lb.Remote()
	const in, out = 0, 64 // the word a peer writes into; the word a side writes from
	atomic.StoreUint64(la.Word(in), 0)
	atomic.StoreUint64(lb.Word(in), 0)
	total := warm + n
	// spin waits for *w == want, draining q's completions; it gives up after 10 s.
	spin := func(q *verbs.QP, w *uint64, want uint64, pending *int) error {
		deadline := time.Now().Add(10 * time.Second)
		for k := 0; atomic.LoadUint64(w) != want; k++ {
			if *pending > 0 && k%256 == 0 {
				cs, err := q.Poll(16)
				if err != nil {
					return err
				}
				for _, c := range cs {
					if c.Status != 0 {
						return fmt.Errorf("WRITE %d failed: %s", c.WRID, c.Err)
					}
				}
				*pending -= len(cs)
			}
			if k%4096 == 4095 && time.Now().After(deadline) {
				return fmt.Errorf("ping-pong: no %d within 10s", want)
			}
		}
		return nil
	}
	send := func(q *verbs.QP, l *verbs.Arena, r verbs.Remote, v uint64, pending *int) error {
		// The CQ holds 64 completions: drain before it could overflow.
		for *pending >= 32 {
			cs, err := q.Poll(16)
			if err != nil {
				return err
			}
			*pending -= len(cs)
		}
		atomic.StoreUint64(l.Word(out), v)
		if err := q.Post(verbs.OpWrite, v, l, out, 8, r, in, 0, 0); err != nil {
			return err
		}
		*pending++
		return nil
	}
	errb := make(chan error, 1)
	go func() {
		defer pinMaybe(1)()
		pending := 0
		for i := 1; i <= total; i++ {
			if err := spin(qb, lb.Word(in), uint64(i), &pending); err != nil {
				errb <- err
				return
			}
			if err := send(qb, lb, ra, uint64(i), &pending); err != nil {
				errb <- err
				return
			}
		}
		for pending > 0 {
			if _, err := qb.Wait(10 * time.Second); err != nil {
				errb <- err
				return
			}
			pending--
		}
		errb <- nil
	}()
	d := make([]time.Duration, 0, n)
	err := func() error {
		defer pinMaybe(0)()
		pending := 0
		for i := 1; i <= total; i++ {
			t := time.Now()
			if err := send(qa, la, rb, uint64(i), &pending); err != nil {
				return err
			}
			if err := spin(qa, la.Word(in), uint64(i), &pending); err != nil {
				return err
			}
			if i > warm {
				d = append(d, time.Since(t)/2)
			}
		}
		for pending > 0 {
			if _, err := qa.Wait(10 * time.Second); err != nil {
				return err
			}
			pending--
		}
		return nil
	}()
	if errB := <-errb; err == nil {
		err = errB
	}
	return d, err
}

// clockCost is the median cost of one time.Now/time.Since pair, which every
// Go sample includes (perftest reads the TSC instead).
func clockCost() time.Duration {
	d := make([]time.Duration, 1001)
	for i := range d {
		t := time.Now()
		d[i] = time.Since(t)
	}
	return stats(d).median
}

type latRow struct {
	verb, tool string
	port       int
	remark     string
	op         func() ([]time.Duration, error)
	// what calibrate's microbenchmarks call this measurement (-targets):
	// the Go side's bench and verb, and perftest's when its tool measures
	// the same thing as one of them.
	bench, calVerb, perfBench string

	goMedians []time.Duration // one per round
	goAll     []time.Duration // every sample of every round
	perf      []perftestLat   // one per round
}

// goMedian is the median over rounds of the Go side's per-round medians.
func (r *latRow) goMedian() time.Duration {
	m := slices.Clone(r.goMedians)
	slices.Sort(m)
	return m[(len(m)-1)/2]
}

// median of the available perftest figures, NaN when none is.
func (r *latRow) perfMedian() (typical, p99 float64, n int) {
	var t, p []float64
	for _, x := range r.perf {
		if x.ok() {
			t = append(t, x.typical)
			if !math.IsNaN(x.p99) {
				p = append(p, x.p99)
			}
		}
	}
	med := func(v []float64) float64 {
		if len(v) == 0 {
			return math.NaN()
		}
		slices.Sort(v)
		return v[(len(v)-1)/2]
	}
	return med(t), med(p), len(t)
}

// runLatency runs the benchmark: -lat-rounds rounds, each running, for every
// verb, perftest's tool (unless -perftest=false) and then the Go measurement;
// it prints every round and the table of medians over rounds.
func runLatency(d0, d1 *verbs.Device) {
	n, warm := *latIters, *latWarmup
	fmt.Printf("\n== latency: Go+cgo verbs.QP (blocking, 8 bytes, %s -> %s) vs perftest between the same devices\n", d0.Name(), d1.Name())
	fmt.Printf("   EMULATOR TIMINGS: the ratio is functional evidence of the binding's overhead, NOT performance data\n")
	if *perftest {
		fmt.Printf("   (%d rounds; per round and verb: perftest -n %d, then %d Go iterations after %d warm-up)\n", *latRounds, n, n, warm)
	} else {
		fmt.Printf("   (%d rounds; per round and verb: %d Go iterations after %d warm-up; perftest not run: -perftest=false)\n", *latRounds, n, warm)
	}
	l := newLink(d0, d1)
	defer l.Close()
	qa, local, remote, r := l.qa, l.local, l.remote, l.r
	atomic.StoreUint64(remote.Word(64), 0)
	// Ping-pong WRITE: its own pair of QPs (the other pair's CQ stays quiet).
	pa, pb := connect(d0, d1)
	defer pa.Close()
	defer pb.Close()
	la := mustArena(d0, 4096)
	defer la.Close()
	lb := mustArena(d1, 4096)
	defer lb.Close()
	var cas uint64
	rows := []*latRow{
		{verb: "READ", tool: "ib_read_lat", port: 18615, bench: closedLatency, calVerb: "read", perfBench: closedLatency, op: func() ([]time.Duration, error) {
			return measure(warm, n, func() error { return qa.Read(local, 0, 8, r, 64) })
		}},
		{verb: "WRITE", tool: "ib_write_lat", port: 18616, bench: closedLatency, calVerb: "write",
			remark: "blocking WRITE waits for the ack: a whole round trip; ib_write_lat reports half a ping-pong round trip",
			op: func() ([]time.Duration, error) {
				return measure(warm, n, func() error { return qa.Write(local, 0, 8, r, 64) })
			}},
		{verb: "WRITE ping-pong/2", tool: "ib_write_lat", port: 18617, bench: halfPingPong, calVerb: "write", perfBench: halfPingPong, remark: "Go measured the way ib_write_lat measures",
			op: func() ([]time.Duration, error) { return pingPong(pa, pb, la, lb, warm, n) }},
		{verb: "CAS", tool: "ib_atomic_lat", port: 18618, bench: closedLatency, calVerb: "cas", perfBench: closedLatency, remark: "ib_atomic_lat's default is CMP_AND_SWP",
			op: func() ([]time.Duration, error) {
				return measure(warm, n, func() error {
					// Alternately matching and failing, as a lock's CAS would.
					_, err := qa.CAS(local, 16, r, 64, cas, cas+1)
					cas++
					return err
				})
			}},
	}
	for round := range *latRounds {
		for _, row := range rows {
			p := perftestLat{typical: math.NaN(), p99: math.NaN(), note: "-perftest=false"}
			if *perftest {
				p = perftestLatency(row.tool, row.port+10*round, n)
			}
			d, err := row.op()
			if err != nil {
				fatal("latency %s: %v", row.verb, err)
			}
			st := stats(d)
			row.perf = append(row.perf, p)
			row.goMedians = append(row.goMedians, st.median)
			row.goAll = append(row.goAll, d...)
			pf := "unavailable (" + p.note + ")"
			if p.ok() {
				pf = fmt.Sprintf("typical %.2f us, 99%% %.2f us", p.typical, p.p99)
			}
			fmt.Printf("  round %d %-18s Go median %s p99 %s; %s %s (wall %v)\n", round+1, row.verb, us(st.median), us(st.p99),
				row.tool, pf, p.wall.Round(time.Millisecond))
		}
	}
	clock := clockCost()
	fmt.Printf("\n  medians over %d rounds (Go p99 over all %d-sample rounds pooled):\n", *latRounds, n)
	fmt.Printf("  %-18s %10s %10s %14s %12s %8s  %s\n", "verb", "Go median", "Go p99", "perftest typ.", "perftest 99%", "ratio", "perftest tool")
	var summary []string
	for _, row := range rows {
		gm := row.goMedian()
		gp99 := stats(row.goAll).p99
		typ, p99, avail := row.perfMedian()
		ratio, perf, pp := "n/a", "unavailable", "-"
		if avail > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(gm)/1e3/typ)
			perf = fmt.Sprintf("%.2f us", typ)
			if !math.IsNaN(p99) {
				pp = fmt.Sprintf("%.2f us", p99)
			}
		}
		fmt.Printf("  %-18s %10s %10s %14s %12s %8s  %s (%d of %d runs usable)\n", row.verb, us(gm), us(gp99), perf, pp, ratio,
			row.tool, avail, len(row.perf))
		if avail == 0 {
			fmt.Printf("  %-18s comparison unavailable for this verb: %s\n", "", row.perf[0].note)
		}
		if row.remark != "" {
			fmt.Printf("  %-18s (%s)\n", "", row.remark)
		}
		summary = append(summary, fmt.Sprintf("%s %s", row.verb, ratio))
	}
	fmt.Printf("  (every Go sample includes one time.Now/time.Since pair: median %v in this guest)\n", clock)
	if *latTargets != "" {
		writeTargets(*latTargets, rows, kernelRelease(), d0.Name(), d1.Name(), clock)
	}
	latSummary = fmt.Sprintf("latency Go/perftest (median / typical; goal <= 1.2x; EMULATOR timings, not performance data): %s",
		strings.Join(summary, ", "))
}

func us(d time.Duration) string { return fmt.Sprintf("%.2f us", float64(d)/1e3) }

var latSummary string

// pinMaybe pins the ping-pong's two sides to CPUs with -lat-pin, else only
// locks each to its OS thread (perftest's two processes are not pinned).
func pinMaybe(cpu int) func() {
	if *latPin {
		return pin(cpu)
	}
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
