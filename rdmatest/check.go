package rdmatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/traces"
	"github.com/rdmasim/rdmasim/workload"
)

// Check defaults, and the environment variables that override them (and any
// option given in code), so that `go test ./...` can be configured from outside
// and the command a failure prints reproduces it whatever the code says.
const (
	defaultSchedules = 2000                   // RDMASIM_SCHEDULES
	defaultSeed      = 1                      // RDMASIM_SEED
	defaultStrategy  = checker.StrategyRandom // RDMASIM_STRATEGY
	defaultReplayDir = "testdata/rdmasim"     // RDMASIM_REPLAY_DIR

	envSchedules = "RDMASIM_SCHEDULES"
	envSeed      = "RDMASIM_SEED"
	envStrategy  = "RDMASIM_STRATEGY"
	envReplayDir = "RDMASIM_REPLAY_DIR"
	// envReplay names one replay file: Check then replays only it.
	envReplay = "RDMASIM_REPLAY"
)

// checkMaxFindings: Check collects this many violating schedules, shrinks the
// shortest and shows it.
const checkMaxFindings = 20

// checkTraceLines bounds the trace lines a failure prints: past it, the middle is
// left out (a livelock at the step bound has thousands of events).
const checkTraceLines = 400

// Option tunes Check.
type Option func(*settings)

type settings struct {
	schedules   int
	seed        uint64
	strategy    string
	depth       int
	preemptions int
	maxExec     int
	replayDir   string
	expect      bool   // a violation is expected
	property    string // the property expected to break; "" = any
}

// Schedules sets how many schedules Check explores with random or PCT
// (default 2000; the environment variable RDMASIM_SCHEDULES overrides it).
func Schedules(n int) Option { return func(s *settings) { s.schedules = n } }

// Seed sets the campaign seed (default 1; RDMASIM_SEED overrides it). Schedule i
// of a campaign uses checker.ScheduleSeed(seed, i).
func Seed(seed uint64) Option { return func(s *settings) { s.seed = seed } }

// Strategy sets the exploration strategy: "random" (default), "pct" or "dfs"
// (every interleaving; the test then says whether the exploration was
// complete); RDMASIM_STRATEGY overrides it.
func Strategy(name string) Option { return func(s *settings) { s.strategy = name } }

// Depth sets PCT's depth (default 3).
func Depth(d int) Option { return func(s *settings) { s.depth = d } }

// MaxExecutions bounds a dfs exploration (default 2,000,000); a bounded
// exploration that found nothing is logged as incomplete.
func MaxExecutions(n int) Option { return func(s *settings) { s.maxExec = n } }

// Preemptions bounds dfs to n preemptions per execution (default: no bound).
func Preemptions(n int) Option { return func(s *settings) { s.preemptions = n } }

// ReplayDir sets the directory failing tests save replay files under, in a
// subdirectory named after the test (default testdata/rdmasim, relative to the
// package directory `go test` runs in; RDMASIM_REPLAY_DIR overrides it).
func ReplayDir(dir string) Option { return func(s *settings) { s.replayDir = dir } }

// ExpectViolation declares a known-broken object: Check then fails the test if
// no execution breaks property ("" = any property; see workload.Properties),
// so a checker that lost its teeth does not pass silently. A violation of
// another property fails the test as an unexpected one would.
func ExpectViolation(property string) Option {
	return func(s *settings) { s.expect, s.property = true, property }
}

// settingsFor applies opts over the defaults, then the environment.
func settingsFor(opts []Option, lookup func(string) (string, bool)) (settings, error) {
	s := settings{schedules: defaultSchedules, seed: defaultSeed, strategy: defaultStrategy, replayDir: defaultReplayDir,
		depth: 3, preemptions: -1, maxExec: 2_000_000}
	for _, o := range opts {
		o(&s)
	}
	if v, ok := lookup(envSchedules); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, fmt.Errorf("%s=%q: not a number of schedules", envSchedules, v)
		}
		s.schedules = n
	}
	if v, ok := lookup(envSeed); ok {
		n, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			return s, fmt.Errorf("%s=%q: not a seed (an unsigned 64-bit integer)", envSeed, v)
		}
		s.seed = n
	}
	if v, ok := lookup(envStrategy); ok {
		s.strategy = v
	}
	if v, ok := lookup(envReplayDir); ok {
		s.replayDir = v
	}
	switch {
	case s.schedules < 1:
		return s, fmt.Errorf("schedules = %d: want ≥ 1", s.schedules)
	case s.maxExec < 1:
		return s, fmt.Errorf("max executions = %d: want ≥ 1", s.maxExec)
	case s.expect && s.property != "" && !slices.Contains(workload.Properties, s.property):
		return s, fmt.Errorf("ExpectViolation(%q): no such property (known: %s)", s.property, strings.Join(workload.Properties, ", "))
	}
	if _, err := s.strategyValue(); err != nil {
		return s, err
	}
	return s, nil
}

func (s settings) strategyValue() (checker.Strategy, error) {
	st, err := checker.ParseStrategy(s.strategy, s.schedules, s.seed, s.depth, s.preemptions, s.maxExec)
	if r, ok := st.(checker.Random); ok {
		r.MaxFindings = checkMaxFindings
		return r, nil
	}
	if p, ok := st.(checker.PCT); ok {
		p.MaxFindings = checkMaxFindings
		return p, nil
	}
	return st, err
}

// CheckLock checks a lock: the counter-under-lock workload (checker.Lock) over
// the locks newLock builds. See Check.
func CheckLock(t testing.TB, newLock checker.LockFactory, cfg checker.Config, opts ...Option) {
	t.Helper()
	check(t, checker.Lock(newLock), cfg, opts)
}

// Check explores cfg's executions of the workload w — a lock's
// (checker.Lock), a user's object (workload.Object), any workload — and fails t
// with the shortest counterexample if one breaks a property: the trace printed,
// a replay file saved under testdata/rdmasim/<TestName>/, and the one command
// that replays exactly that failure.
//
// Saved failures come back first, as rapid's do: before exploring, Check
// replays every replay file under testdata/rdmasim/<TestName>/ made with the
// same configuration, and fails if one still breaks a property (unless a
// violation is expected). With RDMASIM_REPLAY=FILE it replays only that file.
//
// It runs random schedules (or PCT, or dfs), 2000 of them, from seed 1, each
// overridable by an option or by the environment (RDMASIM_SCHEDULES,
// RDMASIM_STRATEGY, RDMASIM_SEED, RDMASIM_REPLAY_DIR; the environment wins).
// The settings are logged first, so `go test -v` shows them. Linearizability is
// judged when cfg.Linearizability is set (checker.DefaultConfig sets it) and
// the workload has a Spec.
//
// The workload is built from several goroutines at once and must build
// independent objects. A configuration problem fails t with Fatalf; a violation
// with Errorf.
func Check(t testing.TB, w workload.Workload, cfg checker.Config, opts ...Option) {
	t.Helper()
	check(t, w, cfg, opts)
}

func check(t testing.TB, w workload.Workload, cfg checker.Config, opts []Option) {
	t.Helper()
	s, err := settingsFor(opts, os.LookupEnv)
	if err != nil {
		t.Fatalf("rdmasim: %v", err)
		return
	}
	if path, ok := os.LookupEnv(envReplay); ok && path != "" {
		replaySaved(t, w, cfg, s, []string{path}, true)
		return
	}
	dir := filepath.Join(s.replayDir, fileSafe(t.Name()))
	saved, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if replaySaved(t, w, cfg, s, saved, false) {
		return
	}
	st, _ := s.strategyValue()
	t.Logf("rdmasim: %s; strategy %s, %d schedules, seed %d (%s=%d %s=%d %s=%s)",
		cfg, s.strategy, s.schedules, s.seed, envSeed, s.seed, envSchedules, s.schedules, envStrategy, s.strategy)
	res, err := checker.Run(cfg, w, st, checker.Options{})
	if err != nil {
		t.Fatalf("rdmasim: %v", err)
		return
	}
	for _, wn := range res.Warnings {
		t.Logf("rdmasim: warning: %s", wn.String())
	}
	cx := res.Shortest
	expected := "a violation"
	if s.property != "" {
		expected = "a violation of " + s.property
	}
	switch {
	case cx == nil && !s.expect:
		if s.strategy == checker.StrategyDFS {
			t.Logf("rdmasim: ok: dfs, %d executions (%d pruned), complete: %v", res.Executions, res.Pruned, res.Complete)
		} else {
			t.Logf("rdmasim: ok: %d schedules, %d steps, no property broken", res.Executions, res.Steps)
		}
	case cx == nil:
		t.Errorf("rdmasim: expected %s, but none of %d executions (%s, seed %d) broke any property;\n"+
			"the object is correct now, the configuration cannot expose its bug, or the checker lost its teeth", expected, res.Executions, s.strategy, s.seed)
	case s.expect && (s.property == "" || s.property == cx.Finding.Property):
		t.Logf("rdmasim: %s, as expected: %v (%d events, execution %d of %d)",
			cx.Finding.Property, cx.Finding.Message, len(cx.Execution.Trace), cx.Schedule, res.Executions)
	default:
		var b strings.Builder
		if s.expect {
			fmt.Fprintf(&b, "rdmasim: expected %s, found another\n", expected)
		}
		report(&b, t.Name(), res.Config, s, res)
		t.Errorf("%s", b.String())
	}
}

// replaySaved replays the saved failures at paths (made under cfg; files of
// other configurations are skipped, or, when explicit, an error). It reports
// whether the test is decided: a saved failure still fails (or, explicit, the
// one file was replayed).
func replaySaved(t testing.TB, w workload.Workload, cfg checker.Config, s settings, paths []string, explicit bool) bool {
	t.Helper()
	want, _ := json.Marshal(cfg)
	for _, path := range paths {
		rf, err := traces.Load(path)
		if err != nil {
			if explicit || !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("rdmasim: %s=%s: %v", envReplay, path, err)
			}
			continue
		}
		saved, replay, err := checker.SavedRun(rf)
		if err != nil {
			t.Fatalf("rdmasim: %s: %v", path, err)
			return true
		}
		if got, _ := json.Marshal(saved); string(got) != string(want) {
			if explicit {
				t.Fatalf("rdmasim: %s was saved under %s, and the test now runs %s", path, saved, cfg)
				return true
			}
			t.Logf("rdmasim: skipping %s: saved under %s, the test runs %s", path, saved, cfg)
			continue
		}
		res, err := checker.Run(cfg, w, replay, checker.Options{})
		if err != nil {
			if explicit {
				t.Fatalf("rdmasim: %s does not replay: %v", path, err)
				return true
			}
			t.Logf("rdmasim: %s no longer replays (%v): the code changed; exploring anew", path, err)
			continue
		}
		cx := res.Shortest
		switch {
		case cx == nil:
			t.Logf("rdmasim: saved failure %s passes now (%s: fixed?)", path, rf.Property)
			if explicit {
				return true
			}
		case s.expect && (s.property == "" || s.property == cx.Finding.Property):
			t.Logf("rdmasim: saved failure %s: %s, as expected", path, cx.Finding.Property)
			if explicit {
				return true
			}
		default:
			var b strings.Builder
			fmt.Fprintf(&b, "rdmasim: saved failure %s still fails:\n", path)
			report(&b, t.Name(), cfg, s, res)
			t.Errorf("%s", b.String())
			return true
		}
	}
	return explicit
}

// report writes what a failing Check shows, saving the replay file on the
// way.
func report(b *strings.Builder, name string, cfg checker.Config, s settings, rep checker.Result) {
	cx := rep.Shortest
	ex := cx.Execution
	fmt.Fprintf(b, "rdmasim: %s: %s\n", cx.Finding.Property, cx.Finding.Message)
	fmt.Fprintf(b, "configuration %s; strategy %s, seed %d: %d of %d executions broke a property;\n",
		cfg, rep.Strategy, s.seed, rep.Findings, rep.Executions)
	if n := len(ex.Trace); cx.LengthBefore > n {
		fmt.Fprintf(b, "the shortest, schedule %d, shrunk from %d to %d events:\n", cx.Schedule, cx.LengthBefore, n)
	} else {
		fmt.Fprintf(b, "the shortest, schedule %d, %d events (shrinking found nothing shorter):\n", cx.Schedule, n)
	}
	if n := len(ex.Trace); n <= checkTraceLines {
		traces.Render(b, ex.Names, ex.Trace)
	} else {
		half := checkTraceLines / 2
		traces.Render(b, ex.Names, ex.Trace[:half])
		fmt.Fprintf(b, "        … %d events left out …\n", n-2*half)
		for i := n - half; i < n; i++ {
			fmt.Fprintf(b, "%4d  %s\n", i+1, ex.Trace[i].Format(ex.Names))
		}
	}

	if rep.Strategy == checker.StrategyReplay {
		return // the file is already saved
	}
	path := filepath.Join(s.replayDir, fileSafe(name), fmt.Sprintf("%s-%s-seed%d.json",
		strings.ReplaceAll(cx.Finding.Property, " ", "-"), rep.Strategy, s.seed))
	dir := "."
	if wd, err := os.Getwd(); err == nil {
		dir = wd
	}
	if err := saveReplay(path, name, cfg, rep.Strategy, s, cx); err != nil {
		fmt.Fprintf(b, "replay file: not saved: %v\n", err)
	} else {
		fmt.Fprintf(b, "replay file: %s (replayed first by every later run of the test)\n", path)
		fmt.Fprintf(b, "replay:      cd %s && %s=%s go test -count=1 -run %s .\n",
			shellQuote(dir), envReplay, shellQuote(path), shellQuote(runPattern(name)))
	}
	fmt.Fprintf(b, "explore:     cd %s && %s=%d %s=%d %s=%s go test -count=1 -run %s .\n",
		shellQuote(dir), envSeed, s.seed, envSchedules, s.schedules, envStrategy, s.strategy, shellQuote(runPattern(name)))
}

// saveReplay writes cx as a replay file (via a temporary file and a rename).
func saveReplay(path, name string, cfg checker.Config, strategy string, s settings, cx *checker.Counterexample) error {
	r, err := cx.ReplayFile("custom:"+name, nil, cfg, strategy, s.seed)
	if err != nil {
		return err
	}
	return r.Save(path)
}

// fileSafe turns a test name into one path element: letters, digits, '-' and
// '_' stay, anything else (the '/' of a subtest) becomes '_'.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, name)
}

// runPattern is the -run pattern that selects exactly the test named name
// (subtests included: one anchored element per level).
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("/._-+:,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
