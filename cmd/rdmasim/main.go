// Command rdmasim checks RDMA lock algorithms under a simulated NIC.
//
//	rdmasim check                 check every built-in algorithm on the default configuration
//	rdmasim check --alg alock --nodes 3 --threads 2 --acquires 3 --strategy pct --schedules 100000 --seed 7
//	rdmasim check --shard 2/8 --format json > shard-2.json   one eighth of a campaign
//	rdmasim merge shard-*.json    combine the shards of a campaign
//	rdmasim replay FILE           re-run a saved counterexample and print its trace
//	rdmasim list                  the algorithms, with a one-line description and expected verdict
//	rdmasim litmus                explore the built-in litmus suite (or litmus files given)
//	rdmasim bench --alg alock,spin,mcs --nodes 5 --threads 2,4,8,12 --keys 100 --local 0.95 --csv r.csv
//	                              the lock-table benchmark in timed mode over a grid of configurations
//	rdmasim figures --out figs    the figures of timed mode (--quick: small sweeps; --from FILE: redraw)
//	rdmasim calibrate [--fit --out p.json]   a timing profile against single-operation figures
//
// Exit status: 0 when every verdict is the algorithm's expected one (or a replay
// reproduced its finding), 1 when a verdict differs from the expected one (or a
// replay no longer reproduces, or SIGINT or SIGTERM interrupted the run before
// its results could tell), 2 for a usage or configuration error (or replay
// files that could not be written).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// usageError is a problem with the command line or the input files: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// incompleteError: the run was interrupted before its results could tell:
// exit status 1, with the message.
type incompleteError struct{ msg string }

func (e incompleteError) Error() string { return e.msg }

// errMismatch: the run worked, and a verdict differs from what was expected.
var errMismatch = errors.New("mismatch")

const mainUsage = `rdmasim: a simulator and model checker for RDMA locks.

Usage:
  rdmasim check [flags]     check algorithms under the simulated NIC (all of them by default)
  rdmasim merge FILE...     combine the --format json outputs of check --shard i/n runs
  rdmasim replay FILE       re-run a saved counterexample and print its trace
  rdmasim list              list the built-in algorithms
  rdmasim litmus [FILE...]  explore litmus tests of the NIC's ordering semantics (the built-in suite by default)
  rdmasim hw run [flags]    run algorithms on real threads and real memory (native or verbs), judged by the same monitors
  rdmasim compare [flags]   the same algorithms on hardware and in the simulator, violations by kind side by side
  rdmasim bench [flags]     the lock-table benchmark in timed mode over a grid of configurations
  rdmasim figures [flags]   the figures of timed mode (running their sweeps, or from result files)
  rdmasim calibrate [flags] how well a timing profile reproduces single-operation figures; --fit fits one
  rdmasim help [COMMAND]    help on a command

Exit status: 0 every verdict as expected, 1 a verdict differs from the expected
one (or an interrupted run is incomplete), 2 usage or input error (or --out not
writable).
`

func main() {
	softMemoryLimit()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// softMemoryLimit sets, unless GOMEMLIMIT does, the Go runtime's soft memory
// limit to three quarters of the machine's memory. Left alone, the collector
// lets the heap grow to twice what is live: a state search whose live data
// is most of the memory would be killed for its garbage.
func softMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if m := physicalMemory(); m > 0 {
		debug.SetMemoryLimit(m / 4 * 3)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	var ue usageError
	var ie incompleteError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errMismatch):
		return 1
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "rdmasim: %v\n", err)
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "rdmasim: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "rdmasim: %v\n", err)
		return 2
	}
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return usagef("no command given (try: rdmasim check)")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "merge":
		return cmdMerge(rest, stdout, stderr)
	case "replay":
		return cmdReplay(rest, stdout, stderr)
	case "list":
		return cmdList(rest, stdout)
	case "litmus":
		return cmdLitmus(rest, stdout, stderr)
	case "hw":
		return cmdHW(rest, stdout, stderr)
	case "compare":
		return cmdCompare(rest, stdout, stderr)
	case "bench":
		return cmdBench(rest, stdout, stderr)
	case "figures":
		return cmdFigures(rest, stdout, stderr)
	case "calibrate":
		return cmdCalibrate(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return dispatch([]string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, mainUsage)
		return nil
	default:
		return usagef("unknown command %q (commands: check, merge, replay, list, litmus, hw, compare, bench, figures, calibrate, help)", cmd)
	}
}

// parseInterspersed parses fs's flags wherever they stand among the positional
// arguments (rdmasim replay FILE --html out.html) and returns the positional
// ones. It returns flag.ErrHelp for -h, and flag's own error for a bad flag.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// helpOr ends a command whose flags did not parse: -h prints the command's
// usage and its flags' defaults to stdout (and is no error); anything else is
// a usage error naming the command.
func helpOr(err error, fs *flag.FlagSet, name, usage string, stdout io.Writer) error {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	return usagef("%s: %v (see rdmasim %s --help)", name, err, name)
}
