package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rdmasim/rdmasim/bench"
)

// fakeSim replaces the timed simulation by a runner whose measurement
// depends only on the point; spin-naive reports a finding. before, if set,
// runs before each point.
func fakeSim(t *testing.T, before func(ctx context.Context, p bench.Point)) {
	t.Helper()
	old := simRunner
	t.Cleanup(func() { simRunner = old })
	simRunner = func(profile string) (bench.Runner, error) {
		if profile == "nope" {
			return nil, fmt.Errorf("unknown profile %q", profile)
		}
		return func(ctx context.Context, p bench.Point) (bench.Measurement, error) {
			if before != nil {
				before(ctx, p)
			}
			if err := ctx.Err(); err != nil {
				return bench.Measurement{}, err
			}
			base := int64(1000 * (len(p.Lock) + p.Threads))
			loc := []int64{base, base + 10, base + 500}
			rem := []int64{3 * base, 3*base + 10, 4 * base}
			m := bench.Measurement{Ops: p.Nodes * p.Threads * 100, Throughput: float64(p.Nodes*p.Threads) * 1e6 * (2 - p.Local) * float64(max(p.Lanes, 1)),
				Local: bench.Summarize(loc), Remote: bench.Summarize(rem), All: bench.Summarize(append(loc, rem...)), Events: 42, Wall: 0.01}
			for n := range p.Nodes {
				for th := range p.Threads {
					m.ThreadMeans = append(m.ThreadMeans, bench.ThreadMean{Node: n, Thread: th, Mean: float64(base + int64(100*(n+th))), Ops: 10})
				}
			}
			if p.Lock == "spin-naive" {
				m.Findings = []string{"mutual exclusion: two threads in the critical section"}
			}
			return m, nil
		}, nil
	}
}

var benchArgs = []string{"bench", "--alg", "alock,spin", "--nodes", "2", "--threads", "1,2", "--keys", "10", "--local", "1,.9", "--progress=false"}

func TestBenchTableAndFiles(t *testing.T) {
	fakeSim(t, nil)
	dir := t.TempDir()
	csvPath, rawPath := filepath.Join(dir, "r.csv"), filepath.Join(dir, "raw.csv")
	out, stderr, code := rdmasim(t, append(benchArgs, "--csv", csvPath, "--raw", rawPath)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"LOCK", "MOPS/S", "LOCAL µs p50/p99/p99.9", "REMOTE µs", "alock  2      1        10    1", "spin"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	res, err := bench.ReadFile(csvPath)
	if err != nil || len(res.Rows) != 8 || res.Interrupted {
		t.Fatalf("CSV: %v, %d rows", err, len(res.Rows))
	}
	if err := bench.ReadRawFile(rawPath, &res); err != nil || len(res.Rows[7].Measurement.ThreadMeans) != 4 {
		t.Errorf("raw: %v", err)
	}
}

func TestBenchShardsMerge(t *testing.T) {
	fakeSim(t, nil)
	dir := t.TempDir()
	whole, _, code := rdmasim(t, append(benchArgs, "--format", "json", "--workers", "1")...)
	if code != 0 {
		t.Fatal(code)
	}
	var files []string
	for i := range 3 {
		f := filepath.Join(dir, fmt.Sprintf("s%d.json", i))
		args := append(benchArgs, "--format", "json", "--shard", fmt.Sprintf("%d/3", i))
		if i == 1 {
			f = filepath.Join(dir, "s1.csv") // shards in either format
			args = append(args, "--csv", f)
		}
		out, stderr, code := rdmasim(t, args...)
		if code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		if i != 1 {
			os.WriteFile(f, []byte(out), 0o644)
		}
		files = append(files, f)
	}
	out, stderr, code := rdmasim(t, append([]string{"bench", "merge", "--format", "json"}, files...)...)
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	// The CSV shard has no per-thread means; compare the rest.
	a, _ := bench.ReadJSON(strings.NewReader(whole))
	b, _ := bench.ReadJSON(strings.NewReader(out))
	for i := range a.Rows {
		a.Rows[i].Measurement.ThreadMeans, b.Rows[i].Measurement.ThreadMeans = nil, nil
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("merged shards differ from the whole sweep:\n%v\n%v", a, b)
	}
	_, stderr, code = rdmasim(t, "bench", "merge", files[0], files[2])
	if code != 2 || !strings.Contains(stderr, "3 of the grid's 8 points have no row (points 2-4)") {
		t.Errorf("missing shard: exit %d: %s", code, stderr)
	}
	_, stderr, code = rdmasim(t, "bench", "merge", "--partial", files[0], files[2])
	if code != 0 || !strings.Contains(stderr, "warning: 3 of the grid's 8 points have no row") {
		t.Errorf("--partial: exit %d: %s", code, stderr)
	}
	_, stderr, code = rdmasim(t, "bench", "merge", files[0], files[0])
	if code != 2 || !strings.Contains(stderr, "has a row in "+files[0]+" and in "+files[0]) {
		t.Errorf("a shard twice: exit %d: %s", code, stderr)
	}
	other := filepath.Join(dir, "other.json")
	o, _, _ := rdmasim(t, "bench", "--alg", "mcs", "--nodes", "2", "--threads", "1", "--keys", "10", "--format", "json", "--progress=false")
	os.WriteFile(other, []byte(o), 0o644)
	_, stderr, code = rdmasim(t, "bench", "merge", files[0], other)
	if code != 2 || !strings.Contains(stderr, "not shards of one sweep") {
		t.Errorf("two grids: exit %d: %s", code, stderr)
	}
}

func TestBenchErrors(t *testing.T) {
	fakeSim(t, nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--alg", "nope"}, `unknown algorithm "nope"`},
		{[]string{"--alg", "alock,,spin"}, "an empty item"},
		{[]string{"--threads", "2,x"}, `--threads "2,x": "x" is not a whole number`},
		{[]string{"--threads", "0"}, "want ≥ 1"},
		{[]string{"--local", "1.5"}, "want a fraction"},
		{[]string{"--nodes", "20", "--keys", "10"}, "keys 10: want ≥ nodes (20)"},
		{[]string{"--shard", "3/2"}, "shard index 3 is not below the shard count 2"},
		{[]string{"--shard", "x"}, "want i/n"},
		{[]string{"--format", "xml"}, "want table or json"},
		{[]string{"--profile", "nope"}, `--profile nope: unknown profile "nope"`},
		{[]string{"--duration", "0s"}, "duration 0ns: want > 0"},
		{[]string{"stray"}, "unexpected argument"},
	} {
		_, stderr, code := rdmasim(t, append([]string{"bench", "--progress=false"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q, want one line with %q", c.args, code, stderr, c.want)
		}
	}
}

// TestBenchTimed runs the real timed simulation on small points: every lock
// completes operations, and the same flags give the same bytes.
func TestBenchTimed(t *testing.T) {
	args := []string{"bench", "--progress=false", "--alg", "alock,spin,mcs", "--nodes", "2", "--threads", "2", "--keys", "4",
		"--duration", "200us", "--warmup", "50us", "--format", "json"}
	out, stderr, code := rdmasim(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, alg := range []string{"alock", "spin", "mcs"} {
		if !strings.Contains(out, `"lock": "`+alg+`"`) {
			t.Errorf("no row for %s:\n%s", alg, out)
		}
	}
	if strings.Contains(out, `"ops": 0,`) {
		t.Errorf("a point completed no operation:\n%s", out)
	}
	again, _, _ := rdmasim(t, args...)
	strip := func(s string) string { return regexp.MustCompile(`"wall_s": [0-9.e-]+`).ReplaceAllString(s, "") }
	if strip(out) != strip(again) {
		t.Errorf("two runs differ")
	}
}

func TestBenchFindings(t *testing.T) {
	fakeSim(t, nil)
	out, stderr, code := rdmasim(t, "bench", "--alg", "spin-naive,spin", "--nodes", "2", "--threads", "1", "--keys", "4", "--progress=false")
	if code != 1 || !strings.Contains(stderr, "1 of 2 points had findings") || !strings.Contains(out, "finding: mutual exclusion") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestBenchInterrupt: Ctrl-C keeps the rows finished, writes them, exits 1.
func TestBenchInterrupt(t *testing.T) {
	stop := fakeStop(t)
	var n atomic.Int32
	fakeSim(t, func(ctx context.Context, _ bench.Point) {
		if n.Add(1) == 4 {
			stop()
			<-ctx.Done() // the point is cut short
		}
	})
	csvPath := filepath.Join(t.TempDir(), "r.csv")
	out, stderr, code := rdmasim(t, append(benchArgs, "--workers", "1", "--csv", csvPath)...)
	if code != 1 || !strings.Contains(stderr, "interrupted after 3 of 8 points") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res, err := bench.ReadFile(csvPath)
	if err != nil || len(res.Rows) != 3 || !res.Interrupted {
		t.Errorf("CSV: %v, %d rows, interrupted %v", err, len(res.Rows), res.Interrupted)
	}
	if strings.Count(out, "alock") != 3 {
		t.Errorf("table:\n%s", out)
	}
}

func TestBenchProgressLog(t *testing.T) {
	fakeSim(t, nil)
	fakeClock(t, nil)
	_, stderr, code := rdmasim(t, "bench", "--alg", "alock", "--nodes", "2", "--threads", "1,2,3,4", "--keys", "4", "--workers", "1", "--progress-interval", "2s")
	if code != 0 || !strings.Contains(stderr, "rdmasim: bench: 2/4 points, ETA") {
		t.Errorf("exit %d: %q", code, stderr)
	}
}

func TestFigures(t *testing.T) {
	fakeSim(t, nil)
	dir := t.TempDir()
	out, stderr, code := rdmasim(t, "figures", "--quick", "--out", dir, "--progress=false")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range figureNames {
		for _, ext := range []string{".svg", ".png", ".csv", ".json"} {
			if st, err := os.Stat(filepath.Join(dir, name+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s: %v", name, ext, err)
			}
		}
		if !strings.Contains(out, name+": ") {
			t.Errorf("no line for %s in\n%s", name, out)
		}
	}
	// Redraw from the files: the ECDF from the JSON, or the CSV and its raw file.
	dir2 := t.TempDir()
	_, stderr, code = rdmasim(t, "figures", "--from", filepath.Join(dir, "grid.csv"), "--which", "grid", "--out", dir2)
	if code != 0 {
		t.Fatalf("--from: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "grid.svg"))
	b, _ := os.ReadFile(filepath.Join(dir2, "grid.svg"))
	if string(a) != string(b) {
		t.Error("the grid drawn from its CSV differs from the one drawn after the sweep")
	}
	_, stderr, code = rdmasim(t, "figures", "--from", filepath.Join(dir, "ecdf.csv"), "--which", "ecdf", "--out", dir2)
	if code != 2 || !strings.Contains(stderr, "no per-thread means") {
		t.Errorf("ECDF from a CSV without --raw: exit %d: %s", code, stderr)
	}
	_, stderr, code = rdmasim(t, "figures", "--from", filepath.Join(dir, "ecdf.json"), "--which", "ecdf", "--out", dir2)
	if code != 0 {
		t.Errorf("ECDF from JSON: exit %d: %s", code, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", filepath.Join(dir, "grid.csv")}, "name the figures the files are for with --which"},
		{[]string{"--which", "grid,pie"}, `no figure "pie"`},
		{[]string{"--raw", "x.csv"}, "--raw goes with --from"},
		{[]string{"--from", filepath.Join(dir, "nope.csv"), "--which", "grid"}, "no such file"},
		{[]string{"--from", filepath.Join(dir, "grid.csv"), "--which", "grid", "--quick"}, "with --from none runs"},
	} {
		_, stderr, code := rdmasim(t, append([]string{"figures", "--out", dir2}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

func TestBenchRunnerError(t *testing.T) {
	fakeSim(t, nil)
	inner := simRunner
	simRunner = func(profile string) (bench.Runner, error) {
		r, _ := inner(profile)
		return func(ctx context.Context, p bench.Point) (bench.Measurement, error) {
			if p.Lock == "spin" {
				return bench.Measurement{}, fmt.Errorf("spin cannot run on %d nodes", p.Nodes)
			}
			return r(ctx, p)
		}, nil
	}
	out, stderr, code := rdmasim(t, append(benchArgs, "--workers", "1")...)
	if code != 2 || !strings.HasPrefix(stderr, "rdmasim: bench: point 4 (spin n2 t1") || !strings.Contains(stderr, "spin cannot run on 2 nodes") {
		t.Errorf("exit %d: %q", code, stderr)
	}
	if strings.Count(out, "alock") != 4 {
		t.Errorf("the rows before the error are not printed:\n%s", out)
	}
	_, stderr, code = rdmasim(t, "bench", "--alg", "spin", "--nodes", "2", "--keys", "4", "--progress=false", "--workers", "1")
	if code != 2 || !strings.HasPrefix(stderr, "rdmasim: bench: point 0 (spin") {
		t.Errorf("exit %d: %q", code, stderr)
	}
}

func TestCalibrateCommand(t *testing.T) {
	out, stderr, code := rdmasim(t, "calibrate")
	if code != 0 || !strings.Contains(out, "C8") || !strings.Contains(out, "sum of squared relative errors") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	dir := t.TempDir()
	targets := filepath.Join(dir, "t.json")
	if err := os.WriteFile(targets, []byte(`[{"id":"x","value":2200,"bench":"closed-latency","verb":"read"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "p.json")
	out, stderr, code = rdmasim(t, "calibrate", "--targets", targets, "--fit", "--params", "wire_ns", "--out", prof, "--name", "mine")
	if code != 0 || !strings.Contains(out, "+0.0%") && !strings.Contains(out, "-0.0%") {
		t.Fatalf("fit: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code = rdmasim(t, "calibrate", "--targets", targets, "--profile", prof)
	if code != 0 || !strings.Contains(out, "profile mine") {
		t.Fatalf("fitted profile: exit %d\n%s%s", code, out, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fit"}, "--fit needs --out"},
		{[]string{"--profile", "nope"}, `no such built-in profile`},
		{[]string{"--targets", filepath.Join(dir, "none.json")}, "no such file"},
		{[]string{"--format", "xml"}, "want text or json"},
		{[]string{"--fit", "--out", prof, "--params", "bogus_ns"}, `no parameter "bogus_ns"`},
	} {
		_, stderr, code := rdmasim(t, append([]string{"calibrate"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q, want %q", c.args, code, stderr, c.want)
		}
	}
}

// TestFiguresTimed draws every figure from the quick sweeps of the real timed
// simulation.
func TestFiguresTimed(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := rdmasim(t, "figures", "--quick", "--out", dir, "--progress=false")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	for _, name := range []string{"grid", "ecdf", "budget", "loopback", "qps"} {
		for _, ext := range []string{".svg", ".png", ".csv", ".json"} {
			if st, err := os.Stat(filepath.Join(dir, name+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s: %v", name, ext, err)
			}
		}
	}
}

// TestCheckTimed: check --timed runs every schedule in timed mode; a naive
// lock's timed counterexample is saved and replays, times shown.
func TestCheckTimed(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := rdmasim(t, "check", "--timed", "cx3", "--alg", "spin-naive,spin", "--threads", "2,2", "--acquires", "20",
		"--schedules", "40", "--progress=false", "--out", dir)
	if code != 0 || !strings.Contains(out, "timed=cx3") || !strings.Contains(out, "violation: mutual exclusion") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "spin-naive-mutual-exclusion-*.json"))
	if len(files) != 1 {
		t.Fatalf("replay files: %v", files)
	}
	out, stderr, code = rdmasim(t, "replay", files[0])
	if code != 0 || !strings.Contains(out, "µs") || !strings.Contains(out, "mutual exclusion") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, stderr)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--timed", "nope"}, "no such built-in profile"},
		{[]string{"--timed", "cx3", "--strategy", "dfs"}, "not dfs"},
	} {
		_, stderr, code := rdmasim(t, append([]string{"check", "--progress=false", "--out", dir}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
