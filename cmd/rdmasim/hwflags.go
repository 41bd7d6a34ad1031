package main

import (
	"flag"
	"strings"
	"time"

	"github.com/rdmasim/rdmasim/hwrun"
)

// hwFlags are the flags that describe a hardware run, shared by hw run and
// compare.
type hwFlags struct {
	backend, devices, threads string
	nodes, home, acquires     int
	trials                    int
	global                    bool
	gap, timeout              time.Duration
	fs                        *flag.FlagSet
}

// hwDefaults are a command's defaults for the flags it shares.
type hwDefaults struct {
	threads            string // "": 1 on the home node, 2 elsewhere
	acquires, trials   int
	timeout            time.Duration
	acquiresHelpPrefix string // "hardware: " where a command also simulates
}

func addHWFlags(fs *flag.FlagSet, d hwDefaults) *hwFlags {
	h := &hwFlags{fs: fs}
	p := d.acquiresHelpPrefix
	threadsHelp := "threads per node: one count for every node, or a count per node"
	if d.threads == "" {
		threadsHelp += " (default: 1 on the home node, 2 elsewhere)"
	}
	fs.StringVar(&h.backend, "backend", hwrun.Native, p+"backend: native (NIC goroutines), or verbs (libibverbs devices; a binary built with -tags rdma)")
	fs.StringVar(&h.devices, "devices", "", "verbs: the devices to use, comma-separated (default: all); node n uses device n mod count")
	fs.IntVar(&h.nodes, "nodes", 2, "number of nodes")
	fs.StringVar(&h.threads, "threads", d.threads, threadsHelp)
	fs.IntVar(&h.home, "home", 0, "the node that holds the lock")
	fs.IntVar(&h.acquires, "acquires", d.acquires, p+"critical sections per thread")
	fs.IntVar(&h.trials, "trials", d.trials, p+"runs per algorithm")
	fs.BoolVar(&h.global, "global-atomics", false, "native: NIC atomics as one hardware atomic (IBV_ATOMIC_GLOB) instead of a load and a store")
	fs.DurationVar(&h.gap, "atomic-gap", 0, "native: how long a NIC atomic waits between its load and its store (a real NIC's PCIe read: ≈ 500ns)")
	fs.DurationVar(&h.timeout, "timeout", d.timeout, p+"a run in which no operation completes for this long is stopped and reported as hung")
	return h
}

// config is the hardware run the flags describe, validated; cmd names the
// command in errors.
func (h *hwFlags) config(cmd string) (hwrun.Config, error) {
	switch {
	case h.backend != hwrun.Native && h.backend != hwrun.Verbs:
		return hwrun.Config{}, usagef("%s: --backend %q: want native or verbs", cmd, h.backend)
	case h.trials < 1:
		return hwrun.Config{}, usagef("%s: --trials %d: want ≥ 1", cmd, h.trials)
	case h.acquires < 1:
		return hwrun.Config{}, usagef("%s: --acquires %d: want ≥ 1", cmd, h.acquires)
	case h.timeout <= 0:
		return hwrun.Config{}, usagef("%s: --timeout %v: want > 0", cmd, h.timeout)
	}
	counts := defaultThreads(h.nodes, h.home)
	if h.threads != "" {
		var err error
		if counts, err = parseInts(h.threads); err != nil {
			return hwrun.Config{}, usagef("%s: --threads %q: %v", cmd, h.threads, err)
		}
	}
	var devs []string
	if h.devices != "" {
		devs = strings.Split(h.devices, ",")
	}
	cfg := hwrun.Config{Backend: h.backend, Devices: devs, Nodes: h.nodes, Threads: counts, Home: h.home, Ops: h.acquires,
		GlobalAtomics: h.global, AtomicGap: h.gap, Timeout: h.timeout}
	if err := cfg.Validate(); err != nil {
		return hwrun.Config{}, usagef("%s: %v", cmd, err)
	}
	return cfg, nil
}
