package bench

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"
)

// Row is the measurement of one point of a sweep.
type Row struct {
	// Index is the position of the point in the sweep's whole list of points
	// (all shards): rows of the shards of one sweep merge by it.
	Index       int         `json:"index"`
	Point       Point       `json:"point"`
	Measurement Measurement `json:"measurement"`
}

// Result is what Sweep returns: the rows it finished, in point order.
type Result struct {
	// Grid is GridID of the whole list of points, and Points its length;
	// the shards of one sweep share both.
	Grid   string `json:"grid"`
	Points int    `json:"grid_points"`
	// Shard and Shards: this result covers shard Shard of Shards (0 of 1:
	// every point). See ShardIndices.
	Shard  int `json:"shard"`
	Shards int `json:"shards"`
	// Rows are the points measured, ordered by Index, whatever the number
	// of workers.
	Rows []Row `json:"rows"`
	// Interrupted: the context was cancelled before every point of the
	// shard was measured; Rows holds those finished before.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Options tunes Sweep. The zero value runs every point on GOMAXPROCS workers
// with no progress report.
type Options struct {
	// Workers is the number of points run at once (0: GOMAXPROCS).
	Workers int
	// Shard and Shards select part Shard of Shards of the points (0 ≤ Shard <
	// Shards; Shards 0 means 1). See ShardIndices.
	Shard, Shards int
	// Progress, if set, is called once before the first point (done 0) and
	// after each point finishes, from one goroutine at a time, with the
	// points done and the total of this shard, and an estimate of the time
	// left (0 until a point has finished). NewProgress makes one that
	// prints.
	Progress func(done, total int, eta time.Duration)
	// Heartbeat, if > 0, also calls Progress every Heartbeat of wall time
	// while points run, with the estimate brought up to date, so that a
	// display keeps moving while long points run.
	Heartbeat time.Duration
	// Now is the clock of the estimate (nil: time.Now).
	Now func() time.Time
}

// ShardIndices returns the indices of the points of shard i of n of a sweep
// of total points: i·total/n up to (i+1)·total/n − 1, a contiguous range, as
// the shards of rdmasim check campaigns are defined, so the n shards cover
// every point once. Some shards are empty when n > total.
func ShardIndices(i, n, total int) []int {
	at := func(i int) int {
		hi, lo := bits.Mul64(uint64(i), uint64(total))
		q, _ := bits.Div64(hi, lo, uint64(n))
		return int(q)
	}
	var out []int
	for k := at(i); k < at(i+1); k++ {
		out = append(out, k)
	}
	return out
}

// ErrInterrupted is returned (wrapped, with the context's error) by Sweep
// when the context was cancelled before the shard was finished.
var ErrInterrupted = errors.New("sweep interrupted")

// Sweep measures the points of shard opts.Shard of opts.Shards with run,
// running opts.Workers points at once, and returns their rows in point
// order. The rows do not depend on the number of workers (as long as run
// depends only on its point).
//
// Every point is validated first; an invalid point is an error before any
// runs. If run fails on a point, Sweep stops starting points, cancels the
// context of those running and waits for them, and returns the rows finished
// with an error naming the point (of several failing, the lowest). If
// ctx is cancelled, Sweep stops the same way and returns the rows finished
// before, Result.Interrupted set, and an error wrapping ErrInterrupted and
// ctx.Err(); the rows of points cut short are dropped.
func Sweep(ctx context.Context, points []Point, run Runner, opts Options) (Result, error) {
	shards := max(opts.Shards, 1)
	res := Result{Grid: GridID(points), Points: len(points), Shard: opts.Shard, Shards: shards, Rows: []Row{}}
	if opts.Shard < 0 || opts.Shard >= shards {
		return res, fmt.Errorf("bench: shard %d/%d: want 0 ≤ shard < shards", opts.Shard, shards)
	}
	for i, p := range points {
		if err := p.Validate(); err != nil {
			return res, fmt.Errorf("bench: point %d (%s): %v", i, p, err)
		}
	}
	todo := ShardIndices(opts.Shard, shards, len(points))
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(todo), 1))
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type done struct {
		k   int // position in todo
		m   Measurement
		err error
	}
	jobs := make(chan int)
	results := make(chan done)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				m, err := run(ctx, points[todo[k]])
				results <- done{k, m, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for k := range todo {
			select {
			case jobs <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	start := now()
	if opts.Progress != nil {
		opts.Progress(0, len(todo), 0)
	}
	// eta: the points left at the mean wall time per point so far, counted
	// from the last point's end: it falls as time passes between points.
	var lastEnd time.Time
	eta := func(finished int) time.Duration {
		if finished == 0 || finished == len(todo) {
			return 0
		}
		per := float64(lastEnd.Sub(start)) / float64(finished)
		left := time.Duration(per*float64(len(todo)-finished)) - now().Sub(lastEnd)
		return max(left, 0)
	}
	var tick <-chan time.Time
	if opts.Heartbeat > 0 && opts.Progress != nil {
		t := time.NewTicker(opts.Heartbeat)
		defer t.Stop()
		tick = t.C
	}
	got := make([]*Measurement, len(todo))
	finished := 0
	var firstErr error
	errAt := 0
	for in := results; in != nil; {
		var d done
		var ok bool
		select {
		case d, ok = <-in:
			if !ok {
				in = nil
				continue
			}
		case <-tick:
			opts.Progress(finished, len(todo), eta(finished))
			continue
		}
		switch {
		case d.err == nil:
			got[d.k] = &d.m
			finished++
			lastEnd = now()
			if opts.Progress != nil {
				opts.Progress(finished, len(todo), eta(finished))
			}
		case firstErr == nil && ctx.Err() == nil,
			firstErr != nil && d.k < errAt && !errors.Is(d.err, context.Canceled):
			// The first failure stops the sweep; of the failures seen
			// until the points running have stopped, the one of the
			// lowest index is reported.
			p := points[todo[d.k]]
			firstErr, errAt = fmt.Errorf("bench: point %d (%s): %w", todo[d.k], p, d.err), d.k
			cancel() // start no more; cut the others short
		}
	}
	for k, m := range got {
		if m != nil {
			res.Rows = append(res.Rows, Row{Index: todo[k], Point: points[todo[k]], Measurement: *m})
		}
	}
	if firstErr != nil {
		return res, firstErr
	}
	if finished < len(todo) {
		res.Interrupted = true
		return res, fmt.Errorf("%w after %d of %d points: %w", ErrInterrupted, finished, len(todo), context.Cause(ctx))
	}
	return res, nil
}
