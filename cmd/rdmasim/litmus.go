package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/rdmasim/rdmasim/litmus"
)

const litmusUsage = `Usage: rdmasim litmus [flags] [FILE...]

Explores every execution of each litmus test (default: the built-in suite,
testdata/litmus, embedded in the binary) under each knob setting of its expect
lines, lists every reachable outcome, and prints a table: the test, the knobs,
the outcome asked about, the verdict expected, the verdict observed, and ok or
MISMATCH. The file format and the knobs are described in the README
("Ordering semantics and the litmus suite") and in package litmus.

Exit status: 0 every verdict as expected, 1 a mismatch (or a test whose
executions deadlock or run out of steps), 2 a usage error or a bad litmus file
(reported as FILE:LINE: reason).

Flags:
`

// litmusRow is one (test, knob setting) of the JSON output.
type litmusRow struct {
	Test       string          `json:"test"`
	File       string          `json:"file"`
	Line       int             `json:"line"`
	Title      string          `json:"title,omitempty"`
	Knobs      string          `json:"knobs"`
	Outcome    string          `json:"outcome"`
	Expected   string          `json:"expected"`
	Observed   string          `json:"observed"`
	OK         bool            `json:"ok"`
	Executions int             `json:"executions"`
	Pruned     int             `json:"pruned"`
	Complete   bool            `json:"complete"`
	Outcomes   []litmusOutcome `json:"outcomes"`
	Findings   []string        `json:"findings,omitempty"`
}

type litmusOutcome struct {
	State string `json:"state"`
	Count int    `json:"count"`
	Match bool   `json:"match"`
}

func cmdLitmus(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("litmus", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		format   = fs.String("format", "text", "output format: text or json")
		noPOR    = fs.Bool("no-por", false, "explore every interleaving, without partial-order reduction")
		maxExec  = fs.Int("max-executions", litmus.DefaultMaxExecutions, "stop exploring one test under one knob setting after this many executions")
		outcomes = fs.Bool("outcomes", true, "text format: list every reachable outcome under the table")
	)
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "litmus", litmusUsage, stdout)
	}
	if *format != "text" && *format != "json" {
		return usagef("litmus: --format %q: want text or json", *format)
	}
	if *maxExec < 1 {
		return usagef("litmus: --max-executions %d: want ≥ 1", *maxExec)
	}
	var tests []*litmus.Test
	var err error
	if fs.NArg() == 0 {
		tests, err = litmus.Suite()
	} else {
		tests, err = litmus.Load(fs.Args()...)
	}
	if err != nil {
		return usagef("litmus: %v", err)
	}
	// litmus.RunAll, one test setting at a time, stopping at SIGINT or SIGTERM.
	stop, release := notifyStop()
	defer release()
	var results []litmus.Result
	total, interrupted := 0, false
	for _, t := range tests {
		total += len(t.Expects)
	}
	for _, t := range tests {
		for _, e := range t.Expects {
			if stopped(stop) {
				interrupted = true
				break
			}
			r, err := litmus.Run(t, e, litmus.Options{NoPOR: *noPOR, MaxExecutions: *maxExec})
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	mismatch := false
	for i := range results {
		if !results[i].OK() {
			mismatch = true
		}
	}
	if *format == "json" {
		rows := make([]litmusRow, 0, len(results))
		for i := range results {
			r := &results[i]
			row := litmusRow{Test: r.Test.Name, File: r.Test.File, Line: r.Expect.Line, Title: r.Test.Title,
				Knobs: r.Expect.Knobs, Outcome: r.Test.Outcome.String(), Expected: r.Expect.Verdict.String(),
				Observed: r.ObservedString(), OK: r.OK(), Executions: r.Executions, Pruned: r.Pruned,
				Complete: r.Complete, Outcomes: []litmusOutcome{}, Findings: r.Findings}
			for _, o := range r.Outcomes {
				row.Outcomes = append(row.Outcomes, litmusOutcome{o.State, o.Count, o.Match})
			}
			rows = append(rows, row)
		}
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printLitmus(stdout, results, *outcomes)
	}
	if interrupted {
		return incompleteError{fmt.Sprintf("litmus: interrupted after %d of %d test settings; the results are incomplete", len(results), total)}
	}
	if mismatch {
		return errMismatch
	}
	return nil
}

func printLitmus(w io.Writer, results []litmus.Result, outcomes bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tKNOBS\tOUTCOME\tEXPECTED\tOBSERVED\tEXECUTIONS\tOK")
	bad := 0
	for i := range results {
		r := &results[i]
		ok := "ok"
		if !r.OK() {
			ok = "MISMATCH"
			bad++
		}
		outcome := r.Test.Outcome.String()
		if len(outcome) > 40 {
			outcome = outcome[:37] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Test.Name, r.Expect.Knobs, outcome,
			r.Expect.Verdict, r.ObservedString(), r.Executions, ok)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d test settings, %d as expected, %d mismatched\n", len(results), len(results)-bad, bad)
	for i := range results {
		r := &results[i]
		if !outcomes && r.OK() {
			continue
		}
		if i == 0 || outcomes && i > 0 && results[i-1].Test != r.Test || !outcomes {
			fmt.Fprintf(w, "\n%s (%s:%d)", r.Test.Name, r.Test.File, r.Expect.Line)
			if r.Test.Title != "" {
				fmt.Fprintf(w, ": %s", r.Test.Title)
			}
			fmt.Fprintf(w, "\n  outcome asked about: %s\n", r.Test.Outcome)
		}
		complete := ""
		if !r.Complete {
			complete = ", stopped at the execution limit"
		}
		fmt.Fprintf(w, "  under %s: %d executions%s, %d reachable outcomes (* matches)\n", r.Expect.Knobs, r.Executions, complete, len(r.Outcomes))
		for _, o := range r.Outcomes {
			mark := " "
			if o.Match {
				mark = "*"
			}
			fmt.Fprintf(w, "    %s %s\n", mark, o.State)
		}
		for _, f := range r.Findings {
			fmt.Fprintf(w, "    ! %s\n", f)
		}
	}
}
