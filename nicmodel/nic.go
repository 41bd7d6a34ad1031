package nicmodel

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

// Scope is the atomicity scope of NIC atomics (ibv_device_attr.atomic_cap).
type Scope uint8

const (
	// ScopeHCA (IBV_ATOMIC_HCA, what mlx4/mlx5 advertise): a NIC atomic is a read
	// then a write of host memory; it is atomic against other NIC atomics on the
	// address, not against the host CPU or plain NIC WRITEs.
	ScopeHCA Scope = iota
	// ScopeGlob (IBV_ATOMIC_GLOB): a NIC atomic is one event, atomic against
	// everything.
	ScopeGlob
)

func (s Scope) String() string {
	if s == ScopeGlob {
		return "glob"
	}
	return "hca"
}

// ParseScope parses "hca" or "glob".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "hca":
		return ScopeHCA, nil
	case "glob":
		return ScopeGlob, nil
	}
	return 0, fmt.Errorf("unknown atomic scope %q (want hca or glob)", s)
}

// Config holds the model's knobs.
type Config struct {
	Nodes int
	Scope Scope
	// FailedCASWritesBack makes a failed NIC CAS write the value it read back to
	// memory in its second half (some NICs implement CAS as an unconditional
	// read-then-write). Such a write can undo a CPU store that landed in between.
	FailedCASWritesBack bool
	// Arbitration of NIC atomics waiting for one address.
	Arbitration Arbitration
}

// Arbitration is the order in which a NIC's atomic unit serves atomics waiting
// for the same address.
type Arbitration uint8

const (
	// ArbitrateFIFO serves them in arrival order. An atomic's arrival in the
	// queue is a step of its own, so every arrival order is explored, but an
	// atomic that arrived first is served first: an unfair arbiter is never
	// mistaken for a starving algorithm.
	ArbitrateFIFO Arbitration = iota
	// ArbitrateAny lets any waiting atomic take the address's lock next.
	ArbitrateAny
)

func (a Arbitration) String() string {
	if a == ArbitrateAny {
		return "any"
	}
	return "fifo"
}

// ParseArbitration parses "fifo" or "any".
func ParseArbitration(s string) (Arbitration, error) {
	switch s {
	case "fifo", "":
		return ArbitrateFIFO, nil
	case "any":
		return ArbitrateAny, nil
	}
	return 0, fmt.Errorf("unknown arbitration %q (want fifo or any)", s)
}

// MaxReadWords bounds a multi-word READ.
const MaxReadWords = 64

// MaxAllocWords bounds one allocation.
const MaxAllocWords = 1 << 20

type alloc struct {
	start, words int // in words
	label        string
}

type node struct {
	mem    []uint64
	allocs []alloc
}

// The phases of a NIC atomic under ScopeHCA; the value is also the Ref of its
// option.
const (
	phaseRead   = 0 // waits for the address's atomic lock, then reads
	phaseWrite  = 1 // holds the lock; writes, then releases it
	phaseArrive = 2 // posted, not yet in the atomic unit's queue (FIFO arbitration)
)

// inflight is a thread's issued operation and how far its events have got.
type inflight struct {
	op      *sim.Op
	active  bool
	phase   uint8  // NIC atomic under ScopeHCA: phaseArrive, phaseRead or phaseWrite
	readVal uint64 // NIC atomic: what its read saw
	left    uint64 // RReadN: bit i set while word i is not read yet
}

// NIC is host memory of every node plus the NICs in front of it. It implements
// sim.Model.
type NIC struct {
	cfg    Config
	nodes  []node
	obs    sim.Observer
	flight []inflight
	locked []rdma.Ptr // addresses whose NIC atomic lock is held
	queue  []queued   // FIFO arbitration: atomics that arrived and wait to read, in arrival order
}

type queued struct {
	addr   rdma.Ptr
	thread int32
}

// New returns a model with cfg.Nodes nodes of empty memory.
func New(cfg Config) (*NIC, error) {
	if cfg.Nodes < 1 || cfg.Nodes > 1<<16 {
		return nil, fmt.Errorf("nodes = %d: want 1 … 65536", cfg.Nodes)
	}
	n := &NIC{cfg: cfg, nodes: make([]node, cfg.Nodes), flight: make([]inflight, 0, 8)}
	for i := range n.nodes {
		// Room for a few allocations before the slice grows.
		n.nodes[i].mem = make([]uint64, rdma.ReservedBytes/rdma.WordBytes, 64)
	}
	return n, nil
}

// Reset empties the model for another execution with the same configuration,
// keeping its buffers.
func (n *NIC) Reset() {
	for i := range n.nodes {
		nd := &n.nodes[i]
		nd.mem = nd.mem[:rdma.ReservedBytes/rdma.WordBytes]
		clear(nd.mem)
		nd.allocs = nd.allocs[:0]
	}
	n.flight = n.flight[:0]
	n.locked = n.locked[:0]
	n.queue = n.queue[:0]
	n.obs = nil
}

// Fingerprint hashes every node's memory (FNV-1a): two executions that end with
// equal fingerprints end, with overwhelming likelihood, in the same memory.
func (n *NIC) Fingerprint() uint64 {
	h := uint64(14695981039346656037)
	for _, nd := range n.nodes {
		for _, w := range nd.mem {
			for range 8 {
				h ^= w & 0xff
				h *= 1099511628211
				w >>= 8
			}
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// Config returns the model's knobs.
func (n *NIC) Config() Config { return n.cfg }

// AllocLabeled returns words zeroed words on node, named label in traces.
func (n *NIC) AllocLabeled(nodeID, words int, label string) (rdma.Ptr, error) {
	if nodeID < 0 || nodeID >= len(n.nodes) {
		return 0, fmt.Errorf("node %d does not exist (nodes 0 … %d)", nodeID, len(n.nodes)-1)
	}
	if words < 1 || words > MaxAllocWords {
		return 0, fmt.Errorf("cannot allocate %d words (1 … %d)", words, MaxAllocWords)
	}
	nd := &n.nodes[nodeID]
	start := len(nd.mem)
	nd.mem = slices.Grow(nd.mem, words)[:start+words]
	clear(nd.mem[start:])
	nd.allocs = append(nd.allocs, alloc{start: start, words: words, label: label})
	return rdma.MakePtr(nodeID, uint64(start*rdma.WordBytes)), nil
}

// Alloc implements sim.Model.
func (n *NIC) Alloc(nodeID, words int) (rdma.Ptr, error) {
	return n.AllocLabeled(nodeID, words, "")
}

// Init sets a word's value before the run starts.
func (n *NIC) Init(p rdma.Ptr, v uint64) error {
	if err := n.check(p, 1); err != nil {
		return err
	}
	n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes] = v
	return nil
}

// Peek implements sim.Model.
func (n *NIC) Peek(p rdma.Ptr) uint64 { return n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes] }

// Label implements sim.Model: the allocation's label, with the word's index when
// the allocation has several words.
func (n *NIC) Label(p rdma.Ptr) string {
	if p.Node() >= len(n.nodes) {
		return ""
	}
	nd := &n.nodes[p.Node()]
	w := int(p.Offset() / rdma.WordBytes)
	i := sort.Search(len(nd.allocs), func(i int) bool { return nd.allocs[i].start+nd.allocs[i].words > w })
	if i == len(nd.allocs) || nd.allocs[i].start > w || nd.allocs[i].label == "" {
		return ""
	}
	a := nd.allocs[i]
	if a.words == 1 {
		return a.label
	}
	// "r_tail,l_tail,victim" names each word of a three-word allocation.
	if names := strings.Split(a.label, ","); len(names) == a.words {
		return names[w-a.start]
	}
	return fmt.Sprintf("%s[%d]", a.label, w-a.start)
}

// check validates words consecutive words at p.
func (n *NIC) check(p rdma.Ptr, words int) error {
	switch {
	case p == 0:
		return fmt.Errorf("nil pointer")
	case p.Node() >= len(n.nodes):
		return fmt.Errorf("%s: node %d does not exist", p, p.Node())
	case p.Offset()%rdma.WordBytes != 0:
		return fmt.Errorf("%s is not aligned to a word", p)
	case p.Offset() < rdma.ReservedBytes:
		return fmt.Errorf("%s is not allocated (the first %d bytes of a node are reserved)", p, rdma.ReservedBytes)
	case p.Offset()/rdma.WordBytes+uint64(words) > uint64(len(n.nodes[p.Node()].mem)):
		return fmt.Errorf("%s is not allocated", p.Add(words-1))
	}
	return nil
}

// Attach implements sim.Model.
func (n *NIC) Attach(obs sim.Observer) { n.obs = obs }

// Issue implements sim.Model.
func (n *NIC) Issue(th *sim.Thread, op *sim.Op) error {
	words := 1
	if op.Kind == rdma.OpRReadN {
		words = len(op.Buf)
		if words < 1 || words > MaxReadWords {
			return fmt.Errorf("RReadN of %d words at %s: want 1 … %d", words, op.Addr, MaxReadWords)
		}
	}
	if err := n.check(op.Addr, words); err != nil {
		return fmt.Errorf("%v: %v", op.Kind, err)
	}
	if op.Kind.IsCPU() && op.Addr.Node() != th.Node() {
		return fmt.Errorf("CPU %v on %s%s, memory of node %d, from a thread on node %d: a CPU operation reaches only its own node (mis-classified locality?)",
			op.Kind, op.Addr, n.labelSuffix(op.Addr), op.Addr.Node(), th.Node())
	}
	for len(n.flight) <= th.ID() {
		n.flight = append(n.flight, inflight{})
	}
	f := &n.flight[th.ID()]
	*f = inflight{op: op, active: true}
	if op.Kind == rdma.OpRReadN {
		f.left = 1<<uint(words) - 1
		if words == 64 {
			f.left = ^uint64(0)
		}
	}
	if (op.Kind == rdma.OpRCAS || op.Kind == rdma.OpRFAA) && n.cfg.Scope == ScopeHCA && n.cfg.Arbitration == ArbitrateFIFO {
		f.phase = phaseArrive
	}
	return nil
}

// served reports whether th's atomic on p is at the head of p's queue.
func (n *NIC) served(p rdma.Ptr, th int) bool {
	if n.cfg.Arbitration != ArbitrateFIFO {
		return true
	}
	for _, q := range n.queue {
		if q.addr == p {
			return int(q.thread) == th
		}
	}
	return false
}

// waiting reports whether an atomic waits in p's queue.
func (n *NIC) waiting(p rdma.Ptr) bool {
	for _, q := range n.queue {
		if q.addr == p {
			return true
		}
	}
	return false
}

func (n *NIC) dequeue(p rdma.Ptr, th int) {
	for i, q := range n.queue {
		if q.addr == p && int(q.thread) == th {
			n.queue = append(n.queue[:i], n.queue[i+1:]...)
			return
		}
	}
}

func (n *NIC) labelSuffix(p rdma.Ptr) string {
	if l := n.Label(p); l != "" {
		return " /*" + l + "*/"
	}
	return ""
}

func (n *NIC) isLocked(p rdma.Ptr) bool {
	for _, l := range n.locked {
		if l == p {
			return true
		}
	}
	return false
}

func (n *NIC) unlock(p rdma.Ptr) {
	for i, l := range n.locked {
		if l == p {
			n.locked = append(n.locked[:i], n.locked[i+1:]...)
			return
		}
	}
}

// Enabled implements sim.Model.
func (n *NIC) Enabled(dst []sim.Option) []sim.Option {
	for th := range n.flight {
		f := &n.flight[th]
		if !f.active {
			continue
		}
		op := f.op
		o := sim.Option{Thread: int32(th), Op: op.Kind, Addr: op.Addr}
		switch op.Kind {
		case rdma.OpLoad, rdma.OpRRead:
			dst = append(dst, o)
		case rdma.OpRReadN:
			for i := range len(op.Buf) {
				if f.left&(1<<uint(i)) != 0 {
					o.Ref, o.Addr = int32(i), op.Addr.Add(i)
					dst = append(dst, o)
				}
			}
		case rdma.OpRCAS, rdma.OpRFAA:
			switch {
			case n.cfg.Scope == ScopeGlob:
				o.Write = true
				dst = append(dst, o)
			case f.phase == phaseWrite:
				o.Write, o.Lock, o.Ref = true, true, phaseWrite
				dst = append(dst, o)
			case f.phase == phaseArrive:
				o.Lock, o.Ref = true, phaseArrive
				dst = append(dst, o)
			case !n.isLocked(op.Addr) && n.served(op.Addr, th):
				o.Lock = true
				dst = append(dst, o)
			}
		default: // CPU writes and RMWs, RWrite
			o.Write = true
			dst = append(dst, o)
		}
	}
	return dst
}

// Fire implements sim.Model.
func (n *NIC) Fire(o sim.Option) bool {
	f := &n.flight[o.Thread]
	op := f.op
	th := int(o.Thread)
	p := o.Addr
	word := &n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes]
	cur := *word
	ev := traces.Event{Thread: th, Op: op.Kind, Addr: p}
	done := true
	switch op.Kind {
	case rdma.OpLoad:
		op.Result = cur
		ev.Kind, ev.Read, ev.HasRead = traces.CPU, cur, true
		n.read(&ev, th, p, cur)
	case rdma.OpStore:
		ev.Kind, ev.Wrote, ev.HasWrite = traces.CPU, op.A, true
		n.write(&ev, th, p, word, op.A)
	case rdma.OpCAS, rdma.OpSwap, rdma.OpFAA:
		op.Result = cur
		ev.Kind, ev.Read, ev.HasRead = traces.CPU, cur, true
		if v, ok := rmw(op, cur); ok {
			ev.Wrote, ev.HasWrite = v, true
			n.record(&ev)
			n.obs.Read(th, p, cur)
			*word = v
			n.obs.Wrote(th, p, cur, v)
		} else {
			ev.Note = "failed"
			n.read(&ev, th, p, cur)
		}
	case rdma.OpRRead:
		op.Result = cur
		ev.Kind, ev.Read, ev.HasRead = traces.NICRead, cur, true
		n.read(&ev, th, p, cur)
	case rdma.OpRReadN:
		op.Buf[o.Ref] = cur
		f.left &^= 1 << uint(o.Ref)
		done = f.left == 0
		ev.Kind, ev.Read, ev.HasRead = traces.NICRead, cur, true
		if n.obs.Recording() {
			ev.Note = fmt.Sprintf("word %d of %d", o.Ref+1, len(op.Buf))
		}
		n.read(&ev, th, p, cur)
	case rdma.OpRWrite:
		ev.Kind, ev.Wrote, ev.HasWrite = traces.NICWrite, op.A, true
		n.write(&ev, th, p, word, op.A)
	case rdma.OpRCAS, rdma.OpRFAA:
		switch {
		case n.cfg.Scope == ScopeGlob:
			op.Result = cur
			ev.Kind, ev.Read, ev.HasRead = traces.NICAtomic, cur, true
			if v, ok := rmw(op, cur); ok {
				ev.Wrote, ev.HasWrite = v, true
				n.record(&ev)
				n.obs.Read(th, p, cur)
				*word = v
				n.obs.Wrote(th, p, cur, v)
			} else {
				ev.Note = "failed"
				n.read(&ev, th, p, cur)
			}
		case f.phase == phaseArrive && (n.isLocked(p) || n.waiting(p)):
			f.phase = phaseRead
			n.queue = append(n.queue, queued{addr: p, thread: o.Thread})
			ev.Kind, ev.Note = traces.NICArrive, "queues behind another atomic on this address"
			n.record(&ev)
			done = false
		case f.phase == phaseArrive || f.phase == phaseRead:
			// An atomic that arrives at a free address with nobody queued reads
			// at once: arriving and reading as one step explores the same
			// orders as two would, with fewer interleavings.
			if f.phase == phaseRead {
				n.dequeue(p, th)
			}
			f.phase, f.readVal = phaseWrite, cur
			n.locked = append(n.locked, p)
			ev.Kind, ev.Read, ev.HasRead = traces.NICAtomicRead, cur, true
			n.read(&ev, th, p, cur)
			done = false
		default:
			n.unlock(p)
			op.Result = f.readVal
			ev.Kind = traces.NICAtomicWrite
			if v, ok := rmw(op, f.readVal); ok {
				ev.Wrote, ev.HasWrite = v, true
				n.write(&ev, th, p, word, v)
			} else if n.cfg.FailedCASWritesBack {
				ev.Wrote, ev.HasWrite, ev.Note = f.readVal, true, "failed, writes back what it read"
				n.write(&ev, th, p, word, f.readVal)
			} else {
				ev.Note = "failed, no write"
				n.record(&ev)
			}
		}
	default:
		panic(fmt.Sprintf("nicmodel: cannot fire %v", op.Kind))
	}
	if done {
		f.active = false
	}
	return done
}

// rmw computes what a read-modify-write writes after reading cur, and whether it
// writes at all (a failed CAS does not).
func rmw(op *sim.Op, cur uint64) (uint64, bool) {
	switch op.Kind {
	case rdma.OpCAS, rdma.OpRCAS:
		return op.B, cur == op.A
	case rdma.OpFAA, rdma.OpRFAA:
		return cur + op.A, true
	default: // Swap
		return op.A, true
	}
}

func (n *NIC) record(ev *traces.Event) {
	if n.obs.Recording() {
		ev.Label = n.Label(ev.Addr)
		n.obs.Record(*ev)
	}
}

func (n *NIC) read(ev *traces.Event, th int, p rdma.Ptr, v uint64) {
	n.record(ev)
	n.obs.Read(th, p, v)
}

func (n *NIC) write(ev *traces.Event, th int, p rdma.Ptr, word *uint64, v uint64) {
	n.record(ev)
	old := *word
	*word = v
	n.obs.Wrote(th, p, old, v)
}
