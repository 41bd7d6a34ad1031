package checker

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// Properties a finding can name (see package workload, whose monitors report
// most of them).
const (
	MutualExclusion = workload.MutualExclusion
	LostUpdate      = workload.LostUpdate
	Deadlock        = workload.Deadlock
	StepBound       = workload.StepBound
	Misuse          = workload.Misuse
	Panic           = workload.Panic
	BypassBound     = workload.BypassBound
	Starvation      = workload.Starvation
	Linearizability = workload.Linearizability
	// MixedAtomicity is a warning (Execution.Warnings), never a violation.
	MixedAtomicity = workload.MixedAtomicity
)

// linTimeout bounds the linearizability check of one execution's history.
const linTimeout = 2 * time.Second

// DefaultStepBound is the least step bound when Config.StepBound is 0; the
// bound grows with the workload (see Config.Bound).
const DefaultStepBound = 100_000

// Bound is the step bound of an execution of c: Config.StepBound if set, else
// DefaultStepBound or, for a large workload, enough for every operation of
// every thread to wait through every other thread's: 400 steps per operation
// times the threads, per operation (spin reduction parks waiting threads, so a
// correct lock costs a few steps per waiter and hand-off).
func (c Config) Bound() int {
	if c.StepBound > 0 {
		return c.StepBound
	}
	n := c.total()
	ops := n * c.Acquires
	return max(DefaultStepBound, 400*ops*max(n, 1))
}

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
	// Timing runs the workload in timed mode with this profile: every step
	// is due at a simulated time, and the chooser decides only among steps
	// due at the same instant (see sim.Config.Timed). A timed execution is
	// one more schedule: the monitors judge it, and its decisions replay it.
	Timing *nicmodel.Profile `json:"timing,omitempty"`
	// Until, in timed mode, stops the execution at that simulated time (ns);
	// with Acquires 0 the threads run operations until then.
	Until int64 `json:"until_ns,omitempty"`
	// KeepSpinning never parks a spinning thread (sim.Config.KeepSpinning):
	// every spin iteration is steps of its own, and a deadlock is every live
	// thread spinning on values that no longer change. The stateful search
	// explores in this mode, so its counterexamples replay in it. Untimed only.
	KeepSpinning bool `json:"keep_spinning,omitempty"`
}

// DefaultConfig is the configuration `rdmasim check` uses when given no flags:
// two nodes, the lock on node 0 with one host thread, two remote threads on node
// 1, two critical sections each.
func DefaultConfig() Config {
	return Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 2, Scope: "hca", Linearizability: true}
}

// LockFactory builds a lock for one execution.
type LockFactory = workload.LockFactory

// Lock is the counter-under-lock workload over the lock newLock builds (see
// workload.LockCounter): what `rdmasim check` runs.
func Lock(newLock LockFactory) workload.Workload { return workload.LockCounter{Lock: newLock} }

// ThreadCounts returns the number of threads on each node.
func (c Config) ThreadCounts() []int { return workload.ThreadCounts(c.Nodes, c.Threads) }

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := workload.ValidateShape(c.Nodes, c.Threads, c.Home, 64); err != nil {
		return err
	}
	switch {
	case c.Acquires == 0 && (c.Timing == nil || c.Until <= 0) && (c.Timing != nil || c.StepBound == 0):
		return fmt.Errorf("acquires = 0 (run until stopped) needs timed mode with a time limit, an explicit step bound, or the states strategy")
	case c.Acquires < 0 || c.Acquires > 1000:
		return fmt.Errorf("acquires = %d: want 1 … 1000", c.Acquires)
	case c.Until < 0:
		return fmt.Errorf("until = %d ns: want ≥ 0", c.Until)
	case c.KeepSpinning && c.Timing != nil:
		return fmt.Errorf("keep-spinning runs untimed only (timed mode parks a thread until the write that wakes it)")
	case c.Until > 0 && c.Timing == nil:
		return fmt.Errorf("a time limit (until) needs timed mode (a timing profile)")
	case c.BypassBound < 0:
		return fmt.Errorf("bypass bound = %d: want ≥ 0 (0: not checked)", c.BypassBound)
	case c.StepBound < 0:
		return fmt.Errorf("step bound = %d: want ≥ 0 (0 is the default, %d)", c.StepBound, DefaultStepBound)
	}
	total := c.total()
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
	n := nicmodel.Config{Nodes: c.Nodes, Scope: scope, FailedCASWritesBack: c.FailedCASWritesBack, Arbitration: arb, Timing: c.Timing}
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
	threads := fmt.Sprintf("threads=%v", c.ThreadCounts())
	if len(c.Threads) == 1 && c.Nodes > 4 {
		threads = fmt.Sprintf("× %dt", c.Threads[0]) // 64n × 64t
	} else if counts := c.ThreadCounts(); len(counts) > 4 {
		threads = fmt.Sprintf("threads=%d", c.total())
	}
	s := fmt.Sprintf("%dn %s home=%d acq=%d %s", c.Nodes, threads, c.Home, c.Acquires, c.scopeName())
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
	if c.Timing != nil {
		s += " timed=" + c.Timing.Name
		if c.Until > 0 {
			s += fmt.Sprintf(" until=%v", time.Duration(c.Until))
		}
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

// setup implements workload.Setup over the model.
type setup struct {
	nic   *nicmodel.NIC
	home  int
	ops   int
	infos []rdma.ThreadInfo
	err   error
}

func (s *setup) OpsPerThread() int { return s.ops }

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
	// History is the operations the workload recorded, when it recorded them
	// (Config.Linearizability); Spec is the specification they are checked
	// against.
	History []workload.Op
	Spec    *workload.Spec
	// Final fingerprints the memory of every node at the end (see
	// nicmodel.NIC.Fingerprint).
	Final uint64
	// MaxBypass is the most critical sections other threads entered while one
	// thread waited in Acquire.
	MaxBypass int
	// Lin is the linearizability check of History (Config.Linearizability).
	Lin *workload.LinResult
	// Warnings are what the monitors noticed without a violation: mixed
	// atomicity (a word targeted by a NIC atomic and a CPU write or atomic).
	Warnings []workload.Finding
}

// Execute runs the workload once on cfg, with every choice made by c. The
// returned error is a configuration problem (including a workload or lock
// constructor that failed); properties the execution broke are in the result's
// Finding.
func Execute(cfg Config, w workload.Workload, c sim.Chooser, record bool) (Execution, error) {
	r, err := newRunner(cfg, w)
	if err != nil {
		return Execution{}, err
	}
	return r.execute(c, record, nil)
}

// scratch is what one goroutine of a campaign reuses from one execution to the
// next.
type scratch struct {
	nic *nicmodel.NIC
	sim sim.Scratch
	run workload.Run
}

// runner is a validated configuration and workload with everything that does
// not change from one execution to the next worked out once.
type runner struct {
	cfg     Config
	wl      workload.Workload
	nicCfg  nicmodel.Config
	infos   []rdma.ThreadInfo
	names   []string
	specs   []sim.ThreadSpec
	bound   int
	history bool // record a history in every execution
	// timer, if set, wraps every simulated thread (timed mode's recorder of
	// operation times).
	timer func(*sim.Thread) rdma.Thread
	stop  <-chan struct{} // abandons executions (sim.Config.Stop)
	// forget: keep no decisions (sim.Config.ForgetDecisions).
	forget bool
}

func newRunner(cfg Config, w workload.Workload) (*runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, fmt.Errorf("no workload")
	}
	nicCfg, _ := cfg.nicConfig()
	r := &runner{cfg: cfg, wl: w, bound: cfg.Bound(), nicCfg: nicCfg}
	r.infos, r.names = cfg.ThreadInfos()
	for i, in := range r.infos {
		r.specs = append(r.specs, sim.ThreadSpec{Node: in.Node, Name: r.names[i]})
	}
	return r, nil
}

// build lays the workload out in nic's memory and returns its program.
func (w *runner) build(nic *nicmodel.NIC) (*workload.Program, error) {
	su := &setup{nic: nic, home: w.cfg.Home, ops: w.cfg.Acquires, infos: w.infos}
	prog, err := w.wl.Build(su)
	if err == nil {
		err = su.err
	}
	if err == nil && (prog == nil || prog.Thread == nil) {
		err = fmt.Errorf("the workload built no program (Program.Thread is nil)")
	}
	return prog, err
}

// execute runs one execution. With a scratch, the result's decisions alias its
// buffers.
func (w *runner) execute(c sim.Chooser, record bool, sc *scratch) (Execution, error) {
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
	prog, err := w.build(nic)
	if err != nil {
		return Execution{}, err
	}
	lin := w.cfg.Linearizability && prog.Spec != nil
	opts := workload.Options{Names: w.names, Label: nic.Label, BypassBound: w.cfg.BypassBound,
		History: w.history || lin, GlobalAtomics: w.nicCfg.Scope == nicmodel.ScopeGlob}
	var run *workload.Run
	if sc != nil {
		run = &sc.run
		run.Reset(prog, len(w.infos), opts)
	} else {
		run = workload.NewRun(prog, len(w.infos), opts)
	}
	body := func(st *sim.Thread) { prog.Thread(run.Thread(st.ID(), st)) }
	if w.timer != nil {
		body = func(st *sim.Thread) { prog.Thread(run.Thread(st.ID(), w.timer(st))) }
	}
	simCfg := sim.Config{StepBound: w.bound, Record: record, Scratch: simScratch, Stop: w.stop, ForgetDecisions: w.forget,
		KeepSpinning: w.cfg.KeepSpinning}
	if w.cfg.Timing != nil {
		simCfg.Timed, simCfg.Until = true, w.cfg.Until
		if w.cfg.StepBound == 0 && w.cfg.Until > 0 {
			simCfg.StepBound = 0 // the time limit bounds it
		}
	}
	e := sim.New(nic, simCfg, w.specs, body)
	res := e.Run(c)
	if res.Finding != nil && res.Finding.Property == StepBound {
		// A step bound with a thread that waited while others kept completing
		// operations is starvation, not a livelock of the whole system.
		if f := run.Starving(); f != nil {
			res.Finding = &sim.Finding{Property: f.Property, Message: f.Message, Step: res.Steps}
		}
	}
	if res.Finding == nil && !res.Abandoned && !res.Horizon {
		if f := run.Final(nic.Peek); f != nil {
			res.Finding = &sim.Finding{Property: f.Property, Message: f.Message, Step: res.Steps}
		}
	}
	ex := Execution{Result: res, Names: w.names, History: run.History(), Spec: prog.Spec, Final: nic.Fingerprint(),
		MaxBypass: run.MaxBypass(), Warnings: run.Warnings()}
	// Histories are checked when nothing else broke (to find what the other
	// properties miss) and in every recorded execution (to draw the history of
	// a counterexample).
	if lin && !res.Abandoned && (res.Finding == nil || record) {
		r := workload.CheckLinearizability(ex.History, prog.Spec, workload.LinOptions{Names: w.names, Timeout: linTimeout})
		ex.Lin = &r
		if r.Verdict == workload.LinIllegal && res.Finding == nil {
			ex.Finding = &sim.Finding{Property: Linearizability, Step: res.Steps, Message: "the history is not linearizable: " + r.Reason}
		}
	}
	for _, o := range res.Chosen {
		ex.Choices = append(ex.Choices, nic.Describe(o, w.names))
	}
	return ex, nil
}
