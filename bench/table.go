package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// PrintTable writes the rows of res as an aligned table: one line per point,
// throughput in millions of operations per simulated second, latencies in
// microseconds (p50/p99/p99.9, local and remote operations apart). Columns of
// settings that are the same on every row (budgets, lanes, profile, seed) are
// left out and named once in a line above the table. Findings follow the
// table, one line each.
func PrintTable(w io.Writer, res Result) {
	rows := res.Rows
	same := func(f func(Point) string) bool {
		for _, r := range rows {
			if f(r.Point) != f(rows[0].Point) {
				return false
			}
		}
		return true
	}
	type col struct {
		head string
		f    func(Point) string
	}
	optional := []col{
		{"BUDGETS", func(p Point) string { return budgetText(p.LocalBudget) + "/" + budgetText(p.RemoteBudget) }},
		{"LANES", func(p Point) string { return fmt.Sprint(max(p.Lanes, 1)) }},
		{"PROFILE", func(p Point) string { return profileText(p.Profile) }},
		{"SEED", func(p Point) string { return fmt.Sprint(p.Seed) }},
		{"DURATION", func(p Point) string {
			return fmt.Sprintf("%v+%v", time.Duration(p.Warmup), time.Duration(p.Duration))
		}},
	}
	var shown []col
	var common []string
	for _, c := range optional {
		if len(rows) > 0 && same(c.f) {
			common = append(common, strings.ToLower(c.head)+" "+c.f(rows[0].Point))
			continue
		}
		shown = append(shown, c)
	}
	if len(common) > 0 {
		fmt.Fprintf(w, "every point: %s (budgets local/remote, -: the lock's default; duration: warm-up+measured, simulated)\n", strings.Join(common, ", "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"LOCK", "NODES", "THREADS", "KEYS", "LOCAL"}
	for _, c := range shown {
		head = append(head, c.head)
	}
	head = append(head, "OPS", "MOPS/S", "LOCAL µs p50/p99/p99.9", "REMOTE µs p50/p99/p99.9", "WALL s")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		p, m := r.Point, r.Measurement
		f := []string{p.Lock, fmt.Sprint(p.Nodes), fmt.Sprint(p.Threads), fmt.Sprint(p.Keys), FormatFloat(p.Local)}
		for _, c := range shown {
			f = append(f, c.f(p))
		}
		f = append(f, fmt.Sprint(m.Ops), fmt.Sprintf("%.3f", m.Throughput/1e6), latText(m.Local), latText(m.Remote), fmt.Sprintf("%.1f", m.Wall))
		fmt.Fprintln(tw, strings.Join(f, "\t"))
	}
	tw.Flush()
	for _, r := range rows {
		for _, f := range r.Measurement.Findings {
			fmt.Fprintf(w, "%s: finding: %s\n", r.Point, f)
		}
	}
}

func latText(l Latency) string {
	if l.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s/%s/%s", us(l.P50), us(l.P99), us(l.P999))
}

// us writes ns as microseconds with three significant digits or more.
func us(ns float64) string {
	u := ns / 1e3
	switch {
	case u >= 100:
		return fmt.Sprintf("%.0f", u)
	case u >= 10:
		return fmt.Sprintf("%.1f", u)
	}
	return fmt.Sprintf("%.2f", u)
}

func budgetText(b int) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprint(b)
}

func profileText(p string) string {
	if p == "" {
		return "default"
	}
	return p
}
