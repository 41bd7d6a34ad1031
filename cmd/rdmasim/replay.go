package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

const replayUsage = `Usage: rdmasim replay FILE

Re-runs the counterexample saved in FILE (written by rdmasim check) from its
recorded decisions and prints its trace. Exits 1 if the execution no longer
follows the decisions or no longer breaks the property the file names.
`

func cmdReplay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, replayUsage)
			return nil
		}
		return usagef("replay: %v (see rdmasim replay --help)", err)
	}
	if fs.NArg() != 1 {
		return usagef("replay: want exactly one replay file, got %d arguments", fs.NArg())
	}
	path := fs.Arg(0)
	rf, err := traces.Load(path)
	if err != nil {
		return usagef("replay: %v", err)
	}
	a, err := algorithms.Lookup(rf.Algorithm)
	if err != nil {
		return usagef("replay: %s: %v", path, err)
	}
	var cfg checker.Config
	if err := strictJSON(rf.Config, &cfg); err != nil {
		return usagef("replay: %s: config: %v", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return usagef("replay: %s: config: %v", path, err)
	}
	var opts algOptions
	if len(rf.Options) > 0 {
		if err := strictJSON(rf.Options, &opts); err != nil {
			return usagef("replay: %s: options: %v", path, err)
		}
	}
	decisions := make([]sim.Decision, len(rf.Decisions))
	for i, d := range rf.Decisions {
		decisions[i] = sim.Decision{Pick: d.Pick, Of: d.Of}
	}
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
	return nil
}

func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

const listUsage = `Usage: rdmasim list

Lists the built-in algorithms: name, expected verdict, description, origin.
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
		fmt.Fprintf(stdout, "%-14s %s\n%-14s expected: %s\n%-14s origin: %s\n", a.Name, a.Description, "", a.Expect, "", a.Origin)
	}
	return nil
}
