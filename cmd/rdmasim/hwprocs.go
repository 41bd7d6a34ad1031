package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// hwSpec is the workload of a hardware run as the coordinator sends it to the
// node processes: every process builds the same workload from it.
type hwSpec struct {
	Alg     string     `json:"alg"`
	Options algOptions `json:"options"`
	Table   *hwTable   `json:"table,omitempty"`
}

// hwTable is a lock table's settings (workload.LockTable without its lock).
type hwTable struct {
	Keys            int     `json:"keys"`
	Local           float64 `json:"local"`
	ZipfS           float64 `json:"zipf"`
	CriticalSection bool    `json:"critical_section"`
	Seed            uint64  `json:"seed"`
}

func newHWSpec(a algorithms.Algorithm, opts algOptions, table *workload.LockTable) hwSpec {
	s := hwSpec{Alg: a.Name, Options: opts}
	if table != nil {
		s.Table = &hwTable{Keys: table.Keys, Local: table.Local, ZipfS: table.ZipfS, CriticalSection: table.CriticalSection, Seed: table.Seed}
	}
	return s
}

// workload is the counter under the algorithm's lock, or the lock table.
func (s hwSpec) workload() (workload.Workload, error) {
	a, err := algorithms.Lookup(s.Alg)
	if err != nil {
		return nil, err
	}
	if s.Table == nil {
		return factory(a, s.Options), nil
	}
	t := s.Table
	return workload.LockTable{Keys: t.Keys, Local: t.Local, ZipfS: t.ZipfS, CriticalSection: t.CriticalSection, Seed: t.Seed,
		Lock: func(st rdma.Setup) (rdma.Lock, error) { return a.New(st, s.Options.options()) }}, nil
}

// buildHWSpec is a node process's Build: the workload the coordinator's spec
// describes.
func buildHWSpec(b []byte) (workload.Workload, error) {
	var s hwSpec
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("the coordinator's workload %q: %v (is it the same rdmasim?)", b, err)
	}
	return s.workload()
}

// procsFlags are hw run's flags for one process per node.
type procsFlags struct {
	procs       bool
	listen      string
	peerTimeout time.Duration
}

func addProcsFlags(fs *flag.FlagSet) *procsFlags {
	p := &procsFlags{}
	fs.BoolVar(&p.procs, "procs", false, "one process per node on this machine (rdmasim hw node), bootstrapped over a local socket, instead of every node in this process")
	fs.StringVar(&p.listen, "listen", "", "the coordinator's address (default with --procs: 127.0.0.1, any free port); without --procs: wait there for the nodes of a cluster to join (rdmasim hw node --join)")
	fs.DurationVar(&p.peerTimeout, "peer-timeout", 30*time.Second, "with --procs or --listen: how long to wait for a node to join, to answer during set-up, or to send a heartbeat while running")
	return p
}

// start starts the session the flags ask for: nil when every node runs in
// this process. stop ends it (the node processes are stopped and their
// shared memory files removed; Ctrl-C does the same).
func (p *procsFlags) start(cfg hwrun.Config, stderr io.Writer) (*hwrun.Cluster, func(), error) {
	if !p.procs && p.listen == "" {
		return nil, func() {}, nil
	}
	if p.peerTimeout <= 0 {
		return nil, nil, usagef("hw run: --peer-timeout %v: want > 0", p.peerTimeout)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	o := hwrun.ClusterOptions{Nodes: cfg.Nodes, Listen: p.listen, PeerTimeout: p.peerTimeout}
	if p.procs {
		self, err := os.Executable()
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("hw run --procs: finding this program to launch the nodes: %v", err)
		}
		o.Launch = func(node int, addr string) (*exec.Cmd, error) {
			cmd := exec.Command(self, "hw", "node", "--join", addr, "--node", strconv.Itoa(node), "--peer-timeout", p.peerTimeout.String())
			cmd.Stdout, cmd.Stderr = stderr, stderr
			cmd.Env = append(os.Environ(), childEnv+"=1")
			return cmd, nil
		}
	} else {
		o.Log = stderr
	}
	cl, err := hwrun.StartCluster(ctx, o)
	if err != nil {
		cancel()
		return nil, nil, incompleteError{"hw run: " + err.Error()}
	}
	return cl, func() { cl.Close(); cancel() }, nil
}

const hwNodeUsage = `Usage: rdmasim hw node --join HOST:PORT --node I [flags]

Runs node I of a hardware run whose coordinator (rdmasim hw run --listen
HOST:PORT, or --procs, which starts these processes itself) waits at
HOST:PORT: it joins, sets up its node's memory (and, with the verbs backend,
its device, registered memory and QPs), exchanges with its peers what they
need, runs its node's threads, and reports to the coordinator, which judges
the run. It serves every run of the session, and exits when the coordinator
says bye. Every mapping, shared file and QP is released on exit, on error,
and on Ctrl-C.

Exit status: 0 the session ended normally, 1 it failed (a peer or the
coordinator went away, a set-up failed, interrupted), 2 a usage error.

Flags:
`

func cmdHWNode(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hw node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		join        = fs.String("join", "", "the coordinator's address, HOST:PORT (required)")
		node        = fs.Int("node", -1, "this process's node id, 0 … nodes-1 (required)")
		peerTimeout = fs.Duration("peer-timeout", 30*time.Second, "how long to try to reach the coordinator, and to wait for it during a run's set-up")
		devices     = fs.String("devices", "", "verbs: this machine's devices, comma-separated, replacing the run's (node I uses device I mod count)")
	)
	if err := fs.Parse(args); err != nil {
		return helpOr(err, fs, "hw node", hwNodeUsage, stdout)
	}
	switch {
	case fs.NArg() > 0:
		return usagef("hw node: unexpected argument %q (flags only)", fs.Arg(0))
	case *join == "":
		return usagef("hw node: --join HOST:PORT is required")
	case *node < 0 || *node > rdma.MaxNode:
		return usagef("hw node: --node %d: want 0 … %d (required)", *node, rdma.MaxNode)
	case *peerTimeout <= 0:
		return usagef("hw node: --peer-timeout %v: want > 0", *peerTimeout)
	}
	var devs []string
	if *devices != "" {
		devs = strings.Split(*devices, ",")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	err := hwrun.Join(ctx, *join, *node, hwrun.JoinOptions{Build: buildHWSpec, PeerTimeout: *peerTimeout, Devices: devs})
	if err != nil {
		if errors.Is(err, hwrun.ErrAborted) && os.Getenv(childEnv) != "" {
			return errQuiet // hw run --procs, which launched it, says why
		}
		return incompleteError{fmt.Sprintf("hw node %d: %v", *node, err)}
	}
	return nil
}

// childEnv marks the node processes hw run --procs launches.
const childEnv = "RDMASIM_HW_PROCS_CHILD"

// errQuiet: exit status 1, nothing to say.
var errQuiet = errMismatch
