package hwrun

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/traces"
)

// request is one blocking verb, carried to the target node's NIC goroutine.
type request struct {
	kind  rdma.Op
	addr  rdma.Ptr
	a, b  uint64
	buf   []uint64 // RReadN
	reply chan uint64
	err   error // misuse found by the NIC

	// posted verbs (rdma.Async)
	post   bool
	local  rdma.Ptr // READ: destination; WRITE: source
	words  int
	inline bool // WRITE of the value a
}

// nic is one node's NIC on the native backend: a goroutine that carries out
// the verbs sent to its node, one at a time (so its own atomics are atomic
// among themselves, as IBV_ATOMIC_HCA promises), each atomic as a load and then
// a store, unless global atomics make it one hardware atomic instruction.
type nic struct {
	mem    *Memory
	global bool
	gap    time.Duration // between an atomic's load and its store (the PCIe read's round trip)
	in     chan *request
	// With one process per node, every process has a NIC goroutine for every
	// node, and they take the target node's NIC lock (a word of its reserved
	// bytes in the shared memory) around each request: the NIC's verbs stay
	// one at a time across processes. stop ends a wait for the lock (a process
	// that died holding it).
	lock *uint64
	stop *atomic.Bool
}

// errStopped is a verb given up because the run was stopped.
var errStopped = fmt.Errorf("the run was stopped")

// acquire takes the shared NIC lock, or gives up when the run is stopped.
func (n *nic) acquire() bool {
	for !atomic.CompareAndSwapUint64(n.lock, 0, 1) {
		if n.stop != nil && n.stop.Load() {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// wait spins for the atomic gap: the time a real NIC's PCIe read takes to come
// back before it can write.
func (n *nic) wait() {
	if n.gap <= 0 {
		return
	}
	for start := time.Now(); time.Since(start) < n.gap; {
	}
}

func (n *nic) serve() {
	for r := range n.in {
		if n.lock != nil && !n.acquire() {
			r.err = errStopped
			r.reply <- 0
			continue
		}
		var v uint64
		if r.post {
			v = n.doPosted(r)
		} else {
			v = n.do(r)
		}
		if n.lock != nil {
			atomic.StoreUint64(n.lock, 0)
		}
		r.reply <- v
	}
}

func (n *nic) do(r *request) uint64 {
	if r.kind == rdma.OpRReadN {
		for i := range r.buf {
			w := n.mem.word(r.addr.Add(i))
			if w == nil {
				r.err = fmt.Errorf("RReadN(%s, %d words): word %d is not an allocated word", r.addr, len(r.buf), i)
				return 0
			}
			r.buf[i] = atomic.LoadUint64(w)
		}
		return 0
	}
	w := n.mem.word(r.addr)
	if w == nil {
		r.err = fmt.Errorf("%v(%s): not an allocated, aligned word", r.kind, r.addr)
		return 0
	}
	switch r.kind {
	case rdma.OpRRead:
		return atomic.LoadUint64(w)
	case rdma.OpRWrite:
		atomic.StoreUint64(w, r.a)
	case rdma.OpRCAS:
		if n.global {
			for {
				v := atomic.LoadUint64(w)
				if v != r.a || atomic.CompareAndSwapUint64(w, v, r.b) {
					return v
				}
			}
		}
		v := atomic.LoadUint64(w) // the PCIe read …
		n.wait()
		if v == r.a {
			atomic.StoreUint64(w, r.b) // … and the write: a CPU atomic can land between
		}
		return v
	case rdma.OpRFAA:
		if n.global {
			return atomic.AddUint64(w, r.a) - r.a
		}
		v := atomic.LoadUint64(w)
		n.wait()
		atomic.StoreUint64(w, v+r.a)
		return v
	}
	return 0
}

// stopThread unwinds a thread's goroutine when the run is stopped.
type stopThread struct{}

// verbPath carries a thread's blocking verbs to their target: the native
// backend's NIC goroutines, or real QPs.
type verbPath interface {
	do(r *request, target int) uint64
}

// nativeVerbs sends a verb to the target node's NIC goroutine and waits.
type nativeVerbs []*nic

func (n nativeVerbs) do(r *request, target int) uint64 {
	n[target].in <- r
	return <-r.reply
}

// thread is one thread of a run: real CPU atomics on the node's memory, verbs
// through its verb path.
type thread struct {
	id, node int
	mem      *Memory
	verbs    verbPath
	req      request
	stop     *atomic.Bool
	progress *atomic.Int64
	fail     func(property, msg string)

	// posted verbs (rdma.Async)
	posts   []*posted
	nextReq rdma.Req

	// timing of the current operation and the records so far
	opName   string
	opArg    uint64
	opHasArg bool
	opStart  time.Time
	records  []OpRecord
	local    bool
	epoch    time.Time
}

func (t *thread) ID() int   { return t.id }
func (t *thread) Node() int { return t.node }

func (t *thread) cpuWord(op rdma.Op, p rdma.Ptr) *uint64 {
	if p.Node() != t.node {
		t.fail("misuse", fmt.Sprintf("t%d on node %d: CPU %v on %s, another node's memory", t.id, t.node, op, p))
		panic(stopThread{})
	}
	w := t.mem.word(p)
	if w == nil {
		t.fail("misuse", fmt.Sprintf("t%d: CPU %v on %s: not an allocated, aligned word", t.id, op, p))
		panic(stopThread{})
	}
	return w
}

func (t *thread) Load(p rdma.Ptr) uint64     { return atomic.LoadUint64(t.cpuWord(rdma.OpLoad, p)) }
func (t *thread) Store(p rdma.Ptr, v uint64) { atomic.StoreUint64(t.cpuWord(rdma.OpStore, p), v) }
func (t *thread) CAS(p rdma.Ptr, old, new uint64) uint64 {
	w := t.cpuWord(rdma.OpCAS, p)
	for {
		v := atomic.LoadUint64(w)
		if v != old || atomic.CompareAndSwapUint64(w, v, new) {
			return v
		}
	}
}
func (t *thread) Swap(p rdma.Ptr, v uint64) uint64 {
	return atomic.SwapUint64(t.cpuWord(rdma.OpSwap, p), v)
}
func (t *thread) FAA(p rdma.Ptr, d uint64) uint64 {
	return atomic.AddUint64(t.cpuWord(rdma.OpFAA, p), d) - d
}

// Fence: Go's atomics are sequentially consistent, so there is nothing to
// order further.
func (t *thread) Fence() {}

func (t *thread) verb(kind rdma.Op, p rdma.Ptr, a, b uint64, buf []uint64) uint64 {
	n := p.Node()
	if n < 0 || n >= t.mem.nodes {
		t.fail("misuse", fmt.Sprintf("t%d: %v on %s: no such node", t.id, kind, p))
		panic(stopThread{})
	}
	// A blocking verb completes after the thread's earlier posted ones to
	// the same node (one RC QP): let those finish first.
	if ap, ok := t.verbs.(asyncPath); ok {
		for pend := t.pendingTo(n); len(pend) > 0; pend = t.pendingTo(n) {
			if err := ap.progress(t, pend, true); err != nil {
				t.fail("misuse", fmt.Sprintf("t%d: %v", t.id, err))
				panic(stopThread{})
			}
		}
	}
	r := &t.req
	r.kind, r.addr, r.a, r.b, r.buf, r.err, r.post = kind, p, a, b, buf, nil, false
	v := t.verbs.do(r, n)
	if r.err != nil && t.stop.Load() {
		panic(stopThread{}) // a verb given up at a stop
	}
	if r.err != nil {
		t.fail("misuse", fmt.Sprintf("t%d: %v", t.id, r.err))
		panic(stopThread{})
	}
	return v
}

func (t *thread) RRead(p rdma.Ptr) uint64         { return t.verb(rdma.OpRRead, p, 0, 0, nil) }
func (t *thread) RReadN(p rdma.Ptr, dst []uint64) { t.verb(rdma.OpRReadN, p, 0, 0, dst) }
func (t *thread) RWrite(p rdma.Ptr, v uint64)     { t.verb(rdma.OpRWrite, p, v, 0, nil) }
func (t *thread) RCAS(p rdma.Ptr, old, new uint64) uint64 {
	return t.verb(rdma.OpRCAS, p, old, new, nil)
}
func (t *thread) RFAA(p rdma.Ptr, d uint64) uint64 { return t.verb(rdma.OpRFAA, p, d, 0, nil) }

// Pause ends a spin iteration: it yields the processor, and unwinds the thread
// when the run has been stopped (a hung lock).
func (t *thread) Pause() {
	if t.stop.Load() {
		panic(stopThread{})
	}
	runtime.Gosched()
}

// Alloc: threads allocate from their own node's memory. The allocator is not
// shared-safe, so the native backend refuses allocation while threads run;
// algorithms lay out their memory in their constructor.
func (t *thread) Alloc(words int) rdma.Ptr {
	t.fail("misuse", fmt.Sprintf("t%d: Alloc(%d) while the threads run: the hardware runner lays memory out before the run (allocate in the constructor)", t.id, words))
	panic(stopThread{})
}

// OpStarted implements workload.OpTimer.
func (t *thread) OpStarted(name string, arg uint64, hasArg bool) {
	t.opName, t.opArg, t.opHasArg, t.opStart = name, arg, hasArg, time.Now()
}

// OpEnded implements workload.OpTimer.
func (t *thread) OpEnded() {
	end := time.Now()
	t.progress.Add(1)
	t.records = append(t.records, OpRecord{Thread: t.id, Node: t.node, Local: t.local, Name: t.opName, Arg: t.opArg, HasArg: t.opHasArg,
		StartNs: t.opStart.Sub(t.epoch).Nanoseconds(), EndNs: end.Sub(t.epoch).Nanoseconds()})
}

// recoverThread turns a panic of the thread's code into a finding, and a stop
// into nothing.
func (t *thread) recoverThread() {
	r := recover()
	if r == nil {
		return
	}
	if _, ok := r.(stopThread); ok {
		return
	}
	t.fail("panic", fmt.Sprintf("t%d panicked: %v (at %s)", t.id, r, traces.PanicSite()))
}
