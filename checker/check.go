package checker

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/rdmasim/rdmasim/traces"
)

// Check defaults, and the environment variables that override them (and any
// option given in code), so that `go test ./...` can be configured from outside
// and the command a failure prints reproduces it whatever the code says.
const (
	defaultSchedules = 2000               // RDMASIM_SCHEDULES
	defaultSeed      = 1                  // RDMASIM_SEED
	defaultStrategy  = StrategyRandom     // RDMASIM_STRATEGY
	defaultReplayDir = "testdata/rdmasim" // RDMASIM_REPLAY_DIR

	envSchedules = "RDMASIM_SCHEDULES"
	envSeed      = "RDMASIM_SEED"
	envStrategy  = "RDMASIM_STRATEGY"
	envReplayDir = "RDMASIM_REPLAY_DIR"
)

// checkMaxFindings: Check collects this many violating schedules, shrinks the
// shortest and shows it.
const checkMaxFindings = 20

// checkTraceLines bounds the trace lines a failure prints: past it, the middle is
// left out (a livelock at the step bound has thousands of events).
const checkTraceLines = 400

// CheckOption tunes Check.
type CheckOption func(*checkSettings)

type checkSettings struct {
	schedules int
	seed      uint64
	strategy  string
	replayDir string
	expect    bool   // a violation is expected
	property  string // the property expected to break; "" = any
}

// Schedules sets how many schedules Check explores (default 2000; the
// environment variable RDMASIM_SCHEDULES overrides it).
func Schedules(n int) CheckOption { return func(s *checkSettings) { s.schedules = n } }

// Seed sets the campaign seed (default 1; RDMASIM_SEED overrides it). Schedule i
// of a campaign uses ScheduleSeed(seed, i).
func Seed(seed uint64) CheckOption { return func(s *checkSettings) { s.seed = seed } }

// Strategy sets the exploration strategy, StrategyRandom (default) or
// StrategyPCT; RDMASIM_STRATEGY overrides it.
func Strategy(name string) CheckOption { return func(s *checkSettings) { s.strategy = name } }

// ReplayDir sets the directory failing tests save replay files under, in a
// subdirectory named after the test (default testdata/rdmasim, relative to the
// package directory `go test` runs in; RDMASIM_REPLAY_DIR overrides it).
func ReplayDir(dir string) CheckOption { return func(s *checkSettings) { s.replayDir = dir } }

// ExpectViolation declares a known-broken lock: Check then fails the test if no
// schedule breaks property ("" = any property), so a checker that lost its teeth
// does not pass silently. A violation of another property fails the test as an
// unexpected one would.
func ExpectViolation(property string) CheckOption {
	return func(s *checkSettings) { s.expect, s.property = true, property }
}

// properties are the names a finding can carry, for ExpectViolation's check.
var properties = []string{MutualExclusion, LostUpdate, Deadlock, StepBound, Misuse, Panic}

// checkSettingsFor applies opts over the defaults, then the environment.
func checkSettingsFor(opts []CheckOption, lookup func(string) (string, bool)) (checkSettings, error) {
	s := checkSettings{schedules: defaultSchedules, seed: defaultSeed, strategy: defaultStrategy, replayDir: defaultReplayDir}
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
	case s.strategy != StrategyRandom && s.strategy != StrategyPCT:
		return s, fmt.Errorf("unknown strategy %q (want %s or %s)", s.strategy, StrategyRandom, StrategyPCT)
	case s.expect && s.property != "" && !slices.Contains(properties, s.property):
		return s, fmt.Errorf("ExpectViolation(%q): no such property (known: %s)", s.property, strings.Join(properties, ", "))
	}
	return s, nil
}

// Check explores cfg's schedules for newLock and fails t with the shortest
// counterexample (trace printed, replay file saved under
// testdata/rdmasim/<TestName>/, and the exact command to reproduce) if any
// execution breaks a property.
//
// It runs a Campaign: random schedules (or PCT), 2000 of them, from seed 1, each
// overridable by an option or by the environment (RDMASIM_SCHEDULES,
// RDMASIM_STRATEGY, RDMASIM_SEED, RDMASIM_REPLAY_DIR; the environment wins). The
// settings are logged first, so `go test -v` shows them. The counterexample shown
// is the shortest of up to 20 violating schedules, shrunk.
//
// newLock is called from several goroutines at once and must build independent
// locks. A configuration problem fails t with Fatalf; a violation with Errorf.
//
// The replay file records the configuration and every decision; bring it back
// with traces.Load and replay its decisions with Replay (the failure message
// says how). Check itself does not read replay files.
func Check(t testing.TB, newLock LockFactory, cfg Config, opts ...CheckOption) {
	t.Helper()
	s, err := checkSettingsFor(opts, os.LookupEnv)
	if err != nil {
		t.Fatalf("rdmasim: %v", err)
		return
	}
	t.Logf("rdmasim: %s; strategy %s, %d schedules, seed %d (%s=%d %s=%d %s=%s)",
		cfg, s.strategy, s.schedules, s.seed, envSeed, s.seed, envSchedules, s.schedules, envStrategy, s.strategy)
	rep, err := Campaign{Config: cfg, Lock: newLock, Strategy: s.strategy, Schedules: s.schedules,
		Seed: s.seed, MaxFindings: checkMaxFindings}.Run()
	if err != nil {
		t.Fatalf("rdmasim: %v", err)
		return
	}
	cx := rep.Shortest
	expected := "a violation"
	if s.property != "" {
		expected = "a violation of " + s.property
	}
	switch {
	case cx == nil && !s.expect:
		t.Logf("rdmasim: ok: %d schedules, %d steps, no property broken", rep.Schedules, rep.Steps)
	case cx == nil:
		t.Errorf("rdmasim: expected %s, but none of %d schedules (%s, seed %d) broke any property;\n"+
			"the lock is correct now, the configuration cannot expose its bug, or the checker lost its teeth", expected, rep.Schedules, s.strategy, s.seed)
	case s.expect && (s.property == "" || s.property == cx.Finding.Property):
		t.Logf("rdmasim: %s, as expected: %v (%d events, schedule %d of %d)",
			cx.Finding.Property, cx.Finding.Message, len(cx.Execution.Trace), cx.Schedule, rep.Schedules)
	default:
		var b strings.Builder
		if s.expect {
			fmt.Fprintf(&b, "rdmasim: expected %s, found another\n", expected)
		}
		checkReport(&b, t.Name(), cfg, s, rep)
		t.Errorf("%s", b.String())
	}
}

// checkReport writes what a failing Check shows, saving the replay file on the
// way.
func checkReport(b *strings.Builder, name string, cfg Config, s checkSettings, rep Report) {
	cx := rep.Shortest
	ex := cx.Execution
	fmt.Fprintf(b, "rdmasim: %s: %s\n", cx.Finding.Property, cx.Finding.Message)
	fmt.Fprintf(b, "configuration %s; strategy %s, seed %d: %d of %d schedules broke a property;\n",
		cfg, s.strategy, s.seed, rep.Findings, rep.Schedules)
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

	path := filepath.Join(s.replayDir, fileSafe(name), fmt.Sprintf("%s-%s-seed%d.json",
		strings.ReplaceAll(cx.Finding.Property, " ", "-"), s.strategy, s.seed))
	if err := saveCheckReplay(path, name, cfg, s, cx); err != nil {
		fmt.Fprintf(b, "replay file: not saved: %v\n", err)
	} else {
		fmt.Fprintf(b, "replay file: %s\n", path)
	}
	dir := "."
	if wd, err := os.Getwd(); err == nil {
		dir = wd
	}
	fmt.Fprintf(b, "reproduce:   cd %s && %s=%d %s=%d %s=%s go test -count=1 -run %s .\n",
		shellQuote(dir), envSeed, s.seed, envSchedules, s.schedules, envStrategy, s.strategy, shellQuote(runPattern(name)))
	fmt.Fprintf(b, "replay:      load the file with traces.Load, turn each of its decisions d into\n")
	fmt.Fprintf(b, "             sim.Decision{Pick: d.Pick, Of: d.Of}, and checker.Replay(cfg, newLock, decisions)\n")
	fmt.Fprintf(b, "             re-runs this exact execution\n")
}

// saveCheckReplay writes cx as a replay file (via a temporary file and a rename).
func saveCheckReplay(path, name string, cfg Config, s checkSettings, cx *Counterexample) error {
	r, err := cx.ReplayFile("custom:"+name, nil, cfg, s.strategy, s.seed)
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
