package nicmodel

import (
	"container/list"
	"math"

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
	clock, start                              []int64 // by thread: its operation ended; its current one was issued
	txFree, rxFree, pcieFree, atomicFree      []int64 // by node
	lastAccess                                [][]uint32
	qps                                       []qpCache // by node
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
	tm.lastAccess = make([][]uint32, nodes)
	tm.qps = make([]qpCache, nodes)
	return tm
}

func (tm *timing) reset() {
	tm.now = 0
	tm.clock, tm.start = tm.clock[:0], tm.start[:0]
	clear(tm.txFree)
	clear(tm.rxFree)
	clear(tm.pcieFree)
	clear(tm.atomicFree)
	for i := range tm.lastAccess {
		tm.lastAccess[i] = tm.lastAccess[i][:0]
	}
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
	}
	t := max(tm.clock[th], tm.now)
	tm.start[th] = t
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
	key := uint64(r.owner)<<32 | uint64(d)<<16 | uint64(r.qp.Lane)
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

// contended reports whether the cache line of p must move to th: another
// agent wrote it last, or th writes it and another agent used it last.
func (n *NIC) contended(th int, p rdma.Ptr, write bool) bool {
	if isCQ(p) {
		return false
	}
	la := n.tm.lastAccess[p.Node()]
	w := int(p.Offset() / rdma.WordBytes)
	if w >= len(la) || la[w] == 0 {
		return false
	}
	agent, wrote := int(la[w]>>1)-1, la[w]&1 == 1
	return agent != th && (wrote || write)
}

// touched notes that agent (a thread, or nthreads+node for a NIC) accessed p.
func (n *NIC) touched(agent int, p rdma.Ptr, write bool) {
	if isCQ(p) {
		return
	}
	tm := n.tm
	nd := p.Node()
	w := int(p.Offset() / rdma.WordBytes)
	if w >= len(tm.lastAccess[nd]) {
		tm.lastAccess[nd] = append(tm.lastAccess[nd], make([]uint32, len(n.nodes[nd].mem)-len(tm.lastAccess[nd]))...)
	}
	v := uint32(agent+1) << 1
	if write {
		v |= 1
	}
	tm.lastAccess[nd][w] = v
}

// timeCPU fills in when th's CPU step o is due.
func (n *NIC) timeCPU(o *sim.Option, th int) {
	if o.Op == rdma.OpPoll {
		o.At = n.tm.start[th] + n.tm.poll
		return
	}
	o.At = n.cpuDue(th, o.Addr, o.Write)
}

// firedEvent updates the resources after o, an event of word w of request r,
// fired.
func (n *NIC) firedEvent(o sim.Option, r *request, w int) {
	tm := n.tm
	r.at[w] = tm.now
	r.last = max(r.last, tm.now)
	dma := r.remote.Node()
	agent := n.nthreads + dma
	local := (r.kind == rdma.OpRWrite && o.Ref == refSource) || (r.kind == rdma.OpRRead && o.Write)
	if local {
		dma = n.nodeOf(r.owner)
		agent = n.nthreads + dma
	}
	if r.atomic() && (r.left > 0 && r.phase == phaseWrite || n.cfg.Scope == ScopeGlob) {
		// It has just read (its write comes next; under glob it was one
		// event): the atomic unit is busy.
		tm.atomicFree[dma] = tm.now + tm.atomic
	}
	if !(r.atomic() && o.Ref == phaseArrive && r.phase == phaseRead) { // queueing is no DMA
		tm.pcieFree[dma] = tm.now + tm.pcie
		n.touched(agent, o.Addr, o.Write)
	}
}
