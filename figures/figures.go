package figures

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/stats"
)

// Size of one panel of a grid, and of a single-panel figure.
const (
	panelW  = 3 * vg.Inch
	panelH  = 2.4 * vg.Inch
	singleW = 5 * vg.Inch
	singleH = 3.5 * vg.Inch
	legendW = 1.8 * vg.Inch
)

// ThroughputGrid draws the throughput of the lock table: one panel per node
// count (rows, ascending) and key count (columns, ascending), titled "5
// nodes, 100 keys"; in each, x is the threads per node, y the throughput in
// Mops/s (simulated), one line per lock (colour) and p_local (dash pattern:
// solid for the largest, then dashes). One legend on the right names both.
// Two rows for the same panel, lock, p_local and thread count are an error:
// give rows of one grid of budgets, lanes, profile and seed.
func ThroughputGrid(rows []bench.Row, prefix string) error {
	if len(rows) == 0 {
		return fmt.Errorf("figures: throughput grid: no rows")
	}
	nodes := distinct(rows, func(r bench.Row) int { return r.Point.Nodes })
	keys := distinct(rows, func(r bench.Row) int { return r.Point.Keys })
	locks := distinct(rows, func(r bench.Row) string { return r.Point.Lock })
	locals := distinct(rows, func(r bench.Row) float64 { return r.Point.Local })
	slices.Reverse(locals) // 1 first: solid
	colors := newPalette(locks)
	dashes := map[float64][]vg.Length{}
	for i, l := range locals {
		dashes[l] = plotutil.Dashes(i)
	}
	plots := make([][]*plot.Plot, len(nodes))
	for j, n := range nodes {
		plots[j] = make([]*plot.Plot, len(keys))
		for i, k := range keys {
			var panel []bench.Row
			for _, r := range rows {
				if r.Point.Nodes == n && r.Point.Keys == k {
					panel = append(panel, r)
				}
			}
			p := newPlot(fmt.Sprintf("%d nodes, %d keys", n, k), "threads per node", "Mops/s")
			p.Y.Min = 0
			cs, err := curves(panel, func(r bench.Row) string { return r.Point.Lock + "\x00" + bench.FormatFloat(r.Point.Local) },
				func(r bench.Row) float64 { return float64(r.Point.Threads) }, mops)
			if err != nil {
				return fmt.Errorf("figures: throughput grid: %v", err)
			}
			for _, lock := range locks {
				for _, l := range locals {
					if c := cs[lock+"\x00"+bench.FormatFloat(l)]; c != nil {
						if err := addLine(p, c.xy, colors[lock], dashes[l]); err != nil {
							return err
						}
					}
				}
			}
			plots[j][i] = p
		}
	}
	var entries []legendEntry
	for _, l := range locks {
		entries = append(entries, legendEntry{name: l, color: colors[l]})
	}
	for _, l := range locals {
		entries = append(entries, legendEntry{name: "p_local " + bench.FormatFloat(l), color: color.Gray{Y: 60}, dashes: dashes[l]})
	}
	return drawGrid(prefix, plots, panelW, panelH, legendW, func(c draw.Canvas) { drawLegend(c, "", entries) })
}

// LatencyECDF draws, for the rows of one node × thread configuration (nodes
// and threads; 0 takes the rows' largest), the empirical CDF of the threads'
// mean operation latencies (one value per thread, x in µs on a log scale):
// one panel per p_local (rows, descending) and key count (columns,
// ascending), one line per lock. The rows must carry their per-thread means
// (JSON output, or the raw file joined with bench.ReadRawFile).
func LatencyECDF(rows []bench.Row, nodes, threads int, prefix string) error {
	if nodes == 0 {
		nodes = slices.Max(distinct(rows, func(r bench.Row) int { return r.Point.Nodes }))
	}
	var sel []bench.Row
	for _, r := range rows {
		if r.Point.Nodes == nodes && (threads == 0 || r.Point.Threads == threads) {
			sel = append(sel, r)
		}
	}
	if threads == 0 && len(sel) > 0 {
		threads = slices.Max(distinct(sel, func(r bench.Row) int { return r.Point.Threads }))
		sel = slices.DeleteFunc(sel, func(r bench.Row) bool { return r.Point.Threads != threads })
	}
	if len(sel) == 0 {
		return fmt.Errorf("figures: latency ECDF: no rows of %d nodes × %d threads", nodes, threads)
	}
	locals := distinct(sel, func(r bench.Row) float64 { return r.Point.Local })
	slices.Reverse(locals)
	keys := distinct(sel, func(r bench.Row) int { return r.Point.Keys })
	locks := distinct(sel, func(r bench.Row) string { return r.Point.Lock })
	colors := newPalette(locks)
	plots := make([][]*plot.Plot, len(locals))
	for j, l := range locals {
		plots[j] = make([]*plot.Plot, len(keys))
		for i, k := range keys {
			p := newPlot(fmt.Sprintf("p_local %s, %d keys", bench.FormatFloat(l), k), "mean latency per thread (µs)", "fraction of threads")
			p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
			p.Y.Min, p.Y.Max = 0, 1
			seen := map[string]bool{}
			for _, lock := range locks {
				for _, r := range sel {
					if r.Point.Lock != lock || r.Point.Local != l || r.Point.Keys != k {
						continue
					}
					if seen[lock] {
						return fmt.Errorf("figures: latency ECDF: two rows for %s, p_local %v, %d keys (filter the rows first)", lock, l, k)
					}
					seen[lock] = true
					var means []float64
					for _, t := range r.Measurement.ThreadMeans {
						means = append(means, t.Mean/1e3)
					}
					if len(r.Measurement.ThreadMeans) == 0 {
						return fmt.Errorf("figures: latency ECDF: %s has no per-thread means (read the JSON output, or join the raw file)", r.Point)
					}
					means, _ = positive(means)
					if len(means) == 0 {
						continue
					}
					xs, ys := stats.ECDF(means)
					line, err := plotter.NewLine(ecdfLine(xs, ys))
					if err != nil {
						return err
					}
					line.Color, line.Width, line.StepStyle = colors[lock], vg.Points(1.2), plotter.PostStep
					p.Add(line)
				}
			}
			plots[j][i] = p
		}
	}
	var entries []legendEntry
	for _, l := range locks {
		entries = append(entries, legendEntry{name: l, color: colors[l]})
	}
	title := fmt.Sprintf("%d nodes × %d threads", nodes, threads)
	return drawGrid(prefix, plots, panelW, panelH, legendW, func(c draw.Canvas) { drawLegend(c, title, entries) })
}

// describe names what the rows have in common, for a title: the lock when
// there is one, the nodes × threads, keys and p_local when they do not vary.
func describe(rows []bench.Row, skipThreads bool) string {
	one := func(f func(bench.Row) string) (string, bool) {
		v := f(rows[0])
		for _, r := range rows {
			if f(r) != v {
				return "", false
			}
		}
		return v, true
	}
	var parts []string
	if v, ok := one(func(r bench.Row) string { return r.Point.Lock }); ok {
		parts = append(parts, v)
	}
	n, okN := one(func(r bench.Row) string { return fmt.Sprint(r.Point.Nodes) })
	t, okT := one(func(r bench.Row) string { return fmt.Sprint(r.Point.Threads) })
	switch {
	case okN && okT && !skipThreads:
		parts = append(parts, n+" nodes × "+t+" threads")
	case okN:
		parts = append(parts, n+" nodes")
	}
	if v, ok := one(func(r bench.Row) string { return fmt.Sprint(r.Point.Keys) }); ok {
		parts = append(parts, v+" keys")
	}
	if v, ok := one(func(r bench.Row) string { return bench.FormatFloat(r.Point.Local) }); ok {
		parts = append(parts, "p_local "+v)
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// single draws one panel with one line per name of lineOf, x and y by the
// functions given, and a legend inside the panel.
func single(rows []bench.Row, prefix, what, title, xlabel string, lineOf func(bench.Row) string, x func(bench.Row) float64, legendTitle string, order func(a, b string) int) error {
	if len(rows) == 0 {
		return fmt.Errorf("figures: %s: no rows", what)
	}
	cs, err := curves(rows, lineOf, x, mops)
	if err != nil {
		return fmt.Errorf("figures: %s: %v", what, err)
	}
	var names []string
	for n := range cs {
		names = append(names, n)
	}
	slices.SortFunc(names, order)
	p := newPlot(title, xlabel, "Mops/s")
	p.Y.Min = 0
	var entries []legendEntry
	for i, n := range names {
		c := plotutil.DarkColors[i%len(plotutil.DarkColors)]
		if err := addLine(p, cs[n].xy, c, nil); err != nil {
			return err
		}
		entries = append(entries, legendEntry{name: n, color: c})
	}
	return drawGrid(prefix, [][]*plot.Plot{{p}}, singleW, singleH, legendW, func(c draw.Canvas) { drawLegend(c, legendTitle, entries) })
}

// BudgetStudy draws ALock's throughput against its cohort budgets: x the
// local budget, one line per remote budget (0 stands for the lock's
// default), y Mops/s. Give it the rows of one configuration (lock, nodes,
// threads, keys, p_local) with the budgets varying.
func BudgetStudy(rows []bench.Row, prefix string) error {
	title := "budgets"
	if len(rows) > 0 {
		title = describe(rows, false)
	}
	return single(rows, prefix, "budget study", title, "local budget",
		func(r bench.Row) string { return fmt.Sprintf("%d", r.Point.RemoteBudget) },
		func(r bench.Row) float64 { return float64(r.Point.LocalBudget) }, "remote budget", numeric)
}

// Loopback draws the single-node (loopback) throughput: x the threads, one
// line per lock, y Mops/s.
func Loopback(rows []bench.Row, prefix string) error {
	title := "loopback"
	if len(rows) > 0 {
		title = "loopback: " + describe(rows, true)
	}
	return single(rows, prefix, "loopback", title, "threads",
		func(r bench.Row) string { return r.Point.Lock },
		func(r bench.Row) float64 { return float64(r.Point.Threads) }, "", stringsCompare)
}

// QPs draws the throughput against the total number of queue pairs
// (threads × nodes × lanes, bench.Point.QPs): one line per lock.
func QPs(rows []bench.Row, prefix string) error {
	title := "queue pairs"
	if len(rows) > 0 {
		title = "queue pairs: " + describe(rows, true)
	}
	return single(rows, prefix, "QPs", title, "QPs (threads × nodes × lanes)",
		func(r bench.Row) string { return r.Point.Lock },
		func(r bench.Row) float64 { return float64(r.Point.QPs()) }, "", stringsCompare)
}

func stringsCompare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// numeric orders decimal names by value.
func numeric(a, b string) int {
	var x, y int
	fmt.Sscan(a, &x)
	fmt.Sscan(b, &y)
	return x - y
}

// ECDFCompare draws the empirical CDFs of two samples of latencies, a and b
// in nanoseconds (hardware and simulator), on one plot: x in µs on a log
// scale. The title gets a second line with the Kolmogorov–Smirnov statistic
// and p-value of the two (stats.KS). Values ≤ 0 cannot be shown on a log
// axis and are left out (the test uses every value).
func ECDFCompare(a, b []float64, labelA, labelB, title, prefix string) error {
	if len(a) == 0 || len(b) == 0 {
		return fmt.Errorf("figures: ECDF comparison: an empty sample (%d and %d values)", len(a), len(b))
	}
	d, pv := stats.KS(a, b)
	p := newPlot(fmt.Sprintf("%s\nKS D = %.3f, p = %.3g (n = %d, %d)", title, d, pv, len(a), len(b)), "latency (µs)", "fraction of operations")
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Y.Min, p.Y.Max = 0, 1
	var entries []legendEntry
	for i, s := range [][]float64{a, b} {
		us := make([]float64, len(s))
		for k, v := range s {
			us[k] = v / 1e3
		}
		us, _ = positive(us)
		if len(us) == 0 {
			return fmt.Errorf("figures: ECDF comparison: no positive values in %s", []string{labelA, labelB}[i])
		}
		xs, ys := stats.ECDF(us)
		line, err := plotter.NewLine(ecdfLine(xs, ys))
		if err != nil {
			return err
		}
		line.Color, line.Width, line.StepStyle = plotutil.DarkColors[i], vg.Points(1.5), plotter.PostStep
		line.Dashes = plotutil.Dashes(i)
		p.Add(line)
		entries = append(entries, legendEntry{name: []string{labelA, labelB}[i], color: line.Color, dashes: line.Dashes})
	}
	return drawGrid(prefix, [][]*plot.Plot{{p}}, singleW, singleH, legendW, func(c draw.Canvas) { drawLegend(c, "", entries) })
}

// logTicks marks a log axis: powers of ten (and 2 and 5 times them) when
// the axis spans a decade or more, otherwise ordinary ticks, so that an
// axis of 1.2 … 3.5 µs is labelled too.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi < 10*lo {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	ticks := plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	if hi < 1000*lo {
		// Label the 2× and 5× minor ticks too.
		for i, t := range ticks {
			if t.Label != "" {
				continue
			}
			m := t.Value / math.Pow(10, math.Floor(math.Log10(t.Value)+1e-9))
			if math.Abs(m-2) < 1e-6 || math.Abs(m-5) < 1e-6 {
				ticks[i].Label = strconv.FormatFloat(t.Value, 'g', -1, 64)
			}
		}
	}
	return ticks
}
