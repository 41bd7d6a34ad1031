package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rdmasim/rdmasim/calibrate"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/traces"
)

const calibrateUsage = `Usage: rdmasim calibrate [--profile NAME|FILE] [--targets FILE] [--fit [--params a,b,…] --out FILE] [--format text|json]

Shows how well a timing profile reproduces single-operation measurements of a
NIC: for every target (by default the ConnectX-3 figures the built-in profile
cx3 is fitted to) it runs the microbenchmark that measures the same thing in
timed mode and prints the measured value, the simulated one and the error.

With --fit it first adjusts the profile's free parameters (by default those the
figures determine; --params names others) with Nelder–Mead to minimise the
sum of squared relative errors, writes the fitted profile to --out, and prints
the table of the fitted profile. Only single-operation figures belong in the
targets: lock-level throughput is what timed mode predicts, never what it is
fitted to.

A targets file is a JSON list of objects: {"id": "C1", "what": "…", "value":
1990, "bench": "closed-latency", "verb": "read"}; bench is one of
closed-latency, open-round-trip, half-ping-pong (ns), message-rate,
spread-rate (Mops/s, with "window" requests outstanding per thread and
"threads" threads); verb is read, write, cas or faa; "weight" weighs a target
in the fit.

Flags:
`

func cmdCalibrate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		profile = fs.String("profile", nicmodel.DefaultProfile, "timing profile: a built-in name ("+strings.Join(nicmodel.Profiles(), ", ")+") or a .json file")
		targets = fs.String("targets", "", "JSON file of targets (default: the built-in ConnectX-3 figures)")
		fit     = fs.Bool("fit", false, "fit the profile's free parameters to the targets and write it to --out")
		params  = fs.String("params", strings.Join(calibrate.DefaultFitted, ","), "with --fit: the parameters to fit, comma-separated")
		out     = fs.String("out", "", "with --fit: the file to write the fitted profile to")
		name    = fs.String("name", "", "with --fit: the fitted profile's name (default: the starting profile's)")
		format  = fs.String("format", "text", "output format: text or json")
	)
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "calibrate", calibrateUsage, stdout)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("calibrate: unexpected argument %q", fs.Arg(0))
	case *format != "text" && *format != "json":
		return usagef("calibrate: --format %q: want text or json", *format)
	case *fit && *out == "":
		return usagef("calibrate: --fit needs --out FILE for the fitted profile")
	case !*fit && *out != "":
		return usagef("calibrate: --out is for --fit")
	}
	prof, err := calibrate.LoadProfile(*profile)
	if err != nil {
		return usagef("calibrate: %v", err)
	}
	tgs := calibrate.CX3
	if *targets != "" {
		if tgs, err = readTargets(*targets); err != nil {
			return usagef("calibrate: %v", err)
		}
	}
	var rows []calibrate.Row
	evals := 0
	start := time.Now()
	if *fit {
		names := strings.Split(*params, ",")
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
		}
		fmt.Fprintf(stderr, "calibrate: fitting %d parameters to %d targets…\n", len(names), len(tgs))
		var fitted *nicmodel.Profile
		fitted, rows, evals, err = calibrate.Fit(prof, tgs, names)
		if err != nil {
			return usagef("calibrate: %v", err)
		}
		if *name != "" {
			fitted.Name = *name
		}
		if err := traces.WriteFile(*out, func(w io.Writer) error { _, err := w.Write(fitted.JSON()); return err }); err != nil {
			return usagef("calibrate: writing the profile: %v", err)
		}
		prof = fitted
	} else if rows, err = calibrate.Evaluate(prof, tgs); err != nil {
		return usagef("calibrate: %v", err)
	}
	if *format == "json" {
		type jrow struct {
			ID        string  `json:"id"`
			What      string  `json:"what"`
			Unit      string  `json:"unit"`
			Target    float64 `json:"target"`
			Simulated float64 `json:"simulated"`
			Error     float64 `json:"error"`
		}
		var js []jrow
		for _, r := range rows {
			js = append(js, jrow{r.ID, r.What, r.Unit(), r.Value, r.Simulated, r.Error})
		}
		b, _ := json.MarshalIndent(map[string]any{"profile": prof.Name, "rows": js, "evaluations": evals}, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	fmt.Fprintf(stdout, "profile %s", prof.Name)
	if *fit {
		fmt.Fprintf(stdout, " (fitted: %d profiles simulated in %.1f s; written to %s)", evals, time.Since(start).Seconds(), *out)
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWHAT\tTARGET\tSIMULATED\tERROR")
	var sq float64
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.4g %s\t%.4g %s\t%+.1f%%\n", r.ID, r.What, r.Value, r.Unit(), r.Simulated, r.Unit(), 100*r.Error)
		sq += r.Error * r.Error
	}
	tw.Flush()
	fmt.Fprintf(stdout, "sum of squared relative errors: %.4f\n", sq)
	return nil
}

func readTargets(path string) ([]calibrate.Target, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tgs []calibrate.Target
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tgs); err != nil {
		return nil, fmt.Errorf("targets %s: %v", path, err)
	}
	if len(tgs) == 0 {
		return nil, fmt.Errorf("targets %s: no target", path)
	}
	for i, t := range tgs {
		if t.ID == "" || t.Value <= 0 {
			return nil, fmt.Errorf("targets %s: target %d: want an id and a value > 0", path, i+1)
		}
	}
	return tgs, nil
}
