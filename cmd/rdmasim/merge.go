package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/traces"
)

const mergeUsage = `Usage: rdmasim merge [--partial] [--format text|json] FILE...

Combines the --format json outputs of the shards of a campaign (rdmasim check
--shard i/n) into one result per algorithm, printed like rdmasim check prints
it. Per algorithm it sums schedules, steps, findings and seconds (SECONDS is
then the machine time spent over all shards, not the wall time), reports a
violation if any shard found one, and shows the shortest counterexample found
(fewest events; ties: the lowest schedule) with its replay file. The trace is
shown when the replay file is readable here; otherwise run rdmasim replay on it
where it is.

Rows of different campaigns (settings, strategy, seed, depth, --schedules,
budgets, --max-findings, or shard count differ) are refused, and so are missing
or repeated shards unless --partial is given.

Exit status: 0 every merged verdict as expected, 1 a merged verdict differs
from the expected one, 2 usage or input error.

Flags:
`

// mergedResult is one row of `rdmasim merge --format json`: a check row for the
// whole campaign (shard empty) and the shards it was merged from.
type mergedResult struct {
	checkResult
	MergedShards  []string `json:"merged_shards"`
	MissingShards []string `json:"missing_shards,omitempty"` // with --partial
	Files         []string `json:"files"`
}

// shardRow is one row of one input file.
type shardRow struct {
	file string
	row  checkResult
	sh   shard
}

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "text", "output format: text or json")
	partial := fs.Bool("partial", false, "merge even when shards are missing or repeated (a repeated shard counts once), with a warning")
	// Flags may come before, between or after the files.
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return helpOr(err, fs, "merge", mergeUsage, stdout)
	}
	if *format != "text" && *format != "json" {
		return usagef("merge: --format %q: want text or json", *format)
	}
	if len(files) == 0 {
		return usagef("merge: no files given (want the --format json outputs of rdmasim check --shard i/n)")
	}
	// The shards of a --strategy states search merge by the union of their
	// stored states (states.go).
	if ok, err := mergeStates(files, *format, stdout); ok {
		return err
	}

	// Read every row, grouped by algorithm in the order first seen.
	var order []string
	groups := map[string][]shardRow{}
	for _, f := range files {
		rows, err := readShardFile(f)
		if err != nil {
			return usagef("merge: %v", err)
		}
		for _, r := range rows {
			if _, ok := groups[r.row.Algorithm]; !ok {
				order = append(order, r.row.Algorithm)
			}
			groups[r.row.Algorithm] = append(groups[r.row.Algorithm], r)
		}
	}

	var merged []mergedResult
	var warnings []string
	for _, alg := range order {
		m, warn, err := mergeGroup(alg, groups[alg], *partial)
		if err != nil {
			return usagef("merge: %v", err)
		}
		// Never show a replay file another run has written.
		if m.Verdict == "violation" {
			if problem, unreadable := replayProblem(m.checkResult); problem != "" {
				m.ReplayError = problem
				if !unreadable {
					m.Replay = ""
				}
			}
		}
		warnings = append(warnings, warn...)
		merged = append(merged, m)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "rdmasim: merge: warning: %s\n", w)
	}

	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(merged); err != nil {
			return err
		}
	} else {
		results := make([]checkResult, len(merged))
		for i, m := range merged {
			results[i] = m.checkResult
			if m.Verdict == "violation" {
				loadMergedTrace(&results[i])
			}
		}
		fmt.Fprintf(stdout, "merged %d shard files; SCHEDULES, STEPS and SECONDS are sums over the shards (SECONDS: machine time, not wall time)\n", len(files))
		printResults(stdout, results)
	}
	for _, m := range merged {
		if m.Interrupted && m.Verdict != "violation" {
			return incompleteError{fmt.Sprintf("merge: %s: an interrupted shard ran part of its schedules; the merged result is incomplete", m.Algorithm)}
		}
	}
	for _, m := range merged {
		if !m.AsExpected {
			return errMismatch
		}
	}
	return nil
}

// maxShardFile bounds the size of an input file.
const maxShardFile = 256 << 20

// readShardFile reads one `rdmasim check --format json` output and checks that
// every row is a shard row of a campaign.
func readShardFile(path string) ([]shardRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // names the file
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxShardFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(data) > maxShardFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxShardFile)
	}
	notCheck := func(format string, args ...any) error {
		return fmt.Errorf("%s: not the --format json output of rdmasim check: %s", path, fmt.Sprintf(format, args...))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, notCheck("the file is empty")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, notCheck("invalid JSON on line %d: %v", line, err)
		}
		return nil, notCheck("want a JSON array of rows: %v", err)
	}
	if len(raws) == 0 {
		return nil, notCheck("no rows")
	}
	var out []shardRow
	for k, raw := range raws {
		r, err := decodeShardRow(raw)
		if err != nil {
			return nil, notCheck("row %d: %v", k+1, err)
		}
		r.file = path
		out = append(out, r)
	}
	return out, nil
}

// shardRowKeys are the keys every shard row has.
var shardRowKeys = []string{"algorithm", "settings", "strategy", "seed", "expected", "verdict", "schedules",
	"findings", "steps", "seconds", "replay", "length", "first_schedule", "campaign_schedules", "options", "max_findings"}

func decodeShardRow(raw json.RawMessage) (shardRow, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return shardRow{}, fmt.Errorf("not a JSON object")
	}
	var r checkResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return shardRow{}, err
	}
	name := r.Algorithm
	if name == "" {
		name = "?"
	}
	if _, ok := keys["shard"]; !ok {
		if _, merged := keys["merged_shards"]; merged {
			return shardRow{}, fmt.Errorf("%s: this is the output of rdmasim merge; merge the shard files themselves", name)
		}
		return shardRow{}, fmt.Errorf("%s: no \"shard\" key (written by an rdmasim without --shard?)", name)
	}
	for _, k := range shardRowKeys {
		if _, ok := keys[k]; !ok {
			return shardRow{}, fmt.Errorf("%s: no %q key", name, k)
		}
	}
	if r.Algorithm == "" {
		return shardRow{}, fmt.Errorf("empty algorithm")
	}
	sh, err := parseShard(r.Shard)
	if err != nil {
		return shardRow{}, fmt.Errorf("%s: shard %q: %v", name, r.Shard, err)
	}
	if r.CampaignSchedules < 1 {
		return shardRow{}, fmt.Errorf("%s: campaign_schedules %d: want ≥ 1", name, r.CampaignSchedules)
	}
	sh.total = r.CampaignSchedules
	sh.first, sh.count = shardRange(sh.i, sh.n, sh.total)
	switch {
	case r.FirstSchedule != sh.first:
		return shardRow{}, fmt.Errorf("%s: shard %s of %d schedules starts at schedule %d, not %d", name, r.Shard, sh.total, sh.first, r.FirstSchedule)
	case r.Schedules < 0 || r.Schedules > sh.count:
		return shardRow{}, fmt.Errorf("%s: %d schedules in shard %s of %d schedules (at most %d)", name, r.Schedules, r.Shard, sh.total, sh.count)
	case r.Findings < 0 || r.Findings > r.Schedules || r.Steps < 0 || r.Seconds < 0:
		return shardRow{}, fmt.Errorf("%s: negative or impossible counts", name)
	case r.Expected != "" && r.Expected != "ok" && r.Expected != "violation":
		return shardRow{}, fmt.Errorf("%s: expected %q: want ok, violation or empty", name, r.Expected)
	case r.Verdict != "ok" && r.Verdict != "violation":
		return shardRow{}, fmt.Errorf("%s: verdict %q: want ok or violation", name, r.Verdict)
	case r.Verdict == "violation" && (r.Replay == "" || r.CounterexampleSchedule == nil):
		return shardRow{}, fmt.Errorf("%s: a violation without replay or counterexample_schedule", name)
	case r.Verdict == "violation" && (*r.CounterexampleSchedule < sh.first || *r.CounterexampleSchedule >= sh.first+sh.count):
		return shardRow{}, fmt.Errorf("%s: counterexample schedule %d is not in shard %s", name, *r.CounterexampleSchedule, r.Shard)
	}
	return shardRow{row: r, sh: sh}, nil
}

// campaignDiff names the first campaign setting in which a and b differ, or "".
func campaignDiff(a, b shardRow) string {
	x, y := a.row, b.row
	switch {
	case !reflect.DeepEqual(x.Settings, y.Settings):
		return fmt.Sprintf("configuration %q vs %q", settingsJSON(x), settingsJSON(y))
	case x.Strategy != y.Strategy:
		return fmt.Sprintf("strategy %s vs %s", x.Strategy, y.Strategy)
	case x.Seed != y.Seed:
		return fmt.Sprintf("seed %d vs %d", x.Seed, y.Seed)
	case x.Depth != y.Depth:
		return fmt.Sprintf("depth %d vs %d", x.Depth, y.Depth)
	case x.CampaignSchedules != y.CampaignSchedules:
		return fmt.Sprintf("campaign schedules %d vs %d", x.CampaignSchedules, y.CampaignSchedules)
	case a.sh.n != b.sh.n:
		return fmt.Sprintf("shard count: shard %s vs %s", x.Shard, y.Shard)
	case x.Options != y.Options:
		return fmt.Sprintf("budgets %d/%d vs %d/%d", x.Options.BudgetLocal, x.Options.BudgetRemote, y.Options.BudgetLocal, y.Options.BudgetRemote)
	case x.MaxFindings != y.MaxFindings:
		return fmt.Sprintf("max findings %d vs %d", x.MaxFindings, y.MaxFindings)
	case x.Expected != y.Expected:
		return fmt.Sprintf("expected verdict %q vs %q", x.Expected, y.Expected)
	}
	return ""
}

func settingsJSON(r checkResult) string {
	b, _ := json.Marshal(r.Settings)
	return string(b)
}

// mergeGroup merges the rows of one algorithm.
func mergeGroup(alg string, rows []shardRow, partial bool) (mergedResult, []string, error) {
	ref := rows[0]
	for _, r := range rows[1:] {
		if d := campaignDiff(ref, r); d != "" {
			return mergedResult{}, nil, fmt.Errorf("%s: %s and %s are not shards of one campaign (%s); refusing to merge them", alg, ref.file, r.file, d)
		}
	}
	var warnings []string
	n := ref.sh.n
	byIndex := make([]*shardRow, n)
	for k := range rows {
		r := &rows[k]
		if prev := byIndex[r.sh.i]; prev != nil {
			msg := fmt.Sprintf("%s: shard %s appears twice (%s and %s)", alg, r.row.Shard, prev.file, r.file)
			if !partial {
				return mergedResult{}, nil, fmt.Errorf("%s; give each shard once, or --partial to count it once", msg)
			}
			warnings = append(warnings, msg+"; counting "+prev.file)
			continue
		}
		byIndex[r.sh.i] = r
	}
	var missing, have []string
	for i, r := range byIndex {
		if r == nil {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		} else {
			have = append(have, r.row.Shard)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s: missing shard%s %s (have %d of %d)", alg, mergePlural(len(missing)), strings.Join(missing, ", "), len(have), n)
		if !partial {
			return mergedResult{}, nil, fmt.Errorf("%s; --partial merges the shards given", msg)
		}
		warnings = append(warnings, msg+": the merged result covers part of the campaign")
	}

	m := mergedResult{checkResult: ref.row, MergedShards: have, MissingShards: missing}
	c := &m.checkResult
	c.Shard, c.FirstSchedule = "", 0
	c.Schedules, c.Findings, c.Steps, c.Seconds = 0, 0, 0, 0
	c.Verdict, c.Property, c.Message, c.Replay, c.Length, c.CounterexampleSchedule = "ok", "", "", "", 0, nil
	c.Interrupted = false
	var best *checkResult
	for _, r := range byIndex {
		if r == nil {
			continue
		}
		m.Files = append(m.Files, r.file)
		c.Schedules += r.row.Schedules
		c.Findings += r.row.Findings
		c.Steps += r.row.Steps
		c.Seconds += r.row.Seconds
		if r.row.Interrupted {
			c.Interrupted = true
			warnings = append(warnings, fmt.Sprintf("%s: shard %s (%s) was interrupted after %d of its %d schedules", alg, r.row.Shard, r.file, r.row.Schedules, r.sh.count))
		}
		if r.row.Verdict != "violation" {
			continue
		}
		if best == nil || r.row.Length < best.Length ||
			r.row.Length == best.Length && *r.row.CounterexampleSchedule < *best.CounterexampleSchedule {
			best = &r.row
		}
	}
	if best != nil {
		c.Verdict, c.Property, c.Message, c.Replay, c.Length = "violation", best.Property, best.Message, best.Replay, best.Length
		c.CounterexampleSchedule = best.CounterexampleSchedule
	}
	c.AsExpected = c.Expected == "" || c.Verdict == c.Expected
	if len(missing) == 0 {
		c.shardText = fmt.Sprintf("all %d", n)
	} else {
		c.shardText = fmt.Sprintf("%d of %d", len(have), n)
	}
	m.Files = slices.Compact(m.Files)
	return m, warnings, nil
}

func mergePlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// loadMergedTrace re-runs the counterexample of r from its replay file, if that
// file is readable here, to show its trace; otherwise it leaves a note.
func loadMergedTrace(r *checkResult) {
	if r.ReplayError != "" {
		r.note = "trace not shown: " + r.ReplayError
		if r.Replay != "" {
			r.note += "; run rdmasim replay on the file where it is"
		}
		return
	}
	ex, err := replayForTrace(r.Replay)
	switch {
	case err != nil:
		r.note = fmt.Sprintf("trace not shown: %v; run rdmasim replay on the file where it is", err)
	case ex.Finding == nil || ex.Finding.Property != r.Property:
		r.note = "trace not shown: the replay file no longer reproduces this finding"
	default:
		r.trace, r.names = ex.Trace, ex.Names
	}
}

// replayHashRE finds the settings hash in the name of a replay file.
var replayHashRE = regexp.MustCompile(`-([0-9a-f]{8})\.json$`)

// replayProblem says why the replay file of the merged row r is not shown as
// its counterexample: the file is not readable here (unreadable), or it records
// another run than the shards merged (another configuration, options,
// strategy, seed or schedule, or a name made for other settings). "" when the
// file is this campaign's.
func replayProblem(r checkResult) (problem string, unreadable bool) {
	rf, err := traces.Load(r.Replay)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, iofs.ErrPermission) {
			return err.Error(), true
		}
		return fmt.Sprintf("%s is not a replay file of this campaign: %v", r.Replay, err), false
	}
	other := func(format string, args ...any) (string, bool) {
		return fmt.Sprintf("%s was written by another run than these shards (%s); not shown", r.Replay, fmt.Sprintf(format, args...)), false
	}
	var cfg checker.Config
	if err := json.Unmarshal(rf.Config, &cfg); err != nil {
		return other("config: %v", err)
	}
	var opts algOptions
	if len(rf.Options) > 0 {
		if err := json.Unmarshal(rf.Options, &opts); err != nil {
			return other("options: %v", err)
		}
	}
	fileCfg, _ := json.Marshal(cfg)
	rowCfg, _ := json.Marshal(r.Settings)
	switch {
	case rf.Algorithm != r.Algorithm:
		return other("algorithm %s, not %s", rf.Algorithm, r.Algorithm)
	case string(fileCfg) != string(rowCfg):
		return other("configuration %s, not %s", fileCfg, rowCfg)
	case opts != r.Options:
		return other("budgets %d/%d, not %d/%d", opts.BudgetLocal, opts.BudgetRemote, r.Options.BudgetLocal, r.Options.BudgetRemote)
	case rf.Strategy != r.Strategy:
		return other("strategy %s, not %s", rf.Strategy, r.Strategy)
	case rf.CampaignSeed != r.Seed:
		return other("seed %d, not %d", rf.CampaignSeed, r.Seed)
	case r.CounterexampleSchedule != nil && rf.Schedule != *r.CounterexampleSchedule:
		return other("schedule %d, not %d", rf.Schedule, *r.CounterexampleSchedule)
	case rf.Property != r.Property:
		return other("property %s, not %s", rf.Property, r.Property)
	}
	if m := replayHashRE.FindStringSubmatch(r.Replay); m != nil {
		if want := settingsHash(r.Settings, r.Options, r.Strategy, r.Seed, r.Depth, 0, 0); m[1] != want {
			return other("settings hash %s in its name, not %s", m[1], want)
		}
	}
	return "", false
}

func replayForTrace(path string) (checker.Execution, error) {
	rf, err := traces.Load(path)
	if err != nil {
		return checker.Execution{}, err
	}
	a, err := algorithms.Lookup(rf.Algorithm)
	if err != nil {
		return checker.Execution{}, fmt.Errorf("%s: %v", path, err)
	}
	cfg, saved, err := checker.SavedRun(rf)
	if err != nil {
		return checker.Execution{}, fmt.Errorf("%s: %v", path, err)
	}
	var opts algOptions
	if len(rf.Options) > 0 {
		if err := json.Unmarshal(rf.Options, &opts); err != nil {
			return checker.Execution{}, fmt.Errorf("%s: options: %v", path, err)
		}
	}
	ex, err := checker.Replay(cfg, factory(a, opts), saved.Decisions)
	if err != nil {
		return checker.Execution{}, fmt.Errorf("%s: %v", path, err)
	}
	return ex, nil
}
