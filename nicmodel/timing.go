package nicmodel

import (
	"container/list"
	"fmt"
	"math"
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// timing is the state of timed mode (Config.Timing): the threads' clocks and
// the resources that serve one request at a time, each free from a time on.
type timing struct {
	// The profile in whole nanoseconds.
	cpuOp, cpuContended, post, doorbell, poll int64
	tx, rx, wire, loopback                    int64
	pcieRead, pcieWrite, pcie, response       int64
	atomic, atomicWindow, qpMiss              int64
	qpCache, maxOutstanding                   int
	now                                       int64
	clock, start                              []int64    // by thread: its operation ended; its current one was issued
	cpuAt                                     []int64    // by thread: when its CPU operation is due
	turn                                      []int      // by thread: blocking verbs sent (their lane rotates)
	txFree, rxFree, pcieFree, atomicFree      []int64    // by node
	sharers                                   [][]uint64 // by node, by word: the threads whose caches hold it
	slot                                      []int16    // by thread: its bit in sharers, -1 until known
	slots                                     []int      // by node: bits given out
	qps                                       []qpCache  // by node
	// lb is by thread a lower bound of when its operation's next step is
	// due (see enabledTimed); dirty lists the threads whose bound must be
	// worked out again.
	lb        []int64
	dirty     []int
	heap      []int32 // threads with an operation in progress, by bound
	pos       []int32 // by thread: its index in heap, or -1
	blocked   []int32 // threads whose operation has no step enabled
	isBlocked []bool
	visit     []int32 // scratch of enabledTimed
	moved     []moved
	// Since the last Enabled: whether a step other than a thread's CPU
	// operation fired or a verb was issued (nicMoved), and the earliest due
	// time of the CPU steps and buffered stores issued (newDue): see StillDue.
	nicMoved bool
	newDue   int64
	debugDue []sim.Option // debugTimed: the steps due now, as the model last gave them
}

func ns(v float64) int64 { return int64(math.Round(v)) }

func newTiming(p *Profile, nodes int) *timing {
	tm := &timing{cpuOp: ns(p.CPUOp), cpuContended: ns(p.CPUContended), post: ns(p.Post), doorbell: ns(p.Doorbell), poll: ns(p.Poll),
		tx: ns(p.Tx), rx: ns(p.Rx), wire: ns(p.Wire), loopback: ns(p.Loopback),
		pcieRead: ns(p.PCIeRead), pcieWrite: ns(p.PCIeWrite), pcie: ns(p.PCIe), response: ns(p.Response),
		atomic: ns(p.Atomic), atomicWindow: ns(p.AtomicWindow), qpMiss: ns(p.QPMiss),
		qpCache: p.QPCache, maxOutstanding: p.MaxOutstanding}
	tm.cpuOp = max(tm.cpuOp, 1)
	tm.txFree, tm.rxFree = make([]int64, nodes), make([]int64, nodes)
	tm.pcieFree, tm.atomicFree = make([]int64, nodes), make([]int64, nodes)
	tm.sharers = make([][]uint64, nodes)
	tm.slots = make([]int, nodes)
	tm.qps = make([]qpCache, nodes)
	return tm
}

func (tm *timing) reset() {
	tm.now = 0
	tm.clock, tm.start, tm.lb, tm.dirty = tm.clock[:0], tm.start[:0], tm.lb[:0], tm.dirty[:0]
	tm.turn, tm.cpuAt, tm.nicMoved, tm.newDue = tm.turn[:0], tm.cpuAt[:0], false, 0
	tm.heap, tm.pos, tm.blocked, tm.isBlocked = tm.heap[:0], tm.pos[:0], tm.blocked[:0], tm.isBlocked[:0]
	clear(tm.txFree)
	clear(tm.rxFree)
	clear(tm.pcieFree)
	clear(tm.atomicFree)
	for i := range tm.sharers {
		tm.sharers[i] = tm.sharers[i][:0]
	}
	clear(tm.slots)
	tm.slot = tm.slot[:0]
	for i := range tm.qps {
		tm.qps[i] = qpCache{}
	}
}

// Now implements sim.Clock.
func (n *NIC) Now(th int) int64 {
	tm := n.tm
	if tm == nil {
		return 0
	}
	if th < len(tm.clock) {
		return max(tm.clock[th], tm.now)
	}
	return tm.now
}

// issued notes that th issues an operation now: it starts when th is free.
func (tm *timing) issued(th int) int64 {
	for len(tm.clock) <= th {
		tm.clock = append(tm.clock, 0)
		tm.start = append(tm.start, 0)
		tm.lb = append(tm.lb, 0)
		tm.pos = append(tm.pos, -1)
		tm.isBlocked = append(tm.isBlocked, false)
	}
	t := max(tm.clock[th], tm.now)
	tm.start[th] = t
	tm.dirty = append(tm.dirty, th)
	return t
}

// advance moves th's clock to t (an operation done without a step).
func (tm *timing) advance(th int, t int64) { tm.clock[th] = t }

// qpCache is a NIC's cache of QP contexts, least recently used out.
type qpCache struct {
	order *list.List
	at    map[uint64]*list.Element
}

// touch looks the context up, and reports a miss.
func (c *qpCache) touch(key uint64, capacity int) bool {
	if capacity <= 0 {
		return false
	}
	if c.at == nil {
		c.order, c.at = list.New(), map[uint64]*list.Element{}
	}
	if e, ok := c.at[key]; ok {
		c.order.MoveToFront(e)
		return false
	}
	if c.order.Len() >= capacity {
		old := c.order.Back()
		delete(c.at, old.Value.(uint64))
		c.order.Remove(old)
	}
	c.at[key] = c.order.PushFront(key)
	return true
}

// send puts request r on the wire: posted at t, the requester NIC sees it
// Doorbell later and takes it when its pipeline is free; the responder has
// processed it at r.ready.
func (n *NIC) send(r *request, t int64) {
	tm := n.tm
	s, d := n.nodeOf(r.owner), r.remote.Node()
	lane := r.qp.Lane
	if r.blocking && n.cfg.lanes() > 1 {
		// A thread with several QPs to a node spreads its blocking verbs
		// over them in turn (alone in flight, a blocking verb is ordered
		// the same on any of them): what the QP cache sees.
		for len(tm.turn) <= int(r.owner) {
			tm.turn = append(tm.turn, 0)
		}
		lane = tm.turn[r.owner] % n.cfg.lanes()
		tm.turn[r.owner]++
	}
	key := uint64(r.owner)<<32 | uint64(d)<<16 | uint64(lane)
	start := max(t+tm.doorbell, tm.txFree[s])
	tm.txFree[s] = start + tm.tx
	sent := start + tm.tx
	if tm.qps[s].touch(key, tm.qpCache) {
		sent += tm.qpMiss
	}
	if r.kind == rdma.OpRWrite && r.local != 0 {
		sent = max(sent, start+tm.pcieRead) // the NIC reads the source before it sends
	}
	arrive := sent + tm.wire
	if s == d {
		arrive = sent + tm.loopback
	}
	rs := max(arrive, tm.rxFree[d])
	tm.rxFree[d] = rs + tm.rx
	r.sent, r.ready = start, rs+tm.rx
	if s != d && tm.qps[d].touch(key, tm.qpCache) {
		r.ready += tm.qpMiss
	}
	r.deferred = false
}

// nodeOf is the node of thread th (requests know their owner's id only).
func (n *NIC) nodeOf(th int32) int { return n.threadNode[th] }

// back is the time from a request's last data event to its completion in the
// CQ; a blocking verb's thread notices it Poll later.
func (tm *timing) back(r *request) int64 {
	switch {
	case r.kind == rdma.OpRRead && r.blocking:
		return tm.pcieRead + tm.wire + tm.pcieWrite + tm.response // the data still travels back
	case r.kind == rdma.OpRRead:
		return tm.response // its data has landed
	}
	return tm.wire + tm.response
}

// eventDue is when the next event of word w of r is due; dma is the node
// whose PCIe link it uses.
func (n *NIC) eventDue(r *request, w int) int64 {
	tm := n.tm
	var t int64
	dma := r.remote.Node()
	switch st := r.stage[w]; {
	case r.atomic() && r.phase == phaseWrite:
		t = r.at[0] + tm.atomicWindow
	case r.atomic() && r.phase == phaseArrive:
		// It reads at once if the address is free: it needs the atomic unit.
		t = max(r.ready, tm.atomicFree[dma])
	case r.atomic():
		t = max(r.ready, tm.atomicFree[dma])
	case r.kind == rdma.OpRWrite && st == 0:
		t, dma = r.sent+tm.pcieRead, n.nodeOf(r.owner)
	case r.kind == rdma.OpRWrite:
		t = max(r.ready, r.at[w]) + tm.pcieWrite
	case st == 0:
		t = r.ready
	default: // a READ's response lands
		t, dma = r.at[w]+tm.pcieRead+tm.wireBetween(n.nodeOf(r.owner), dma)+tm.pcieWrite, n.nodeOf(r.owner)
	}
	return max(t, tm.pcieFree[dma])
}

func (tm *timing) wireBetween(s, d int) int64 {
	if s == d {
		return tm.loopback
	}
	return tm.wire
}

// completionDue is when posted request r's completion is due.
func (n *NIC) completionDue(r *request) int64 { return r.last + n.tm.back(r) }

// cpuDue is when th's CPU operation on p is due.
func (n *NIC) cpuDue(th int, p rdma.Ptr, write bool) int64 {
	tm := n.tm
	if n.contended(th, p, write) {
		return tm.start[th] + tm.cpuContended
	}
	return tm.start[th] + tm.cpuOp
}

// The cache model: per word, the set of the node's threads whose caches hold
// it (a bit per thread, by its index among the node's threads). A CPU read
// by a thread outside the set must fetch the line (contended), and joins the
// set; a CPU write or atomic is contended unless the writer is the only
// holder, and leaves it the only one; a NIC write empties the set (the DMA
// invalidates every copy); a NIC read changes nothing. An access's cost is
// decided when it is issued.

// contended reports whether the cache line of p must move to th's core.
func (n *NIC) contended(th int, p rdma.Ptr, write bool) bool {
	if isCQ(p) {
		return false
	}
	sh := n.tm.sharers[p.Node()]
	w := int(p.Offset() / rdma.WordBytes)
	var set uint64
	if w < len(sh) {
		set = sh[w]
	}
	bit := n.slotBit(th)
	if write {
		return set != bit
	}
	return set&bit == 0
}

// slotBit is th's bit in the sets of its node's words.
func (n *NIC) slotBit(th int) uint64 {
	tm := n.tm
	for len(tm.slot) <= th {
		tm.slot = append(tm.slot, -1)
	}
	if tm.slot[th] < 0 {
		nd := n.threadNode[th]
		tm.slot[th] = int16(tm.slots[nd] % 64)
		tm.slots[nd]++
	}
	return 1 << uint(tm.slot[th])
}

// touched notes a CPU access by thread th (nic false) or a NIC access (nic
// true) to p.
func (n *NIC) touched(th int, nic bool, p rdma.Ptr, write bool) {
	if isCQ(p) || nic && !write {
		return
	}
	tm := n.tm
	nd := p.Node()
	w := int(p.Offset() / rdma.WordBytes)
	if w >= len(tm.sharers[nd]) {
		tm.sharers[nd] = append(tm.sharers[nd], make([]uint64, len(n.nodes[nd].mem)-len(tm.sharers[nd]))...)
	}
	switch {
	case nic:
		tm.sharers[nd][w] = 0
	case write:
		tm.sharers[nd][w] = n.slotBit(th)
	default:
		tm.sharers[nd][w] |= n.slotBit(th)
	}
}

// timeCPU fills in when th's CPU step o is due: fixed when the operation was
// issued (tm.cpuAt).
func (n *NIC) timeCPU(o *sim.Option, th int) { o.At = n.tm.cpuAt[th] }

// issuedCPU works out when th's CPU operation (or poll), issued now, is due:
// its cost is decided by the state of the cache line when it starts.
func (n *NIC) issuedCPU(th int, op *sim.Op) {
	tm := n.tm
	for len(tm.cpuAt) <= th {
		tm.cpuAt = append(tm.cpuAt, 0)
	}
	if op.Kind == rdma.OpPoll {
		tm.cpuAt[th] = tm.start[th] + tm.poll
		tm.newDue = min(tm.newDue, tm.cpuAt[th])
		return
	}
	tm.cpuAt[th] = n.cpuDue(th, op.Addr, op.Kind != rdma.OpLoad)
	tm.newDue = min(tm.newDue, tm.cpuAt[th])
}

// firedEvent updates the resources after o, an event of word w of request r,
// fired.
func (n *NIC) firedEvent(o sim.Option, r *request, w int) {
	tm := n.tm
	r.at[w] = tm.now
	r.last = max(r.last, tm.now)
	dma := r.remote.Node()
	local := (r.kind == rdma.OpRWrite && o.Ref == refSource) || (r.kind == rdma.OpRRead && o.Write)
	if local {
		dma = n.nodeOf(r.owner)
	}
	if r.atomic() && (r.left > 0 && r.phase == phaseWrite || n.cfg.Scope == ScopeGlob) {
		// It has just read (its write comes next; under glob it was one
		// event): the atomic unit is busy.
		tm.atomicFree[dma] = tm.now + tm.atomic
	}
	if !(r.atomic() && o.Ref == phaseArrive && r.phase == phaseRead) { // queueing is no DMA
		tm.pcieFree[dma] = tm.now + tm.pcie
		n.touched(-1, true, o.Addr, o.Write)
	}
}

// lowerBound is a lower bound of when the next step of th's operation is due.
// Every term of a due time only grows as the run goes on (resources are free
// from ever later times, the engine's clock only advances), and the bound is
// worked out again whenever the operation itself moves on, so it stays a
// lower bound whatever else happens.
func (n *NIC) lowerBound(th int) int64 {
	tm := n.tm
	f := &n.flight[th]
	switch op := f.op; {
	case op.Kind.IsVerb():
		lb := int64(math.MaxInt64)
		r := f.req
		for w := range r.words {
			if r.stage[w] < 2 {
				lb = min(lb, n.eventDue(r, w))
			}
		}
		return lb
	}
	return tm.cpuAt[th]
}

// fullTimedScan turns the pruning of enabledTimed off (a test compares).
var fullTimedScan = false

// enabledTimed is Enabled in timed mode. The engine fires only the steps due
// earliest, so a thread whose lower bound lies after a step already found need
// not be looked at. Threads with an operation in progress sit in a heap
// ordered by their bounds, except those found blocked (an atomic waiting for
// its address, a verb held back by an ordering rule), which are looked at on
// every step until they have a step again. Per step the work is the options
// of the few threads that may be due first, not a scan of every thread.
func (n *NIC) enabledTimed(dst []sim.Option) []sim.Option {
	if debugTimed {
		k := len(dst)
		fullTimedScan = true
		full := n.enabledTimed0(nil)
		fullTimedScan = false
		dst = n.enabledTimed0(dst)
		due := func(os []sim.Option) (int64, []sim.Option) {
			at := int64(math.MaxInt64)
			for _, o := range os {
				at = min(at, max(o.At, n.tm.now))
			}
			var out []sim.Option
			for _, o := range os {
				if max(o.At, n.tm.now) == at {
					out = append(out, o)
				}
			}
			return at, out
		}
		a, ao := due(full)
		b, bo := due(dst[k:])
		if a != b || len(ao) != len(bo) {
			panic(fmt.Sprintf("now %d: full %d %v, pruned %d %v; lb %v heap %v blocked %v", n.tm.now, a, ao, b, bo, n.tm.lb, n.tm.heap, n.tm.blocked))
		}
		n.tm.debugDue = ao
		return dst
	}
	return n.enabledTimed0(dst)
}

// debugTimed: every step is also worked out by a full scan, and a difference
// in the steps due first panics (a test turns it on).
var debugTimed = false

// stillDueChecked counts StillDue's vouches checked under debugTimed.
var stillDueChecked int

func (n *NIC) enabledTimed0(dst []sim.Option) []sim.Option {
	tm := n.tm
	tm.nicMoved, tm.newDue = false, math.MaxInt64
	for _, th := range tm.dirty {
		tm.unblock(th)
		if n.flight[th].active {
			tm.setBound(th, n.lowerBound(th))
		} else {
			tm.remove(th)
		}
	}
	tm.dirty = tm.dirty[:0]
	best := int64(math.MaxInt64)
	if n.busy > 0 {
		dst = n.enabledAsync(dst)
		for _, o := range dst {
			best = min(best, max(o.At, tm.now))
		}
	}
	// add appends th's options and returns the earliest (MaxInt64: none).
	add := func(th int) int64 {
		k := len(dst)
		dst = n.threadOptions(dst, th)
		at := int64(math.MaxInt64)
		for _, o := range dst[k:] {
			at = min(at, o.At)
		}
		best = min(best, max(at, tm.now))
		return at
	}
	if fullTimedScan {
		for th := range n.flight {
			if n.flight[th].active {
				add(th)
			}
		}
		return dst
	}
	// Blocked threads: any may have a step now. Those that have go back
	// into the heap after it has been walked (or they would be looked at
	// twice).
	tm.moved = tm.moved[:0]
	for i := 0; i < len(tm.blocked); {
		th := int(tm.blocked[i])
		if at := add(th); at != math.MaxInt64 {
			tm.unblock(th)
			tm.moved = append(tm.moved, moved{int32(th), -1})
			continue
		}
		i++
	}
	unblocked := len(tm.moved)
	// The heap, subtrees whose root is due after the best step pruned.
	tm.visit = append(tm.visit[:0], 0)
	for len(tm.visit) > 0 {
		i := int(tm.visit[len(tm.visit)-1])
		tm.visit = tm.visit[:len(tm.visit)-1]
		if i >= len(tm.heap) {
			continue
		}
		th := int(tm.heap[i])
		if tm.lb[th] > best {
			continue
		}
		at := add(th)
		tm.moved = append(tm.moved, moved{int32(th), at})
		tm.visit = append(tm.visit, int32(2*i+1), int32(2*i+2))
	}
	// The bound of a thread looked at tightens to its earliest step (a valid
	// bound: due times only grow). A thread with no step is blocked.
	for _, m := range tm.moved[:unblocked] {
		tm.setBound(int(m.th), n.lowerBound(int(m.th)))
	}
	for _, m := range tm.moved[unblocked:] {
		switch {
		case m.at == math.MaxInt64:
			tm.remove(int(m.th))
			tm.block(int(m.th))
		case m.at > tm.lb[m.th]:
			tm.setBound(int(m.th), m.at)
		}
	}
	return dst
}

type moved struct {
	th int32
	at int64
}

// The heap of threads by bound: heap holds thread ids, pos[th] is th's index
// in it or -1.

func (tm *timing) setBound(th int, lb int64) {
	tm.lb[th] = lb
	i := int(tm.pos[th])
	if i < 0 {
		tm.heap = append(tm.heap, int32(th))
		i = len(tm.heap) - 1
		tm.pos[th] = int32(i)
	}
	tm.up(i)
	tm.down(int(tm.pos[th]))
}

func (tm *timing) remove(th int) {
	i := int(tm.pos[th])
	if i < 0 {
		return
	}
	last := len(tm.heap) - 1
	tm.swap(i, last)
	tm.heap = tm.heap[:last]
	tm.pos[th] = -1
	if i < last {
		tm.up(i)
		tm.down(i)
	}
}

func (tm *timing) less(i, j int) bool {
	a, b := tm.heap[i], tm.heap[j]
	return tm.lb[a] < tm.lb[b] || tm.lb[a] == tm.lb[b] && a < b
}

func (tm *timing) swap(i, j int) {
	tm.heap[i], tm.heap[j] = tm.heap[j], tm.heap[i]
	tm.pos[tm.heap[i]], tm.pos[tm.heap[j]] = int32(i), int32(j)
}

func (tm *timing) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !tm.less(i, p) {
			return
		}
		tm.swap(i, p)
		i = p
	}
}

func (tm *timing) down(i int) {
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(tm.heap) && tm.less(l, m) {
			m = l
		}
		if r < len(tm.heap) && tm.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		tm.swap(i, m)
		i = m
	}
}

func (tm *timing) block(th int) {
	if !tm.isBlocked[th] {
		tm.isBlocked[th] = true
		tm.blocked = append(tm.blocked, int32(th))
	}
}

func (tm *timing) unblock(th int) {
	if !tm.isBlocked[th] {
		return
	}
	tm.isBlocked[th] = false
	for i, b := range tm.blocked {
		if int(b) == th {
			tm.blocked = append(tm.blocked[:i], tm.blocked[i+1:]...)
			return
		}
	}
}

// StillDue implements sim.DueReuser. After a thread's CPU step, the other
// steps due at its instant are unchanged: a CPU step's time is fixed when it
// is issued, and a CPU access changes nothing a NIC step's enabling or time
// depends on (address locks, queues, QP order, pipelines, PCIe links, the
// atomic unit). Nothing new is due then if every operation issued since (by
// the thread, or threads it woke) is due later and no verb was issued.
func (n *NIC) StillDue(fired sim.Option) bool {
	tm := n.tm
	still := tm != nil && int(fired.Thread) < n.nthreads && !fired.Op.IsVerb() && !tm.nicMoved && tm.newDue > tm.now
	if still && debugTimed {
		// What the engine will offer: the steps due before, but the one fired.
		var want []sim.Option
		for _, o := range tm.debugDue {
			if o.Thread != fired.Thread || o.Ref != fired.Ref || o.Addr != fired.Addr {
				want = append(want, o)
			}
		}
		fullTimedScan = true
		got := n.enabledTimed0(nil)
		fullTimedScan = false
		var due []sim.Option
		for _, o := range got {
			if max(o.At, tm.now) == tm.now {
				due = append(due, o)
			}
		}
		same := len(due) == len(want)
		for _, o := range due {
			same = same && slices.ContainsFunc(want, func(w sim.Option) bool {
				return w.Thread == o.Thread && w.Ref == o.Ref && w.Addr == o.Addr && w.Op == o.Op
			})
		}
		if !same {
			panic(fmt.Sprintf("now %d: after %v the model vouched for %v, but due now are %v", tm.now, fired, want, due))
		}
		tm.debugDue = want
		stillDueChecked++
	}
	return still
}
