// Package figures draws the figures of timed mode from the rows of bench
// sweeps, with gonum.org/v1/plot.
//
// Every function takes rows (bench.Row: a point and its measurement) and a
// file prefix, and writes <prefix>.svg and <prefix>.png (120 dpi, white
// background), each atomically (a temporary file renamed over the name), so
// a figure is either the old one or the whole new one. Throughputs are drawn
// in millions of operations per simulated second, latencies in µs.
//
//   - ThroughputGrid: one panel per node count (rows) and key count
//     (columns), x threads per node, y throughput; colour the lock, dash
//     pattern p_local; one legend for the whole grid.
//   - LatencyECDF: for one nodes × threads configuration, one panel per
//     p_local (rows) and key count (columns): the empirical CDF of the
//     threads' mean latencies (one value per thread, log x axis), colour the
//     lock. It needs the per-thread means (JSON output or the raw file).
//   - BudgetStudy: ALock's throughput, x the local budget, a line per remote
//     budget.
//   - Loopback: one node, x threads, a line per lock.
//   - QPs: throughput against the total queue pairs, threads × nodes × lanes.
//   - ECDFCompare: two samples of latencies (hardware and simulator) as two
//     ECDFs on one plot, with their two-sample Kolmogorov–Smirnov statistic
//     and p-value (package stats) in the title.
//
// A figure refuses rows that would draw two values at one point (say two
// seeds of one configuration): select the rows of one grid first. The same
// rows give byte-identical SVG files (gonum's SVG output has no timestamps or
// random identifiers; a test checks it), so figures can be kept under
// version control and diffed. PNG files are not compared.
package figures
