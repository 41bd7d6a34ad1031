package sim

import (
	"fmt"
	"iter"
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/traces"
)

// StateEngine drives an Engine one step at a time for a stateful search (see
// the package doc, "State caching"): it records, per thread, the results its
// operations returned, hashes the engine's part of a state, saves it and puts
// it back.
//
// A thread's code runs at most once from each of its positions (the results
// fed to it since it began): what it did there, the operation it issued next
// and the changes it made outside simulated memory on the way (Thread.Effect,
// Carry, Forget, Round, Fail), is kept, and every later visit to the position
// replays that without running the code. A thread's coroutine is thus needed
// only at a position not seen before; if it is elsewhere then, it is
// restarted and fed the position's results.
//
// Only untimed executions are supported. The step functions are the untimed
// path of Engine.Run, written out a second time so that Run stays untouched;
// a change to one must be made to the other.
type StateEngine struct {
	e    *Engine
	body func(*Thread)
	x    []threadExt
	er   error // a broken exactness condition, or a nondeterministic replay
	trie *trie
	last []opRec // by thread: the operation it completed last (completed)
	// firsts: by thread, the histories of one operation (see kids).
	firsts [][]*hnode
	chain  []*pos
	reps   []map[int]*roundPoint // by thread, by round key
	cur    []*roundPoint         // by thread: the round point whose first operation is awaited
	// next maps a thread's history (hash) to the operation it issued next: a
	// history followed by two different operations proves the thread's state
	// is not a function of its history (the exactness condition broken).
	nextOp map[uint64]opSig
	// replaying: a coroutine is being fed the results of a position (its
	// effects were made when it first got there); recording: a coroutine
	// runs from a new position, and effects collects what it changes
	// (nested: inside an effect, whose own changes are part of it).
	replaying, recording bool
	nested               int
	effects              []func()
	// MaxPositions bounds the positions learnt (above) and the thread
	// histories shared between states, together: past it, a restore starts
	// from a clean slate (positions are learnt again as threads reach them;
	// those of saved states are re-rooted when restored). 0: no bound.
	MaxPositions int
	// Respawned counts the coroutines restarted; Replayed the operations fed
	// to them; Ran the positions a thread's code ran from (the others were
	// replayed from what it did there before).
	Respawned, Replayed, Ran int64
}

// DefaultMaxPositions is StateEngine.MaxPositions as NewStateEngine sets it:
// a few hundred bytes a position.
const DefaultMaxPositions = 1 << 20

// newTrie starts a clean slate of positions.
//
// The old positions and histories lose their lists of children, so that one
// of them that a saved state still holds keeps only the path to it alive, not
// the whole old trie.
func (s *StateEngine) newTrie() {
	if old := s.trie; old != nil {
		pruneKids(slices.Clone(old.roots), func(p *pos) *[]*pos { return &p.kids })
		var hs []*hnode
		for i := range s.firsts {
			hs = append(hs, s.firsts[i]...)
			s.firsts[i] = nil
		}
		pruneKids(hs, func(h *hnode) *[]*hnode { return &h.kids })
	}
	s.trie = &trie{eng: s, roots: make([]*pos, len(s.e.threads))}
	for i := range s.trie.roots {
		s.trie.roots[i] = &pos{trie: s.trie}
	}
}

// pruneKids empties the lists of children (kids) of every node of the trees
// under roots.
func pruneKids[T any](roots []T, kids func(T) *[]T) {
	for stack := roots; len(stack) > 0; {
		n := stack[len(stack)-1]
		k := kids(n)
		stack = append(stack[:len(stack)-1], *k...)
		*k = nil
	}
}

// pos is a position of a thread's code: the results fed to it since it
// began, uncut (spin iterations and rounds included), as a node of a trie.
// A thread's code is a deterministic function of them, so what it does from
// a position, beh, is learnt once.
type pos struct {
	trie   *trie // whose it is (an engine's; a worker has one engine)
	parent *pos
	rec    opRec // the operation completed last, and what it returned (root: none)
	kids   []*pos
	beh    *behaviour
	// adopted: where beh is not known here, the behaviour (another
	// engine's) whose operation a thread at this position waits in.
	adopted *behaviour
}

// trie is the positions an engine has learnt since its last clean slate
// (see StateEngine.MaxPositions).
type trie struct {
	eng   *StateEngine
	roots []*pos // by thread
	n     int    // positions made
}

// waits is the behaviour whose operation a thread at p waits in.
func (p *pos) waits() *behaviour {
	if p.beh != nil {
		return p.beh
	}
	return p.adopted
}

// behaviour is what a thread's code did from a position: the changes it made
// outside simulated memory, then the operation it issued (op, with a buffer
// of bufLen words for an RReadN), or its end.
type behaviour struct {
	effects  []func()
	op       Op
	sig      opSig
	bufLen   int
	done     bool
	panicked any
	panicAt  string
}

// child is the position after p's operation returned what r records.
func (p *pos) child(r *opRec) *pos {
	for _, k := range p.kids {
		if k.rec.returned(r, r.buf) {
			return k
		}
	}
	k := &pos{trie: p.trie, parent: p, rec: *r}
	p.trie.n++
	k.rec.buf = slices.Clone(r.buf)
	p.kids = append(p.kids, k)
	return k
}

// threadExt is what a StateEngine keeps of a thread besides the Engine.
type threadExt struct {
	pos *pos // the thread's position (nil: it has not begun)
	// hash: threadHash's value, valid when hashed (only the thread's own
	// steps change it: asking clears hashed).
	hash    uint64
	hashed  bool
	node    *hnode // the thread's operations so far (spin iterations cut), newest first
	started bool   // the thread has issued an operation
	// Spin iterations: the history at the thread's last Pause that began a
	// run of iterations, whether the operations since then only read, and
	// the first operation after that Pause.
	pauseNode *hnode
	// lastPause and prevPause: the history at the thread's last Pause and
	// at the one before (where the iteration that ended at the last began at
	// the earliest); tryIter: a Pause was just passed (issued looks for where
	// its iteration began).
	lastPause, prevPause *hnode
	tryIter              bool
	// roundH: the hash of the thread's last round point (Thread.Forget
	// equates states from there).
	roundH     uint64
	hasPause   bool
	clean      bool
	afterPause bool
	first      *opSig // (the operations are their behaviours' sig: never changed)
	expect     *opSig // after a cut: what the thread must issue next
	// Retry loops (Thread.Carry): the history at the loop's first Carry,
	// and whether every operation since the last Carry only read.
	carryBase  *hnode
	carrySet   bool
	carryClean bool
	// Rounds (Thread.Round): the first operation after a round point must be
	// the one the representative of that round point issued.
	afterRound  bool
	roundExpect *opSig
}

// roundPoint is what a thread's round point of one key keeps: the first
// operation after the first arrival there.
type roundPoint struct {
	first *opSig
}

// hnode is one completed operation of a thread: a persistent list, so a saved
// state shares the history of its ancestors.
type hnode struct {
	gen    *trie    // made with that trie (kids are changed by its engine only, while it is current)
	kids   []*hnode // the histories that extend it, so far
	parent *hnode
	rec    opRec
	h      uint64
	// marker: a renaming (a round point, a cut, Carry, Forget), no
	// operation; its h is its own, not derived from its parent's.
	marker bool
}

type opRec struct {
	sig     opSig
	result  uint64
	req     rdma.Req
	ok      bool
	buf     []uint64
	changed bool // it changed memory (not hashed: the thread cannot tell)
}

// returned reports that r's operation returned what o's did, with buf the
// words o's read (o.buf may not be set yet).
func (r *opRec) returned(o *opRec, buf []uint64) bool {
	return r.result == o.result && r.req == o.req && r.ok == o.ok && slices.Equal(r.buf, buf)
}

// opSig is what a thread asked for: the operation, its word and operands.
type opSig struct {
	kind  rdma.Op
	post  bool
	addr  rdma.Ptr
	a, b  uint64
	words int
	qp    rdma.QP
	local rdma.Ptr
	req   rdma.Req
}

func sigOf(op *Op) opSig {
	return opSig{kind: op.Kind, post: op.Post, addr: op.Addr, a: op.A, b: op.B, words: max(op.Words, len(op.Buf)),
		qp: op.QP, local: op.Local, req: op.Req}
}

func (s opSig) hash(h uint64) uint64 {
	p := uint64(0)
	if s.post {
		p = 1
	}
	h = hmix(h, uint64(s.kind)|p<<8|uint64(s.words)<<16)
	h = hmix(h, uint64(s.addr))
	h = hmix(h, s.a)
	h = hmix(h, s.b)
	if s.post || s.kind == rdma.OpWait || s.kind == rdma.OpPoll {
		h = hmix(h, uint64(s.qp.Node)<<32|uint64(s.qp.Lane))
		h = hmix(h, uint64(s.local)^uint64(s.req)<<1)
	}
	return h
}

func (s opSig) String() string {
	return fmt.Sprintf("%v %s (operands %d, %d)", s.kind, s.addr, s.a, s.b)
}

// hmix folds v into h (multiply-xorshift).
func hmix(h, v uint64) uint64 {
	h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 31
	return h
}

// NewStateEngine returns a new engine (as New) driven one step at a time. The
// configuration must be untimed; the engine never parks a thread (it sets
// Config.KeepSpinning).
func NewStateEngine(m Model, cfg Config, specs []ThreadSpec, body func(*Thread)) (*StateEngine, error) {
	if cfg.Timed {
		return nil, fmt.Errorf("sim: a stateful search runs untimed executions only")
	}
	cfg.KeepSpinning = true
	e := New(m, cfg, specs, body)
	n := len(e.threads)
	s := &StateEngine{e: e, body: body, x: make([]threadExt, n), reps: make([]map[int]*roundPoint, n), cur: make([]*roundPoint, n),
		last: make([]opRec, n), firsts: make([][]*hnode, n), MaxPositions: DefaultMaxPositions}
	e.hooks = s
	s.newTrie()
	for _, t := range e.threads {
		s.loop(t)
	}
	return s, nil
}

// loop replaces t's coroutine (New's, not started) with one that runs body
// in a loop: a restart (rewind) unwinds the run under way (see Thread.call)
// and begins the next in the same goroutine, whose stack has grown already.
func (s *StateEngine) loop(t *Thread) {
	t.stop()
	body := s.body
	end := &Op{}
	seq := func(yield func(*Op) bool) {
		t.yield = yield
		for {
			t.restart = false
			// Finished: say so, and wait to be restarted or stopped.
			if runBody(t, body) && !yield(end) {
				return
			}
			if !t.restart {
				return // stopped
			}
		}
	}
	next, stop := iter.Pull(seq)
	t.next = func() (*Op, bool) {
		op, ok := next()
		if op == end {
			return nil, false
		}
		return op, ok
	}
	t.stop, t.loop, t.atStart = stop, true, true
}

// rewind makes t's coroutine begin its body again when it is next resumed.
func (s *StateEngine) rewind(t *Thread) {
	s.Respawned++
	t.restart, t.atStart, t.liveAt = true, true, nil
}

// runBody runs body(t) once; false when a stop or restart unwound it. A
// panic of the thread's own code is recorded, and ends the run as finished.
func runBody(t *Thread, body func(*Thread)) (finished bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopSignal); ok {
				finished = false
				return
			}
			t.panicked, t.panicAt = r, traces.PanicSite()
			finished = true
		}
	}()
	body(t)
	return true
}

// Engine returns the engine.
func (s *StateEngine) Engine() *Engine { return s.e }

// Err reports a broken exactness condition of state caching (a thread that
// carried state across a Pause) or a replay that diverged; nil when none.
func (s *StateEngine) Err() error { return s.er }

// Begin runs every thread to its first step: the initial state.
func (s *StateEngine) Begin() {
	for _, t := range s.e.threads {
		if s.e.finding != nil {
			break
		}
		s.e.resume(t)
	}
}

// Options returns the enabled options in the order Run offers them (a
// decision's Pick indexes them); the slice is reused by the next call.
func (s *StateEngine) Options() []Option {
	e := s.e
	opts := e.model.Enabled(e.opts[:0])
	opts = e.earlyWakes(opts)
	e.opts = opts
	return opts
}

// Finding is the property the execution broke so far, or nil.
func (s *StateEngine) Finding() *Finding { return s.e.finding }

// Live is the number of threads that have not finished.
func (s *StateEngine) Live() int { return s.e.live }

// Steps is the number of steps taken so far (Result.Steps of Run).
func (s *StateEngine) Steps() int { return s.e.steps }

// Deadlock reports the engine's deadlock finding (no option enabled while a
// thread has not finished).
func (s *StateEngine) Deadlock() {
	s.e.fail("deadlock", s.e.describeWaiting())
}

// Stuck reports a deadlock in the state the engine is in, given its options:
// every live thread is idle (see Config.KeepSpinning) and no agent's step is
// enabled.
func (s *StateEngine) Stuck(opts []Option) bool { return s.e.stuck(opts) }

// Idle reports whether thread th is idle: its last spin iteration changed
// nothing and what it read is still current (Config.KeepSpinning). It is the
// engine's bookkeeping along the path, not part of the state: a thread that
// has not yet run an iteration since it arrived is not idle.
func (s *StateEngine) Idle(th int) bool { return s.e.threads[th].idle }

// Done reports whether thread th finished.
func (s *StateEngine) Done(th int) bool { return s.e.threads[th].done }

// Writes counts the writes that changed memory so far.
func (s *StateEngine) Writes() uint64 { return s.e.writes }

// WouldWrite reports that thread th's pending operation is a CPU store,
// CAS, swap or add, or a blocking one-word RDMA WRITE, that would change
// memory if fired now; false when it would not, or cannot be told.
func (s *StateEngine) WouldWrite(th int) bool {
	t := s.e.threads[th]
	if t.done || t.op.Post {
		return false
	}
	op := &t.op
	switch op.Kind {
	case rdma.OpStore, rdma.OpSwap, rdma.OpRWrite:
		return s.e.model.View(th, op.Addr) != op.A
	case rdma.OpCAS:
		return op.A != op.B && s.e.model.View(th, op.Addr) == op.A
	case rdma.OpFAA:
		return op.A != 0
	}
	return false
}

// Fire runs one enabled option, as Run does.
func (s *StateEngine) Fire(o Option) {
	e := s.e
	e.steps++
	t := e.owner(o.Thread)
	e.stepWrote = false
	if e.model.Fire(o) {
		s.e.resume(t)
	}
	for i := 0; i < len(e.woken) && e.finding == nil; i++ {
		s.e.resume(e.woken[i])
	}
	e.woken = e.woken[:0]
}

// Stop ends every thread's coroutine; the engine is not used again.
func (s *StateEngine) Stop() {
	for _, t := range s.e.threads {
		t.stop()
	}
}

// asking implements resumeHooks: the operation t completed is recorded.
func (s *StateEngine) asking(t *Thread) {
	x := &s.x[t.id]
	x.hashed = false
	if x.started {
		s.completed(t, x)
	}
}

// yielded implements resumeHooks: a round point t passed is applied.
func (s *StateEngine) yielded(t *Thread) {
	x := &s.x[t.id]
	x.started = true
	if t.cut {
		t.cut = false
		s.roundPoint(t, x)
	}
}

// completed records the result of the operation t just completed.
func (s *StateEngine) completed(t *Thread, x *threadExt) {
	op := &t.op
	r := opRec{sig: sigOf(op), result: op.Result, req: op.Req, ok: op.OK, changed: t.changed}
	var buf []uint64
	if op.Kind == rdma.OpRReadN && !op.Post {
		buf = op.Buf
	}
	if !readOnly(&r) {
		x.clean, x.carryClean = false, false
	}
	kids := s.kids(t.id, x.node)
	if kids != nil {
		for _, k := range *kids {
			if !k.marker && k.rec.sig == r.sig && k.rec.changed == r.changed && k.rec.returned(&r, buf) {
				s.last[t.id] = k.rec
				x.node = k
				return
			}
		}
	}
	r.buf = slices.Clone(buf)
	h := r.sig.hash(0x51afd7ed558ccd)
	h = hmix(h, r.result)
	h = hmix(h, uint64(r.req)<<1|b2u(r.ok))
	for _, v := range r.buf {
		h = hmix(h, v)
	}
	s.last[t.id] = r
	n := &hnode{gen: s.trie, parent: x.node, rec: r}
	if x.node != nil {
		n.h = hmix(x.node.h, h)
	} else {
		n.h = hmix(0x7f4a7c15, h)
	}
	if kids != nil {
		*kids = append(*kids, n)
		s.trie.n++
	}
	x.node = n
}

// kids is the list of the children of history node parent (nil: thread
// th's first operations), or nil when parent is another engine's or was made
// before the engine's last clean slate (see MaxPositions): the
// children are kept so that a history reached again is the same node, made
// and hashed once.
func (s *StateEngine) kids(th int, parent *hnode) *[]*hnode {
	switch {
	case parent == nil:
		return &s.firsts[th]
	case parent.gen == s.trie:
		return &parent.kids
	}
	return nil
}

// marker returns the marker named h after history parent (see hnode).
func (s *StateEngine) marker(th int, parent *hnode, h uint64) *hnode {
	kids := s.kids(th, parent)
	if kids != nil {
		for _, k := range *kids {
			if k.marker && k.h == h {
				return k
			}
		}
	}
	m := &hnode{gen: s.trie, parent: parent, marker: true, h: h}
	if kids != nil {
		*kids = append(*kids, m)
		s.trie.n++
	}
	return m
}

// Round marks a round point of the thread: by the caller's word, its state here
// depends on nothing but key (the workload's loop index, or 0 for an endless
// workload that repeats operations carrying nothing from one to the next). A
// stateful search equates every arrival of the thread at a round point of the
// same key, which keeps the results of earlier rounds out of its states (and
// makes the states of an endless workload finite); the first operation after
// each arrival is checked against the first after the first arrival. Outside a
// stateful search it does nothing.
func (t *Thread) Round(key int) {
	if h := t.e.hooks; h != nil {
		h.effect(func() { t.cut, t.cutKey = true, key })
	}
}

// roundPoint applies a round point: the history becomes a marker of (thread,
// key) with nothing before it, and the spin-iteration state starts afresh
// (the round's first Pause cuts nothing).
func (s *StateEngine) roundPoint(t *Thread, x *threadExt) {
	key := t.cutKey
	m := s.reps[t.id]
	if m == nil {
		m = map[int]*roundPoint{}
		s.reps[t.id] = m
	}
	rp := m[key]
	if rp == nil {
		rp = &roundPoint{}
		m[key] = rp
	} else {
		x.roundExpect = rp.first
	}
	x.node = s.marker(t.id, nil, hmix(0x726f756e64, uint64(t.id)<<32^uint64(key)))
	x.roundH = x.node.h
	x.resetCuts()
	x.afterRound = true
	s.cur[t.id] = rp
}

// forget applies Thread.Forget: the thread's history is equated with (its
// last round point, site, keep); the checkNext map compares what the thread
// does next along every path that reaches the same marker.
func (s *StateEngine) forget(t *Thread, site string, keep []uint64) {
	x := s.beforeRename(t)
	h := hmix(x.roundH^0x666f72676574, uint64(len(keep)))
	for i := 0; i < len(site); i++ {
		h = hmix(h, uint64(site[i]))
	}
	s.rename(t.id, x, hashVals(h, keep))
	x.resetCuts()
}

// resetCuts starts spin iterations and retry loops afresh (at a round point
// or a Forget).
func (x *threadExt) resetCuts() {
	x.pauseNode, x.hasPause, x.clean, x.afterPause, x.first, x.expect = nil, false, false, false, nil, nil
	x.lastPause, x.tryIter = nil, false
	x.carryBase, x.carrySet, x.carryClean = nil, false, false
}

// carry applies Thread.Carry: within one retry loop (only reads since its
// previous Carry), the thread's history is equated with (the history at the
// loop's first Carry, vals); the checkNext map compares what the thread does
// next along every path that reaches the same marker.
func (s *StateEngine) carry(t *Thread, vals []uint64) {
	x := s.beforeRename(t)
	if !x.carrySet || !x.carryClean {
		x.carryBase, x.carrySet = x.node, true
	}
	x.carryClean = true
	h := uint64(0x63617272)
	if x.carryBase != nil {
		h = x.carryBase.h
	}
	s.rename(t.id, x, hashVals(hmix(h, uint64(len(vals))|0xca<<56), vals))
}

// beforeRename applies a round point the thread passed since its last
// operation (Round is applied when the next operation is yielded): a Carry or
// Forget that comes before that operation renames the round's history, not
// the previous round's.
func (s *StateEngine) beforeRename(t *Thread) *threadExt {
	x := &s.x[t.id]
	if t.cut {
		t.cut = false
		s.roundPoint(t, x)
	}
	return x
}

// rename names the thread's state h from here on: a marker after the
// history so far.
func (s *StateEngine) rename(th int, x *threadExt, h uint64) {
	x.node = s.marker(th, x.node, h)
}

func hashVals(h uint64, vals []uint64) uint64 {
	for _, v := range vals {
		h = hmix(h, v)
	}
	return h
}

// issued checks a thread's operation after a cut spin iteration: it must be
// the one the thread issued after the Pause its state was cut back to.
func (s *StateEngine) issued(t *Thread, op *Op) {
	x := &s.x[t.id]
	if !x.afterRound && !x.afterPause {
		return
	}
	sig := &x.pos.beh.sig // op's
	if x.afterRound {
		x.afterRound = false
		if x.roundExpect != nil {
			want := x.roundExpect
			x.roundExpect = nil
			if *sig != *want && s.er == nil {
				s.er = fmt.Errorf("state caching is not exact for this program: after a round point %s went on with %v where, after its first round point, it went on with %v (the thread carries state from one round into the next)",
					t.name, *sig, *want)
			}
		} else if rp := s.cur[t.id]; rp != nil && rp.first == nil {
			rp.first = sig
		}
	}
	if !x.afterPause {
		return
	}
	x.afterPause = false
	if x.expect != nil {
		want := x.expect
		x.expect = nil
		if *sig != *want && s.er == nil {
			s.er = fmt.Errorf("state caching is not exact for this program: after a spin iteration that only read, %s went on with %v where, after the Pause it was equated with, it went on with %v (the thread carries state from one spin iteration into the next, or left one spin loop for another without a write)",
				t.name, *sig, *want)
		}
	}
	if x.first == nil {
		x.first = sig
	}
	if x.tryIter {
		x.tryIter = false
		if x.node != nil && x.node.parent == x.lastPause { // the Pause was the last operation
			if start, ok := iterationStart(x.lastPause, x.prevPause, *sig); ok {
				// Back at the top of the loop: named after the history
				// where the iteration began. The next Pause has nothing to
				// cut back to.
				h := uint64(0x7374617274)
				if start != nil {
					h = start.h
				}
				s.rename(t.id, x, h)
				x.hasPause = false
			}
		}
	}
}

// pausing is called at every Pause. Where the iteration that ends here began
// is found once the next operation is known (issued); until then, and when it
// cannot be found, a spin iteration that only read since the previous Pause
// carries, by the Pause contract, no state into the next one, so the
// thread's history is cut back to what it was at the Pause that began the run
// of iterations.
func (s *StateEngine) pausing(t *Thread) {
	x := &s.x[t.id]
	x.prevPause = x.lastPause
	if x.hasPause && x.clean {
		x.node = x.pauseNode
		x.expect = x.first
	} else {
		x.pauseNode, x.hasPause, x.first = x.node, true, nil
	}
	x.tryIter = true
	x.lastPause = x.node
	x.clean = true
	x.afterPause = true
}

// iterationStart finds where the spin iteration that ended in the Pause just
// passed began, so that what it read stays out of the state: by the Pause
// contract an iteration that only read carries nothing into the next, so
// the thread's state after it is its state where the iteration began, and
// the next iteration begins, as that one did, with next. The iteration began
// after the previous Pause (region); so if exactly one operation since then
// is next (the same kind, word and operands) and every operation from there
// on only read, that is where it began: the history before it is returned.
// Otherwise ok is false (the history is kept; a later Pause cuts at this
// one).
func iterationStart(node, region *hnode, next opSig) (start *hnode, ok bool) {
	var c *hnode
	for n := node; n != nil && n != region && !n.marker; n = n.parent {
		if !readOnly(&n.rec) {
			if c == nil {
				return nil, false
			}
			for m := n.parent; m != nil && m != region && !m.marker; m = m.parent {
				if m.rec.sig == next {
					return nil, false
				}
			}
			break
		}
		if n.rec.sig == next {
			if c != nil {
				return nil, false
			}
			c = n
		}
	}
	if c == nil {
		return nil, false
	}
	return c.parent, true
}

// readOnly reports whether a completed blocking operation left memory as it
// was: a read, a failed CAS, or a write of the value the word held.
func readOnly(r *opRec) bool {
	switch k := r.sig.kind; {
	case r.sig.post, k == rdma.OpWait, k == rdma.OpPoll, k == rdma.OpAlloc:
		return false
	case k == rdma.OpLoad, k == rdma.OpRRead, k == rdma.OpRReadN, k == rdma.OpFence, k == rdma.OpPause:
		return true
	}
	return !r.changed
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Hash hashes the engine's part of the state: every thread's history (spin
// iterations cut) and the operation it waits in. The model's part (memory,
// operations in flight) is the model's to hash. Whether a thread is idle is
// left out: it is bookkeeping of the path (see Idle), not of the state.
func (s *StateEngine) Hash() uint64 {
	h := uint64(0x6a09e667f3bcc909)
	for i := range s.e.threads {
		h = hmix(h, s.ThreadHash(i))
	}
	return h
}

// ThreadHash is thread i's part of Hash.
func (s *StateEngine) ThreadHash(i int) uint64 {
	t := s.e.threads[i]
	if t.done {
		return 0xd0e0
	}
	x := &s.x[i]
	if x.hashed {
		return x.hash
	}
	sig := sigOf(&t.op)
	s.checkNext(t, x, sig)
	// The thread's own state: its history (with the cuts), and how the
	// history will be cut next, which changes no step of the program but how
	// later states are named: two states with one fingerprint must name
	// their successors alike, whatever path reached them, or the counts
	// would depend on the order of the search (workers, shards). What only
	// checks the cuts (the operation a cut must be followed by) is left out.
	h := uint64(0x7468726561640000) | uint64(i)
	if x.node != nil {
		h = hmix(h, x.node.h)
	}
	cut := b2u(x.hasPause && x.clean) | b2u(x.tryIter)<<1 | b2u(x.carrySet && x.carryClean)<<3
	h = hmix(h, cut|0x6375740000)
	if x.hasPause && x.clean && x.pauseNode != nil {
		h = hmix(h, x.pauseNode.h)
	}
	if x.carrySet && x.carryClean && x.carryBase != nil {
		h = hmix(h, x.carryBase.h)
	}
	x.hash, x.hashed = sig.hash(h), true
	return x.hash
}

// checkNext records what thread t issues after its history, and reports a
// history it saw followed by another operation.
func (s *StateEngine) checkNext(t *Thread, x *threadExt, sig opSig) {
	if s.er != nil {
		return
	}
	key := uint64(t.id) + 0x9e3779b97f4a7c15
	if x.node != nil {
		key = hmix(x.node.h, uint64(t.id))
	}
	if s.nextOp == nil {
		s.nextOp = map[uint64]opSig{}
	}
	if old, ok := s.nextOp[key]; !ok {
		s.nextOp[key] = sig
	} else if old != sig {
		s.er = fmt.Errorf("state caching is not exact for this program: after the same history (spin iterations and rounds cut), %s once went on with %v and once with %v: the thread carries state the cuts dropped (across a Pause it did not read anew, from one round into the next, through a retry loop that carries more than the values it gives rdma.Carry, or past an rdma.Forget that kept too little)",
			t.name, old, sig)
	}
}

// EngineState is a saved engine state (StateEngine.Save).
type EngineState struct {
	th         []threadState
	live, idle int
	steps      int
	writes     uint64
}

type threadState struct {
	x               threadExt
	done, idle      bool
	wrote, verbs    bool
	changed         bool
	accesses, opSeq int
	reads, idleOn   []readRec
}

// Save copies the engine's state into st (reusing its buffers).
func (s *StateEngine) Save(st *EngineState) {
	e := s.e
	if cap(st.th) < len(e.threads) {
		st.th = make([]threadState, len(e.threads))
	}
	st.th = st.th[:len(e.threads)]
	for i, t := range e.threads {
		ts := &st.th[i]
		reads, idleOn := ts.reads, ts.idleOn
		*ts = threadState{x: s.x[i], done: t.done, idle: t.idle, wrote: t.wrote, verbs: t.verbs, changed: t.changed, accesses: t.accesses, opSeq: t.opSeq,
			reads: append(reads[:0], t.reads...), idleOn: append(idleOn[:0], t.idleOn...)}
	}
	st.live, st.idle, st.steps, st.writes = e.live, e.idle, e.steps, e.writes
}

// Restore puts the engine back into the saved state st. No thread's code
// runs: each thread is put back at its position, waiting in its operation
// (its coroutine, wherever it is, is brought there only if the thread's code
// must run from there: see next). The model's state is the caller's to
// restore, after Restore (the model's operations in flight are those of
// PendingOp); so are monitors outside the engine.
func (s *StateEngine) Restore(st *EngineState) {
	e := s.e
	if s.MaxPositions > 0 && s.trie.n > s.MaxPositions {
		s.newTrie()
	}
	for i, t := range e.threads {
		ts := &st.th[i]
		s.x[i] = ts.x
		if p := ts.x.pos; p != nil && p.trie != s.trie {
			s.x[i].pos = s.adopt(i, p) // saved by another worker, or before a clean slate
		}
		t.done, t.panicked, t.panicAt, t.cut = ts.done, nil, "", false
		// The operation it waits in is the one it issued at its position.
		if b := s.x[i].pos.waits(); !ts.done {
			t.op = b.op
			if b.bufLen > 0 {
				t.op.Buf = t.virtualBuf(b.bufLen)
			}
		}
		t.idle, t.wrote, t.verbs, t.changed = ts.idle, ts.wrote, ts.verbs, ts.changed
		t.accesses, t.opSeq = ts.accesses, ts.opSeq
		t.reads = append(t.reads[:0], ts.reads...)
		t.idleOn = append(t.idleOn[:0], ts.idleOn...)
	}
	e.live, e.idle, e.steps, e.writes = st.live, st.idle, st.steps, st.writes
	e.woken = e.woken[:0]
	e.finding = nil
}

// adopt returns the position of thread th in s's trie with the results of p,
// a position in another trie (what the code does there is learnt anew: the
// record of another engine's changes that engine's threads).
func (s *StateEngine) adopt(th int, p *pos) *pos {
	chain := s.chain[:0]
	root := p
	for ; root.parent != nil; root = root.parent {
		chain = append(chain, root)
	}
	s.chain = chain
	at := s.trie.roots[th]
	own := p.trie.eng == s // (an earlier trie of s's: what it learnt holds)
	if own && at.beh == nil {
		at.beh = root.beh
	}
	for j := len(chain) - 1; j >= 0; j-- {
		at = at.child(&chain[j].rec)
		if own && at.beh == nil {
			at.beh = chain[j].beh
		}
	}
	if at.beh == nil {
		at.adopted = p.waits()
	}
	return at
}

// virtualBuf is a buffer of n words for an RReadN the thread issues without
// its code running: the code's own buffer gets the words when it runs (next).
func (t *Thread) virtualBuf(n int) []uint64 {
	if cap(t.vbuf) < n {
		t.vbuf = make([]uint64, n)
	}
	return t.vbuf[:n]
}

// effect implements resumeHooks: f runs now, unless a coroutine is being fed
// a position's results (f ran when the thread first got there), and is kept
// with the behaviour being recorded.
func (s *StateEngine) effect(f func()) {
	if s.replaying {
		return
	}
	if s.recording && s.nested == 0 {
		s.effects = append(s.effects, f)
	}
	s.nested++
	f()
	s.nested--
}

// next implements resumeHooks: the thread's next operation. The operation it
// completed (s.last, unless it has just begun) takes it to a child of its
// position; what its code does from there is replayed if known, else learnt
// by running the code.
func (s *StateEngine) next(t *Thread) (*Op, bool) {
	x := &s.x[t.id]
	from := x.pos
	var at *pos
	if from == nil {
		at = s.trie.roots[t.id]
	} else {
		at = from.child(&s.last[t.id])
	}
	x.pos = at
	if b := at.beh; b != nil {
		for _, f := range b.effects {
			f()
		}
		if b.done {
			t.panicked, t.panicAt = b.panicked, b.panicAt
			return nil, false
		}
		t.op = b.op
		if b.bufLen > 0 {
			t.op.Buf = t.virtualBuf(b.bufLen)
		}
		return &t.op, true
	}
	return s.run(t, from, at)
}

// run runs t's code from position at, reached from position from (nil: at
// is the beginning) by the operation recorded in s.last, and records what it
// does. The coroutine is first brought to from: it is there already, or it
// is restarted and fed from's results.
func (s *StateEngine) run(t *Thread, from, at *pos) (*Op, bool) {
	if from == nil {
		if !t.atStart {
			s.rewind(t)
		}
	} else {
		if t.liveAt != from {
			if err := s.replay(t, from, s.last[t.id].sig); err != nil {
				return nil, false
			}
		}
		r := &s.last[t.id]
		t.op.Result, t.op.Req, t.op.OK = r.result, r.req, r.ok
		if r.buf != nil {
			copy(t.liveBuf, r.buf)
		}
	}
	s.Ran++
	t.panicked, t.panicAt = nil, ""
	s.recording, s.nested, s.effects = true, 0, s.effects[:0]
	op, ok := t.next()
	s.recording = false
	b := &behaviour{effects: slices.Clone(s.effects), done: !ok, panicked: t.panicked, panicAt: t.panicAt}
	t.atStart, t.liveAt, t.liveBuf = false, nil, nil
	if ok {
		b.op, b.sig, b.bufLen = *op, sigOf(op), len(op.Buf)
		b.op.Buf = nil
		t.liveAt, t.liveBuf = at, op.Buf
	}
	at.beh = b
	return op, ok
}

// replay restarts t's coroutine and feeds it the results of position p, up
// to the operation it issues there, which must be pending.
func (s *StateEngine) replay(t *Thread, p *pos, pending opSig) error {
	s.rewind(t)
	chain := s.chain[:0]
	for q := p; q != nil; q = q.parent {
		chain = append(chain, q)
	}
	s.chain = chain
	s.replaying = true
	defer func() { s.replaying = false }()
	op, ok := t.next()
	for j := len(chain) - 1; ; j-- {
		// At chain[j] the code issues the operation whose result leads to
		// chain[j-1], or the one pending at p.
		want := pending
		if j > 0 {
			want = chain[j-1].rec.sig
		}
		if !ok || sigOf(op) != want {
			return s.diverged(t, want, op, ok, len(chain)-j)
		}
		if j == 0 {
			break
		}
		r := &chain[j-1].rec
		op.Result, op.Req, op.OK = r.result, r.req, r.ok
		if r.buf != nil {
			copy(op.Buf, r.buf)
		}
		op, ok = t.next()
	}
	s.Replayed += int64(len(chain) - 1)
	t.atStart, t.liveAt, t.liveBuf = false, p, op.Buf
	return nil
}

func (s *StateEngine) diverged(t *Thread, want opSig, op *Op, ok bool, k int) error {
	got := "its end"
	if ok {
		got = sigOf(op).String()
	}
	s.er = fmt.Errorf("state caching: replaying %s, operation %d was %s where it was %v: the thread's code is not a deterministic function of what its operations returned (state shared outside simulated memory?)",
		t.name, k, got, want)
	t.atStart, t.liveAt = false, nil
	return s.er
}

// PendingOp is the operation thread th waits in (the model's operations in
// flight point to it).
func (s *StateEngine) PendingOp(th int) *Op { return &s.e.threads[th].op }

// Owner is the thread an option acts for.
func (s *StateEngine) Owner(o Option) int { return s.e.owner(o.Thread).id }
