package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/nicmodel"
)

// strategyStates is --strategy states: the stateful search (checker.StateSearch).
const strategyStates = "states"

// StatesFields are the columns of a --strategy states row (JSON: flattened
// into the row).
type StatesFields struct {
	States      int64 `json:"states"`
	Transitions int64 `json:"transitions"`
	// FinalStates: distinct final memories of the states in which every
	// thread finished.
	FinalStates int `json:"final_states"`
	// OmittedEstimate: the expected number of states lost to fingerprint
	// collisions (hash compaction: 64 bits, or 32 with --visited-memory).
	OmittedEstimate float64 `json:"omitted_estimate"`
	// VisitedFull: the visited set of --visited-memory filled up, and the
	// search stopped there.
	VisitedFull     bool    `json:"visited_full,omitempty"`
	MemoryBytes     int64   `json:"memory_bytes"`
	StatesPerSecond float64 `json:"states_per_second"`
	// Minimal: the counterexample has the fewest steps of any violating
	// execution (--minimal).
	Minimal bool `json:"minimal"`
	// StatesFile (--shard i/n): the shard's stored states, for rdmasim merge
	// (see writeStateRecord).
	StatesFile string `json:"states_file,omitempty"`
	// Lasso: a starvation lasso of an endless workload (--acquires 0): the
	// starving thread, the stem's and the cycle's lengths in steps; its
	// replay is the row's replay file.
	Lasso *lassoJSON `json:"lasso,omitempty"`
}

type lassoJSON struct {
	Thread     string `json:"thread"`
	StemSteps  int    `json:"stem_steps"`
	CycleSteps int    `json:"cycle_steps"`
	Repeats    int    `json:"repeats"`
}

// statesSettings are the flags of --strategy states.
type statesSettings struct {
	minimal   bool
	maxStates int64
	// finalIgnore: patterns of word labels left out of final_states.
	finalIgnore []string
	// visitedBytes: --visited-memory (0: 64-bit fingerprints).
	visitedBytes int64
}

// parseBytes parses a size: a number of bytes, or of KiB, MiB, GiB or TiB
// ("8GiB"; K, M, G, T and KB, MB, GB, TB mean the same). "" is 0.
func parseBytes(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("want a positive size such as 8GiB or 512MiB")
	}
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20, "G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}
	sh, ok := shift[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q: want KiB, MiB, GiB or TiB", s[len(num):])
	}
	if n > math.MaxInt64>>sh {
		return 0, fmt.Errorf("too large")
	}
	return n << sh, nil
}

// checkStates is checkOne for --strategy states.
func (c *checkRun) checkStates(a algorithms.Algorithm) (checkResult, error) {
	start := time.Now()
	cfg, opts := c.cfg, c.opts
	lock := factory(a, opts)
	hash := settingsHash(cfg, opts, strategyStates, 0, 0, 0, int(c.states.maxStates))
	r := checkResult{Algorithm: a.Name, Strategy: strategyStates, Verdict: "ok", Options: opts, StatesFields: &StatesFields{}}
	p := c.progress.start(a.Name)
	if p != nil {
		p.unit = "states"
	}
	workers := c.workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	search := checker.StateSearch{Config: cfg, Workload: lock, MaxStates: c.states.maxStates, Minimal: c.states.minimal,
		Lassos: cfg.Acquires == 0, Stop: c.stop, ProgressEvery: 20_000, Workers: workers,
		FinalIgnore: c.states.finalIgnore, VisitedBytes: c.states.visitedBytes}
	var flushStates func() error
	if sh := c.sh; sh.n > 1 {
		if c.states.minimal || cfg.Acquires == 0 {
			return r, usagef("check: --shard splits the depth-first search of --strategy states, not --minimal or an endless workload")
		}
		r.Shard = sh.String()
		r.shardText = sh.String()
		path := filepath.Join(c.outDir, fmt.Sprintf("%s-states-shard-%d-of-%d-%s.states", a.Name, sh.i, sh.n, hash))
		w, closeFile, err := createStatesFile(path)
		if err != nil {
			return r, usagef("check: --out %s: %v", c.outDir, err)
		}
		r.StatesFields.StatesFile = path
		search.Shard, search.Shards, search.Workers = sh.i, sh.n, 1
		search.Record = func(rec checker.StateRecord) { writeStateRecord(w, rec) }
		flushStates = closeFile
	}
	search.Progress = func(pr checker.StateProgress) {
		p.update(int(pr.States), 0, 0, func() string {
			return fmt.Sprintf("%d states, %d transitions", pr.States, pr.Transitions)
		})
	}
	rep, err := search.Run()
	p.done()
	if flushStates != nil {
		if ferr := flushStates(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if errors.Is(err, nicmodel.ErrNotSnapshottable) {
		// Not an error of the run: this lock posts verbs (or the CPUs are
		// TSO), which a saved state does not cover yet.
		r.Config, r.Settings, r.Verdict, r.Message, r.AsExpected = cfg.String(), cfg, "unsupported", err.Error(), true
		r.Seconds = time.Since(start).Seconds()
		return r, nil
	}
	if err != nil {
		return r, usagef("check %s: %v", a.Name, err)
	}
	runCfg := rep.Config
	r.Settings, r.Config = runCfg, runCfg.String()
	r.Complete, r.Interrupted = rep.Complete, rep.Interrupted
	r.Findings, r.Steps = rep.Findings, rep.Transitions
	sf := r.StatesFields
	sf.States, sf.Transitions, sf.FinalStates = rep.States, rep.Transitions, rep.FinalStates
	sf.OmittedEstimate, sf.MemoryBytes, sf.Minimal = rep.OmittedEstimate, rep.MemoryBytes, rep.Minimal && rep.Shortest != nil
	sf.VisitedFull = rep.VisitedFull
	if s := rep.Elapsed.Seconds(); s > 0 {
		sf.StatesPerSecond = math.Round(float64(rep.States) / s)
	}
	if defaultKnobs(cfg) && cfg.Acquires > 0 {
		r.Expected = "violation"
		if a.ExpectSafe {
			r.Expected = "ok"
		}
	}
	cx := rep.Shortest
	replayCfg := runCfg
	if cx == nil && rep.Lasso != nil {
		l := rep.Lasso
		cx = l.Counterexample
		replayCfg.StepBound = l.StemSteps + l.Repeats*l.CycleSteps
		_, names := runCfg.ThreadInfos()
		sf.Lasso = &lassoJSON{Thread: names[l.Thread], StemSteps: l.StemSteps, CycleSteps: l.CycleSteps, Repeats: l.Repeats}
	}
	if cx != nil {
		r.Verdict, r.Property, r.Message = "violation", cx.Finding.Property, cx.Finding.Message
		r.trace, r.names = cx.Execution.Trace, cx.Execution.Names
		r.Length, r.LengthBefore = len(cx.Execution.Trace), cx.LengthBefore
		path := filepath.Join(c.outDir, fmt.Sprintf("%s-%s-states-%s.json", a.Name, slug(cx.Finding.Property), hash))
		if err := c.save(path, func(path string) error { return saveReplay(path, a.Name, opts, replayCfg, strategyStates, 0, cx) }); err != nil {
			r.ReplayError = fmt.Sprintf("not saved: --out %s: %v", c.outDir, err)
		} else {
			r.Replay = path
		}
	}
	r.AsExpected = r.Expected == "" || r.Verdict == r.Expected
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// printStatesRow prints a --strategy states row of the table.
func printStatesRow(tw io.Writer, r checkResult, v, exp string) {
	complete := "no (stopped at --max-states)"
	switch {
	case r.Complete:
		complete = "yes"
	case r.Interrupted:
		complete = "no (interrupted)"
	case r.StatesFields.VisitedFull:
		complete = "no (--visited-memory full)"
	}
	sf := r.StatesFields
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%.2g\t%.1f MB\t%.2f\n", r.Algorithm, r.Config, v, exp, sf.States, sf.Transitions, sf.FinalStates,
		complete, sf.OmittedEstimate, float64(sf.MemoryBytes)/1e6, r.Seconds)
}

// statesHeader is the table's header when a row is a --strategy states row.
const statesHeader = "ALGORITHM\tCONFIG\tVERDICT\tEXPECTED\tSTATES\tTRANSITIONS\tFINAL\tCOMPLETE\tOMITTED\tMEMORY\tSECONDS"

// A shard's states file: one 21-byte record per stored state, little-endian:
// fingerprint (8), transitions out (4, signed: -1 stored, not expanded), flags
// (1: bit 0 final, bit 1 violates a property), final memory's fingerprint (8).
const stateRecordSize = 21

func createStatesFile(path string) (*bufio.Writer, func() error, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	return w, func() error {
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

func writeStateRecord(w *bufio.Writer, r checker.StateRecord) {
	var b [stateRecordSize]byte
	binary.LittleEndian.PutUint64(b[0:], r.FP)
	binary.LittleEndian.PutUint32(b[8:], uint32(r.Out))
	if r.Final {
		b[12] |= 1
	}
	if r.Finding {
		b[12] |= 2
	}
	binary.LittleEndian.PutUint64(b[13:], r.FinalMem)
	w.Write(b[:])
}

// mergeStates merges the rows of --strategy states --shard i/n runs: the union
// of the shards' stored states (their states files) is the whole search's.
// It reports false, doing nothing, when the files hold other rows.
func mergeStates(files []string, format string, stdout io.Writer) (bool, error) {
	type srow struct {
		checkResult
		file string
	}
	var order []string
	groups := map[string][]srow{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return false, nil
		}
		var rows []checkResult
		if json.Unmarshal(data, &rows) != nil || len(rows) == 0 {
			return false, nil
		}
		for _, r := range rows {
			if r.Strategy != strategyStates || r.StatesFields == nil || r.Shard == "" {
				return false, nil
			}
			if _, ok := groups[r.Algorithm]; !ok {
				order = append(order, r.Algorithm)
			}
			groups[r.Algorithm] = append(groups[r.Algorithm], srow{r, f})
		}
	}
	var merged []mergedResult
	var results []checkResult
	for _, alg := range order {
		rows := groups[alg]
		first, err := parseShard(rows[0].Shard)
		if err != nil {
			return true, usagef("merge: %s: shard %q: %v", alg, rows[0].Shard, err)
		}
		seen := make([]bool, first.n)
		m := mergedResult{checkResult: rows[0].checkResult}
		sf := &StatesFields{}
		m.StatesFields, m.Shard, m.shardText = sf, "", ""
		m.Verdict, m.Property, m.Message, m.Replay, m.Length, m.Seconds, m.Findings, m.Complete = "ok", "", "", "", 0, 0, 0, true
		out := map[uint64]int32{}
		finals := map[uint64]bool{}
		findings := map[uint64]bool{}
		for _, r := range rows {
			sh, err := parseShard(r.Shard)
			if err != nil || sh.n != first.n || seen[sh.i] {
				return true, usagef("merge: %s: shard %q does not fit the others (%d shards, each once)", alg, r.Shard, first.n)
			}
			seen[sh.i] = true
			if settingsJSON(r.checkResult) != settingsJSON(rows[0].checkResult) {
				return true, usagef("merge: %s: shard %s ran other settings than shard %s", alg, r.Shard, rows[0].Shard)
			}
			m.MergedShards = append(m.MergedShards, r.Shard)
			m.Files = append(m.Files, r.file)
			m.Seconds += r.Seconds
			m.Complete = m.Complete && r.Complete
			m.Interrupted = m.Interrupted || r.Interrupted
			sf.MemoryBytes = max(sf.MemoryBytes, r.MemoryBytes)
			if r.Verdict == "violation" && m.Verdict != "violation" {
				m.Verdict, m.Property, m.Message, m.Replay, m.Length, m.LengthBefore = r.Verdict, r.Property, r.Message, r.Replay, r.Length, r.LengthBefore
			}
			data, err := os.ReadFile(r.StatesFile)
			if err != nil {
				return true, usagef("merge: %s: shard %s: %v", alg, r.Shard, err)
			}
			if len(data)%stateRecordSize != 0 {
				return true, usagef("merge: %s: %s: not a states file", alg, r.StatesFile)
			}
			for k := 0; k < len(data); k += stateRecordSize {
				fp := binary.LittleEndian.Uint64(data[k:])
				o := int32(binary.LittleEndian.Uint32(data[k+8:]))
				if old, ok := out[fp]; !ok || o > old {
					out[fp] = o
				}
				if data[k+12]&1 != 0 {
					finals[binary.LittleEndian.Uint64(data[k+13:])] = true
				}
				if data[k+12]&2 != 0 {
					findings[fp] = true
				}
			}
		}
		for i, ok := range seen {
			if !ok {
				return true, usagef("merge: %s: shard %d/%d is missing", alg, i, first.n)
			}
		}
		sf.States = int64(len(out))
		for _, o := range out {
			if o < 0 {
				m.Complete = false // a frontier state its owner did not explore
			}
			sf.Transitions += int64(max(o, 0))
		}
		sf.FinalStates, m.Findings = len(finals), len(findings)
		n := float64(sf.States)
		sf.OmittedEstimate = n * n / math.Exp2(65)
		m.Steps = sf.Transitions
		m.AsExpected = m.Expected == "" || m.Verdict == m.Expected
		merged = append(merged, m)
		results = append(results, m.checkResult)
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return true, enc.Encode(merged)
	}
	fmt.Fprintf(stdout, "merged %d shard files of --strategy states: STATES, TRANSITIONS and FINAL are the union's; SECONDS the sum over the shards\n", len(files))
	for i := range results {
		if results[i].Verdict == "violation" {
			loadMergedTrace(&results[i])
		}
	}
	printResults(stdout, results)
	for _, m := range merged {
		if !m.AsExpected {
			return true, errMismatch
		}
	}
	return true, nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var l []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			l = append(l, x)
		}
	}
	return l
}
