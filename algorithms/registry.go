package algorithms

import (
	"fmt"
	"strings"

	"github.com/rdmasim/rdmasim/rdma"
)

// DefaultBudget is the cohort budget ALock uses when an [Options] budget is 0: a
// cohort runs at most this many critical sections back to back before its next
// thread lets the other cohort in (see alock.go for the encoding). It is small so
// that the checker reaches the budget-exhausted path with a handful of threads; the
// ALock paper's evaluation uses 5 local and 20 remote, which timed runs pass
// explicitly.
const DefaultBudget = 4

// Options tunes the algorithms that have knobs. Algorithms without knobs ignore it.
type Options struct {
	// BudgetLocal and BudgetRemote are ALock's cohort budgets B_L and B_R: the
	// most critical sections the local (remote) cohort runs back to back while the
	// other cohort may be waiting. 0 means DefaultBudget; negative is an error.
	BudgetLocal, BudgetRemote int
}

// Algorithm is one registered lock.
type Algorithm struct {
	Name        string // short name used on the command line, e.g. "spin-naive"
	Description string // one line
	Origin      string // where the algorithm comes from
	// ExpectSafe is the verdict the checker should reach when the workload
	// classifies threads by their node: true means no finding, false means some
	// property (mutual exclusion, deadlock) is violated.
	ExpectSafe bool
	Expect     string // the expected verdict in words, e.g. "safe"
	// New lays out the lock's memory and returns the lock.
	New func(s rdma.Setup, o Options) (rdma.Lock, error)
	// BypassBound, if set, derives from the run's shape the most critical
	// sections of others a thread may wait through between its call to Acquire
	// and its entry (local and remote: how many threads are classified each
	// way). Nil: the lock promises no bound (a test-and-set lock is unfair).
	BypassBound func(local, remote int, o Options) int
	// UnderKnobs are the model's knob settings that decide the verdict: under
	// each, the verdict the checker reaches (a test checks every entry).
	UnderKnobs []KnobVerdict
}

// KnobVerdict is the verdict of a lock under a setting of the model's knobs.
type KnobVerdict struct {
	Knobs string // "cas-writeback=on nic-writes=excluded" (nicmodel knob names)
	// Violation is the property that breaks ("" for safe).
	Violation string
}

func (k KnobVerdict) String() string {
	if k.Violation == "" {
		return k.Knobs + ": safe"
	}
	return k.Knobs + ": " + k.Violation
}

// All returns every registered algorithm, in this fixed order: spin, spin-naive,
// mcs, mcs-naive, ticket-naive, alock, alock-nofence (each safe lock before its
// naive twin, ALock and its TSO-broken variant), then the published locks
// re-implemented since: dslr, hocl, shiftlock, farlock, declock. The slice is fresh on every
// call.
func All() []Algorithm {
	return []Algorithm{
		{
			Name:        "spin",
			Description: "test-and-set spin lock; every thread, host threads included, uses RDMA CAS (loopback)",
			Origin:      "textbook; loopback as the usual RDMA fix",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newSpin,
			UnderKnobs:  []KnobVerdict{{Knobs: "cas-writeback=on", Violation: "deadlock"}, {Knobs: "cas-writeback=on nic-writes=excluded"}},
		},
		{
			Name:        "spin-naive",
			Description: "spin lock where local threads use CPU CAS and remote threads RDMA CAS on the same word",
			Origin:      "this project, deliberately broken",
			ExpectSafe:  false,
			Expect:      "violation: mutual exclusion (a host CAS lands inside an RDMA CAS's atomicity gap)",
			New:         newSpinNaive,
			UnderKnobs:  []KnobVerdict{{Knobs: "scope=glob"}},
		},
		{
			Name:        "mcs",
			Description: "RDMA MCS queue lock; every thread enqueues on the tail through the NIC (loopback)",
			Origin:      "Mellor-Crummey & Scott, ACM TOCS 1991, over RDMA with loopback",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newMCS,
			BypassBound: mcsBypassBound,
		},
		{
			Name:        "mcs-naive",
			Description: "MCS lock where local threads swap and CAS the tail with CPU atomics, remote threads through the NIC",
			Origin:      "this project, deliberately broken",
			ExpectSafe:  false,
			Expect:      "violation: mutual exclusion or deadlock (two owners, or a hand-off that never arrives)",
			New:         newMCSNaive,
			UnderKnobs:  []KnobVerdict{{Knobs: "scope=glob"}},
		},
		{
			Name:        "ticket-naive",
			Description: "ticket lock where local threads take tickets with CPU FAA, remote threads with RDMA FAA",
			Origin:      "this project, deliberately broken",
			ExpectSafe:  false,
			Expect:      "violation: mutual exclusion or deadlock (a ticket issued twice, or lost)",
			New:         newTicketNaive,
			UnderKnobs:  []KnobVerdict{{Knobs: "scope=glob"}},
		},
		{
			Name:        "alock",
			Description: "two MCS cohorts (local on CPU atomics, remote on NIC atomics) joined by Peterson's algorithm, with budgets",
			Origin:      "Baran, Nelson-Slivon, Tseng, Palmieri: ALock: Asymmetric Lock Primitive for RDMA Systems, SPAA 2024",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newALock,
			BypassBound: alockBypassBound,
		},
		{
			Name:        "alock-nofence",
			Description: "ALock with a plain store instead of XCHG in the local Peterson step: safe under SC, broken under x86-TSO (cpu=tso)",
			Origin:      "this project: ALock minus the store-load fence its local path relies on",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newALockNoFence,
			BypassBound: alockBypassBound,
			UnderKnobs:  []KnobVerdict{{Knobs: "cpu=tso", Violation: "mutual exclusion"}},
		},
		{
			Name:        "dslr",
			Description: "DSLR: a bakery lock on one 64-bit word of four 16-bit ticket fields, taken and released with RDMA FAA and polled with READ; exclusive mode, counter resets included",
			Origin:      "Yoon, Chowdhury, Mozafari: Distributed Lock Management with RDMA: Decentralization without Starvation, SIGMOD 2018 (Algorithms 1-3); re-implementation read: github.com/thustorage/shiftlock src/baselines/dslr.rs",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newDSLR,
			BypassBound: dslrBypassBound,
		},
		{
			Name:        "hocl",
			Description: "Sherman's HOCL: a per-node CPU ticket lock with bounded hand-over in front of an RDMA CAS lock word on the home, released by an unsignaled RDMA WRITE",
			Origin:      "Wang, Lu, Shu: Sherman: A Write-Optimized Distributed B+Tree Index on Disaggregated Memory, SIGMOD 2022; github.com/thustorage/Sherman src/Tree.cpp (try_lock_addr, unlock_addr, acquire_local_lock, can_hand_over, releases_local_lock)",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newHOCL,
			UnderKnobs:  []KnobVerdict{{Knobs: "cas-writeback=on", Violation: "deadlock"}, {Knobs: "cas-writeback=on nic-writes=excluded"}},
		},
		{
			Name:        "shiftlock",
			Description: "MCS queue in the lock word's tail field, every thread on NIC atomics; the lock is handed from client to client by message, never retried by CAS",
			Origin:      "Gao, Wang, Shu: ShiftLock: Mitigate One-sided RDMA Lock Contention via Handover, FAST 2025; code github.com/thustorage/shiftlock (src/shiftlock/mod.rs), exclusive side",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newShiftLock,
			BypassBound: mcsBypassBound,
		},
		{
			Name:        "farlock",
			Description: "ALock-style cohorts (local on CPU atomics, remote on NIC atomics) that take tickets from one counter inside a Peterson lock, granting the lock in arrival order",
			Origin:      "Hu, Zhou, Wang, Vora: FARLock: Asymmetric RDMA Locking Made Fair, OSDI 2026; code github.com/pdclab/farlock (include/locks/farlock.h)",
			ExpectSafe:  false,
			Expect:      "violation: mutual exclusion (the 2-word WRITE of r_flag, victim may place victim first: both cohorts pass Peterson, and a CPU FAA inside the RDMA FAA's gap issues one ticket twice)",
			New:         newFARLock,
			BypassBound: farlockBypassBound,
			UnderKnobs:  []KnobVerdict{{Knobs: "placement=ascending"}, {Knobs: "scope=glob"}},
		},
		{
			Name:        "declock",
			Description: "DecLock, exclusive side: a per-node cohort lock (CPU atomics, bounded local hand-over) in front of a queue-notify lock on the home (RDMA FAA on a packed header, queue entries WRITten and READ), granted by a notification to the next waiter",
			Origin:      "DecLock: Efficient, Scalable, and Fair Locking for Disaggregated Memory (2025); code github.com/dracit7/declock (lock/dmlock: remote.cc, cohort.cc, lc.cc), NO_TIMESTAMP build, SEND notifications as RDMA WRITEs, resets left out",
			ExpectSafe:  true,
			Expect:      "safe",
			New:         newDecLock,
		},
	}
}

// Names returns the names of All, in the same order.
func Names() []string {
	all := All()
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.Name
	}
	return names
}

// Lookup returns the algorithm with the given name. Its error names the unknown
// algorithm and lists the known ones.
func Lookup(name string) (Algorithm, error) {
	for _, a := range All() {
		if a.Name == name {
			return a, nil
		}
	}
	return Algorithm{}, fmt.Errorf("algorithms: unknown algorithm %q (known: %s)",
		name, strings.Join(Names(), ", "))
}

// checkSetup rejects a Setup the constructors cannot lay out: a home or thread node
// outside the run, or threads not indexed by ID (per-thread state is indexed by
// Thread.ID).
func checkSetup(s rdma.Setup) error {
	nodes := s.Nodes()
	if h := s.Home(); h < 0 || h >= nodes {
		return fmt.Errorf("home node %d is not among the %d nodes", h, nodes)
	}
	for i, info := range s.Threads() {
		if info.ID != i {
			return fmt.Errorf("Threads()[%d] has ID %d: threads must be indexed by ID", i, info.ID)
		}
		if info.Node < 0 || info.Node >= nodes {
			return fmt.Errorf("thread %d is on node %d, not among the %d nodes", i, info.Node, nodes)
		}
	}
	return nil
}

// Descriptor words, as offsets from the descriptor's first word. MCS descriptors
// use locked and next; ALock descriptors add budget.
const (
	descLocked = 0 // 1 while the thread waits for a hand-off, 0 once handed the lock
	descNext   = 1 // Ptr of the successor's descriptor, 0 while there is none
	descBudget = 2 // ALock only: see alock.go
)

// allocDescs allocates one descriptor of words words per thread, on the thread's
// own node, labelled "desc.t<ID>", in thread order.
// descLabels caches the labels of the first descriptors: a checker builds the
// lock again for every execution, and formatting them showed up in profiles.
var descLabels = func() (l [64]string) {
	for i := range l {
		l[i] = fmt.Sprintf("desc.t%d", i)
	}
	return l
}()

func descLabel(id int) string {
	if id >= 0 && id < len(descLabels) {
		return descLabels[id]
	}
	return fmt.Sprintf("desc.t%d", id)
}

func allocDescs(s rdma.Setup, words int) []rdma.Ptr {
	infos := s.Threads()
	descs := make([]rdma.Ptr, len(infos))
	for i, info := range infos {
		descs[i] = s.Alloc(info.Node, words, descLabel(info.ID))
	}
	return descs
}

// localFlags returns the workload's classification of every thread, indexed by ID.
func localFlags(s rdma.Setup) []bool {
	infos := s.Threads()
	local := make([]bool, len(infos))
	for i, info := range infos {
		local[i] = info.Local
	}
	return local
}

// rswap replaces the word at p with v through p's NIC and returns the value it
// replaced. RDMA has no swap verb, so this is a loop of RCAS on the value last
// seen. It has no Pause: every failed RCAS means the word changed, and some other
// thread's RCAS succeeded (the loop is lock-free, not wait-free).
func rswap(t rdma.Thread, p rdma.Ptr, v uint64) uint64 {
	rdma.Carry(t) // the loop begins, carrying nothing yet
	cur := t.RRead(p)
	for {
		rdma.Carry(t, cur) // an attempt carries only the value last read
		old := t.RCAS(p, cur, v)
		if old == cur {
			return old
		}
		cur = old
	}
}

// mcsBypassBound: MCS is a FIFO queue, so a waiting thread is passed by at most
// the n-1 threads ahead of it. (The remote swap is a CAS loop: a thread whose CAS
// keeps failing has not joined the queue yet, and the checker reports it if that
// lets others pass more often.)
func mcsBypassBound(local, remote int, _ Options) int { return max(local+remote-1, 1) }

// alockBypassBound: a thread of cohort C (n_C threads, budget B_C) waits behind
// at most n_C-1 threads of its own cohort, in at most ceil((n_C-1)/B_C)+1 turns of
// its cohort, and before each of those turns the other cohort O runs at most one
// turn of at most B_O critical sections (Peterson's victim hands the lock over
// when O's budget is spent). So the bypass is at most
// (n_C-1) + B_O·(ceil((n_C-1)/B_C)+1); the bound is the larger over both cohorts.
func alockBypassBound(local, remote int, o Options) int {
	bl, br := o.BudgetLocal, o.BudgetRemote
	if bl <= 0 {
		bl = DefaultBudget
	}
	if br <= 0 {
		br = DefaultBudget
	}
	cohort := func(n, b, bOther, nOther int) int {
		if n == 0 {
			return 0
		}
		other := 0
		if nOther > 0 {
			other = bOther * ((n-1+b-1)/b + 1)
		}
		return n - 1 + other
	}
	return max(cohort(local, bl, br, remote), cohort(remote, br, bl, local), 1)
}
