package sim

import (
	"fmt"
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
)

// Op is the operation a simulated thread has called and waits on.
type Op struct {
	Kind   rdma.Op
	Addr   rdma.Ptr
	A, B   uint64   // operands: the value, delta, or CAS old (A) and new (B)
	Buf    []uint64 // RReadN: where the words go
	Words  int      // Alloc: how many; a posted READ or WRITE: how many words
	Result uint64   // filled in by the model when the operation completes

	// The asynchronous verbs (rdma.Async). Post: Kind is the verb (OpRRead or
	// OpRReadN for a READ, OpRWrite, OpRCAS, OpRFAA), Addr the word(s) at the
	// target, and the model returns the request's handle in Req at once.
	Post  bool
	QP    rdma.QP    // Post, Poll: the queue pair
	Local rdma.Ptr   // posted READ: the destination buffer; posted WRITE: the source buffer (0: A is the value, inline)
	Flags rdma.Flags // Post
	Req   rdma.Req   // Post: the handle (out); Wait: the request; Poll: the request whose completion it took (out)
	OK    bool       // Poll: a completion was taken
}

// stopSignal unwinds a thread's coroutine when the engine abandons it.
type stopSignal struct{}

// Thread is a simulated thread: it implements rdma.Thread by yielding every call
// to the engine and returning the result the model computed.
type Thread struct {
	id, node int
	name     string
	e        *Engine
	op       Op
	yield    func(*Op) bool
	next     func() (*Op, bool)
	stop     func()
	done     bool
	panicked any
	panicAt  string // where the thread's code panicked: file:line (function)
	opSeq    int    // operations issued to the model so far

	// spin reduction
	reads      []readRec // what the current iteration read
	wrote      bool      // the current iteration changed memory
	accesses   int       // memory reads and writes of the current iteration
	parked     bool
	earlyWoken bool // resumed before a write it waits for, not woken since
	stuttered  bool // an early wake found nothing new: no more early wakes until woken
	wokeAt     uint64
	verbs      bool // the current iteration issued a verb (timed mode does not park it)
	// KeepSpinning: idle: the last iteration changed nothing and what it read
	// (idleOn) is still current; the thread would be parked.
	idle   bool
	idleOn []readRec
	// changed: the operation under way changed memory (a stateful search
	// cuts spin iterations that changed nothing).
	changed bool
	// loop: the coroutine is a StateEngine's, which runs the body again
	// when restart is set (see StateEngine.rewind).
	loop, restart bool
	// A StateEngine's thread is usually virtual: its operations come from
	// what its code did before at the same position (see pos). liveAt is
	// where the coroutine is suspended (nil: unknown or ended), with
	// liveBuf the buffer of the operation it waits in; atStart: it has not
	// run since it was (re)started. vbuf: the buffer of a virtual RReadN.
	liveAt        *pos
	liveBuf, vbuf []uint64
	atStart       bool

	cut    bool // the thread passed a round point since its last operation (see Round; state.go)
	cutKey int
}

// Now is the thread's simulated time in nanoseconds (timed mode; 0 otherwise):
// when its last operation ended.
func (t *Thread) Now() int64 {
	if c, ok := t.e.model.(Clock); ok && t.e.cfg.Timed {
		return c.Now(t.id)
	}
	return 0
}

type readRec struct {
	addr rdma.Ptr
	val  uint64
}

func (t *Thread) call() {
	if !t.yield(&t.op) {
		t.restart = false // stopped: a StateEngine's coroutine ends
		panic(stopSignal{})
	}
	if t.restart {
		panic(stopSignal{})
	}
}

// ID implements rdma.Thread.
func (t *Thread) ID() int { return t.id }

// Node implements rdma.Thread.
func (t *Thread) Node() int { return t.node }

// Name is the thread's name in traces: n<node>/t<index on the node>.
func (t *Thread) Name() string { return t.name }

// Load implements rdma.CPU.
func (t *Thread) Load(p rdma.Ptr) uint64 {
	t.op = Op{Kind: rdma.OpLoad, Addr: p}
	t.call()
	return t.op.Result
}

// Store implements rdma.CPU.
func (t *Thread) Store(p rdma.Ptr, v uint64) {
	t.op = Op{Kind: rdma.OpStore, Addr: p, A: v}
	t.call()
}

// CAS implements rdma.CPU.
func (t *Thread) CAS(p rdma.Ptr, old, new uint64) uint64 {
	t.op = Op{Kind: rdma.OpCAS, Addr: p, A: old, B: new}
	t.call()
	return t.op.Result
}

// Swap implements rdma.CPU.
func (t *Thread) Swap(p rdma.Ptr, v uint64) uint64 {
	t.op = Op{Kind: rdma.OpSwap, Addr: p, A: v}
	t.call()
	return t.op.Result
}

// FAA implements rdma.CPU.
func (t *Thread) FAA(p rdma.Ptr, delta uint64) uint64 {
	t.op = Op{Kind: rdma.OpFAA, Addr: p, A: delta}
	t.call()
	return t.op.Result
}

// Fence implements rdma.CPU.
func (t *Thread) Fence() {
	t.op = Op{Kind: rdma.OpFence}
	t.call()
}

// RRead implements rdma.Verbs.
func (t *Thread) RRead(p rdma.Ptr) uint64 {
	t.op = Op{Kind: rdma.OpRRead, Addr: p}
	t.call()
	return t.op.Result
}

// RReadN implements rdma.Verbs.
func (t *Thread) RReadN(p rdma.Ptr, dst []uint64) {
	t.op = Op{Kind: rdma.OpRReadN, Addr: p, Buf: dst}
	t.call()
}

// RWrite implements rdma.Verbs.
func (t *Thread) RWrite(p rdma.Ptr, v uint64) {
	t.op = Op{Kind: rdma.OpRWrite, Addr: p, A: v}
	t.call()
}

// RCAS implements rdma.Verbs.
func (t *Thread) RCAS(p rdma.Ptr, old, new uint64) uint64 {
	t.op = Op{Kind: rdma.OpRCAS, Addr: p, A: old, B: new}
	t.call()
	return t.op.Result
}

// RFAA implements rdma.Verbs.
func (t *Thread) RFAA(p rdma.Ptr, delta uint64) uint64 {
	t.op = Op{Kind: rdma.OpRFAA, Addr: p, A: delta}
	t.call()
	return t.op.Result
}

// PostRead implements rdma.Async.
func (t *Thread) PostRead(qp rdma.QP, dst, src rdma.Ptr, words int, f rdma.Flags) rdma.Req {
	k := rdma.OpRRead
	if words != 1 {
		k = rdma.OpRReadN
	}
	t.op = Op{Kind: k, Post: true, QP: qp, Addr: src, Local: dst, Words: words, Flags: f}
	t.call()
	return t.op.Req
}

// PostWrite implements rdma.Async.
func (t *Thread) PostWrite(qp rdma.QP, dst, src rdma.Ptr, words int, f rdma.Flags) rdma.Req {
	t.op = Op{Kind: rdma.OpRWrite, Post: true, QP: qp, Addr: dst, Local: src, Words: words, Flags: f}
	t.call()
	return t.op.Req
}

// PostWriteValue implements rdma.Async.
func (t *Thread) PostWriteValue(qp rdma.QP, dst rdma.Ptr, v uint64, f rdma.Flags) rdma.Req {
	t.op = Op{Kind: rdma.OpRWrite, Post: true, QP: qp, Addr: dst, A: v, Words: 1, Flags: f}
	t.call()
	return t.op.Req
}

// PostCAS implements rdma.Async.
func (t *Thread) PostCAS(qp rdma.QP, p rdma.Ptr, old, new uint64, f rdma.Flags) rdma.Req {
	t.op = Op{Kind: rdma.OpRCAS, Post: true, QP: qp, Addr: p, A: old, B: new, Words: 1, Flags: f}
	t.call()
	return t.op.Req
}

// PostFAA implements rdma.Async.
func (t *Thread) PostFAA(qp rdma.QP, p rdma.Ptr, delta uint64, f rdma.Flags) rdma.Req {
	t.op = Op{Kind: rdma.OpRFAA, Post: true, QP: qp, Addr: p, A: delta, Words: 1, Flags: f}
	t.call()
	return t.op.Req
}

// Poll implements rdma.Async.
func (t *Thread) Poll(qp rdma.QP) (rdma.Req, bool) {
	t.op = Op{Kind: rdma.OpPoll, QP: qp}
	t.call()
	return t.op.Req, t.op.OK
}

// Wait implements rdma.Async.
func (t *Thread) Wait(r rdma.Req) uint64 {
	t.op = Op{Kind: rdma.OpWait, Req: r}
	t.call()
	return t.op.Result
}

// Pause implements rdma.Thread.
func (t *Thread) Pause() {
	t.op = Op{Kind: rdma.OpPause}
	t.call()
}

// Alloc implements rdma.Thread.
func (t *Thread) Alloc(words int) rdma.Ptr {
	t.op = Op{Kind: rdma.OpAlloc, Words: words}
	t.call()
	return rdma.Ptr(t.op.Result)
}

// Mark records a workload marker (such as critical-section entry) in the trace.
// It is not a step and touches no memory.
func (t *Thread) Mark(note string) {
	if !t.e.cfg.Record {
		return
	}
	if h := t.e.hooks; h != nil {
		h.effect(func() { t.e.mark(t, note) })
		return
	}
	t.e.mark(t, note)
}

// Effect runs f, a change the thread's code makes to state outside simulated
// memory between two operations (the workload's monitors: package workload
// calls it). A stateful search (StateEngine) runs a thread's code once per
// position and afterwards replays what it did there without running it: it
// keeps f with that behaviour and runs it again at every replay. So f must
// do the same every time it runs, from what it captured (not from the
// code's variables, which are not there at a replay). Elsewhere Effect just
// runs f.
func (t *Thread) Effect(f func()) {
	if h := t.e.hooks; h != nil {
		h.effect(f)
		return
	}
	f()
}

// Replays reports whether the engine replays this thread's behaviour without
// running its code (a stateful search): changes outside simulated memory must
// then go through Effect. Elsewhere they may be made directly.
func (t *Thread) Replays() bool { return t.e.hooks != nil }

// Forget implements rdma.Forgetter: in a stateful search (StateEngine), the
// thread's state from here on is its last round point, site and keep (see
// rdma.Forget); elsewhere nothing.
func (t *Thread) Forget(site string, keep ...uint64) {
	if h := t.e.hooks; h != nil {
		keep = slices.Clone(keep)
		h.effect(func() { h.forget(t, site, keep) })
	}
}

// Carry implements rdma.Carrier: in a stateful search (StateEngine), the top of
// a retry-loop iteration that carries vals (see rdma.Carry); elsewhere nothing.
func (t *Thread) Carry(vals ...uint64) {
	if h := t.e.hooks; h != nil {
		vals = slices.Clone(vals)
		h.effect(func() { h.carry(t, vals) })
	}
}

// Fail reports a finding from the workload running on this thread; the execution
// stops at the thread's next operation.
func (t *Thread) Fail(property, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if h := t.e.hooks; h != nil {
		h.effect(func() { t.e.fail(property, msg) })
		return
	}
	t.e.fail(property, msg)
}

// Engine returns the engine running the thread.
func (t *Thread) Engine() *Engine { return t.e }
