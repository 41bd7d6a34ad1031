package workload

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// Properties a finding can name. The backend adds its own (deadlock, step
// bound, misuse, panic); the monitors of this package report the others.
const (
	MutualExclusion = "mutual exclusion"
	LostUpdate      = "lost update"
	Deadlock        = "deadlock"
	StepBound       = "step bound"
	Misuse          = "misuse"
	Panic           = "panic"
	// BypassBound: a thread waited through more critical sections of others
	// than Options.BypassBound allows.
	BypassBound = "bypass bound"
	// Starvation: at the step bound, a thread had an operation pending while
	// others kept completing theirs.
	Starvation = "starvation"
	// Linearizability: the history has no linearization under the workload's
	// sequential specification.
	Linearizability = "linearizability"
	// MixedAtomicity is a warning, not a violation: one word was the target of
	// a NIC atomic and of a CPU write or CPU atomic in the same execution.
	MixedAtomicity = "mixed atomicity"
)

// Properties lists every property a finding can name.
var Properties = []string{MutualExclusion, LostUpdate, Deadlock, StepBound, Misuse, Panic,
	BypassBound, Starvation, Linearizability}

// Finding is what a monitor reports: a broken property, or a warning.
type Finding struct {
	Property string
	Message  string
	// Key identifies what the finding is about, to tell repeats apart (the
	// word, for mixed atomicity); "" for violations.
	Key string
}

func (f *Finding) String() string { return f.Property + ": " + f.Message }

// Setup is what a workload lays its memory out with: the run's shape (nodes,
// threads, the home node), registered memory, and how many operations each
// thread performs.
type Setup interface {
	rdma.Setup
	// OpsPerThread is how many operations (critical sections, object
	// operations) each thread performs: the run's --acquires. 0: as many as
	// it can until the backend stops the run (timed mode's time limit); a
	// workload that cannot run that way says so from Build.
	OpsPerThread() int
}

// Workload is anything a backend can run: it lays out memory before the threads
// start and says what each thread does and what the run must satisfy.
type Workload interface {
	Build(s Setup) (*Program, error)
}

// Program is a built workload, for one execution.
type Program struct {
	// Thread is one thread's work. It marks what the monitors judge with
	// t.Call/t.Return (operations) and t.Enter/t.Exit (critical sections).
	Thread func(t *Thread)
	// Final, if set, checks memory once every thread has finished; peek reads a
	// word without it counting as an access.
	Final func(peek func(rdma.Ptr) uint64) *Finding
	// Spec, if set, is the sequential specification the history of operations
	// must be linearizable to.
	Spec *Spec
	// Monitors are the workload's own monitors, besides the built-in ones:
	// made by Build, so fresh for every execution.
	Monitors []Monitor
}

// LockFactory builds a lock for one execution.
type LockFactory func(s rdma.Setup) (rdma.Lock, error)

// Options configure the monitors of one run.
type Options struct {
	// Names names the threads (indexed by id) in messages; "t<id>" otherwise.
	Names []string
	// Label names the allocation a word lies in ("" when unknown).
	Label func(p rdma.Ptr) string
	// BypassBound, if positive, is the most critical sections of other threads a
	// thread may wait through after its doorway; more is the finding
	// BypassBound.
	BypassBound int
	// History records every operation, for linearizability.
	History bool
	// GlobalAtomics: NIC atomics are atomic against the CPU (atomic scope glob,
	// IBV_ATOMIC_GLOB), so mixed atomicity is harmless and not reported.
	GlobalAtomics bool
	// MaxWarnings bounds the mixed-atomicity warnings kept (0: 8).
	MaxWarnings int
	// Concurrent: the threads run in parallel (a hardware backend), so the
	// marks are serialised with a mutex. A mark is taken after the event it
	// marks has happened (an entry, after the lock was acquired) or before it
	// happens (an exit, before the release), so a violation the marks show
	// happened; overlaps that the marks' serialisation hides are missed.
	Concurrent bool
}

func (o *Options) name(id int) string {
	if id >= 0 && id < len(o.Names) && o.Names[id] != "" {
		return o.Names[id]
	}
	return fmt.Sprintf("t%d", id)
}

func (o *Options) word(p rdma.Ptr) string {
	if o.Label != nil {
		if l := o.Label(p); l != "" {
			return p.String() + " /*" + l + "*/"
		}
	}
	return p.String()
}

// ThreadCounts expands a run's thread counts — one count for every node, or
// one per node — into one count per node, as every backend's configuration
// gives them.
func ThreadCounts(nodes int, threads []int) []int {
	if len(threads) == 1 {
		out := make([]int, nodes)
		for i := range out {
			out[i] = threads[0]
		}
		return out
	}
	return threads
}

// ValidateShape reports the first problem with a run's shape: 1 … 64 nodes,
// thread counts given once or per node, each 0 … maxPerNode and at least one
// thread in all, and a home node that exists.
func ValidateShape(nodes int, threads []int, home, maxPerNode int) error {
	switch {
	case nodes < 1 || nodes > 64:
		return fmt.Errorf("nodes = %d: want 1 … 64", nodes)
	case len(threads) != 1 && len(threads) != nodes:
		return fmt.Errorf("threads: %d counts given for %d nodes (give one count, or one per node)", len(threads), nodes)
	case home < 0 || home >= nodes:
		return fmt.Errorf("home = %d: want a node 0 … %d", home, nodes-1)
	}
	total := 0
	for n, k := range ThreadCounts(nodes, threads) {
		if k < 0 || k > maxPerNode {
			return fmt.Errorf("threads: %d on node %d: want 0 … %d", k, n, maxPerNode)
		}
		total += k
	}
	if total < 1 {
		return fmt.Errorf("threads: no thread at all")
	}
	return nil
}
