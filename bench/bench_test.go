package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRun is a Runner whose measurement depends only on the point.
func fakeRun(_ context.Context, p Point) (Measurement, error) {
	r := rand.New(rand.NewPCG(uint64(p.Seed), uint64(p.Nodes*1000+p.Threads)))
	lat := func(n int, base int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = base + r.Int64N(base)
		}
		return out
	}
	loc, rem := lat(100, 200), lat(100, 3000)
	m := Measurement{Ops: 200, Throughput: float64(p.Nodes*p.Threads) * 1e6 * p.Local,
		Local: Summarize(loc), Remote: Summarize(rem), All: Summarize(append(loc, rem...)), Events: 1234, Wall: 0.5}
	for n := range p.Nodes {
		for t := range p.Threads {
			m.ThreadMeans = append(m.ThreadMeans, ThreadMean{Node: n, Thread: t, Mean: 1000 + float64(n*10+t), Ops: 7})
		}
	}
	if p.Lock == "broken" {
		m.Findings = []string{"mutual exclusion: two, in \"one\" section"}
	}
	return m, nil
}

func testGrid() Grid {
	return Grid{Locks: []string{"alock", "spin", "broken"}, Nodes: []int{2, 3}, Threads: []int{1, 2, 4}, Keys: []int{10},
		Locals: []float64{1, 0.9}, Duration: 1000, Warmup: 10}
}

func TestSummarize(t *testing.T) {
	cases := []struct {
		in   []int64
		want Latency
	}{
		{nil, Latency{}},
		{[]int64{5}, Latency{N: 1, Mean: 5, P50: 5, P99: 5, P999: 5}},
		{[]int64{4, 1, 3, 2}, Latency{N: 4, Mean: 2.5, P50: 2, P99: 4, P999: 4}},
	}
	for _, c := range cases {
		if got := Summarize(c.in); got != c.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", c.in, got, c.want)
		}
	}
	// 1 … 1000 shuffled: p50 = 500, p99 = 990, p99.9 = 999 by nearest rank.
	s := make([]int64, 1000)
	for i := range s {
		s[i] = int64(i + 1)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	before := append([]int64(nil), s...)
	got := Summarize(s)
	if got.P50 != 500 || got.P99 != 990 || got.P999 != 999 || got.Mean != 500.5 {
		t.Errorf("Summarize(1…1000) = %+v", got)
	}
	if !reflect.DeepEqual(s, before) {
		t.Error("Summarize modified its argument")
	}
}

func TestGridPoints(t *testing.T) {
	pts := testGrid().Points()
	if len(pts) != 3*2*2*3 {
		t.Fatalf("%d points", len(pts))
	}
	// Threads vary fastest, locks slowest.
	if pts[0].Threads != 1 || pts[1].Threads != 2 || pts[3].Local != 0.9 || pts[12].Lock != "spin" {
		t.Errorf("order: %v", pts[:4])
	}
	keys := map[string]bool{}
	for _, p := range pts {
		if keys[p.Key()] {
			t.Errorf("key %s twice", p.Key())
		}
		keys[p.Key()] = true
	}
	if GridID(pts) != GridID(testGrid().Points()) || GridID(pts) == GridID(pts[1:]) {
		t.Error("GridID is not a function of the point list")
	}
	if p := (Grid{Locks: []string{"x"}, Nodes: []int{4}}).Points(); len(p) != 1 || p[0].Keys != 4 || p[0].Threads != 1 || p[0].Local != 1 || p[0].Seed != 1 {
		t.Errorf("defaults: %+v", p)
	}
}

func TestParseLists(t *testing.T) {
	if got, err := ParseInts(" 2,4, 8,12", 1); err != nil || !reflect.DeepEqual(got, []int{2, 4, 8, 12}) {
		t.Errorf("ParseInts = %v, %v", got, err)
	}
	if got, err := ParseFractions("1,.95,.9,.85"); err != nil || !reflect.DeepEqual(got, []float64{1, .95, .9, .85}) {
		t.Errorf("ParseFractions = %v, %v", got, err)
	}
	for _, bad := range []string{"", "2,,4", "2,x", "0", "3,3"} {
		if _, err := ParseInts(bad, 1); err == nil {
			t.Errorf("ParseInts(%q): no error", bad)
		}
	}
	for _, bad := range []string{"1.5", "-0.1", "a", "1,1.0", "NaN"} {
		if _, err := ParseFractions(bad); err == nil {
			t.Errorf("ParseFractions(%q): no error", bad)
		}
	}
	if _, err := ParseNames("alock,spin,alock"); err == nil {
		t.Error("ParseNames: a name twice, no error")
	}
}

func TestShardIndices(t *testing.T) {
	for _, total := range []int{0, 1, 7, 36} {
		for n := 1; n <= 9; n++ {
			var all []int
			for i := range n {
				all = append(all, ShardIndices(i, n, total)...)
			}
			for k, v := range all {
				if v != k {
					t.Fatalf("shards of %d over %d: %v", total, n, all)
				}
			}
			if len(all) != total {
				t.Fatalf("shards of %d over %d cover %d", total, n, len(all))
			}
		}
	}
}

func TestSweepDeterministic(t *testing.T) {
	pts := testGrid().Points()
	one, err := Sweep(context.Background(), pts, fakeRun, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	many, err := Sweep(context.Background(), pts, fakeRun, Options{Workers: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, many) || len(one.Rows) != len(pts) {
		t.Fatal("rows differ with the number of workers")
	}
	// Shards merge back to the whole sweep.
	var parts []Result
	for i := range 4 {
		r, err := Sweep(context.Background(), pts, fakeRun, Options{Workers: 3, Shard: i, Shards: 4})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, r)
	}
	merged, missing, err := Merge(parts[3], parts[1], parts[0], parts[2])
	if err != nil || len(missing) > 0 {
		t.Fatal(err, missing)
	}
	if !reflect.DeepEqual(merged.Rows, one.Rows) || merged.Grid != one.Grid {
		t.Error("merged shards differ from the whole sweep")
	}
	if _, missing, _ := Merge(parts[0], parts[2]); len(missing) != len(parts[1].Rows)+len(parts[3].Rows) {
		t.Errorf("missing %v", missing)
	}
	if _, _, err := Merge(parts[0], parts[0]); err == nil || !strings.Contains(err.Error(), "has a row in result 1 and in result 2") {
		t.Errorf("merge of a shard twice: %v", err)
	}
	other, _ := Sweep(context.Background(), pts[1:], fakeRun, Options{})
	if _, _, err := Merge(parts[0], other); err == nil || !strings.Contains(err.Error(), "not shards of one sweep") {
		t.Errorf("merge of two grids: %v", err)
	}
}

func TestSweepInterrupt(t *testing.T) {
	pts := testGrid().Points()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	run := func(ctx context.Context, p Point) (Measurement, error) {
		if n.Add(1) == 5 {
			cancel()
		}
		if ctx.Err() != nil {
			return Measurement{}, ctx.Err()
		}
		return fakeRun(ctx, p)
	}
	res, err := Sweep(ctx, pts, run, Options{Workers: 1})
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || !res.Interrupted {
		t.Fatalf("err %v, interrupted %v", err, res.Interrupted)
	}
	if len(res.Rows) != 4 || res.Rows[3].Index != 3 {
		t.Errorf("%d rows kept", len(res.Rows))
	}
}

func TestSweepRunnerError(t *testing.T) {
	pts := testGrid().Points()
	run := func(ctx context.Context, p Point) (Measurement, error) {
		if p.Lock == "spin" {
			return Measurement{}, fmt.Errorf("no spin today")
		}
		return fakeRun(ctx, p)
	}
	res, err := Sweep(context.Background(), pts, run, Options{Workers: 1})
	if err == nil || !strings.Contains(err.Error(), "point 12 (spin n2 t1") || !strings.Contains(err.Error(), "no spin today") {
		t.Fatalf("err %v", err)
	}
	if len(res.Rows) != 12 {
		t.Errorf("%d rows", len(res.Rows))
	}
	if _, err := Sweep(context.Background(), []Point{{Lock: "x", Nodes: 2, Threads: 1, Keys: 1, Duration: 1}}, run, Options{}); err == nil || !strings.Contains(err.Error(), "keys 1: want ≥ nodes") {
		t.Errorf("invalid point: %v", err)
	}
	if _, err := Sweep(context.Background(), pts, run, Options{Shard: 2, Shards: 2}); err == nil {
		t.Error("shard 2/2: no error")
	}
}

func TestFilesRoundTrip(t *testing.T) {
	pts := testGrid().Points()
	res, err := Sweep(context.Background(), pts, fakeRun, Options{Shard: 1, Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	csvPath, jsonPath, rawPath := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.json"), filepath.Join(dir, "raw.csv")
	if err := SaveCSV(csvPath, res); err != nil {
		t.Fatal(err)
	}
	if err := SaveJSON(jsonPath, res); err != nil {
		t.Fatal(err)
	}
	if err := SaveRawCSV(rawPath, res); err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, res) {
		t.Errorf("JSON round trip differs")
	}
	fromCSV, err := ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := ReadRawFile(rawPath, &fromCSV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromCSV, res) {
		t.Errorf("CSV round trip differs:\n%+v\n%+v", fromCSV.Rows[0], res.Rows[0])
	}
	// A partial shard reads back marked interrupted.
	part := res
	part.Rows = part.Rows[:2]
	var buf bytes.Buffer
	WriteCSV(&buf, part)
	back, err := ReadCSV(&buf)
	if err != nil || !back.Interrupted {
		t.Errorf("partial shard: %v, interrupted %v", err, back.Interrupted)
	}
	if _, err := ReadCSV(strings.NewReader("lock,nodes\nx,1\n")); err == nil || !strings.Contains(err.Error(), `no column "index"`) {
		t.Errorf("bad header: %v", err)
	}
}

func TestPrintTable(t *testing.T) {
	res, _ := Sweep(context.Background(), testGrid().Points()[:2], fakeRun, Options{})
	var buf bytes.Buffer
	PrintTable(&buf, res)
	out := buf.String()
	for _, want := range []string{"every point: budgets -/-, lanes 1, profile default, seed 1", "MOPS/S", "LOCAL µs p50/p99/p99.9", "2.000"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func TestProgress(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(3 * time.Second); return now }
	var log bytes.Buffer
	p := NewProgress(&log, false, "rdmasim: bench", 0, clock)
	for d := range 5 {
		p.Update(d, 4, time.Minute)
	}
	if got := strings.Count(log.String(), "\n"); got != 2 {
		t.Errorf("%d log lines every 5 s of 3 s steps:\n%s", got, log.String())
	}
	var tty bytes.Buffer
	p = NewProgress(&tty, true, "x", 0, clock)
	p.Update(2, 4, 90*time.Second)
	p.Done()
	if s := tty.String(); !strings.Contains(s, "\r\033[K[###############...............] 2/4 points, ETA 1m30s") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("terminal: %q", s)
	}
}

func TestSweepHeartbeat(t *testing.T) {
	pts := testGrid().Points()[:3]
	slow := func(ctx context.Context, p Point) (Measurement, error) {
		time.Sleep(40 * time.Millisecond)
		return fakeRun(ctx, p)
	}
	var calls, beats int
	last := -1
	_, err := Sweep(context.Background(), pts, slow, Options{Workers: 1, Heartbeat: 5 * time.Millisecond,
		Progress: func(done, total int, eta time.Duration) {
			calls++
			if done == last {
				beats++
			}
			last = done
			if total != 3 || eta < 0 {
				t.Errorf("progress %d/%d eta %v", done, total, eta)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if beats < 3 || calls < 4 {
		t.Errorf("%d calls, %d heartbeats", calls, beats)
	}
}
