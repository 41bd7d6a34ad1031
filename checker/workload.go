package checker

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// Properties a finding can name.
const (
	MutualExclusion = "mutual exclusion"
	LostUpdate      = "lost update"
	Deadlock        = "deadlock"
	StepBound       = "step bound"
	Misuse          = "misuse"
	Panic           = "panic"
	// BypassBound: a thread waited through more critical sections of others
	// than Config.BypassBound allows.
	BypassBound = "bypass bound"
	// Starvation: at the step bound, a thread had been waiting in Acquire while
	// others kept entering the critical section.
	Starvation = "starvation"
	// Linearizability: the lock history has no linearization as a lock
	// protecting a register.
	Linearizability = "linearizability"
)

// linTimeout bounds the linearizability check of one execution's history.
const linTimeout = 2 * time.Second

// DefaultStepBound is the step bound when Config.StepBound is 0.
const DefaultStepBound = 100_000

// Config is one workload configuration: who runs, where the lock lives, how much
// each thread does, and the NIC's knobs.
type Config struct {
	Nodes int `json:"nodes"`
	// Threads per node: one count for every node, or one count per node.
	Threads  []int `json:"threads"`
	Home     int   `json:"home"`     // the node that holds the lock and the counter
	Acquires int   `json:"acquires"` // critical sections per thread
	// Scope of NIC atomics: hca (default) or glob.
	Scope string `json:"scope"`
	// FailedCASWritesBack: a failed NIC CAS writes back the value it read.
	FailedCASWritesBack bool `json:"failed_cas_writes_back,omitempty"`
	// Arbitration of NIC atomics waiting for one address: fifo (default) or any.
	Arbitration string `json:"arbitration,omitempty"`
	// Knobs sets any other knob of the model by name (nicmodel.Knobs):
	// "cpu": "tso", "nic-writes": "excluded", "ordering", "fence", "placement",
	// "lanes".
	Knobs     map[string]string `json:"knobs,omitempty"`
	StepBound int               `json:"step_bound"` // 0: DefaultStepBound
	// TreatAsLocal and TreatAsRemote override the locality classification the
	// lock is given (normally: a thread is local iff it runs on Home), by thread id.
	TreatAsLocal  []int `json:"treat_as_local,omitempty"`
	TreatAsRemote []int `json:"treat_as_remote,omitempty"`
	// BypassBound, if positive, is the most critical sections of other threads
	// a thread may wait through, from its call to Acquire to its entry; more is
	// the finding "bypass bound".
	BypassBound int `json:"bypass_bound,omitempty"`
	// Linearizability records every execution's lock history (acquire, release,
	// and the read and write of the counter inside the critical section) and
	// checks it with porcupine; an illegal history is the finding
	// "linearizability".
	Linearizability bool `json:"linearizability,omitempty"`
}

// DefaultConfig is the configuration `rdmasim check` uses when given no flags:
// two nodes, the lock on node 0 with one host thread, two remote threads on node
// 1, two critical sections each.
func DefaultConfig() Config {
	return Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 2, Scope: "hca"}
}

// LockFactory builds a lock for one execution.
type LockFactory func(s rdma.Setup) (rdma.Lock, error)

// ThreadCounts returns the number of threads on each node.
func (c Config) ThreadCounts() []int {
	if len(c.Threads) == 1 {
		out := make([]int, c.Nodes)
		for i := range out {
			out[i] = c.Threads[0]
		}
		return out
	}
	return c.Threads
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.Nodes < 1 || c.Nodes > 64:
		return fmt.Errorf("nodes = %d: want 1 … 64", c.Nodes)
	case len(c.Threads) != 1 && len(c.Threads) != c.Nodes:
		return fmt.Errorf("threads: %d counts given for %d nodes (give one count, or one per node)", len(c.Threads), c.Nodes)
	case c.Home < 0 || c.Home >= c.Nodes:
		return fmt.Errorf("home = %d: want a node 0 … %d", c.Home, c.Nodes-1)
	case c.Acquires < 1 || c.Acquires > 1000:
		return fmt.Errorf("acquires = %d: want 1 … 1000", c.Acquires)
	case c.BypassBound < 0:
		return fmt.Errorf("bypass bound = %d: want ≥ 0 (0: not checked)", c.BypassBound)
	case c.StepBound < 0:
		return fmt.Errorf("step bound = %d: want ≥ 0 (0 is the default, %d)", c.StepBound, DefaultStepBound)
	}
	total := 0
	for i, n := range c.Threads {
		if n < 0 || n > 64 {
			return fmt.Errorf("threads: %d on node %d: want 0 … 64", n, i)
		}
		total += n
	}
	if total = c.total(); total < 1 {
		return fmt.Errorf("threads: no thread at all")
	}
	if _, err := nicmodel.ParseScope(c.scopeName()); err != nil {
		return err
	}
	if _, err := nicmodel.ParseArbitration(c.Arbitration); err != nil {
		return err
	}
	if _, err := c.nicConfig(); err != nil {
		return err
	}
	for _, id := range append(slices.Clone(c.TreatAsLocal), c.TreatAsRemote...) {
		if id < 0 || id >= total {
			return fmt.Errorf("thread %d does not exist (threads 0 … %d)", id, total-1)
		}
	}
	return nil
}

// nicConfig is the model configuration c asks for.
func (c Config) nicConfig() (nicmodel.Config, error) {
	scope, err := nicmodel.ParseScope(c.scopeName())
	if err != nil {
		return nicmodel.Config{}, err
	}
	arb, err := nicmodel.ParseArbitration(c.Arbitration)
	if err != nil {
		return nicmodel.Config{}, err
	}
	n := nicmodel.Config{Nodes: c.Nodes, Scope: scope, FailedCASWritesBack: c.FailedCASWritesBack, Arbitration: arb}
	for _, k := range slices.Sorted(maps.Keys(c.Knobs)) {
		if err := n.Set(k, c.Knobs[k]); err != nil {
			return nicmodel.Config{}, err
		}
	}
	return n, nil
}

func (c Config) scopeName() string {
	if c.Scope == "" {
		return "hca"
	}
	return c.Scope
}

func (c Config) total() int {
	n := 0
	for _, k := range c.ThreadCounts() {
		n += k
	}
	return n
}

// String is a short description of the configuration, as the check table shows it.
func (c Config) String() string {
	s := fmt.Sprintf("%dn threads=%v home=%d acq=%d %s", c.Nodes, c.ThreadCounts(), c.Home, c.Acquires, c.scopeName())
	if c.FailedCASWritesBack {
		s += " cas-writeback"
	}
	if c.Arbitration == "any" {
		s += " arbitration=any"
	}
	for _, k := range slices.Sorted(maps.Keys(c.Knobs)) {
		s += " " + k + "=" + c.Knobs[k]
	}
	if len(c.TreatAsLocal) > 0 {
		s += fmt.Sprintf(" as-local=%v", c.TreatAsLocal)
	}
	if len(c.TreatAsRemote) > 0 {
		s += fmt.Sprintf(" as-remote=%v", c.TreatAsRemote)
	}
	return s
}

// Threads lists every thread of the configuration with its classification, and
// its name in traces (n<node>/t<index on the node>).
func (c Config) ThreadInfos() ([]rdma.ThreadInfo, []string) {
	var infos []rdma.ThreadInfo
	var names []string
	for node, k := range c.ThreadCounts() {
		for i := range k {
			id := len(infos)
			local := node == c.Home
			if slices.Contains(c.TreatAsLocal, id) {
				local = true
			}
			if slices.Contains(c.TreatAsRemote, id) {
				local = false
			}
			infos = append(infos, rdma.ThreadInfo{ID: id, Node: node, Local: local})
			names = append(names, fmt.Sprintf("n%d/t%d", node, i))
		}
	}
	return infos, names
}

// setup implements rdma.Setup over the model.
type setup struct {
	nic   *nicmodel.NIC
	home  int
	infos []rdma.ThreadInfo
	err   error
}

func (s *setup) Nodes() int                 { return s.nic.Config().Nodes }
func (s *setup) Home() int                  { return s.home }
func (s *setup) Threads() []rdma.ThreadInfo { return slices.Clone(s.infos) }
func (s *setup) Alloc(node, words int, label string) rdma.Ptr {
	p, err := s.nic.AllocLabeled(node, words, label)
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("setup: Alloc(%d, %d, %q): %v", node, words, label, err)
	}
	return p
}
func (s *setup) Init(p rdma.Ptr, v uint64) {
	if err := s.nic.Init(p, v); err != nil && s.err == nil {
		s.err = fmt.Errorf("setup: Init(%s): %v", p, err)
	}
}

// Execution is the outcome of one execution of the workload.
type Execution struct {
	sim.Result
	Names []string // thread names, indexed by id
	// Choices describes the option picked at each decision, for a reader of a
	// replay file; only when the execution was recorded.
	Choices []string
	// History is the lock history, when the workload records one.
	History *History
	// Final fingerprints the memory of every node at the end (see
	// nicmodel.NIC.Fingerprint).
	Final uint64
	// MaxBypass is the most critical sections other threads entered while one
	// thread waited in Acquire.
	MaxBypass int
	// Lin is the linearizability check of History (Config.Linearizability).
	Lin *LinResult
}

// Execute runs the workload once on cfg, with every choice made by c. The
// returned error is a configuration problem (including a lock constructor that
// failed); properties the execution broke are in the result's Finding.
//
// The workload: every thread takes the lock cfg.Acquires times; inside the
// critical section it does a non-atomic read-modify-write of a counter on the
// home node (CPU load and store for threads on the home node, RDMA READ and WRITE
// for the others). Mutual exclusion is checked at every critical-section entry,
// the counter once all threads are done.
func Execute(cfg Config, newLock LockFactory, c sim.Chooser, record bool) (Execution, error) {
	w, err := newWorkload(cfg, newLock)
	if err != nil {
		return Execution{}, err
	}
	return w.execute(c, record, nil)
}

// fairThread is the thread a lock sees in the workload: the simulated thread, and
// the doorway that restarts the bypass count (see rdma.Doorway).
type fairThread struct {
	*sim.Thread
	fair *fairness
	id   int
}

// fairness counts critical-section entries, and for every thread waiting in
// Acquire the count when it started waiting (-1: not waiting).
type fairness struct {
	entries  int
	waitFrom []int
}

// Doorway implements rdma.Doorway.
func (t *fairThread) Doorway() { t.fair.waitFrom[t.id] = t.fair.entries }

// scratch is what one goroutine of a campaign reuses from one execution to the
// next.
type scratch struct {
	nic *nicmodel.NIC
	sim sim.Scratch
}

// workload is a validated configuration with everything that does not change
// from one execution to the next worked out once.
type workload struct {
	cfg     Config
	newLock LockFactory
	nicCfg  nicmodel.Config
	infos   []rdma.ThreadInfo
	names   []string
	specs   []sim.ThreadSpec
	bound   int
	history bool // record a lock history in every execution
}

func newWorkload(cfg Config, newLock LockFactory) (*workload, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nicCfg, _ := cfg.nicConfig()
	w := &workload{cfg: cfg, newLock: newLock, bound: cfg.StepBound, nicCfg: nicCfg}
	if w.bound == 0 {
		w.bound = DefaultStepBound
	}
	w.infos, w.names = cfg.ThreadInfos()
	for i, in := range w.infos {
		w.specs = append(w.specs, sim.ThreadSpec{Node: in.Node, Name: w.names[i]})
	}
	return w, nil
}

// execute runs one execution. With a scratch, the result's decisions alias its
// buffers.
func (w *workload) execute(c sim.Chooser, record bool, sc *scratch) (Execution, error) {
	var nic *nicmodel.NIC
	var simScratch *sim.Scratch
	if sc != nil && sc.nic != nil {
		nic = sc.nic
		nic.Reset()
	} else {
		var err error
		if nic, err = nicmodel.New(w.nicCfg); err != nil {
			return Execution{}, err
		}
	}
	if sc != nil {
		sc.nic, simScratch = nic, &sc.sim
	}
	home, names := w.cfg.Home, w.names
	counter, _ := nic.AllocLabeled(home, 1, "counter")
	su := &setup{nic: nic, home: home, infos: w.infos}
	lock, err := w.newLock(su)
	if err == nil {
		err = su.err
	}
	if err != nil {
		return Execution{}, fmt.Errorf("building the lock: %v", err)
	}
	holder := -1
	acquires := w.cfg.Acquires
	// Fairness: critical sections entered so far, and per waiting thread the
	// count when it called Acquire (-1: not waiting) and the step it did.
	fair := &fairness{waitFrom: make([]int, len(w.infos))}
	maxBypass := 0
	waitFrom := fair.waitFrom
	waitStep := make([]int, len(w.infos))
	for i := range waitFrom {
		waitFrom[i] = -1
	}
	// The threads the lock sees, made here: an allocation inside a coroutine
	// would grow its small stack.
	fts := make([]fairThread, len(w.infos))
	bypassBound := w.cfg.BypassBound
	var hist *History
	var rec *recorder
	if w.history || w.cfg.Linearizability {
		hist = &History{Lock: "lock", Ops: make([]HistoryOp, 0, 4*len(w.infos)*acquires)}
		rec = &recorder{h: hist}
	}
	body := func(st *sim.Thread) {
		id := st.ID()
		t := &fts[id]
		t.Thread, t.fair, t.id = st, fair, id
		for range acquires {
			op := rec.call(id, OpAcquire, 0)
			waitFrom[id], waitStep[id] = fair.entries, t.Engine().Steps()
			lock.Acquire(t)
			rec.ret(op, 0, false)
			bypass := fair.entries - waitFrom[id]
			waitFrom[id] = -1
			fair.entries++
			maxBypass = max(maxBypass, bypass)
			if holder >= 0 {
				t.Mark("cs-enter, while " + names[holder] + " holds the lock")
				t.Fail(MutualExclusion, "%s enters the critical section while %s holds the lock", t.Name(), names[holder])
				return
			}
			holder = t.ID()
			t.Mark("cs-enter")
			if bypassBound > 0 && bypass > bypassBound {
				t.Fail(BypassBound, "%s entered after %d critical sections of others since it queued (its doorway, or its call to Acquire); the bound is %d", t.Name(), bypass, bypassBound)
				return
			}
			var v uint64
			op = rec.call(id, OpRead, 0)
			if t.Node() == home {
				v = t.Load(counter)
			} else {
				v = t.RRead(counter)
			}
			rec.ret(op, v, true)
			op = rec.call(id, OpWrite, v+1)
			if t.Node() == home {
				t.Store(counter, v+1)
			} else {
				t.RWrite(counter, v+1)
			}
			rec.ret(op, 0, false)
			t.Mark("cs-exit")
			holder = -1
			op = rec.call(id, OpRelease, 0)
			lock.Release(t)
			rec.ret(op, 0, false)
		}
	}
	e := sim.New(nic, sim.Config{StepBound: w.bound, Record: record, Scratch: simScratch}, w.specs, body)
	res := e.Run(c)
	if res.Finding != nil && res.Finding.Property == StepBound {
		// A step bound with a thread that waited while others kept entering
		// is starvation, not a livelock of the whole system.
		for id, from := range waitFrom {
			if entries := fair.entries; from >= 0 && entries-from > 0 {
				res.Finding = &sim.Finding{Property: Starvation, Step: res.Steps,
					Message: fmt.Sprintf("%s called Acquire at step %d and waited %d steps while others entered %d critical sections; it never entered", names[id], waitStep[id], res.Steps-waitStep[id], entries-from)}
				break
			}
		}
	}
	if res.Finding == nil {
		want := uint64(len(w.infos) * acquires)
		if got := nic.Peek(counter); got != want {
			res.Finding = &sim.Finding{Property: LostUpdate, Step: res.Steps,
				Message: fmt.Sprintf("the counter ends at %d after %d critical sections", got, want)}
		}
	}
	ex := Execution{Result: res, Names: names, History: hist, Final: nic.Fingerprint(), MaxBypass: maxBypass}
	// Histories are checked when nothing else broke (to find what the other
	// properties miss) and in every recorded execution (to draw the history of
	// a counterexample).
	if w.cfg.Linearizability && !res.Abandoned && (res.Finding == nil || record) {
		lin := CheckLinearizability(hist, LinOptions{Names: names, Timeout: linTimeout})
		ex.Lin = &lin
		if lin.Verdict == LinIllegal && res.Finding == nil {
			ex.Finding = &sim.Finding{Property: Linearizability, Step: res.Steps, Message: "the lock history is not linearizable: " + lin.Reason}
		}
	}
	for _, o := range res.Chosen {
		ex.Choices = append(ex.Choices, describe(o, names, nic))
	}
	return ex, nil
}

// describe names a scheduling option for a reader: thread, operation, word.
func describe(o sim.Option, names []string, nic *nicmodel.NIC) string {
	return nic.Describe(o, names)
}
