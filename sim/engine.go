package sim

import (
	"fmt"
	"iter"
	"strings"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/traces"
)

// Model is the memory system the engine drives: host memory and NICs (package
// nicmodel implements it). The engine owns the threads and the choices; the model
// owns what an operation does to memory and which of its events are enabled.
type Model interface {
	// Attach is called once, before anything else, with the engine the model
	// reports reads, writes and trace events to.
	Attach(obs Observer)
	// Issue starts th's operation op. A misuse (a CPU operation on another node's
	// memory, an unaligned or unallocated address) is returned as an error and
	// the operation is not executed. done reports that the operation completed
	// at once, without a step of its own (a post, a store into a TSO store
	// buffer, a Wait for a request already complete): the thread runs on.
	Issue(th *Thread, op *Op) (done bool, err error)
	// Alloc returns words fresh zeroed words on node.
	Alloc(node, words int) (rdma.Ptr, error)
	// Enabled appends the enabled steps of every issued operation to dst, in a
	// deterministic order.
	Enabled(dst []Option) []Option
	// Fire runs one enabled step and reports whether it completed the operation
	// of the thread the step acts for (Owner of its Thread); that thread then
	// runs on to its next operation.
	Fire(o Option) (completed bool)
	// Peek returns the current value of a word without it counting as a read.
	Peek(p rdma.Ptr) uint64
	// View returns the value thread th would read at p now: under x86-TSO its
	// own newest buffered store to p, else memory. The spin reduction compares
	// it with what th's iteration read.
	View(th int, p rdma.Ptr) uint64
	// Owner returns the thread a step acts for. The steps of a thread's own
	// operation carry the thread's id; steps that run concurrently with their
	// thread (a TSO store buffer draining, the NIC events of posted requests)
	// belong to agents with ids from the engine's ThreadCount on, so that a
	// partial-order reduction treats each as a process of its own.
	Owner(agent int32) int
	// Label returns the name of the allocation p lies in, or "".
	Label(p rdma.Ptr) string
}

// Observer is what the model tells the engine while it fires steps.
type Observer interface {
	// Read reports that th's operation read v at p.
	Read(th int, p rdma.Ptr, v uint64)
	// Wrote reports that th's operation changed p from old to new (old may equal
	// new: a write of the same value).
	Wrote(th int, p rdma.Ptr, old, new uint64)
	// Recording reports whether trace events are wanted.
	Recording() bool
	// Record appends an event to the trace; its Step is filled in.
	Record(ev traces.Event)
	// Stored reports that th's store of new to p went into its own store
	// buffer (x86-TSO), where p held old in th's view: it changes what th
	// reads, not memory. (A write to memory reaches Wrote when it drains.)
	Stored(th int, p rdma.Ptr, old, new uint64)
	// Acted reports that th's operation changed the world other than by
	// writing memory (it posted a request, or took a completion): like a
	// write, it keeps th's spin iteration from parking.
	Acted(th int)
	// ThreadCount is the number of threads: agent ids start there.
	ThreadCount() int
}

// Finding is a property an execution broke.
type Finding struct {
	Property string // "mutual exclusion", "deadlock", "step bound", "misuse", …
	Message  string // what happened, naming threads and words
	Step     int    // the step at which it was detected
}

func (f *Finding) String() string { return f.Property + ": " + f.Message }

// Result is what one execution produced.
type Result struct {
	Finding   *Finding // nil when no property broke
	Steps     int      // scheduling steps (fired events and Pauses)
	Decisions []Decision
	Trace     []traces.Event // only when Config.Record
	Chosen    []Option       // the option picked at each decision; only when Config.Record
	// Abandoned: the chooser gave the execution up before it ended (Choose
	// returned a negative index); no property was judged.
	Abandoned bool
	// Horizon: a timed execution reached Config.Until with threads still
	// running (no finding: they were stopped there).
	Horizon bool
	// Time is the simulated time of the last step fired (timed mode), ns.
	Time int64
}

// Config configures one execution.
type Config struct {
	// StepBound limits steps per execution; reaching it is the finding "step bound"
	// (a livelock, or a bound too small for the workload).
	StepBound int
	// Record keeps the trace of the execution.
	Record bool
	// Scratch, if set, lends the engine reusable buffers (see Scratch).
	Scratch *Scratch
	// Timed runs the execution in simulated time: the model gives every
	// option the time it is due (Option.At, nanoseconds), the engine advances
	// to the earliest, and the Chooser picks only among the options due at
	// that instant. The model must implement Clock. An iteration that issued a
	// verb does not park at its Pause (it would keep the NIC busy on real
	// hardware: it runs again); one that only used the CPU parks as in
	// untimed mode and resumes at the time of the write that wakes it. No
	// early wakes: time decides which iterations straddle a write.
	Timed bool
	// Until, in timed mode, ends the execution without a finding once the
	// next step is due after Until nanoseconds (Result.Horizon): workloads
	// whose threads run forever stop there. 0: no limit.
	Until int64
	// Stop, if set, abandons the execution (Result.Abandoned) soon after it
	// is closed: a long timed run can be interrupted.
	Stop <-chan struct{}
	// ForgetDecisions keeps no decisions (Result.Decisions is empty): for
	// long runs whose chooser's seed reproduces them anyway.
	ForgetDecisions bool
	// KeepSpinning never parks a thread: a spin iteration is offered as
	// steps like any other code, every time (a stateful search needs no
	// parking: a spin iteration that changed nothing leads back to a state it
	// has seen). The engine still tells which threads would park (idle: their
	// last iteration only read, and what it read is still current), and a
	// state in which every live thread is idle and no request of an agent is
	// in flight is a deadlock, as one in which every thread is parked is
	// without it. Untimed only.
	KeepSpinning bool
}

// DueReuser is implemented by timed models that can vouch, after a step, that
// the other steps that were due at its instant are still enabled and due then,
// unchanged, and that no other step has become due then: the engine lets the
// chooser pick among them without asking the model again. It is an
// optimisation: the same steps are offered, though not in the order the model
// would list them again, so runs with and without it differ (each is
// deterministic); a model vouches always or never.
type DueReuser interface {
	StillDue(fired Option) bool
}

// Clock is implemented by models that keep simulated time (timed mode).
type Clock interface {
	// Now is thread th's simulated time: when its last operation ended, or
	// the engine's current time if that is later (a parked thread woken by a
	// write resumes at the write).
	Now(th int) int64
}

// ThreadSpec places one thread.
type ThreadSpec struct {
	Node int
	Name string // as shown in traces, e.g. "n1/t0"
}

// Engine runs one execution: threads as coroutines over a Model, every
// interleaving choice made by a Chooser.
//
// A step is one fired event (a CPU operation, one NIC event of a verb, an early
// wake) or one Pause. A thread that reaches Pause after an iteration that only
// read values still current is parked, and woken when a write changes one of the
// words it read (a write of the same value wakes nobody). While a write to one of
// those words is enabled, a parked thread may also be resumed early (once until
// something changes), so iterations that straddle the write are explored too.
type Engine struct {
	model     Model
	cfg       Config
	threads   []*Thread
	live      int
	parked    int // threads parked now
	idle      int // KeepSpinning: threads idle now (Thread.idle)
	steps     int
	writes    uint64 // value-changing writes so far
	finding   *Finding
	opts      []Option
	woken     []*Thread
	stepWrote bool // the step being fired wrote memory
	wokenIDs  []int32
	dec       []Decision
	trace     []traces.Event
	chosen    []Option
	now       int64 // timed mode: the time of the step being fired
	hooks     resumeHooks
}

// resumeHooks follow a thread's operations through resume (a StateEngine
// records what they returned and checks what the thread does next).
type resumeHooks interface {
	// asking is called before t is asked for its next operation.
	asking(t *Thread)
	// yielded is called when t has yielded its next operation, or ended.
	yielded(t *Thread)
	// issued is called with an operation t yielded, before it is carried out.
	issued(t *Thread, op *Op)
	// pausing is called at every Pause, before the spin reduction judges it.
	pausing(t *Thread)
	// carry is called at every Thread.Carry.
	carry(t *Thread, vals []uint64)
	// forget is called at every Thread.Forget.
	forget(t *Thread, site string, keep []uint64)
	// next asks t for its next operation (in place of t.next).
	next(t *Thread) (*Op, bool)
	// effect runs f, a change the thread's code makes outside simulated
	// memory (see Thread.Effect).
	effect(f func())
}

// Scratch holds buffers that one execution after another can reuse, to spare the
// allocator in long campaigns. An engine built with a Scratch (Config.Scratch)
// uses its buffers, and the Decisions of its Result alias them: they stay valid
// only until the Scratch is used again. One Scratch serves one goroutine.
type Scratch struct {
	threads []Thread
	ptrs    []*Thread
	reads   []readRec
	opts    []Option
	dec     []Decision
}

// New returns an engine that runs body on one thread per spec.
func New(m Model, cfg Config, specs []ThreadSpec, body func(*Thread)) *Engine {
	sc := cfg.Scratch
	if sc == nil {
		sc = &Scratch{}
	}
	n := len(specs)
	if cap(sc.threads) < n {
		sc.threads = make([]Thread, n)
		sc.ptrs = make([]*Thread, n)
		sc.reads = make([]readRec, 8*n)
	}
	if sc.opts == nil {
		sc.opts = make([]Option, 0, 4*n)
		sc.dec = make([]Decision, 0, 64)
	}
	e := &Engine{model: m, cfg: cfg, opts: sc.opts[:0], dec: sc.dec[:0], threads: sc.ptrs[:n]}
	m.Attach(e)
	threads, reads := sc.threads[:n], sc.reads
	for i, s := range specs {
		t := &threads[i]
		*t = Thread{id: i, node: s.Node, name: s.Name, e: e, reads: reads[8*i : 8*i : 8*i+8]}
		seq := func(yield func(*Op) bool) {
			t.yield = yield
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(stopSignal); !ok {
						t.panicked, t.panicAt = r, traces.PanicSite()
					}
				}
			}()
			body(t)
		}
		t.next, t.stop = iter.Pull(seq)
		e.threads[i] = t
	}
	e.live = n
	return e
}

// Threads returns the engine's threads, indexed by id.
func (e *Engine) Threads() []*Thread { return e.threads }

// Run executes until every thread has finished or a finding stops it.
func (e *Engine) Run(c Chooser) Result {
	defer e.stopAll()
	so, _ := c.(StepObserver)
	abandoned := false
	for _, t := range e.threads {
		if e.finding != nil {
			break
		}
		e.resume(t)
	}
	horizon := false
	reuser, _ := e.model.(DueReuser)
	var still []Option // timed: the steps still due now, if the model vouches for them
	for e.finding == nil {
		var opts []Option
		if len(still) > 0 {
			opts, still = still, nil
		} else {
			opts = e.model.Enabled(e.opts[:0])
			if !e.cfg.Timed {
				opts = e.earlyWakes(opts)
			}
			e.opts = opts
			if len(opts) == 0 || e.stuck(opts) {
				if e.live > 0 {
					e.fail("deadlock", e.describeWaiting())
				}
				break
			}
			if e.cfg.Timed {
				if opts = e.due(opts); opts == nil {
					horizon = true
					break
				}
			}
		}
		if e.cfg.Stop != nil && e.steps&1023 == 0 {
			select {
			case <-e.cfg.Stop:
				abandoned = true
			default:
			}
			if abandoned {
				break
			}
		}
		if e.cfg.StepBound > 0 && e.steps >= e.cfg.StepBound {
			e.fail("step bound", fmt.Sprintf("%d steps without finishing; waiting: %s", e.steps, e.describeWaiting()))
			break
		}
		i := 0
		if len(opts) > 1 {
			i = c.Choose(opts)
			if i < 0 {
				// The chooser gives this execution up (a DFS whose every
				// enabled option is asleep: nothing new lies down this path).
				abandoned = true
				break
			}
			if !e.cfg.ForgetDecisions {
				e.dec = append(e.dec, Decision{Pick: i, Of: len(opts), Step: e.steps + 1})
			}
			if e.cfg.Record {
				e.chosen = append(e.chosen, opts[i])
			}
		}
		o := opts[i]
		e.steps++
		t, opSeq := e.owner(o.Thread), 0
		if int(o.Thread) < len(e.threads) {
			opSeq = t.opSeq
		} else {
			// An agent's steps are ordered among themselves, each its own
			// operation.
			opSeq = e.steps
		}
		if o.Wake {
			t.parked = false
			e.parked--
			t.earlyWoken = true
			t.wokeAt = e.writes
			t.reads, t.accesses = t.reads[:0], 0
			if e.cfg.Record {
				e.event(traces.Event{Thread: t.id, Kind: traces.Wake, Note: "early, before a write it waits for"})
			}
			if so != nil {
				so.Fired(&Fired{Option: o, OpSeq: opSeq})
			}
			e.resume(t)
			continue
		}
		e.stepWrote = false
		completed := e.model.Fire(o)
		if so != nil {
			// Dependencies of a fired step are judged on what it did: a failed
			// CAS only read.
			f := Fired{Option: o, OpSeq: opSeq, Woken: e.wokenIDs[:0]}
			f.Write = e.stepWrote
			for _, w := range e.woken {
				f.Woken = append(f.Woken, int32(w.id))
			}
			e.wokenIDs = f.Woken
			so.Fired(&f)
		}
		if completed {
			e.resume(t)
		}
		for i := 0; i < len(e.woken) && e.finding == nil; i++ {
			e.resume(e.woken[i])
		}
		e.woken = e.woken[:0]
		if e.cfg.Timed && len(opts) > 1 && reuser != nil && reuser.StillDue(o) {
			// The other steps due now are as they were, and nothing new is
			// due now: choose among them without asking the model again.
			copy(opts[i:], opts[i+1:])
			still = opts[:len(opts)-1]
		}
	}
	if sc := e.cfg.Scratch; sc != nil {
		sc.opts, sc.dec = e.opts[:0], e.dec[:0] // keep grown buffers
	}
	return Result{Finding: e.finding, Steps: e.steps, Decisions: e.dec, Trace: e.trace, Chosen: e.chosen,
		Abandoned: abandoned, Horizon: horizon, Time: e.now}
}

// due keeps, in order, the options due earliest and moves the clock to them;
// it returns nil if they are due after Config.Until.
//
// A step due before now was held back until now (by a lock, an ordering rule,
// a busy resource the model does not time): it is due now. Time never runs
// backwards.
func (e *Engine) due(opts []Option) []Option {
	at := max(opts[0].At, e.now)
	for _, o := range opts[1:] {
		at = min(at, max(o.At, e.now))
	}
	if e.cfg.Until > 0 && at > e.cfg.Until {
		return nil
	}
	e.now = at
	k := 0
	for _, o := range opts {
		if max(o.At, at) == at {
			o.At = at
			opts[k] = o
			k++
		}
	}
	return opts[:k]
}

// maxInline bounds the operations a thread completes without a step (posts,
// buffered stores) between two steps: a loop that only posts must end.
const maxInline = 1 << 20

// owner returns the thread a step's Thread (a thread or an agent) acts for.
func (e *Engine) owner(id int32) *Thread {
	if int(id) < len(e.threads) {
		return e.threads[id]
	}
	return e.threads[e.model.Owner(id)]
}

// resume runs t until it issues an operation that needs steps, parks, or ends.
func (e *Engine) resume(t *Thread) {
	inline := 0
	for {
		if e.hooks != nil {
			e.hooks.asking(t)
		}
		var op *Op
		var ok bool
		if e.hooks != nil {
			op, ok = e.hooks.next(t)
			e.hooks.yielded(t)
		} else {
			op, ok = t.next()
		}
		if !ok {
			t.done = true
			e.live--
			e.setIdle(t, false)
			if t.panicked != nil {
				e.fail("panic", fmt.Sprintf("%s panicked at step %d: %v (at %s)", t.name, e.steps, t.panicked, t.panicAt))
			}
			return
		}
		if e.finding != nil {
			return
		}
		if e.hooks != nil {
			e.hooks.issued(t, op)
		}
		switch op.Kind {
		case rdma.OpPause:
			// Every Pause is a step. One that does not park can be the one
			// too many: a loop whose iterations never read, or always write,
			// ends at the step bound.
			if e.hooks != nil {
				e.hooks.pausing(t)
			}
			if e.pause(t) {
				e.steps++
				return
			}
			if e.cfg.StepBound > 0 && e.steps >= e.cfg.StepBound {
				e.fail("step bound", fmt.Sprintf("%d steps without finishing; %s keeps spinning and every iteration writes, or reads nothing", e.steps, t.name))
				return
			}
			e.steps++
		case rdma.OpAlloc:
			p, err := e.model.Alloc(t.node, op.Words)
			if err != nil {
				e.fail("misuse", fmt.Sprintf("%s Alloc(%d): %v", t.name, op.Words, err))
				return
			}
			op.Result = uint64(p)
		default:
			// A fence goes to the model too: under TSO it waits for the
			// store buffer to drain.
			t.opSeq++
			t.changed = false
			if op.Kind.IsVerb() {
				t.verbs = true
			}
			done, err := e.model.Issue(t, op)
			if err != nil {
				e.fail("misuse", fmt.Sprintf("%s %v", t.name, err))
				return
			}
			if !done {
				return
			}
			if inline++; inline > maxInline {
				e.fail("step bound", fmt.Sprintf("%s completed %d operations in a row without a step (a loop that posts and never waits or pauses?)", t.name, maxInline))
				return
			}
		}
	}
}

// pause ends t's spin iteration and parks t if the iteration changed nothing and
// everything it read is still current. It reports whether t parked.
func (e *Engine) pause(t *Thread) bool {
	parkable := !t.wrote && len(t.reads) > 0 && !(e.cfg.Timed && t.verbs)
	t.verbs = false
	for _, r := range t.reads {
		if !parkable {
			break
		}
		parkable = e.model.View(t.id, r.addr) == r.val
	}
	stutter := t.earlyWoken && e.writes == t.wokeAt
	// An iteration of one memory access cannot straddle a write: started
	// early, it reads before the write (and parks again) or after it (as if
	// woken by it). Such a thread is never offered an early wake.
	single := t.accesses <= 1
	t.wrote, t.earlyWoken, t.accesses = false, false, 0
	if e.cfg.KeepSpinning {
		e.setIdle(t, parkable)
		if parkable {
			t.idleOn = append(t.idleOn[:0], t.reads...)
		}
		t.reads = t.reads[:0]
		return false
	}
	if !parkable {
		t.reads = t.reads[:0]
		return false
	}
	t.parked = true
	e.parked++
	t.stuttered = stutter || single
	if e.cfg.Record {
		e.event(traces.Event{Thread: t.id, Kind: traces.Park, Note: "until " + e.readSet(t.reads) + " changes"})
	}
	return true
}

// setIdle marks t idle or not (KeepSpinning).
func (e *Engine) setIdle(t *Thread, idle bool) {
	if t.idle != idle {
		t.idle = idle
		if idle {
			e.idle++
		} else {
			e.idle--
		}
	}
}

// stuck reports, under KeepSpinning, a deadlock: every live thread is idle
// (would park) and no agent's step (a posted request, a store buffer) is
// enabled, so no step can change memory.
func (e *Engine) stuck(opts []Option) bool {
	if !e.cfg.KeepSpinning || e.live == 0 || e.idle < e.live {
		return false
	}
	for _, o := range opts {
		if int(o.Thread) >= len(e.threads) {
			return false
		}
	}
	return true
}

// earlyWakes appends a wake option for every parked thread that has not
// stuttered and waits on a word some enabled step may write.
func (e *Engine) earlyWakes(opts []Option) []Option {
	if e.parked == 0 {
		return opts
	}
	n := len(opts)
	for _, t := range e.threads {
		if !t.parked || t.stuttered {
			continue
		}
	search:
		for _, o := range opts[:n] {
			if !o.Write || int(o.Thread) == t.id {
				continue
			}
			for _, r := range t.reads {
				if r.addr == o.Addr {
					opts = append(opts, Option{Thread: int32(t.id), Wake: true})
					break search
				}
			}
		}
	}
	return opts
}

// Read implements Observer. A read by a request the thread posted, while the
// thread is parked, is not part of any iteration of it.
func (e *Engine) Read(th int, p rdma.Ptr, v uint64) {
	t := e.threads[th]
	if t.parked {
		return
	}
	t.reads = append(t.reads, readRec{p, v})
	t.accesses++
}

// Wrote implements Observer.
func (e *Engine) Wrote(th int, p rdma.Ptr, old, new uint64) {
	e.stepWrote = true
	if th >= 0 && e.threads[th].parked {
		th = -1 // a posted request's write while its thread is parked
	}
	if th >= 0 {
		e.threads[th].accesses++
	}
	if old == new {
		return
	}
	e.writes++
	if th >= 0 {
		e.threads[th].wrote, e.threads[th].changed = true, true
	}
	if e.idle > 0 {
		e.unidle(th, p, new)
	}
	for _, t := range e.threads {
		if t.parked && stale(t.reads, p, new) {
			t.parked, t.stuttered = false, false
			e.parked--
			t.reads, t.accesses = t.reads[:0], 0
			e.woken = append(e.woken, t)
			if e.cfg.Record {
				e.event(traces.Event{Thread: t.id, Kind: traces.Wake, Addr: p, Label: e.model.Label(p), Note: "a word it read changed"})
			}
		}
	}
}

// stale reports whether a write of new to p changes a word of reads.
func stale(reads []readRec, p rdma.Ptr, new uint64) bool {
	for _, r := range reads {
		if r.addr == p && r.val != new {
			return true
		}
	}
	return false
}

// unidle ends the idleness of writer th (a thread, or -1) and of every thread
// idle on a word p that now holds another value than it read.
func (e *Engine) unidle(th int, p rdma.Ptr, new uint64) {
	if th >= 0 {
		e.setIdle(e.threads[th], false)
	}
	for _, t := range e.threads {
		if t.idle && stale(t.idleOn, p, new) {
			e.setIdle(t, false)
		}
	}
}

// Stored implements Observer.
func (e *Engine) Stored(th int, p rdma.Ptr, old, new uint64) {
	t := e.threads[th]
	t.accesses++
	if old != new {
		t.wrote, t.changed = true, true
		e.setIdle(t, false)
	}
}

// Acted implements Observer.
func (e *Engine) Acted(th int) {
	if t := e.threads[th]; !t.parked {
		t.wrote, t.changed = true, true
		e.setIdle(t, false)
	}
}

// ThreadCount implements Observer.
func (e *Engine) ThreadCount() int { return len(e.threads) }

// Recording implements Observer.
func (e *Engine) Recording() bool { return e.cfg.Record }

// Record implements Observer.
func (e *Engine) Record(ev traces.Event) { e.event(ev) }

func (e *Engine) event(ev traces.Event) {
	if !e.cfg.Record {
		return
	}
	ev.Step = e.steps
	if e.cfg.Timed {
		ev.Time = e.now
	}
	e.trace = append(e.trace, ev)
}

func (e *Engine) mark(t *Thread, note string) {
	e.event(traces.Event{Thread: t.id, Kind: traces.Mark, Note: note})
}

func (e *Engine) fail(property, msg string) {
	if e.finding == nil {
		e.finding = &Finding{Property: property, Message: msg, Step: e.steps}
	}
}

// Steps returns the number of steps taken so far.
func (e *Engine) Steps() int { return e.steps }

func (e *Engine) readSet(reads []readRec) string {
	var b strings.Builder
	for i, r := range reads {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s", r.addr)
		if l := e.model.Label(r.addr); l != "" {
			fmt.Fprintf(&b, " /*%s*/", l)
		}
		fmt.Fprintf(&b, "=%d", r.val)
	}
	return "[" + b.String() + "]"
}

// describeWaiting says what every live thread waits on.
func (e *Engine) describeWaiting() string {
	var parts []string
	for _, t := range e.threads {
		switch {
		case t.done:
		case t.parked:
			parts = append(parts, fmt.Sprintf("%s spins on %s", t.name, e.readSet(t.reads)))
		case t.idle:
			parts = append(parts, fmt.Sprintf("%s spins on %s", t.name, e.readSet(t.idleOn)))
		default:
			parts = append(parts, fmt.Sprintf("%s in %v %s", t.name, t.op.Kind, t.op.Addr))
		}
	}
	return strings.Join(parts, "; ")
}

func (e *Engine) stopAll() {
	for _, t := range e.threads {
		if !t.done {
			t.stop()
		}
	}
}
