package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/traces"
)

const replayUsage = `Usage: rdmasim replay FILE [--html PATH]

Re-runs the counterexample saved in FILE (written by rdmasim check) from its
recorded decisions and prints its trace. Exits 1 if the execution no longer
follows the decisions or no longer breaks the property the file names.

  --html PATH   also write the counterexample as one self-contained HTML page:
                what went wrong in one sentence, a lane per thread and per NIC,
                a row per event with the touched word's value after it, the two
                halves of each NIC atomic joined, the violation and every
                scheduling decision marked, the command that reproduces it and
                a link to the lock history saved next to FILE, if there is one
                (flags may come before or after FILE)
`

func cmdReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	htmlPath := fs.String("html", "", "also write the counterexample as a self-contained HTML page to this path")
	// Flags may come before or after FILE.
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, replayUsage)
			return nil
		}
		return usagef("replay: %v (see rdmasim replay --help)", err)
	}
	if len(files) != 1 {
		return usagef("replay: want exactly one replay file, got %d arguments", len(files))
	}
	emptyHTML := false
	fs.Visit(func(f *flag.Flag) { emptyHTML = emptyHTML || (f.Name == "html" && *htmlPath == "") })
	if emptyHTML {
		return usagef("replay: --html: want a file name")
	}
	path := files[0]
	rf, err := traces.Load(path)
	if err != nil {
		return usagef("replay: %v", err)
	}
	a, err := algorithms.Lookup(rf.Algorithm)
	if err != nil {
		return usagef("replay: %s: %v", path, err)
	}
	cfg, saved, err := checker.SavedRun(rf)
	if err != nil {
		return usagef("replay: %s: %v", path, err)
	}
	var opts algOptions
	if len(rf.Options) > 0 {
		if err := strictJSON(rf.Options, &opts); err != nil {
			return usagef("replay: %s: options: %v", path, err)
		}
	}
	decisions := saved.Decisions
	fmt.Fprintf(stdout, "%s on %s\nsaved finding: %s: %s\n", rf.Algorithm, cfg, rf.Property, rf.Message)
	ex, err := checker.Replay(cfg, factory(a, opts), decisions)
	if err != nil {
		fmt.Fprintf(stdout, "does not replay: %v\n", err)
		return errMismatch
	}
	traces.Render(stdout, ex.Names, ex.Trace)
	if ex.Finding == nil {
		fmt.Fprintf(stdout, "no finding: the execution passes now\n")
		return errMismatch
	}
	fmt.Fprintf(stdout, "%d events; finding: %s: %s\n", len(ex.Trace), ex.Finding.Property, ex.Finding.Message)
	if ex.Finding.Property != rf.Property {
		fmt.Fprintf(stdout, "the file saved %q, the replay found %q\n", rf.Property, ex.Finding.Property)
		return errMismatch
	}
	if *htmlPath == "" {
		return nil
	}
	choices, eventOf := decisionEvents(ex)
	decisive := -1
	if k, err := checker.DecisiveDecision(cfg, factory(a, opts), decisions, ex.Finding.Property); err != nil {
		return fmt.Errorf("replay: finding the decisive decision: %v", err)
	} else if k >= 0 {
		decisive = eventOf[k]
	}
	page := traces.Page{
		Title:     rf.Algorithm + ": " + ex.Finding.Property,
		Algorithm: rf.Algorithm,
		Config:    cfg.String(),
		Property:  ex.Finding.Property,
		Message:   ex.Finding.Message,
		Names:     ex.Names,
		Events:    ex.Trace,
		Choices:   choices,
		Decisive:  decisive,
		Nodes:     cfg.Nodes,

		ReplayCommand: "rdmasim replay " + shellQuote(path),
		HistoryHTML:   historyLink(path, *htmlPath),
	}
	if err := page.Save(*htmlPath); err != nil {
		return fmt.Errorf("replay: --html: %v", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *htmlPath)
	return nil
}

// historyLink returns the link, relative to the page at pagePath, to the
// lock-history page saved next to the replay file (its name with .history.html
// for .json), or "" if there is none.
func historyLink(replayPath, pagePath string) string {
	if !strings.HasSuffix(replayPath, ".json") {
		return ""
	}
	hist := strings.TrimSuffix(replayPath, ".json") + ".history.html"
	if fi, err := os.Stat(hist); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	absHist, err1 := filepath.Abs(hist)
	absPage, err2 := filepath.Abs(pagePath)
	if err1 != nil || err2 != nil {
		return ""
	}
	rel, err := filepath.Rel(filepath.Dir(absPage), absHist)
	if err != nil {
		return ""
	}
	// As a URL path: slashes, escaped, never mistaken for a scheme ("a:b.html").
	return (&url.URL{Path: filepath.ToSlash(rel)}).String()
}

// shellQuote quotes s for a POSIX shell, unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+:,=@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// decisionEvents finds the event each scheduling decision of the replayed
// execution ex chose: choices[i] is "choice k of n" for the event decision
// picked (k counted from 1), "" for events no decision picked; eventOf[k] is the
// index in ex.Trace of the event decision k picked, -1 where it cannot be told.
//
// The engine records, with every decision, the number of the step it fired
// (sim.Decision.Step), whose events carry that number: the first event of that
// step belonging to the chosen thread is the one the decision picked. No second
// run is needed.
func decisionEvents(ex checker.Execution) (choices []string, eventOf []int) {
	trace, decisions := ex.Trace, ex.Decisions
	if len(ex.Chosen) != len(decisions) {
		return nil, nil
	}
	choices = make([]string, len(trace))
	eventOf = make([]int, len(decisions))
	j := 0
	for k, d := range decisions {
		step := d.Step
		eventOf[k] = -1
		for j < len(trace) && trace[j].Step < step {
			j++
		}
		if step <= 0 || j == len(trace) || trace[j].Step != step {
			continue
		}
		ev, o := trace[j], ex.Chosen[k]
		fromStep := ev.Kind != traces.Mark && ev.Kind != traces.Park && ev.Kind != traces.Wake
		if o.Wake {
			fromStep = ev.Kind == traces.Wake && ev.Addr == 0
		}
		if ev.Thread != int(o.Thread) || !fromStep {
			continue
		}
		eventOf[k] = j
		choices[j] = fmt.Sprintf("choice %d of %d", d.Pick+1, d.Of)
	}
	return choices, eventOf
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

const listUsage = `Usage: rdmasim list

Lists the built-in algorithms: name, description, expected verdict under the
default knobs and under every knob setting that decides it, origin.
`

func cmdList(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			fmt.Fprint(stdout, listUsage)
			return nil
		}
		return usagef("list: takes no arguments, got %q", args[0])
	}
	for _, a := range algorithms.All() {
		fmt.Fprintf(stdout, "%-14s %s\n%-14s expected: %s\n", a.Name, a.Description, "", a.Expect)
		for _, k := range a.UnderKnobs {
			fmt.Fprintf(stdout, "%-14s   under %s\n", "", k)
		}
		fmt.Fprintf(stdout, "%-14s origin: %s\n", "", a.Origin)
	}
	return nil
}
