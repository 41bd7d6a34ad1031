package nicmodel

import (
	"fmt"
	"slices"
	"sort"

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

// Config holds the model's knobs (see Knobs for their names as Set takes them).
// The zero value of every knob is its default.
type Config struct {
	Nodes int
	Scope Scope
	// FailedCASWritesBack makes a failed NIC CAS write the value it read back to
	// memory in its second half (some NICs implement CAS as an unconditional
	// read-then-write). Such a write can undo a CPU store that landed in between.
	FailedCASWritesBack bool
	// Arbitration of NIC atomics waiting for one address.
	Arbitration Arbitration
	// NICWritesExcluded: a NIC WRITE (and a READ response landing) on an
	// address waits while a NIC atomic holds it, between the atomic's read and
	// write. By default it does not wait (RDMA^TSO_RMW).
	NICWritesExcluded bool
	// Ordering between the requests of one QP.
	Ordering Ordering
	// Fence is what a fenced request waits for.
	Fence FenceStrength
	// Placement is the order of one message's words.
	Placement Placement
	// CPU is the host CPUs' memory model.
	CPU CPUModel
	// Lanes is the number of QPs of a thread to each target node (0 means 1).
	Lanes int
	// Timing, if set, gives every step a time (timed mode, sim.Config.Timed):
	// see Profile.
	Timing *Profile
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

// The Refs of a posted request's events (a NIC atomic's are its phases). A
// plain NIC write has Ref 0: excluded from atomics (Config.NICWritesExcluded)
// it takes part in the address's atomic lock like an atomic's read half.
const (
	refPlace      = 0 // a WRITE's word lands at the target; a READ's response lands locally
	refCompletion = 3
	refSource     = 4 // the NIC reads a WRITE's source word
	refFetch      = 5 // the NIC reads the target for a READ
)

// MaxLanes bounds Config.Lanes.
const MaxLanes = 64

// inflight is a thread's own operation and how far its events have got.
type inflight struct {
	op      *sim.Op
	active  bool  // the operation has events to fire
	blocked uint8 // waiting without events of its own: blockFence, blockWait, blockCompletion
	// req is the request the operation is: a blocking verb's own request
	// (the thread's reused one), or, in a Wait, the request waited for.
	req *request
}

const (
	blockNone       = iota
	blockFence      // Fence under TSO: until the store buffer has drained
	blockWait       // Wait: until the request completes
	blockCompletion // a blocking verb whose events are done: until the earlier requests of its QP complete
)

// NIC is host memory of every node plus the NICs in front of it. It implements
// sim.Model.
type NIC struct {
	cfg      Config
	nodes    []node
	obs      sim.Observer
	nthreads int // the engine's thread count: agent ids start there
	flight   []inflight
	locked   []rdma.Ptr // addresses whose NIC atomic lock is held
	queue    []queued   // FIFO arbitration: atomics that arrived and wait to read, in arrival order
	// Asynchronous state, empty unless verbs are posted or CPUs are TSO.
	ts     []tstate   // by thread
	agents []agentRef // by agent id - 2*nthreads: the word of a posted request
	active []*request // posted requests not yet completed, in posting order over all threads
	busy   int        // buffered stores and outstanding requests, over all threads
	breqs  []*request // by thread: the request a blocking verb reuses
	// Timed mode (Config.Timing), else nil.
	tm         *timing
	threadNode []int // by thread
	// memHash is the XOR of wordHash over every word of memory, kept up to
	// date at every write (StateHash).
	memHash uint64
}

// wordHash is word p's share of NIC.memHash when it holds v: 0 for a zero
// word, so that fresh zeroed words change nothing.
func wordHash(p rdma.Ptr, v uint64) uint64 {
	if v == 0 {
		return 0
	}
	return mix64(mix64(uint64(p)+0x9e3779b97f4a7c15) ^ v)
}

// set writes v into word, memory word p, keeping memHash.
func (n *NIC) set(p rdma.Ptr, word *uint64, v uint64) {
	n.memHash ^= wordHash(p, *word) ^ wordHash(p, v)
	*word = v
}

type queued struct {
	addr   rdma.Ptr
	thread int32 // the option's Thread: a thread, or a posted atomic's agent
}

// tstate is a thread's asynchronous state.
type tstate struct {
	buf     []bufEntry // TSO store buffer, oldest first
	stored  uint64     // stores put into the buffer so far
	flushed uint64     // stores drained to memory so far
	qps     []qpState
	reqs    []*request // every request posted, by handle-1
	pending int        // posted requests not yet completed
}

type bufEntry struct {
	addr rdma.Ptr
	val  uint64
	at   int64 // timed mode: when it may drain
}

// qpState is one QP of a thread: requests in flight and its completion queue.
type qpState struct {
	qp       rdma.QP
	pending  []*request // posted, not completed, in posting order
	cq       []rdma.Req // completed, not yet polled, in completion (= posting) order
	produced uint64     // completions so far: the value of the CQ's pseudo-word
}

type agentRef struct {
	req  *request
	word int
}

// request is a work request: a posted one, or a blocking verb, which is posted
// fenced on lane 0 of the target node's QP and waited for. Both go through the
// same events (requestOptions, fireEvent); a blocking verb's differ in three
// ways only: they are steps of the thread itself (not of agents), a READ's
// fetch delivers the value to the thread at once (there is no local buffer to
// land in), and its completion is not a step of its own.
type request struct {
	owner    int32
	agent    int32 // agent of word 0; word i is agent+i (a blocking verb: the owner, for every word)
	blocking bool
	op       rdma.Op // the Op of its options: a blocking verb's own kind, else kind (OpRReadN for a READ of several words)
	id       rdma.Req
	kind     rdma.Op // OpRRead (READ, any number of words), OpRWrite, OpRCAS, OpRFAA
	qp       rdma.QP
	fenced   bool
	remote   rdma.Ptr // the words at the target
	local    rdma.Ptr // READ: destination buffer; WRITE: source buffer (0: inline value a)
	words    int
	a, b     uint64
	doorbell uint64  // TSO: stores of the owner that must drain before the NIC sees the request
	stage    []uint8 // per word: events done (0, 1, 2 = data done, 3 = completion, word 0 only)
	vals     []uint64
	phase    uint8 // atomic under hca
	readVal  uint64
	left     int // words whose data is not done
	complete bool
	result   uint64
	// Timed mode: when the requester NIC took it, when the responder had
	// processed it, when each word's last event fired and the latest of them;
	// deferred: waiting for a free slot of its QP (Profile.MaxOutstanding).
	sent, ready, last int64
	at                []int64
	deferred          bool
}

// eventThread is the Thread of the options of word w's events.
func (r *request) eventThread(w int) int32 {
	if r.blocking {
		return r.agent
	}
	return r.agent + int32(w)
}

func (r *request) atomic() bool { return r.kind == rdma.OpRCAS || r.kind == rdma.OpRFAA }

// Access kinds of a NIC event, for the ordering rules.
const (
	accSrc    = iota // reads a WRITE's local source
	accFetch         // reads the target for a READ
	accPlace         // writes the target for a WRITE
	accLand          // writes a READ's response into the local buffer
	accARead         // an atomic's arrival or read half
	accAWrite        // an atomic's write half (under glob: the whole atomic)
)

// New returns a model with cfg.Nodes nodes of empty memory.
func New(cfg Config) (*NIC, error) {
	if cfg.Nodes < 1 || cfg.Nodes > 1<<16 {
		return nil, fmt.Errorf("nodes = %d: want 1 … 65536", cfg.Nodes)
	}
	if cfg.Lanes < 0 || cfg.Lanes > MaxLanes {
		return nil, fmt.Errorf("lanes = %d: want 1 … %d", cfg.Lanes, MaxLanes)
	}
	n := &NIC{cfg: cfg, nodes: make([]node, cfg.Nodes), flight: make([]inflight, 0, 8)}
	if cfg.Timing != nil {
		if err := cfg.Timing.Validate(); err != nil {
			return nil, fmt.Errorf("timing profile %s: %v", cfg.Timing.Name, err)
		}
		n.tm = newTiming(cfg.Timing, cfg.Nodes)
	}
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
	n.memHash = 0
	n.flight, n.threadNode = n.flight[:0], n.threadNode[:0]
	n.locked = n.locked[:0]
	n.queue = n.queue[:0]
	n.obs = nil
	for i := range n.ts {
		t := &n.ts[i]
		t.buf, t.qps, t.reqs = t.buf[:0], t.qps[:0], t.reqs[:0]
		t.stored, t.flushed, t.pending = 0, 0, 0
	}
	n.agents, n.active, n.busy = n.agents[:0], n.active[:0], 0
	if n.tm != nil {
		n.tm.reset()
	}
}

// Fingerprint hashes every node's memory (FNV-1a): two executions that end with
// equal fingerprints end, with overwhelming likelihood, in the same memory.
func (n *NIC) Fingerprint() uint64 { return n.FingerprintExcept(nil) }

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
	n.set(p, &n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes], v)
	return nil
}

// Peek implements sim.Model: the word's value in memory (not in any store
// buffer).
func (n *NIC) Peek(p rdma.Ptr) uint64 {
	if isCQ(p) {
		return 0
	}
	return n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes]
}

// Label implements sim.Model: the allocation's label, with the word's index when
// the allocation has several words.
func (n *NIC) Label(p rdma.Ptr) string {
	if isCQ(p) {
		th, q := decodeCQ(p)
		return fmt.Sprintf("cq of t%d %v", th, q)
	}
	if p.Node() < 0 || p.Node() >= len(n.nodes) {
		return ""
	}
	nd := &n.nodes[p.Node()]
	w := int(p.Offset() / rdma.WordBytes)
	i := sort.Search(len(nd.allocs), func(i int) bool { return nd.allocs[i].start+nd.allocs[i].words > w })
	if i == len(nd.allocs) || nd.allocs[i].start > w || nd.allocs[i].label == "" {
		return ""
	}
	a := nd.allocs[i]
	return rdma.WordLabel(a.label, a.words, w-a.start)
}

// check validates words consecutive words at p.
func (n *NIC) check(p rdma.Ptr, words int) error {
	switch {
	case p == 0:
		return fmt.Errorf("nil pointer")
	case p.Node() < 0:
		return fmt.Errorf("%s is not a pointer (no node)", p)
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
func (n *NIC) Attach(obs sim.Observer) {
	n.obs = obs
	n.nthreads = obs.ThreadCount()
}

// tstate returns th's asynchronous state.
func (n *NIC) tstate(th int) *tstate {
	for len(n.ts) <= th {
		n.ts = append(n.ts, tstate{})
	}
	return &n.ts[th]
}

// findQP returns th's QP q, or nil if th never posted on it.
func (n *NIC) findQP(th int, q rdma.QP) *qpState {
	if th >= len(n.ts) {
		return nil
	}
	t := &n.ts[th]
	for i := range t.qps {
		if t.qps[i].qp == q {
			return &t.qps[i]
		}
	}
	return nil
}

// qpOf returns th's QP q, creating it.
func (n *NIC) qpOf(th int, q rdma.QP) *qpState {
	if s := n.findQP(th, q); s != nil {
		return s
	}
	t := n.tstate(th)
	t.qps = append(t.qps, qpState{qp: q})
	return &t.qps[len(t.qps)-1]
}

// cqAddr is the pseudo-word standing for th's completion queue of q: its value
// is the number of completions q has produced. Its offset is odd, so it is never
// a word of memory. Polling reads it and a completion writes it, which makes
// the two dependent for a partial-order reduction and lets a polling loop park.
func cqAddr(th int, q rdma.QP) rdma.Ptr {
	return rdma.MakePtr(q.Node, uint64(th)<<24|uint64(q.Lane)<<4|1)
}

func isCQ(p rdma.Ptr) bool { return p.Offset()%rdma.WordBytes != 0 }

func decodeCQ(p rdma.Ptr) (int, rdma.QP) {
	off := p.Offset()
	return int(off >> 24), rdma.QP{Node: p.Node(), Lane: int(off>>4) & 0xfffff}
}

func (n *NIC) checkQP(q rdma.QP) error {
	switch {
	case q.Node < 0 || q.Node >= len(n.nodes):
		return fmt.Errorf("%v: node %d does not exist", q, q.Node)
	case q.Lane < 0 || q.Lane >= n.cfg.lanes():
		return fmt.Errorf("%v: lane %d does not exist (lanes: %d)", q, q.Lane, n.cfg.lanes())
	}
	return nil
}

// Issue implements sim.Model.
func (n *NIC) Issue(th *sim.Thread, op *sim.Op) (bool, error) {
	id := th.ID()
	for len(n.flight) <= id {
		n.flight = append(n.flight, inflight{})
		n.threadNode = append(n.threadNode, 0)
	}
	n.threadNode[id] = th.Node()
	f := &n.flight[id]
	var start int64
	if n.tm != nil {
		start = n.tm.issued(id)
	}
	switch {
	case op.Post:
		if n.tm != nil {
			n.tm.advance(id, start+n.tm.post)
			n.tm.nicMoved = true
		}
		return true, n.post(th, op)
	case op.Kind == rdma.OpPoll:
		if err := n.checkQP(op.QP); err != nil {
			return false, fmt.Errorf("polling: %v", err)
		}
		*f = inflight{op: op, active: true}
		if n.tm != nil {
			n.issuedCPU(id, op)
		}
		return false, nil
	case op.Kind == rdma.OpWait:
		var r *request
		if id < len(n.ts) && op.Req >= 1 && int(op.Req) <= len(n.ts[id].reqs) {
			r = n.ts[id].reqs[op.Req-1]
		}
		if r == nil {
			return false, fmt.Errorf("Wait(%d): the thread posted no such request", op.Req)
		}
		if r.complete {
			op.Result = r.result
			if n.tm != nil {
				n.tm.advance(id, start+n.tm.poll)
			}
			return true, nil
		}
		*f = inflight{op: op, blocked: blockWait, req: r}
		return false, nil
	case op.Kind == rdma.OpFence:
		if n.cfg.CPU != CPUTSO || id >= len(n.ts) || len(n.ts[id].buf) == 0 {
			return true, nil
		}
		*f = inflight{op: op, blocked: blockFence}
		return false, nil
	}
	words := 1
	if op.Kind == rdma.OpRReadN {
		words = len(op.Buf)
		if words < 1 || words > MaxReadWords {
			return false, fmt.Errorf("RReadN of %d words at %s: want 1 … %d", words, op.Addr, MaxReadWords)
		}
	}
	if err := n.check(op.Addr, words); err != nil {
		return false, fmt.Errorf("%v: %v", op.Kind, err)
	}
	if op.Kind.IsCPU() && op.Addr.Node() != th.Node() {
		return false, fmt.Errorf("CPU %v on %s%s, memory of node %d, from a thread on node %d: a CPU operation reaches only its own node (mis-classified locality?)",
			op.Kind, op.Addr, n.labelSuffix(op.Addr), op.Addr.Node(), th.Node())
	}
	if op.Kind == rdma.OpStore && n.cfg.CPU == CPUTSO {
		old := n.View(id, op.Addr)
		t := n.tstate(id)
		t.buf = append(t.buf, bufEntry{op.Addr, op.A, 0})
		if n.tm != nil {
			t.buf[len(t.buf)-1].at = start + n.tm.cpuOp
			n.tm.advance(id, start+n.tm.cpuOp)
			n.tm.newDue = min(n.tm.newDue, start+n.tm.cpuOp)
		}
		t.stored++
		n.busy++
		if n.obs.Recording() {
			n.record(&traces.Event{Thread: id, Kind: traces.CPU, Op: rdma.OpStore, Addr: op.Addr, Wrote: op.A, HasWrite: true, Note: "into its store buffer"})
		}
		n.obs.Stored(id, op.Addr, old, op.A)
		return true, nil
	}
	*f = inflight{op: op, active: true}
	switch {
	case op.Kind.IsVerb():
		f.req = n.blockingRequest(id, op, words)
		if n.tm != nil {
			n.send(f.req, start+n.tm.post)
			n.tm.nicMoved = true
		}
	case n.tm != nil:
		n.issuedCPU(id, op)
	}
	return false, nil
}

// blockingRequest makes th's reused request the blocking verb op: posted
// fenced on lane 0 of the target node's QP, waited for.
func (n *NIC) blockingRequest(th int, op *sim.Op, words int) *request {
	for len(n.breqs) <= th {
		n.breqs = append(n.breqs, &request{})
	}
	r := n.breqs[th]
	if cap(r.stage) < words {
		r.stage, r.vals, r.at = make([]uint8, 0, words), make([]uint64, 0, words), make([]int64, 0, words)
	}
	kind := op.Kind
	if kind == rdma.OpRReadN {
		kind = rdma.OpRRead
	}
	*r = request{owner: int32(th), agent: int32(th), blocking: true, op: op.Kind, kind: kind,
		qp: rdma.QPTo(op.Addr.Node()), fenced: true, remote: op.Addr, words: words, a: op.A, b: op.B,
		left: words, stage: r.stage[:words], vals: r.vals[:words], at: r.at[:words]}
	clear(r.stage)
	clear(r.at)
	if kind == rdma.OpRWrite {
		r.stage[0], r.vals[0] = 1, op.A // inline: no source to read
	}
	if n.cfg.CPU == CPUTSO && th < len(n.ts) {
		r.doorbell = n.ts[th].stored
	}
	if r.atomic() && n.cfg.Scope == ScopeHCA && n.cfg.Arbitration == ArbitrateFIFO {
		r.phase = phaseArrive
	}
	return r
}

// post puts a work request on one of th's QPs.
func (n *NIC) post(th *sim.Thread, op *sim.Op) error {
	id := th.ID()
	kind, words := op.Kind, op.Words
	if kind == rdma.OpRReadN {
		kind = rdma.OpRRead
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("post %v on %v: %s", op.Kind, op.QP, fmt.Sprintf(format, args...))
	}
	switch {
	case kind != rdma.OpRRead && kind != rdma.OpRWrite && kind != rdma.OpRCAS && kind != rdma.OpRFAA:
		return fail("not a verb")
	case words < 1 || words > MaxReadWords:
		return fail("%d words: want 1 … %d", words, MaxReadWords)
	case (kind == rdma.OpRCAS || kind == rdma.OpRFAA) && words != 1:
		return fail("an atomic is one word")
	case kind == rdma.OpRRead && op.Local == 0:
		return fail("a READ needs a destination buffer")
	case kind == rdma.OpRWrite && op.Local == 0 && words != 1:
		return fail("an inline WRITE is one word")
	}
	if err := n.checkQP(op.QP); err != nil {
		return fail("%v", err)
	}
	if err := n.check(op.Addr, words); err != nil {
		return fail("%v", err)
	}
	if op.Addr.Node() != op.QP.Node {
		return fail("%s is on node %d, not on the QP's node %d", op.Addr, op.Addr.Node(), op.QP.Node)
	}
	if op.Local != 0 {
		if err := n.check(op.Local, words); err != nil {
			return fail("local buffer: %v", err)
		}
		if op.Local.Node() != th.Node() {
			return fail("local buffer %s%s is on node %d, not on the thread's node %d", op.Local, n.labelSuffix(op.Local), op.Local.Node(), th.Node())
		}
	}
	t := n.tstate(id)
	r := &request{owner: int32(id), id: rdma.Req(len(t.reqs) + 1), kind: kind, op: kind, qp: op.QP,
		fenced: op.Flags&rdma.Fenced != 0, remote: op.Addr, local: op.Local, words: words,
		a: op.A, b: op.B, left: words, stage: make([]uint8, words), vals: make([]uint64, words)}
	if n.tm != nil {
		r.at = make([]int64, words)
	}
	if n.cfg.CPU == CPUTSO {
		r.doorbell = t.stored
	}
	if kind == rdma.OpRWrite && op.Local == 0 {
		r.stage[0], r.vals[0] = 1, op.A // inline: no source to read
	}
	if kind == rdma.OpRRead && words > 1 {
		r.op = rdma.OpRReadN
	}
	if r.atomic() && n.cfg.Scope == ScopeHCA && n.cfg.Arbitration == ArbitrateFIFO {
		r.phase = phaseArrive
	}
	r.agent = int32(2*n.nthreads + len(n.agents))
	for w := range words {
		n.agents = append(n.agents, agentRef{r, w})
	}
	t.reqs = append(t.reqs, r)
	t.pending++
	n.busy++
	q := n.qpOf(id, op.QP)
	q.pending = append(q.pending, r)
	n.active = append(n.active, r)
	if tm := n.tm; tm != nil {
		if tm.maxOutstanding > 0 && len(q.pending) > tm.maxOutstanding {
			r.deferred = true // sent when an earlier request of the QP completes
		} else {
			n.send(r, tm.start[id]+tm.post)
		}
	}
	op.Req = r.id
	n.obs.Acted(id)
	if n.obs.Recording() {
		note := fmt.Sprintf("posts request %d on %v", r.id, op.QP)
		if r.fenced {
			note += ", fenced"
		}
		n.record(&traces.Event{Thread: id, Kind: traces.Mark, Op: op.Kind, Addr: op.Addr, Note: note})
	}
	return nil
}

// served reports whether the atomic of option id on p is at the head of p's
// queue.
func (n *NIC) served(p rdma.Ptr, id int32) bool {
	if n.cfg.Arbitration != ArbitrateFIFO {
		return true
	}
	for _, q := range n.queue {
		if q.addr == p {
			return q.thread == id
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

func (n *NIC) dequeue(p rdma.Ptr, id int32) {
	for i, q := range n.queue {
		if q.addr == p && q.thread == id {
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

func (n *NIC) ascending() bool {
	return n.cfg.Placement == PlaceAscending && n.cfg.Ordering == OrderStrict
}

// excluded reports whether a plain NIC write to p must wait for a NIC atomic
// that holds p.
func (n *NIC) excluded(p rdma.Ptr) bool { return n.cfg.NICWritesExcluded && n.isLocked(p) }

// writesPending reports whether request e has a write to p at the target still
// to land.
func (e *request) writesPending(p rdma.Ptr) bool {
	switch {
	case e.kind == rdma.OpRWrite:
		if p < e.remote || p >= e.remote.Add(e.words) || p.Node() != e.remote.Node() {
			return false
		}
		return e.stage[int(p-e.remote)/rdma.WordBytes] < 2
	case e.atomic():
		return p == e.remote && e.left > 0
	}
	return false
}

// qpBlocks reports whether the ordering rules hold back an event (access acc
// to p) of a request with the given fence and atomicity, behind the earlier
// requests of its QP.
func (n *NIC) qpBlocks(earlier []*request, fenced, atomic bool, acc int, p rdma.Ptr) bool {
	for _, e := range earlier {
		if e.left == 0 {
			continue // its data is all done: it holds back nothing
		}
		ea := e.atomic()
		if fenced && (n.cfg.Fence == FenceStrong || e.kind == rdma.OpRRead || ea) {
			return true // rule 2
		}
		strict := n.cfg.Ordering == OrderStrict || atomic || ea
		switch acc {
		case accFetch, accARead:
			// Rule 1: read-after-write to the same bytes (dropped by unordered).
			if (n.cfg.Ordering != OrderUnordered || atomic || ea) && e.writesPending(p) {
				return true
			}
		case accPlace:
			// Rules 1 and 5: WRITEs land in posting order (dropped by relaxed).
			if strict && (e.kind == rdma.OpRWrite || ea) {
				return true
			}
		case accAWrite:
			if e.kind == rdma.OpRWrite || ea {
				return true
			}
		case accLand:
			// READ responses land in order too (rule 5).
			if strict && e.kind == rdma.OpRRead {
				return true
			}
		}
	}
	return false
}

// Enabled implements sim.Model.
func (n *NIC) Enabled(dst []sim.Option) []sim.Option {
	if n.tm != nil {
		return n.enabledTimed(dst)
	}
	for th := range n.flight {
		if n.flight[th].active {
			dst = n.threadOptions(dst, th)
		}
	}
	if n.busy > 0 {
		dst = n.enabledAsync(dst)
	}
	return dst
}

// threadOptions appends the enabled steps of thread th's own operation.
func (n *NIC) threadOptions(dst []sim.Option, th int) []sim.Option {
	f := &n.flight[th]
	op := f.op
	o := sim.Option{Thread: int32(th), Op: op.Kind, Addr: op.Addr}
	switch op.Kind {
	case rdma.OpLoad:
		if n.tm != nil {
			n.timeCPU(&o, th)
		}
		dst = append(dst, o)
	case rdma.OpPoll:
		o.Addr = cqAddr(th, op.QP)
		if n.tm != nil {
			n.timeCPU(&o, th)
		}
		dst = append(dst, o)
	case rdma.OpRCAS, rdma.OpRFAA:
		if n.busy > 0 {
			return n.requestOptions(dst, f.req)
		}
		// The request's one event with nothing else outstanding, written
		// out: this is the hot path of every campaign on a lock built on
		// NIC atomics.
		switch r := f.req; {
		case n.cfg.Scope == ScopeGlob:
			o.Write = true
		case r.phase == phaseWrite:
			o.Write, o.Lock, o.Ref = true, true, phaseWrite
		case r.phase == phaseArrive:
			o.Lock, o.Ref = true, phaseArrive
		case !n.isLocked(op.Addr) && n.served(op.Addr, int32(th)):
			o.Lock = true
		default:
			return dst
		}
		if n.tm != nil {
			o.At = n.eventDue(f.req, 0)
		}
		dst = append(dst, o)
	case rdma.OpRRead, rdma.OpRReadN, rdma.OpRWrite:
		dst = n.requestOptions(dst, f.req)
	case rdma.OpCAS, rdma.OpSwap, rdma.OpFAA:
		// Under TSO a locked instruction waits for the store buffer to drain.
		if n.cfg.CPU == CPUTSO && th < len(n.ts) && len(n.ts[th].buf) > 0 {
			return dst
		}
		o.Write = true
		if n.tm != nil {
			n.timeCPU(&o, th)
		}
		dst = append(dst, o)
	default: // Store
		o.Write = true
		if n.tm != nil {
			n.timeCPU(&o, th)
		}
		dst = append(dst, o)
	}
	return dst
}

// atomicOption completes o, a NIC atomic in the given phase, and reports
// whether it is enabled; readOK and writeOK say whether the ordering rules let
// its read and its write go.
func (n *NIC) atomicOption(o sim.Option, phase uint8, readOK, writeOK bool) (sim.Option, bool) {
	switch {
	case n.cfg.Scope == ScopeGlob:
		o.Write = true
		return o, writeOK
	case phase == phaseWrite:
		o.Write, o.Lock, o.Ref = true, true, phaseWrite
		return o, writeOK
	case phase == phaseArrive:
		o.Lock, o.Ref = true, phaseArrive
		return o, readOK
	case !n.isLocked(o.Addr) && n.served(o.Addr, o.Thread):
		o.Lock = true
		return o, readOK
	}
	return o, false
}

// enabledAsync appends the steps of store buffers and posted requests: a
// buffer's oldest store (agent ThreadCount+thread), and each posted request's
// next event per word (agent of word 0 + word).
func (n *NIC) enabledAsync(dst []sim.Option) []sim.Option {
	base := int32(n.nthreads)
	for th := range n.ts {
		if b := n.ts[th].buf; len(b) > 0 {
			dst = append(dst, sim.Option{Thread: base + int32(th), Op: rdma.OpStore, Addr: b[0].addr, Write: true, At: b[0].at})
		}
	}
	for _, r := range n.active {
		dst = n.requestOptions(dst, r)
	}
	return dst
}

// requestOptions appends the enabled events of request r: per word its next
// event, and a posted request's completion once its data is done and every
// earlier request of its QP has completed.
func (n *NIC) requestOptions(dst []sim.Option, r *request) []sim.Option {
	if r.deferred {
		return dst
	}
	var earlier []*request // the requests of r's QP before it, not yet complete
	pos := 0
	if n.busy > 0 && int(r.owner) < len(n.ts) {
		if r.doorbell > n.ts[r.owner].flushed {
			return dst // the NIC has not seen the post yet
		}
		if q := n.findQP(int(r.owner), r.qp); q != nil {
			if r.blocking {
				earlier, pos = q.pending, len(q.pending)
			} else {
				pos = slices.Index(q.pending, r)
				earlier = q.pending[:pos]
			}
		}
	}
	for w := range r.words {
		o := sim.Option{Thread: r.eventThread(w), Op: r.op}
		st := r.stage[w]
		if st >= 2 {
			if !r.blocking && w == 0 && st == 2 && r.left == 0 && pos == 0 {
				// Completions come in posting order (rule 2), after the
				// request's data (rule 4).
				o.Addr, o.Write, o.Ref = cqAddr(int(r.owner), r.qp), true, refCompletion
				if n.tm != nil {
					o.At = n.completionDue(r)
				}
				dst = append(dst, o)
			}
			continue
		}
		if w > 0 && r.stage[w-1] <= st && n.ascending() {
			continue
		}
		var acc int
		o.Ref = refPlace
		switch {
		case r.atomic():
			o.Addr = r.remote
			if o, ok := n.atomicOption(o, r.phase,
				!n.qpBlocks(earlier, r.fenced, true, accARead, r.remote),
				!n.qpBlocks(earlier, r.fenced, true, accAWrite, r.remote)); ok {
				if n.tm != nil {
					o.At = n.eventDue(r, 0)
				}
				dst = append(dst, o)
			}
			continue
		case r.kind == rdma.OpRWrite && st == 0:
			acc, o.Addr, o.Ref = accSrc, r.local.Add(w), refSource
		case r.kind == rdma.OpRWrite:
			acc, o.Addr, o.Write = accPlace, r.remote.Add(w), true
		case st == 0:
			acc, o.Addr, o.Ref = accFetch, r.remote.Add(w), refFetch
			if r.blocking {
				o.Ref = int32(w) // a blocking READ's one event per word
			}
		default:
			acc, o.Addr, o.Write = accLand, r.local.Add(w), true
		}
		if o.Write {
			if n.excluded(o.Addr) {
				continue
			}
			o.Lock = n.cfg.NICWritesExcluded
		}
		if n.qpBlocks(earlier, r.fenced, false, acc, o.Addr) {
			continue
		}
		if n.tm != nil {
			o.At = n.eventDue(r, w)
		}
		dst = append(dst, o)
	}
	return dst
}

// Fire implements sim.Model.
func (n *NIC) Fire(o sim.Option) bool {
	if n.tm != nil {
		n.tm.now = o.At
		if int(o.Thread) >= n.nthreads || o.Op.IsVerb() {
			n.tm.nicMoved = true
		}
	}
	if base := int32(n.nthreads); o.Thread >= base {
		if o.Thread < 2*base {
			return n.fireFlush(int(o.Thread - base))
		}
		return n.fireRequest(o)
	}
	f := &n.flight[o.Thread]
	op := f.op
	th := int(o.Thread)
	p := o.Addr
	if n.tm != nil {
		n.tm.dirty = append(n.tm.dirty, th)
	}
	if op.Kind == rdma.OpPoll {
		n.firePoll(th, f)
		if n.tm != nil {
			n.tm.advance(th, n.tm.now)
		}
		return true
	}
	if op.Kind.IsVerb() {
		return n.fireBlocking(o, f)
	}
	if n.tm != nil {
		n.tm.advance(th, n.tm.now)
		n.touched(th, false, p, o.Write)
	}
	word := &n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes]
	cur := *word
	ev := traces.Event{Thread: th, Op: op.Kind, Addr: p}
	switch op.Kind {
	case rdma.OpLoad:
		if v, ok := n.buffered(th, p); ok {
			cur = v
			ev.Note = "from its store buffer"
		}
		op.Result = cur
		ev.Kind, ev.Read, ev.HasRead = traces.CPU, cur, true
		n.read(&ev, th, p, cur)
	case rdma.OpStore:
		ev.Kind, ev.Wrote, ev.HasWrite = traces.CPU, op.A, true
		n.write(&ev, th, p, word, op.A)
	case rdma.OpCAS, rdma.OpSwap, rdma.OpFAA:
		op.Result = cur
		ev.Kind, ev.Read, ev.HasRead = traces.CPU, cur, true
		if v, ok := rmw(op.Kind, op.A, op.B, cur); ok {
			ev.Wrote, ev.HasWrite = v, true
			n.record(&ev)
			n.obs.Read(th, p, cur)
			n.set(p, word, v)
			n.obs.Wrote(th, p, cur, v)
		} else {
			ev.Note = "failed"
			n.read(&ev, th, p, cur)
		}
	default:
		panic(fmt.Sprintf("nicmodel: cannot fire %v", op.Kind))
	}
	f.active = false
	return true
}

// fireBlocking fires one event of the blocking verb f is in, and reports
// whether that completed it.
func (n *NIC) fireBlocking(o sim.Option, f *inflight) bool {
	r, op := f.req, f.op
	w := 0
	if r.kind == rdma.OpRRead {
		w = int(o.Ref)
	}
	n.fireEvent(o, r, w)
	if n.tm != nil {
		n.firedEvent(o, r, w)
	}
	if r.left > 0 {
		return false
	}
	f.active = false
	if n.tm != nil {
		n.tm.advance(int(r.owner), n.tm.now+n.tm.back(r)+n.tm.poll)
	}
	switch {
	case r.atomic():
		op.Result = r.result
	case op.Kind == rdma.OpRReadN:
		copy(op.Buf, r.vals)
	case op.Kind == rdma.OpRRead:
		op.Result = r.vals[0]
	}
	if n.busy > 0 {
		// Posted fenced and waited for: it completes once the earlier
		// requests of its QP have (completions come in posting order).
		if q := n.findQP(int(r.owner), r.qp); q != nil && len(q.pending) > 0 {
			f.blocked = blockCompletion
			return false
		}
	}
	return true
}

// fireAtomic fires one event of a NIC atomic (kind, operands a and b) whose
// phase and read value are kept in *phase and *readVal; th is the thread it
// acts for. It reports whether the atomic is done, with its result in *result.
func (n *NIC) fireAtomic(o sim.Option, kind rdma.Op, a, b uint64, phase *uint8, readVal, result *uint64, th int, ev *traces.Event, word *uint64) bool {
	p := o.Addr
	cur := *word
	switch {
	case n.cfg.Scope == ScopeGlob:
		*result = cur
		ev.Kind, ev.Read, ev.HasRead = traces.NICAtomic, cur, true
		if v, ok := rmw(kind, a, b, cur); ok {
			ev.Wrote, ev.HasWrite = v, true
			n.record(ev)
			n.obs.Read(th, p, cur)
			n.set(p, word, v)
			n.obs.Wrote(th, p, cur, v)
		} else {
			ev.Note = "failed"
			n.read(ev, th, p, cur)
		}
		return true
	case *phase == phaseArrive && (n.isLocked(p) || n.waiting(p)):
		*phase = phaseRead
		n.queue = append(n.queue, queued{addr: p, thread: o.Thread})
		ev.Kind, ev.Note = traces.NICArrive, "queues behind another atomic on this address"
		n.record(ev)
		return false
	case *phase == phaseArrive || *phase == phaseRead:
		// An atomic that arrives at a free address with nobody queued reads
		// at once: arriving and reading as one step explores the same
		// orders as two would, with fewer interleavings.
		if *phase == phaseRead {
			n.dequeue(p, o.Thread)
		}
		*phase, *readVal = phaseWrite, cur
		n.locked = append(n.locked, p)
		ev.Kind, ev.Read, ev.HasRead = traces.NICAtomicRead, cur, true
		n.read(ev, th, p, cur)
		return false
	default:
		n.unlock(p)
		*result = *readVal
		ev.Kind = traces.NICAtomicWrite
		if v, ok := rmw(kind, a, b, *readVal); ok {
			ev.Wrote, ev.HasWrite = v, true
			n.write(ev, th, p, word, v)
		} else if n.cfg.FailedCASWritesBack {
			ev.Wrote, ev.HasWrite, ev.Note = *readVal, true, "failed, writes back what it read"
			n.write(ev, th, p, word, *readVal)
		} else {
			ev.Note = "failed, no write"
			n.record(ev)
		}
		return true
	}
}

// firePoll takes the next completion of the polled QP, if any.
func (n *NIC) firePoll(th int, f *inflight) {
	op := f.op
	f.active = false
	cq := cqAddr(th, op.QP)
	q := n.findQP(th, op.QP)
	var produced uint64
	if q != nil {
		produced = q.produced
	}
	ev := traces.Event{Thread: th, Kind: traces.CPU, Op: rdma.OpPoll, Addr: cq, Read: produced, HasRead: true}
	op.Req, op.OK = 0, false
	if q != nil && len(q.cq) > 0 {
		op.Req, op.OK = q.cq[0], true
		q.cq = append(q.cq[:0], q.cq[1:]...)
		if n.obs.Recording() {
			ev.Note = fmt.Sprintf("takes the completion of request %d", op.Req)
		}
	} else {
		ev.Note = "no completion"
	}
	n.read(&ev, th, cq, produced)
	if op.OK {
		// Taking a completion changes what the next Poll returns: the
		// iteration did something, so it does not park.
		n.obs.Acted(th)
	}
}

// fireFlush drains the oldest store of th's store buffer to memory.
func (n *NIC) fireFlush(th int) bool {
	t := &n.ts[th]
	e := t.buf[0]
	t.buf = append(t.buf[:0], t.buf[1:]...)
	t.flushed++
	n.busy--
	word := &n.nodes[e.addr.Node()].mem[e.addr.Offset()/rdma.WordBytes]
	ev := traces.Event{Thread: th, Kind: traces.CPU, Op: rdma.OpStore, Addr: e.addr, Wrote: e.val, HasWrite: true, Note: "drains from its store buffer"}
	if n.tm != nil {
		n.touched(th, false, e.addr, true)
	}
	// The drain changes memory, not what th reads: it is nobody's iteration's
	// write (thread -1).
	n.write(&ev, -1, e.addr, word, e.val)
	if f := &n.flight[th]; f.blocked == blockFence && len(t.buf) == 0 {
		f.blocked = blockNone
		if n.tm != nil {
			n.tm.advance(th, max(n.tm.clock[th], n.tm.now))
		}
		return true
	}
	return false
}

// fireRequest fires one event of a posted request.
func (n *NIC) fireRequest(o sim.Option) bool {
	ar := n.agents[o.Thread-2*int32(n.nthreads)]
	if o.Ref == refCompletion {
		return n.complete(ar.req)
	}
	n.fireEvent(o, ar.req, ar.word)
	if n.tm != nil {
		n.firedEvent(o, ar.req, ar.word)
	}
	return false
}

// fireEvent fires the next event of word w of request r.
func (n *NIC) fireEvent(o sim.Option, r *request, w int) {
	th := int(r.owner)
	p := o.Addr
	word := &n.nodes[p.Node()].mem[p.Offset()/rdma.WordBytes]
	ev := traces.Event{Thread: th, Op: o.Op, Addr: p}
	rec := n.obs.Recording()
	switch {
	case r.atomic():
		if n.fireAtomic(o, r.kind, r.a, r.b, &r.phase, &r.readVal, &r.result, th, &ev, word) {
			r.stage[0], r.left = 2, 0
		}
	case r.stage[w] == 0:
		// A WRITE's source read, or a READ's fetch at the target (a blocking
		// READ's value goes to the thread at once: its data is done).
		v := *word
		r.vals[w], r.stage[w] = v, 1
		if r.blocking {
			r.stage[w] = 2
			r.left--
		}
		ev.Kind, ev.Read, ev.HasRead = traces.NICRead, v, true
		if rec {
			switch {
			case r.blocking:
			case r.kind == rdma.OpRWrite:
				ev.Note = fmt.Sprintf("source of request %d", r.id)
			default:
				ev.Note = fmt.Sprintf("for request %d", r.id)
			}
			if r.words > 1 || r.op == rdma.OpRReadN {
				ev.Note = wordNote(ev.Note, w, r.words)
			}
		}
		n.read(&ev, th, p, v)
	default:
		// A WRITE's data lands at the target, or a READ's response locally.
		v := r.vals[w]
		r.stage[w] = 2
		r.left--
		ev.Kind, ev.Wrote, ev.HasWrite = traces.NICWrite, v, true
		if rec {
			switch {
			case r.blocking:
			case r.kind == rdma.OpRWrite:
				ev.Note = fmt.Sprintf("for request %d", r.id)
			default:
				ev.Note = fmt.Sprintf("response of request %d lands", r.id)
			}
			if r.words > 1 {
				ev.Note = wordNote(ev.Note, w, r.words)
			}
		}
		n.write(&ev, th, p, word, v)
	}
}

// wordNote adds "word w+1 of words" to a trace note.
func wordNote(note string, w, words int) string {
	if note == "" {
		return fmt.Sprintf("word %d of %d", w+1, words)
	}
	return note + fmt.Sprintf(", word %d of %d", w+1, words)
}

// complete produces r's completion; it reports whether that completes the
// operation its thread waits in.
func (n *NIC) complete(r *request) bool {
	th := int(r.owner)
	r.complete = true
	r.stage[0] = 3
	q := n.findQP(th, r.qp)
	q.pending = append(q.pending[:0], q.pending[1:]...)
	q.cq = append(q.cq, r.id)
	q.produced++
	if i := slices.Index(n.active, r); i >= 0 {
		n.active = append(n.active[:i], n.active[i+1:]...)
	}
	if tm := n.tm; tm != nil && tm.maxOutstanding > 0 {
		// A slot of the QP is free: the next request waiting for one goes.
		for i, e := range q.pending {
			if i >= tm.maxOutstanding {
				break
			}
			if e.deferred {
				n.send(e, tm.now)
				break
			}
		}
	}
	n.ts[th].pending--
	n.busy--
	cq := cqAddr(th, r.qp)
	if n.obs.Recording() {
		n.record(&traces.Event{Thread: th, Kind: traces.Mark, Op: r.kind, Addr: cq,
			Note: fmt.Sprintf("completion of request %d", r.id)})
	}
	n.obs.Wrote(-1, cq, q.produced-1, q.produced)
	f := &n.flight[th]
	switch f.blocked {
	case blockWait:
		if f.req == r {
			f.blocked = blockNone
			f.op.Result = r.result
			n.resumed(th)
			return true
		}
	case blockCompletion:
		if rdma.QPTo(f.op.Addr.Node()) == r.qp && len(q.pending) == 0 {
			f.blocked = blockNone
			n.resumed(th)
			return true
		}
	}
	return false
}

// buffered returns th's newest buffered store to p, under TSO.
func (n *NIC) buffered(th int, p rdma.Ptr) (uint64, bool) {
	if n.cfg.CPU != CPUTSO || th >= len(n.ts) {
		return 0, false
	}
	b := n.ts[th].buf
	for i := len(b) - 1; i >= 0; i-- {
		if b[i].addr == p {
			return b[i].val, true
		}
	}
	return 0, false
}

// View implements sim.Model.
func (n *NIC) View(th int, p rdma.Ptr) uint64 {
	if isCQ(p) {
		t, qp := decodeCQ(p)
		if q := n.findQP(t, qp); q != nil {
			return q.produced
		}
		return 0
	}
	if v, ok := n.buffered(th, p); ok {
		return v
	}
	return n.Peek(p)
}

// Owner implements sim.Model: a store buffer's agent is ThreadCount+thread,
// the words of posted requests come after.
func (n *NIC) Owner(agent int32) int {
	base := int32(n.nthreads)
	switch {
	case agent < base:
		return int(agent)
	case agent < 2*base:
		return int(agent - base)
	}
	return int(n.agents[agent-2*base].req.owner)
}

// Describe names a scheduling option for a reader of a replay file: the thread
// (names is indexed by thread id), the operation, the word, and which event of
// the operation it is.
func (n *NIC) Describe(o sim.Option, names []string) string {
	owner := n.Owner(o.Thread)
	s := fmt.Sprintf("t%d", owner)
	if owner >= 0 && owner < len(names) {
		s = names[owner]
	}
	if o.Wake {
		return s + " wakes early"
	}
	base := int32(n.nthreads)
	s += " " + o.Op.String() + " " + o.Addr.String()
	if l := n.Label(o.Addr); l != "" {
		s += " /*" + l + "*/"
	}
	switch {
	case o.Thread >= base && o.Thread < 2*base:
		return s + " (drains from the store buffer)"
	case o.Ref == refCompletion && o.Thread >= 2*base:
		return s + " (completion)"
	case o.Op.IsAtomic() && o.Op.IsVerb() && n.cfg.Scope == ScopeHCA:
		s += [...]string{" (NIC read)", " (NIC write)", " (arrives at the NIC)"}[o.Ref]
	case o.Thread >= 2*base && o.Ref == refSource:
		s += " (NIC reads the source)"
	case o.Thread >= 2*base && o.Ref == refFetch:
		s += " (NIC reads)"
	case o.Thread >= 2*base:
		s += " (lands)"
	}
	if o.Thread >= 2*base {
		s += " (posted)"
	}
	return s
}

// rmw computes what a read-modify-write writes after reading cur, and whether it
// writes at all (a failed CAS does not).
func rmw(kind rdma.Op, a, b, cur uint64) (uint64, bool) {
	switch kind {
	case rdma.OpCAS, rdma.OpRCAS:
		return b, cur == a
	case rdma.OpFAA, rdma.OpRFAA:
		return cur + a, true
	default: // Swap
		return a, true
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
	n.set(p, word, v)
	n.obs.Wrote(th, p, old, v)
}

// resumed notes, in timed mode, that th notices the completion it waited for.
func (n *NIC) resumed(th int) {
	if tm := n.tm; tm != nil {
		// The thread may be ahead of the engine's time (its posts and
		// buffered stores took no step): it notices the completion when both
		// it and the completion are there.
		tm.advance(th, max(tm.clock[th], tm.now)+tm.poll)
	}
}
