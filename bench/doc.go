// Package bench runs sweeps of the lock-table benchmark in timed mode and
// writes, reads and merges their results.
//
// # The benchmark and its points
//
// A [Point] is one configuration: a lock (a name of the algorithms registry),
// Nodes nodes with Threads threads each, a table of Keys locks split into
// contiguous per-node ranges, and p_local (Point.Local), the probability that
// an operation takes a lock homed on its own node. ALock's budgets, the lanes
// (QPs per thread per node pair), the NIC latency profile, the seed and the
// simulated duration complete it. A [Runner] measures one point and returns a
// [Measurement]: operations and throughput (operations per simulated
// second), the latency of local, remote and all operations ([Latency]:
// count, mean and exact nearest-rank p50, p99, p99.9 — see [Summarize]), the
// mean latency of every thread, and the simulation's event count and wall
// time. The package does not simulate anything: the Runner does (the timed
// mode of the simulator, or a fake in tests).
//
// # Sweeps
//
// A [Grid] is a Cartesian product of lists (locks, nodes, threads, keys,
// p_local, budgets, lanes, profiles, seeds); [Grid.Points] expands it in a
// fixed order, documented there, and ParseNames, ParseInts, ParseFractions
// read the comma lists of the command line ("2,4,8,12", "1,.95,.9,.85").
//
// [Sweep] measures a list of points with a Runner on several workers at once
// and returns a [Result] whose rows are in point order whatever the number of
// workers. It can run one shard of the points: shard i of n is the contiguous
// range of points i·P/n … (i+1)·P/n − 1 ([ShardIndices]), as rdmasim check
// splits the schedules of a campaign. If its context is cancelled it stops
// starting points and returns the rows finished, marked interrupted.
// [NewProgress] prints progress: a bar with the time left on a terminal, a
// line every few seconds on a log.
//
// # Files
//
// A Result is written as CSV ([WriteCSV], one row per point), as JSON
// ([WriteJSON], the Result with the per-thread means), and optionally as a raw
// per-thread CSV ([WriteRawCSV]). The Save functions write atomically. ReadCSV,
// ReadJSON and ReadFile read them back, ReadRawFile joins a raw file to the
// rows, and [Merge] combines the shards of one sweep: it refuses results of
// different grids (each row carries the grid's hash, [GridID], and size),
// refuses a point measured twice, and lists the points missing.
//
// The CSV columns ([Columns]), latencies in nanoseconds of simulated time:
//
//	index            position of the point in the sweep's whole list of points
//	lock             the lock's registry name
//	nodes, threads   nodes; threads per node
//	keys             keys (locks) in the table, in contiguous per-node ranges
//	local            p_local
//	local_budget,
//	remote_budget    ALock's cohort budgets (0: the lock's default)
//	lanes            QPs per thread per node pair (0: 1)
//	profile          the NIC latency profile ("": the default)
//	seed             the run's seed
//	duration_ns,
//	warmup_ns        measured interval and warm-up before it, simulated
//	ops              operations completed in the measured interval
//	throughput       operations per simulated second (all nodes)
//	lat_all_n, _mean, _p50, _p99, _p999
//	                 latency of every operation (count, mean, nearest-rank quantiles)
//	lat_local_…      the same for operations on keys homed on the thread's node
//	lat_remote_…     the same for operations on keys homed on another node
//	events           simulation events processed
//	wall_s           wall-clock seconds the point took
//	findings         the monitors' findings, a JSON array of strings ("" for none)
//	grid             GridID of the sweep's whole list of points
//	grid_points      the length of that list
//	shard            i/n, the shard the row was measured in
//
// The raw file ([RawColumns]) has one line per thread of every point: index,
// grid, lock, nodes, threads, keys, local (to read it on its own), then node,
// thread, mean_ns (the thread's mean operation latency) and ops.
package bench
