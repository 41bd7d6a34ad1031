package bench

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/rdmasim/rdmasim/traces"
)

// Columns are the columns of the CSV file of a sweep, in order: one row per
// point. Latencies are nanoseconds of simulated time, throughput operations
// per simulated second; see the package documentation for each column.
var Columns = []string{
	"index", "lock", "nodes", "threads", "keys", "local", "local_budget", "remote_budget", "lanes", "profile", "seed",
	"duration_ns", "warmup_ns", "ops", "throughput",
	"lat_all_n", "lat_all_mean", "lat_all_p50", "lat_all_p99", "lat_all_p999",
	"lat_local_n", "lat_local_mean", "lat_local_p50", "lat_local_p99", "lat_local_p999",
	"lat_remote_n", "lat_remote_mean", "lat_remote_p50", "lat_remote_p99", "lat_remote_p999",
	"events", "wall_s", "findings", "grid", "grid_points", "shard",
}

// RawColumns are the columns of the raw per-thread file: one row per thread
// of every point, with the point's index and grid to join it to the rows.
var RawColumns = []string{"index", "grid", "lock", "nodes", "threads", "keys", "local", "node", "thread", "mean_ns", "ops"}

func pointFields(r Row) []string {
	p := r.Point
	return []string{strconv.Itoa(r.Index), p.Lock, strconv.Itoa(p.Nodes), strconv.Itoa(p.Threads), strconv.Itoa(p.Keys),
		FormatFloat(p.Local), strconv.Itoa(p.LocalBudget), strconv.Itoa(p.RemoteBudget), strconv.Itoa(p.Lanes), p.Profile,
		strconv.FormatInt(p.Seed, 10), strconv.FormatInt(p.Duration, 10), strconv.FormatInt(p.Warmup, 10)}
}

func latFields(l Latency) []string {
	return []string{strconv.Itoa(l.N), FormatFloat(l.Mean), FormatFloat(l.P50), FormatFloat(l.P99), FormatFloat(l.P999)}
}

// WriteCSV writes the rows of res as CSV with a header line of Columns.
func WriteCSV(w io.Writer, res Result) error {
	cw := csv.NewWriter(w)
	cw.Write(Columns)
	shard := fmt.Sprintf("%d/%d", res.Shard, max(res.Shards, 1))
	for _, r := range res.Rows {
		rec := pointFields(r)
		m := r.Measurement
		rec = append(rec, strconv.Itoa(m.Ops), FormatFloat(m.Throughput))
		rec = append(rec, latFields(m.All)...)
		rec = append(rec, latFields(m.Local)...)
		rec = append(rec, latFields(m.Remote)...)
		findings := ""
		if len(m.Findings) > 0 {
			b, _ := json.Marshal(m.Findings)
			findings = string(b)
		}
		rec = append(rec, strconv.FormatInt(m.Events, 10), FormatFloat(m.Wall), findings, res.Grid, strconv.Itoa(res.Points), shard)
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// WriteRawCSV writes the per-thread means of every row of res, with a header
// line of RawColumns.
func WriteRawCSV(w io.Writer, res Result) error {
	cw := csv.NewWriter(w)
	cw.Write(RawColumns)
	for _, r := range res.Rows {
		p := r.Point
		for _, t := range r.Measurement.ThreadMeans {
			cw.Write([]string{strconv.Itoa(r.Index), res.Grid, p.Lock, strconv.Itoa(p.Nodes), strconv.Itoa(p.Threads),
				strconv.Itoa(p.Keys), FormatFloat(p.Local), strconv.Itoa(t.Node), strconv.Itoa(t.Thread),
				FormatFloat(t.Mean), strconv.Itoa(t.Ops)})
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes res as one indented JSON object (the fields of Result,
// the rows with their per-thread means).
func WriteJSON(w io.Writer, res Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// SaveCSV, SaveRawCSV and SaveJSON write res to path atomically (a
// temporary file renamed over path; see traces.WriteFile).
func SaveCSV(path string, res Result) error {
	return traces.WriteFile(path, func(w io.Writer) error { return WriteCSV(w, res) })
}

// SaveRawCSV: see SaveCSV.
func SaveRawCSV(path string, res Result) error {
	return traces.WriteFile(path, func(w io.Writer) error { return WriteRawCSV(w, res) })
}

// SaveJSON: see SaveCSV.
func SaveJSON(path string, res Result) error {
	return traces.WriteFile(path, func(w io.Writer) error { return WriteJSON(w, res) })
}

// csvTable reads a CSV file whose header must hold every one of want, and
// returns a lookup of each record's fields by column name.
func csvTable(r io.Reader, want []string) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("empty file: no header line")
	}
	head := recs[0]
	for _, c := range want {
		if !slices.Contains(head, c) {
			return nil, fmt.Errorf("no column %q in the header (want the columns %s)", c, strings.Join(want, ","))
		}
	}
	var out []map[string]string
	for k, rec := range recs[1:] {
		if len(rec) != len(head) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d", k+2, len(rec), len(head))
		}
		m := make(map[string]string, len(head))
		for i, c := range head {
			m[c] = rec[i]
		}
		out = append(out, m)
	}
	return out, nil
}

// fieldReader parses the fields of one record, keeping the first error.
type fieldReader struct {
	m   map[string]string
	err error
}

func (f *fieldReader) int(c string) int {
	n, err := strconv.Atoi(f.m[c])
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("column %s: %q is not a whole number", c, f.m[c])
	}
	return n
}

func (f *fieldReader) int64(c string) int64 {
	n, err := strconv.ParseInt(f.m[c], 10, 64)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("column %s: %q is not a whole number", c, f.m[c])
	}
	return n
}

func (f *fieldReader) float(c string) float64 {
	x, err := strconv.ParseFloat(f.m[c], 64)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("column %s: %q is not a number", c, f.m[c])
	}
	return x
}

func (f *fieldReader) latency(prefix string) Latency {
	return Latency{N: f.int(prefix + "_n"), Mean: f.float(prefix + "_mean"), P50: f.float(prefix + "_p50"),
		P99: f.float(prefix + "_p99"), P999: f.float(prefix + "_p999")}
}

func (f *fieldReader) point() Point {
	return Point{Lock: f.m["lock"], Nodes: f.int("nodes"), Threads: f.int("threads"), Keys: f.int("keys"), Local: f.float("local"),
		LocalBudget: f.int("local_budget"), RemoteBudget: f.int("remote_budget"), Lanes: f.int("lanes"), Profile: f.m["profile"],
		Seed: f.int64("seed"), Duration: f.int64("duration_ns"), Warmup: f.int64("warmup_ns")}
}

// ReadCSV reads a file written by WriteCSV. The grid, its size and the shard
// come from the rows' grid, grid_points and shard columns, which must agree
// on every row; a file with no rows gives a Result with no grid. Interrupted
// is set when the shard has points the file has no row for.
func ReadCSV(r io.Reader) (Result, error) {
	recs, err := csvTable(r, Columns)
	if err != nil {
		return Result{}, err
	}
	res := Result{Shards: 1, Rows: []Row{}}
	for k, m := range recs {
		f := &fieldReader{m: m}
		row := Row{Index: f.int("index"), Point: f.point()}
		ms := &row.Measurement
		ms.Ops, ms.Throughput = f.int("ops"), f.float("throughput")
		ms.All, ms.Local, ms.Remote = f.latency("lat_all"), f.latency("lat_local"), f.latency("lat_remote")
		ms.Events, ms.Wall = f.int64("events"), f.float("wall_s")
		if s := m["findings"]; s != "" {
			if err := json.Unmarshal([]byte(s), &ms.Findings); err != nil && f.err == nil {
				f.err = fmt.Errorf("column findings: want a JSON array of strings: %v", err)
			}
		}
		grid, points := m["grid"], f.int("grid_points")
		i, n, ok := parseShard(m["shard"])
		if !ok && f.err == nil {
			f.err = fmt.Errorf("column shard: %q: want i/n with 0 ≤ i < n", m["shard"])
		}
		if f.err != nil {
			return Result{}, fmt.Errorf("line %d: %v", k+2, f.err)
		}
		if k == 0 {
			res.Grid, res.Points, res.Shard, res.Shards = grid, points, i, n
		} else if grid != res.Grid || points != res.Points || i != res.Shard || n != res.Shards {
			return Result{}, fmt.Errorf("line %d: grid %s (%d points) shard %d/%d, but line 2 has grid %s (%d points) shard %d/%d: rows of different sweeps in one file",
				k+2, grid, points, i, n, res.Grid, res.Points, res.Shard, res.Shards)
		}
		res.Rows = append(res.Rows, row)
	}
	if err := res.check(); err != nil {
		return Result{}, err
	}
	return res, nil
}

// ReadJSON reads a file written by WriteJSON.
func ReadJSON(r io.Reader) (Result, error) {
	var res Result
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return Result{}, fmt.Errorf("not the JSON output of a sweep: %v", err)
	}
	if res.Rows == nil {
		res.Rows = []Row{}
	}
	if err := res.check(); err != nil {
		return Result{}, err
	}
	return res, nil
}

// check verifies that the rows are in order, inside the grid and in the
// shard, and sets Interrupted when the shard has points without a row.
func (res *Result) check() error {
	if res.Shards < 1 || res.Shard < 0 || res.Shard >= res.Shards {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n", res.Shard, res.Shards)
	}
	if len(res.Rows) == 0 {
		return nil
	}
	want := ShardIndices(res.Shard, res.Shards, res.Points)
	for k, r := range res.Rows {
		if k > 0 && r.Index <= res.Rows[k-1].Index {
			return fmt.Errorf("row of point %d after the row of point %d: rows out of order or repeated", r.Index, res.Rows[k-1].Index)
		}
		if _, ok := slices.BinarySearch(want, r.Index); !ok {
			return fmt.Errorf("point %d is not in shard %d/%d of a grid of %d points", r.Index, res.Shard, res.Shards, res.Points)
		}
	}
	if len(res.Rows) < len(want) {
		res.Interrupted = true
	}
	return nil
}

func parseShard(s string) (i, n int, ok bool) {
	a, b, found := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	return i, n, found && err1 == nil && err2 == nil && i >= 0 && i < n
}

// ReadFile reads a sweep's output file, CSV (WriteCSV) or JSON (WriteJSON),
// told apart by its first character; errors name the file.
func ReadFile(path string) (Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		res, err = ReadJSON(bytes.NewReader(data))
	} else {
		res, err = ReadCSV(bytes.NewReader(data))
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s: %v", path, err)
	}
	return res, nil
}

// ReadRawFile reads a per-thread file (WriteRawCSV) and sets the ThreadMeans
// of the rows of res it has lines for, joined by grid and index. Lines of
// another grid, or of points res has no row for, are an error.
func ReadRawFile(path string, res *Result) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csvTable(bufio.NewReader(f), RawColumns)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	byIndex := map[int]int{}
	for k, r := range res.Rows {
		byIndex[r.Index] = k
		res.Rows[k].Measurement.ThreadMeans = nil
	}
	for k, m := range recs {
		fr := &fieldReader{m: m}
		idx := fr.int("index")
		t := ThreadMean{Node: fr.int("node"), Thread: fr.int("thread"), Mean: fr.float("mean_ns"), Ops: fr.int("ops")}
		if fr.err != nil {
			return fmt.Errorf("%s: line %d: %v", path, k+2, fr.err)
		}
		row, ok := byIndex[idx]
		if m["grid"] != res.Grid || !ok {
			return fmt.Errorf("%s: line %d: point %d of grid %s has no row in the results given (grid %s)", path, k+2, idx, m["grid"], res.Grid)
		}
		tm := &res.Rows[row].Measurement.ThreadMeans
		*tm = append(*tm, t)
	}
	return nil
}

// Merge combines the results of the shards of one sweep into one result
// (shard 0 of 1) with the rows of all, in point order. The results must share
// the grid (GridID and size; results with no rows are skipped), and no point
// may have two rows. missing lists the indices of the grid's points no result
// has a row for (a shard not given, or one interrupted); the merged result is
// then marked Interrupted.
func Merge(results ...Result) (merged Result, missing []int, err error) {
	merged = Result{Shards: 1, Rows: []Row{}}
	var from []int // index of the result each row came from
	first := -1
	for k, r := range results {
		if len(r.Rows) == 0 {
			continue
		}
		if first < 0 {
			first = k
			merged.Grid, merged.Points = r.Grid, r.Points
		} else if r.Grid != merged.Grid || r.Points != merged.Points {
			return Result{}, nil, fmt.Errorf("result %d is of grid %s (%d points), result %d of grid %s (%d points): not shards of one sweep",
				k+1, r.Grid, r.Points, first+1, merged.Grid, merged.Points)
		}
		for _, row := range r.Rows {
			merged.Rows = append(merged.Rows, row)
			from = append(from, k)
		}
	}
	order := make([]int, len(merged.Rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return merged.Rows[a].Index - merged.Rows[b].Index })
	rows := make([]Row, len(order))
	for i, k := range order {
		rows[i] = merged.Rows[k]
		if i > 0 && rows[i].Index == rows[i-1].Index {
			return Result{}, nil, fmt.Errorf("point %d (%s) has a row in result %d and in result %d", rows[i].Index, rows[i].Point, from[order[i-1]]+1, from[k]+1)
		}
	}
	merged.Rows = rows
	have := 0
	for i := range merged.Points {
		if have < len(rows) && rows[have].Index == i {
			have++
			continue
		}
		missing = append(missing, i)
	}
	merged.Interrupted = len(missing) > 0
	return merged, missing, nil
}
