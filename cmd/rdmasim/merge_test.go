package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// row is the part of a check or merge JSON row the tests look at.
type row struct {
	Algorithm              string   `json:"algorithm"`
	Verdict                string   `json:"verdict"`
	Property               string   `json:"property"`
	Schedules              int      `json:"schedules"`
	Findings               int      `json:"findings"`
	Steps                  int64    `json:"steps"`
	Replay                 string   `json:"replay"`
	Length                 int      `json:"length"`
	AsExpected             bool     `json:"as_expected"`
	Shard                  string   `json:"shard"`
	FirstSchedule          int      `json:"first_schedule"`
	CampaignSchedules      int      `json:"campaign_schedules"`
	CounterexampleSchedule *int     `json:"counterexample_schedule"`
	MergedShards           []string `json:"merged_shards"`
	MissingShards          []string `json:"missing_shards"`
}

func parseRows(t *testing.T, out string) []row {
	t.Helper()
	var rows []row
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array of rows: %v\n%s", err, out)
	}
	return rows
}

// runShards runs shards 0/n … n-1/n of a check campaign into dir and returns
// the file of each shard.
func runShards(t *testing.T, dir string, n int, args ...string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range n {
		a := append([]string{"check", "--format", "json", "--out", filepath.Join(dir, "replays"), "--shard", fmt.Sprintf("%d/%d", i, n)}, args...)
		out, stderr, code := rdmasim(t, a...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", a, code, stderr)
		}
		f := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// TestShardsMergeToWhole: the shards of a campaign, merged, ran exactly the
// schedules and steps of the unsharded campaign and found the same violations,
// for both strategies (PCT calibrates from the campaign seed, the same in every
// shard). --max-findings is large enough that no shard stops early.
func TestShardsMergeToWhole(t *testing.T) {
	const schedules = 900
	for _, strategy := range []string{"random", "pct"} {
		for _, alg := range []string{"alock", "spin-naive", "mcs-naive"} {
			t.Run(strategy+"/"+alg, func(t *testing.T) {
				dir := t.TempDir()
				args := []string{"--alg", alg, "--strategy", strategy, "--schedules", fmt.Sprint(schedules), "--seed", "7", "--max-findings", "100000"}
				out, stderr, code := rdmasim(t, append([]string{"check", "--format", "json", "--out", filepath.Join(dir, "whole")}, args...)...)
				if code != 0 {
					t.Fatalf("unsharded: exit %d\n%s", code, stderr)
				}
				whole := parseRows(t, out)[0]
				if whole.Shard != "0/1" || whole.FirstSchedule != 0 || whole.CampaignSchedules != schedules {
					t.Errorf("unsharded row: shard %q, first %d, campaign %d", whole.Shard, whole.FirstSchedule, whole.CampaignSchedules)
				}

				files := runShards(t, dir, 3, args...)
				replays := map[string]bool{}
				for i, f := range files {
					data, _ := os.ReadFile(f)
					r := parseRows(t, string(data))[0]
					if want := fmt.Sprintf("%d/3", i); r.Shard != want || r.FirstSchedule != i*schedules/3 || r.Schedules != schedules/3 || r.CampaignSchedules != schedules {
						t.Errorf("shard %d: shard %q, first %d, schedules %d, campaign %d", i, r.Shard, r.FirstSchedule, r.Schedules, r.CampaignSchedules)
					}
					if r.Replay != "" {
						if replays[r.Replay] {
							t.Errorf("two shards wrote replay %s", r.Replay)
						}
						replays[r.Replay] = true
						if cx := *r.CounterexampleSchedule; cx < r.FirstSchedule || cx >= r.FirstSchedule+r.Schedules {
							t.Errorf("shard %d: counterexample schedule %d outside the shard", i, cx)
						}
					}
				}

				out, stderr, code = rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
				if code != 0 {
					t.Fatalf("merge: exit %d\n%s", code, stderr)
				}
				m := parseRows(t, out)[0]
				if m.Schedules != whole.Schedules || m.Steps != whole.Steps || m.Findings != whole.Findings || m.Verdict != whole.Verdict || !m.AsExpected {
					t.Errorf("merged: schedules %d, steps %d, findings %d, verdict %s, as expected %v; unsharded: %d, %d, %d, %s",
						m.Schedules, m.Steps, m.Findings, m.Verdict, m.AsExpected, whole.Schedules, whole.Steps, whole.Findings, whole.Verdict)
				}
				if m.Shard != "" || len(m.MergedShards) != 3 || len(m.MissingShards) != 0 {
					t.Errorf("merged row: shard %q, merged %v, missing %v", m.Shard, m.MergedShards, m.MissingShards)
				}
				if m.Verdict == "violation" {
					if m.Length > whole.Length && whole.Length > 0 {
						// Not required, but the shards saw every schedule the whole run saw.
						t.Logf("merged counterexample %d events, unsharded %d", m.Length, whole.Length)
					}
					rout, rerr, rcode := rdmasim(t, "replay", m.Replay)
					if rcode != 0 || !strings.Contains(rout, m.Property) {
						t.Errorf("replay %s: exit %d\n%s%s", m.Replay, rcode, rout, rerr)
					}
				}

				// The text form renders the counterexample's trace from the replay file.
				out, _, code = rdmasim(t, append([]string{"merge"}, files...)...)
				if code != 0 || !strings.Contains(out, "all 3") || !strings.Contains(out, "machine time") {
					t.Errorf("merge (text): exit %d\n%s", code, out)
				}
				if m.Verdict == "violation" && (!strings.Contains(out, "rdmasim replay "+m.Replay) || !strings.Contains(out, "cs-enter")) {
					t.Errorf("merge (text) lacks the trace or the replay command:\n%s", out)
				}
			})
		}
	}
}

// TestShardsNaiveDefaultFindings: with the default --max-findings each shard of
// a naive lock stops early, so schedules differ from the unsharded run; the
// merged verdict is still a violation that replays.
func TestShardsNaiveDefaultFindings(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 3, "--alg", "ticket-naive,spin", "--schedules", "3000")
	out, stderr, code := rdmasim(t, append([]string{"merge", "--format", "json"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rows := parseRows(t, out)
	if len(rows) != 2 || rows[0].Algorithm != "ticket-naive" || rows[1].Algorithm != "spin" {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].Verdict != "violation" || rows[0].Findings != 60 || !rows[0].AsExpected {
		t.Errorf("ticket-naive: %+v", rows[0])
	}
	if rows[1].Verdict != "ok" || rows[1].Schedules != 3000 {
		t.Errorf("spin: %+v", rows[1])
	}
	if _, _, code := rdmasim(t, "replay", rows[0].Replay); code != 0 {
		t.Errorf("replay %s: exit %d", rows[0].Replay, code)
	}
	// The trace is not needed: with the replay file gone, the text form says
	// where to replay it.
	os.Remove(rows[0].Replay)
	out, _, code = rdmasim(t, append([]string{"merge"}, files...)...)
	if code != 0 || !strings.Contains(out, "trace not shown") || !strings.Contains(out, "rdmasim replay "+rows[0].Replay) {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestMergeMissingAndRepeatedShards(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 3, "--alg", "alock", "--schedules", "300")

	// Shard 1/3 missing.
	_, stderr, code := rdmasim(t, "merge", files[0], files[2])
	if code != 2 || !strings.Contains(stderr, "missing shard 1/3") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("missing shard: exit %d, stderr %q", code, stderr)
	}
	out, stderr, code := rdmasim(t, "merge", "--format", "json", files[0], files[2], "--partial")
	if code != 0 || !strings.Contains(stderr, "missing shard 1/3") {
		t.Fatalf("--partial: exit %d, stderr %q", code, stderr)
	}
	m := parseRows(t, out)[0]
	if m.Schedules != 200 || len(m.MissingShards) != 1 || m.MissingShards[0] != "1/3" {
		t.Errorf("--partial: %+v", m)
	}
	out, _, _ = rdmasim(t, "merge", "--partial", files[0], files[2])
	if !strings.Contains(out, "2 of 3") {
		t.Errorf("--partial text lacks the shard count:\n%s", out)
	}

	// Shard 0/3 given twice.
	_, stderr, code = rdmasim(t, "merge", files[0], files[1], files[2], files[0])
	if code != 2 || !strings.Contains(stderr, "shard 0/3 appears twice") {
		t.Errorf("repeated shard: exit %d, stderr %q", code, stderr)
	}
	out, _, code = rdmasim(t, "merge", "--partial", "--format", "json", files[0], files[1], files[2], files[0])
	if code != 0 || parseRows(t, out)[0].Schedules != 300 {
		t.Errorf("--partial, repeated shard: exit %d\n%s", code, out)
	}
}

func TestMergeRefusesDifferentCampaigns(t *testing.T) {
	dir := t.TempDir()
	a := runShards(t, filepath.Join(dir, "a"), 2, "--alg", "spin", "--schedules", "100", "--seed", "1")
	b := runShards(t, filepath.Join(dir, "b"), 2, "--alg", "spin", "--schedules", "100", "--seed", "2")
	c := runShards(t, filepath.Join(dir, "c"), 3, "--alg", "spin", "--schedules", "100", "--seed", "1")
	d := runShards(t, filepath.Join(dir, "d"), 2, "--alg", "spin", "--schedules", "100", "--seed", "1", "--acquires", "3")
	e := runShards(t, filepath.Join(dir, "e"), 2, "--alg", "spin", "--schedules", "100", "--seed", "1", "--strategy", "pct")
	for name, c := range map[string]struct {
		files []string
		want  string
	}{
		"seed":     {[]string{a[0], b[1]}, "seed 1 vs 2"},
		"count":    {[]string{a[0], c[1]}, "shard count"},
		"config":   {[]string{a[0], d[1]}, "configuration"},
		"strategy": {[]string{a[0], e[1]}, "strategy"},
	} {
		_, stderr, code := rdmasim(t, append([]string{"merge", "--partial"}, c.files...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, c.files[0]) || !strings.Contains(stderr, c.files[1]) {
			t.Errorf("%s: exit %d, stderr %q: want exit 2 naming %q and both files", name, code, stderr, c.want)
		}
	}
}

func TestMergeCorruptInput(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 2, "--alg", "spin-naive", "--schedules", "200")
	data, _ := os.ReadFile(files[1])
	s := string(data)
	// A whole run without the shard keys, as an older rdmasim wrote it.
	var old []map[string]any
	json.Unmarshal(data, &old)
	delete(old[0], "shard")
	oldJSON, _ := json.Marshal(old)
	merged, _, _ := rdmasim(t, "merge", "--format", "json", files[0], files[1])

	for name, content := range map[string]string{
		"truncated":  s[:len(s)/2],
		"garbage":    "hello",
		"empty":      "",
		"no-rows":    "[]",
		"object":     `{"algorithm": "spin"}`,
		"not-a-row":  "[1, 2]",
		"wrong-type": strings.Replace(s, `"steps": `, `"steps": "many", "x": `, 1),
		"bad-shard":  strings.Replace(s, `"shard": "1/2"`, `"shard": "2/2"`, 1),
		"bad-first":  strings.Replace(s, `"first_schedule": 100`, `"first_schedule": 50`, 1),
		"verdict":    strings.Replace(s, `"verdict": "violation"`, `"verdict": "maybe"`, 1),
		"no-shard":   string(oldJSON),
		"merged":     merged,
	} {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(content), 0o644)
		out, stderr, code := rdmasim(t, "merge", files[0], p)
		if code != 2 || !strings.Contains(stderr, p) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 || out != "" {
			t.Errorf("%s: exit %d (want 2), stderr %q (want one line naming the file), stdout %q", name, code, stderr, out)
		}
	}
	missing := filepath.Join(dir, "nope.json")
	if _, stderr, code := rdmasim(t, "merge", files[0], missing); code != 2 || !strings.Contains(stderr, missing) {
		t.Errorf("unreadable file: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := rdmasim(t, "merge"); code != 2 || !strings.Contains(stderr, "no files") {
		t.Errorf("no files: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := rdmasim(t, "merge", "--format", "xml", files[0]); code != 2 || !strings.Contains(stderr, "format") {
		t.Errorf("--format xml: exit %d, stderr %q", code, stderr)
	}
}

// TestMergeMismatch: the merged verdict is compared with the expected one.
func TestMergeMismatch(t *testing.T) {
	dir := t.TempDir()
	files := runShards(t, dir, 2, "--alg", "alock", "--schedules", "100")
	for _, f := range files {
		data, _ := os.ReadFile(f)
		os.WriteFile(f, []byte(strings.Replace(string(data), `"expected": "ok"`, `"expected": "violation"`, 1)), 0o644)
	}
	out, stderr, code := rdmasim(t, append([]string{"merge"}, files...)...)
	if code != 1 || !strings.Contains(out, "MISMATCH") {
		t.Errorf("exit %d, want 1\n%s%s", code, out, stderr)
	}
}

func TestBadShard(t *testing.T) {
	for _, spec := range []string{"3/2", "x", "-1/2", "1/0", "2/2", "1/", "/2", "1/2/3", " 1/2", "+1/2", "0/4"} {
		_, stderr, code := rdmasim(t, "check", "--alg", "spin", "--schedules", "3", "--shard", spec)
		if code != 2 || !strings.Contains(stderr, "--shard") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("--shard %q: exit %d, stderr %q: want exit 2 and one line", spec, code, stderr)
		}
	}
	// The largest shard count for 3 schedules.
	if _, stderr, code := rdmasim(t, "check", "--alg", "spin", "--schedules", "3", "--shard", "2/3", "--out", t.TempDir()); code != 0 {
		t.Errorf("--shard 2/3 of 3: exit %d, %s", code, stderr)
	}
}

// TestShardRange: the shards cover the campaign once, in order, evenly, with
// no overflow for huge campaigns.
func TestShardRange(t *testing.T) {
	for _, total := range []int{1, 2, 3, 7, 10, 100, 1000, 10000001, math.MaxInt} {
		for _, n := range []int{1, 2, 3, 4, 7, 10, 64, 1000} {
			if n > total {
				continue
			}
			next := 0
			for i := range n {
				first, count := shardRange(i, n, total)
				if first != next || count < total/n || count-1 > total/n {
					t.Fatalf("total %d, shard %d/%d: first %d (want %d), count %d", total, i, n, first, next, count)
				}
				next = first + count
			}
			if next != total {
				t.Fatalf("total %d, %d shards end at %d", total, n, next)
			}
		}
	}
}
