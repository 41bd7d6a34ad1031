package workload

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rdmasim/rdmasim/rdma"
)

// EventKind says what a thread marked or did.
type EventKind uint8

// The events monitors observe.
const (
	// EvCall: the thread invoked an operation (Event.Op).
	EvCall EventKind = iota + 1
	// EvReturn: the operation Event.Op returned.
	EvReturn
	// EvEnter: the thread entered a critical section.
	EvEnter
	// EvExit: the thread left its critical section.
	EvExit
	// EvDoorway: the thread passed its lock's doorway (rdma.PassDoorway).
	EvDoorway
	// EvAccess: the thread issued a memory operation that writes: a CPU
	// store or atomic, or a NIC atomic (Event.Access, Event.Addr). Plain
	// reads and NIC WRITEs are not reported.
	EvAccess
)

// Event is one thing a monitor observes, in the order the backend ran it.
type Event struct {
	Kind   EventKind
	Thread int
	Op     *Op      // EvCall, EvReturn
	Access rdma.Op  // EvAccess
	Addr   rdma.Ptr // EvAccess
	Key    int      // EvEnter, EvExit: the lock's key (0 for a single lock)
}

// Monitor judges a run from its events. A finding returned by Observe is a
// violation: the simulator stops the execution there; a hardware backend
// records it.
type Monitor interface {
	Observe(r *Run, ev *Event) *Finding
}

// Finisher is a Monitor that also judges the end of an execution in which every
// thread finished.
type Finisher interface {
	Finish(r *Run) *Finding
}

// Run is one execution of a Program: the threads' wrappers and the monitors'
// state. A backend makes one with NewRun, runs Program.Thread on Run.Thread(id,
// t) for every thread, feeds nothing else, and calls End when the execution is
// over. Events are observed in the order the threads mark them; a backend that
// runs threads in parallel serialises the calls (the simulator runs one thread
// at a time).
type Run struct {
	prog    *Program
	opts    Options
	threads []Thread

	mutex  mutexMonitor
	bypass bypassMonitor
	mixed  mixedMonitor
	extra  []Monitor

	// Starvation: operations returned so far, and for every thread with an
	// operation pending the count when it called (-1: none pending).
	returns   int
	pendingAt []int
	pendingOp []string

	hist  []Op
	clock int64

	first    *Finding // the first violation
	warnings []Finding

	mu sync.Mutex // Options.Concurrent: serialises the marks
}

func (r *Run) lock() {
	if r.opts.Concurrent {
		r.mu.Lock()
	}
}

func (r *Run) unlock() {
	if r.opts.Concurrent {
		r.mu.Unlock()
	}
}

// NewRun prepares one execution of p with n threads.
func NewRun(p *Program, n int, opts Options) *Run {
	r := &Run{}
	r.Reset(p, n, opts)
	return r
}

// Reset prepares r for another execution, of p with n threads, reusing its
// buffers: a campaign runs one execution after another on one Run. The history
// and warnings of the previous execution are gone.
func (r *Run) Reset(p *Program, n int, opts Options) {
	r.prog, r.opts = p, opts
	if opts.MaxWarnings <= 0 {
		r.opts.MaxWarnings = 8
	}
	if cap(r.threads) < n {
		r.threads = make([]Thread, n)
		r.pendingAt = make([]int, n)
		r.pendingOp = make([]string, n)
		r.bypass.waitFrom = make([]int, n)
	}
	r.threads, r.pendingAt, r.pendingOp = r.threads[:n], r.pendingAt[:n], r.pendingOp[:n]
	clear(r.threads)
	clear(r.pendingOp)
	for i := range r.pendingAt {
		r.pendingAt[i] = -1
	}
	r.mutex.holders = append(r.mutex.holders[:0], -1)
	r.bypass.init(n, opts.BypassBound)
	r.mixed.on = !opts.GlobalAtomics
	if r.mixed.words == nil {
		r.mixed.words = make([]mixedWord, 0, 8)
	}
	r.mixed.words = r.mixed.words[:0]
	if r.mixed.index != nil {
		clear(r.mixed.index)
	}
	r.extra = append(r.extra[:0], p.Monitors...)
	r.returns, r.clock, r.first = 0, 0, nil
	r.warnings = nil
	r.hist = nil
	if opts.History {
		r.hist = make([]Op, 0, 64)
	}
}

// Thread returns the thread the workload's code sees for thread id, running on
// the backend's thread t.
func (r *Run) Thread(id int, t rdma.Thread) *Thread {
	th := &r.threads[id]
	*th = Thread{Thread: t, run: r, id: id}
	th.marker, _ = t.(marker)
	th.failer, _ = t.(failer)
	if e, ok := t.(effector); ok && e.Replays() {
		th.eff = e
	}
	th.async, _ = t.(rdma.Async)
	th.timer, _ = t.(OpTimer)
	return th
}

// Name is thread id's name.
func (r *Run) Name(id int) string { return r.opts.name(id) }

// Word names a word for messages: its address and its label.
func (r *Run) Word(p rdma.Ptr) string { return r.opts.word(p) }

// Violation is the first violation a monitor reported, or nil.
func (r *Run) Violation() *Finding { return r.first }

// Warnings are the warnings (mixed atomicity) of the run so far.
func (r *Run) Warnings() []Finding { return r.warnings }

// History is the operations recorded (Options.History), in call order.
func (r *Run) History() []Op { return r.hist }

// MaxBypass is the most critical sections other threads entered while one
// thread waited, from its doorway (or its last call) to its entry.
func (r *Run) MaxBypass() int { return r.bypass.max }

// Final runs the program's final check and the monitors' Finish, once every
// thread has finished; peek reads memory. It returns the first violation.
func (r *Run) Final(peek func(rdma.Ptr) uint64) *Finding {
	if r.prog.Final != nil {
		if f := r.prog.Final(peek); f != nil {
			r.violate(-1, f)
		}
	}
	for _, m := range r.extra {
		if fm, ok := m.(Finisher); ok {
			if f := fm.Finish(r); f != nil {
				r.violate(-1, f)
			}
		}
	}
	return r.first
}

// Starving reports starvation at the end of an execution that did not finish
// (the simulator's step bound): a thread whose operation was pending while
// other threads completed theirs. Nil when no thread was.
func (r *Run) Starving() *Finding {
	for id, at := range r.pendingAt {
		if at >= 0 && r.returns > at {
			return &Finding{Property: Starvation, Message: fmt.Sprintf("%s called %s and never returned while others completed %d operations (%d critical sections entered in all)",
				r.Name(id), r.pendingOp[id], r.returns-at, r.bypass.entries)}
		}
	}
	return nil
}

// Pending lists the threads with an operation pending: "n0/t0 in acquire,
// n1/t0 in acquire"; "" when none is.
func (r *Run) Pending() string {
	var b strings.Builder
	for id, at := range r.pendingAt {
		if at >= 0 {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s in %s", r.Name(id), r.pendingOp[id])
		}
	}
	return b.String()
}

func (r *Run) violate(id int, f *Finding) {
	if r.first == nil {
		r.first = f
	}
	if id >= 0 {
		if fl := r.threads[id].failer; fl != nil {
			fl.Fail(f.Property, "%s", f.Message)
		}
	}
}

func (r *Run) observe(ev *Event) {
	for _, m := range r.extra {
		if f := m.Observe(r, ev); f != nil {
			r.violate(ev.Thread, f)
		}
	}
}

// Op is one operation of a history: who called what with which argument, what
// it returned, and when, on the run's logical clock (every call and return takes
// the next tick). Return 0: it never returned (the execution stopped first).
type Op struct {
	Thread    int
	Name      string
	Arg       uint64
	Result    uint64
	HasArg    bool
	HasResult bool
	Call      int64
	Return    int64
}

// Pending reports whether the operation never returned.
func (o Op) Pending() bool { return o.Return == 0 }

// Describe is "read → 3", "write 4", "acquire" (without the thread).
func (o *Op) Describe() string {
	var b strings.Builder
	b.WriteString(o.Name)
	if o.HasArg {
		fmt.Fprintf(&b, " %d", o.Arg)
	}
	if o.HasResult && !o.Pending() {
		fmt.Fprintf(&b, " → %d", o.Result)
	}
	if o.Pending() {
		b.WriteString(" (pending)")
	}
	return b.String()
}

// marker and failer are what the simulator's threads offer: trace marks, and a
// way to stop the execution at a violation.
type marker interface{ Mark(note string) }
type failer interface {
	Fail(property, format string, args ...any)
}

// Thread is what a workload's code runs on: the backend's rdma.Thread, plus the
// marks the monitors judge. Algorithms see it as an rdma.Thread (and an
// rdma.AsyncThread when the backend's thread is one).
type Thread struct {
	rdma.Thread
	run    *Run
	id     int
	marker marker
	failer failer
	eff    effector
	async  rdma.Async
	timer  OpTimer
	cur    Op // the operation called last, for the monitors' return events
}

// OpTimer is implemented by a backend's threads that time operations (the
// hardware runner's): Call tells it an operation starts, after the mark;
// Return that it ended, before the mark.
type OpTimer interface {
	OpStarted(name string, arg uint64, hasArg bool)
	OpEnded()
}

// Mark notes something in the backend's trace (the simulator's), if it keeps one.
func (t *Thread) Mark(note string) {
	if t.marker != nil {
		t.marker.Mark(note)
	}
}

// Name is the thread's name in traces and messages.
func (t *Thread) Name() string { return t.run.Name(t.id) }

// OpRef names a called operation, for Return.
type OpRef struct{ i int }

// Call marks the invocation of an operation named name, with an argument if
// one is given. A thread's operations do not nest: Return the previous one
// first.
func (t *Thread) Call(name string, arg ...uint64) OpRef {
	var ref OpRef
	if t.eff != nil {
		// (Declared and copied here, so that only this path allocates.)
		var got OpRef
		a := slices.Clone(arg)
		t.eff.Effect(func() { got = t.call(name, a) })
		ref = got
	} else {
		t.run.lock()
		ref = t.call(name, arg)
		t.run.unlock()
	}
	if t.timer != nil {
		var a uint64
		if len(arg) > 0 {
			a = arg[0]
		}
		t.timer.OpStarted(name, a, len(arg) > 0)
	}
	return ref
}

func (t *Thread) call(name string, arg []uint64) OpRef {
	r := t.run
	r.pendingAt[t.id], r.pendingOp[t.id] = r.returns, name
	r.bypass.call(t.id)
	ref := OpRef{-1}
	if r.hist != nil || len(r.extra) > 0 {
		r.clock++
		op := Op{Thread: t.id, Name: name, Call: r.clock}
		if len(arg) > 0 {
			op.Arg, op.HasArg = arg[0], true
		}
		if r.hist != nil {
			r.hist = append(r.hist, op)
			ref.i = len(r.hist) - 1
		}
		if len(r.extra) > 0 {
			t.cur = op
			o := op
			r.observe(&Event{Kind: EvCall, Thread: t.id, Op: &o})
		}
	}
	return ref
}

// Return marks the return of the operation op, with its result if it has one.
func (t *Thread) Return(op OpRef, result ...uint64) {
	if t.timer != nil {
		t.timer.OpEnded()
	}
	if t.eff != nil {
		res := slices.Clone(result) // (only this path allocates)
		t.eff.Effect(func() { t.ret(op, res) })
		return
	}
	t.run.lock()
	t.ret(op, result)
	t.run.unlock()
}

func (t *Thread) ret(op OpRef, result []uint64) {
	r := t.run
	r.pendingAt[t.id] = -1
	r.returns++
	if r.hist == nil && len(r.extra) == 0 {
		return
	}
	r.clock++
	var h *Op
	if op.i >= 0 && op.i < len(r.hist) {
		h = &r.hist[op.i]
		h.Return = r.clock
		if len(result) > 0 {
			h.Result, h.HasResult = result[0], true
		}
	}
	if len(r.extra) > 0 {
		o := t.cur // the operation as called, whether or not a history is kept
		o.Return = r.clock
		if len(result) > 0 {
			o.Result, o.HasResult = result[0], true
		}
		r.observe(&Event{Kind: EvReturn, Thread: t.id, Op: &o})
	}
}

// Do calls f as the operation name (with arg, if given) and records its result.
func (t *Thread) Do(name string, f func() uint64, arg ...uint64) uint64 {
	ref := t.Call(name, arg...)
	v := f()
	t.Return(ref, v)
	return v
}

// Enter marks the thread's entry into its critical section; mutual exclusion
// and bypass are judged here.
func (t *Thread) Enter() {
	if t.eff != nil {
		t.eff.Effect(t.enterCS)
		return
	}
	t.run.lock()
	t.enterCS()
	t.run.unlock()
}

func (t *Thread) enterCS() {
	r := t.run
	if !t.enter(0) {
		r.bypass.enter(r, t.id)
		return
	}
	if f := r.bypass.enter(r, t.id); f != nil {
		r.violate(t.id, f)
	}
}

// EnterKey marks the thread's entry into the critical section of lock key (a
// lock table's); mutual exclusion is judged per key.
func (t *Thread) EnterKey(key int) {
	if t.eff != nil {
		t.eff.Effect(func() { t.enter(key) })
		return
	}
	t.run.lock()
	t.enter(key)
	t.run.unlock()
}

func (t *Thread) enter(key int) bool {
	r := t.run
	h := r.mutex.holder(key)
	ok := true
	if f := r.mutex.enter(r, t.id, key); f != nil {
		t.Mark("cs-enter, while " + r.Name(h) + " holds the lock")
		r.violate(t.id, f)
		ok = false
	} else {
		t.Mark("cs-enter")
	}
	if len(r.extra) > 0 {
		r.observe(&Event{Kind: EvEnter, Thread: t.id, Key: key})
	}
	return ok
}

// Exit marks the thread's exit from its critical section.
func (t *Thread) Exit() { t.ExitKey(0) }

// ExitKey marks the thread's exit from the critical section of lock key.
func (t *Thread) ExitKey(key int) {
	if t.eff != nil {
		t.eff.Effect(func() { t.exit(key) })
		return
	}
	t.run.lock()
	t.exit(key)
	t.run.unlock()
}

func (t *Thread) exit(key int) {
	r := t.run
	t.Mark("cs-exit")
	r.mutex.exit(t.id, key)
	if len(r.extra) > 0 {
		r.observe(&Event{Kind: EvExit, Thread: t.id, Key: key})
	}
}

// Doorway implements rdma.Doorway: bypass is counted from here.
func (t *Thread) Doorway() {
	if t.eff != nil {
		t.eff.Effect(t.doorway)
		return
	}
	t.run.lock()
	t.doorway()
	t.run.unlock()
}

func (t *Thread) doorway() {
	t.run.bypass.doorway(t.id)
	if len(t.run.extra) > 0 {
		t.run.observe(&Event{Kind: EvDoorway, Thread: t.id})
	}
}

// effector is implemented by the simulator's threads: when Replays says so
// (a stateful search replays the thread's behaviour without running its
// code), every change the Thread's methods make to the monitors' state goes
// through Effect, which keeps it and makes it again at every replay.
// Otherwise the change is made at once, under the run's lock, and no closure
// is made for it (these methods are on the simulator's hottest path).
type effector interface {
	Effect(f func())
	Replays() bool
}

func (t *Thread) access(op rdma.Op, p rdma.Ptr) {
	r := t.run
	if !r.mixed.on && len(r.extra) == 0 {
		return
	}
	if t.eff != nil {
		t.eff.Effect(func() { t.accessed(op, p) })
		return
	}
	r.lock()
	t.accessed(op, p)
	r.unlock()
}

func (t *Thread) accessed(op rdma.Op, p rdma.Ptr) {
	r := t.run
	if r.mixed.on {
		if f := r.mixed.access(r, t.id, op, p); f != nil && len(r.warnings) < r.opts.MaxWarnings {
			r.warnings = append(r.warnings, *f)
		}
	}
	if len(r.extra) > 0 {
		r.observe(&Event{Kind: EvAccess, Thread: t.id, Access: op, Addr: p})
	}
}

// Store implements rdma.CPU.
func (t *Thread) Store(p rdma.Ptr, v uint64) {
	t.access(rdma.OpStore, p)
	t.Thread.Store(p, v)
}

// CAS implements rdma.CPU.
func (t *Thread) CAS(p rdma.Ptr, old, new uint64) uint64 {
	t.access(rdma.OpCAS, p)
	return t.Thread.CAS(p, old, new)
}

// Swap implements rdma.CPU.
func (t *Thread) Swap(p rdma.Ptr, v uint64) uint64 {
	t.access(rdma.OpSwap, p)
	return t.Thread.Swap(p, v)
}

// FAA implements rdma.CPU.
func (t *Thread) FAA(p rdma.Ptr, delta uint64) uint64 {
	t.access(rdma.OpFAA, p)
	return t.Thread.FAA(p, delta)
}

// RCAS implements rdma.Verbs.
func (t *Thread) RCAS(p rdma.Ptr, old, new uint64) uint64 {
	t.access(rdma.OpRCAS, p)
	return t.Thread.RCAS(p, old, new)
}

// RFAA implements rdma.Verbs.
func (t *Thread) RFAA(p rdma.Ptr, delta uint64) uint64 {
	t.access(rdma.OpRFAA, p)
	return t.Thread.RFAA(p, delta)
}

func (t *Thread) asyncOrPanic() rdma.Async {
	if t.async == nil {
		panic("workload: this backend's threads do not post asynchronous verbs (rdma.Async)")
	}
	return t.async
}

// PostRead implements rdma.Async when the backend's thread does.
func (t *Thread) PostRead(qp rdma.QP, dst, src rdma.Ptr, words int, f rdma.Flags) rdma.Req {
	return t.asyncOrPanic().PostRead(qp, dst, src, words, f)
}

// PostWrite implements rdma.Async when the backend's thread does.
func (t *Thread) PostWrite(qp rdma.QP, dst, src rdma.Ptr, words int, f rdma.Flags) rdma.Req {
	return t.asyncOrPanic().PostWrite(qp, dst, src, words, f)
}

// PostWriteValue implements rdma.Async when the backend's thread does.
func (t *Thread) PostWriteValue(qp rdma.QP, dst rdma.Ptr, v uint64, f rdma.Flags) rdma.Req {
	return t.asyncOrPanic().PostWriteValue(qp, dst, v, f)
}

// PostCAS implements rdma.Async when the backend's thread does.
func (t *Thread) PostCAS(qp rdma.QP, p rdma.Ptr, old, new uint64, f rdma.Flags) rdma.Req {
	a := t.asyncOrPanic()
	t.access(rdma.OpRCAS, p)
	return a.PostCAS(qp, p, old, new, f)
}

// PostFAA implements rdma.Async when the backend's thread does.
func (t *Thread) PostFAA(qp rdma.QP, p rdma.Ptr, delta uint64, f rdma.Flags) rdma.Req {
	a := t.asyncOrPanic()
	t.access(rdma.OpRFAA, p)
	return a.PostFAA(qp, p, delta, f)
}

// Poll implements rdma.Async when the backend's thread does.
func (t *Thread) Poll(qp rdma.QP) (rdma.Req, bool) { return t.asyncOrPanic().Poll(qp) }

// Wait implements rdma.Async when the backend's thread does.
func (t *Thread) Wait(r rdma.Req) uint64 { return t.asyncOrPanic().Wait(r) }

// CanPost reports whether the backend's thread posts asynchronous verbs: the
// rdma.Async methods above panic when it does not. An algorithm that can do
// without them (one multi-word WRITE becomes one RWrite per word) asks first.
func (t *Thread) CanPost() bool { return t.async != nil }

var _ rdma.AsyncThread = (*Thread)(nil)
var _ rdma.Doorway = (*Thread)(nil)
