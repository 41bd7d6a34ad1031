package sim

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// DFSOptions configures exhaustive exploration.
type DFSOptions struct {
	// POR turns on partial-order reduction: source-DPOR (Abdulla et al., POPL'14)
	// with sleep sets, over the dependency relation of Dependent. Without it every
	// interleaving is enumerated.
	POR bool
	// Preemptions bounds the preemptions of an execution (a switch away from a
	// thread that could have gone on; Musuvathi & Qadeer). Negative: no bound. A
	// bound turns POR off (plain DFS): sleep sets and DPOR do not combine soundly
	// with a preemption bound.
	Preemptions int
	// MaxExecutions stops the exploration after this many executions (0: no
	// limit); Complete then reports false.
	MaxExecutions int
}

// DFS explores every interleaving of a deterministic program by re-executing it
// from the start (stateless model checking): it is the Chooser of each execution,
// follows the recorded prefix, branches at the deepest choice with an alternative
// left, and learns from every fired step which alternatives matter.
//
//	d := sim.NewDFS(sim.DFSOptions{POR: true, Preemptions: -1})
//	for d.Next() {
//		res := sim.New(model, cfg, specs, body).Run(d)
//		d.Done(res)
//	}
//	d.Complete(), d.Executions(), d.Pruned(), d.Err()
//
// With POR, two steps of different threads that are not Dependent are assumed to
// commute, and only one order of them is explored. A thread parked by the spin
// reduction is a blocked await: the write that wakes it is recorded as happening
// before its next step, and its early wake is an option of its own, so the
// reduction stays sound for spin loops.
type DFS struct {
	opt        DFSOptions
	stack      []dfsNode
	pos        int // step index in the running execution
	prefix     int // steps below prefix replay the stack's choices
	started    bool
	exhausted  bool
	executions int
	pruned     int
	err        error

	// Happens-before bookkeeping of the running execution, per thread.
	lastOp    map[int32]*threadPO
	wakeBy    map[int32]int // event that woke the thread (normal wake), -1 none
	vset      bitset
	poScratch bitset
	skipped   []int
}

type threadPO struct {
	seq       int   // OpSeq of the current operation
	cur, prev []int // events of the current operation, and of the one before
}

// optKey identifies an option across re-executions: a thread's next step (which
// word of a multi-word READ, which phase of an atomic), or its early wake.
type optKey struct {
	thread int32
	ref    int32
	wake   bool
}

func keyOf(o Option) optKey { return optKey{o.Thread, o.Ref, o.Wake} }

type dfsNode struct {
	opts      []Option // enabled options (one for a forced step)
	chosen    int
	done      []Option // options explored here, the current one included
	backtrack []optKey // options that must be explored here
	sleep     []Option // sleep set on entry
	ev        Option   // the step fired
	pred      bitset   // steps that happen before this one
	preempt   int      // preemptions up to and including this step
}

// NewDFS returns an explorer.
func NewDFS(opt DFSOptions) *DFS {
	if opt.Preemptions >= 0 {
		opt.POR = false
	}
	return &DFS{opt: opt}
}

// Next prepares the next execution and reports whether there is one.
func (d *DFS) Next() bool {
	if d.err != nil || (d.opt.MaxExecutions > 0 && d.executions+d.pruned >= d.opt.MaxExecutions) {
		return false
	}
	d.pos = 0
	d.lastOp = map[int32]*threadPO{}
	d.wakeBy = map[int32]int{}
	if !d.started {
		d.started = true
		d.prefix = 0
		return true
	}
	for k := len(d.stack) - 1; k >= 0; k-- {
		n := &d.stack[k]
		for _, key := range n.backtrack {
			if containsKey(n.done, key) || containsKey(n.sleep, key) {
				continue
			}
			i := n.index(key)
			if i < 0 {
				continue
			}
			d.stack = d.stack[:k+1]
			n.chosen = i
			n.done = append(n.done, n.opts[i])
			d.prefix = k
			return true
		}
	}
	d.exhausted = true
	return false
}

// Done records the end of an execution.
func (d *DFS) Done(res Result) {
	if res.Abandoned {
		d.pruned++
	} else {
		d.executions++
	}
	if d.pos < len(d.stack) && d.err == nil && !res.Abandoned && res.Finding == nil {
		d.err = fmt.Errorf("dfs: the execution ended after %d steps, %d were recorded: the program is not deterministic", d.pos, len(d.stack))
	}
}

// Complete reports whether the whole (reduced, bounded) space was explored.
func (d *DFS) Complete() bool { return d.exhausted && d.err == nil }

// Executions is the number of executions run to their end.
func (d *DFS) Executions() int { return d.executions }

// Pruned is the number of executions given up because every enabled option was
// asleep: the reduction proved them redundant.
func (d *DFS) Pruned() int { return d.pruned }

// Err reports a nondeterministic program (a replayed prefix that offered other
// options than before).
func (d *DFS) Err() error { return d.err }

// Choose implements Chooser.
func (d *DFS) Choose(options []Option) int {
	if d.err != nil {
		return -1
	}
	if d.pos < len(d.stack) {
		n := &d.stack[d.pos]
		if !sameOptions(n.opts, options) {
			d.err = fmt.Errorf("dfs: step %d offers other options than when it was first explored: the program is not deterministic", d.pos+1)
			return -1
		}
		return n.chosen
	}
	n := d.push(options)
	if n == nil {
		return -1
	}
	return n.chosen
}

// push creates the node of a new step and picks its first option; nil when every
// option is asleep.
func (d *DFS) push(options []Option) *dfsNode {
	d.stack = append(d.stack, dfsNode{opts: append([]Option(nil), options...)})
	n := &d.stack[len(d.stack)-1]
	k := len(d.stack) - 1
	if k > 0 && d.opt.POR {
		p := &d.stack[k-1]
		for _, s := range p.sleep {
			if !Dependent(s, p.ev) && keyOf(s) != keyOf(p.ev) {
				n.sleep = append(n.sleep, s)
			}
		}
		for _, s := range p.done {
			if keyOf(s) != keyOf(p.ev) && !Dependent(s, p.ev) && !containsKey(n.sleep, keyOf(s)) {
				n.sleep = append(n.sleep, s)
			}
		}
	}
	switch {
	case d.opt.POR:
		for i, o := range n.opts {
			if !containsKey(n.sleep, keyOf(o)) {
				n.chosen = i
				n.done = append(n.done, o)
				n.backtrack = append(n.backtrack, keyOf(o))
				return n
			}
		}
		return nil
	default:
		first := -1
		for i, o := range n.opts {
			if d.opt.Preemptions >= 0 && d.preemptionsWith(k, o) > d.opt.Preemptions {
				continue
			}
			n.backtrack = append(n.backtrack, keyOf(o))
			if first < 0 {
				first = i
			}
		}
		if first < 0 { // cannot happen: going on with the same thread is free
			first = 0
		}
		n.chosen = first
		n.done = append(n.done, n.opts[first])
		return n
	}
}

// preemptionsWith counts the preemptions up to step k if it fires o.
func (d *DFS) preemptionsWith(k int, o Option) int {
	if k == 0 {
		return 0
	}
	p := &d.stack[k-1]
	n := p.preempt
	if o.Thread != p.ev.Thread {
		for _, q := range d.stack[k].opts {
			if q.Thread == p.ev.Thread {
				return n + 1 // the previous thread could have gone on
			}
		}
	}
	return n
}

// Fired implements StepObserver: it records the step, its happens-before
// predecessors, and adds backtrack points for the races it completes.
func (d *DFS) Fired(f *Fired) {
	if d.err != nil {
		return
	}
	k := d.pos
	if k >= len(d.stack) {
		d.push([]Option{f.Option}) // a forced step: no choice was asked
	} else if k >= d.prefix && len(d.stack[k].opts) == 1 && keyOf(d.stack[k].opts[0]) != keyOf(f.Option) {
		d.err = fmt.Errorf("dfs: step %d fired another step than when it was first explored: the program is not deterministic", k+1)
		return
	}
	n := &d.stack[k]
	n.ev = f.Option
	n.preempt = d.preemptionsWith(k, f.Option)
	d.pos++

	// Program order: the steps of the thread's previous operation (the steps of
	// one operation, such as the words of a READ, are unordered among
	// themselves), and the step that woke it.
	th := f.Thread
	po := d.lastOp[th]
	if po == nil {
		po = &threadPO{seq: -1}
		d.lastOp[th] = po
	}
	// Only the words of a multi-word READ are unordered among themselves; the
	// halves of a NIC atomic are ordered like separate operations.
	if f.OpSeq != po.seq || f.Wake || f.Op != rdma.OpRReadN {
		po.prev = append(po.prev[:0], po.cur...)
		po.cur = po.cur[:0]
		po.seq = f.OpSeq
		if f.Wake {
			po.seq = -1
		}
	}
	po.cur = append(po.cur, k)
	d.poScratch.reset(k + 1)
	for _, j := range po.prev {
		d.poScratch.or(&d.stack[j].pred)
		d.poScratch.set(j)
	}
	if w, ok := d.wakeBy[th]; ok && w >= 0 {
		d.poScratch.or(&d.stack[w].pred)
		d.poScratch.set(w)
		d.wakeBy[th] = -1
	}
	// Dependent earlier steps, latest first: step i races with k when it does
	// not already happen before k through a later predecessor (or k's own
	// thread), since predecessor sets are transitively closed.
	//
	// A NIC atomic's read half (one that could not read on arrival) is enabled
	// only by the write half that released the address's atomic lock: it can
	// never come before it, so that pair is no race. The reversible race is
	// with the read half that took the lock, found by looking past the release.
	n.pred.reset(k + 1)
	n.pred.or(&d.poScratch)
	acquire := f.Lock && f.Ref == 0
	d.skipped = d.skipped[:0]
	for i := k - 1; i >= 0; i-- {
		e := &d.stack[i]
		if e.ev.Thread == th || !Dependent(e.ev, f.Option) {
			continue
		}
		if acquire && e.ev.Lock && e.ev.Ref == 1 && e.ev.Addr == f.Addr {
			d.skipped = append(d.skipped, i)
			continue
		}
		if d.opt.POR && !n.pred.has(i) {
			d.race(i, k)
		}
		n.pred.or(&e.pred)
		n.pred.set(i)
	}
	for _, i := range d.skipped {
		n.pred.or(&d.stack[i].pred)
		n.pred.set(i)
	}
	// A write that wakes a parked thread races with that thread's wake: had the
	// thread been woken early (an option at this step), its iteration could
	// have read some words before the write. Source-DPOR for the race between
	// this step and the wake that follows it: explore the early wake here.
	for _, w := range f.Woken {
		d.wakeBy[w] = k
		if d.opt.POR {
			key := optKey{thread: w, wake: true}
			if n.index(key) >= 0 && !containsKey(n.done, key) && !hasKey(n.backtrack, key) {
				n.backtrack = append(n.backtrack, key)
			}
		}
	}
}

// race handles a race between steps i and k (dependent, different threads, i not
// known to happen before k's thread): somewhere an execution must start, at step
// i, with a step that leads to reversing them. Source-DPOR: let v be the steps
// after i that do not happen after i, then k; if none of v's initials (steps of v
// with no predecessor in v) is already to be explored at i, add one.
func (d *DFS) race(i, k int) {
	n := &d.stack[i]
	if len(n.opts) < 2 {
		return
	}
	d.vset.reset(k + 1)
	for j := i + 1; j <= k; j++ {
		if j == k || !d.stack[j].pred.has(i) {
			d.vset.set(j)
		}
	}
	var first optKey
	found := false
	seen := map[int32]bool{}
	for j := i + 1; j <= k; j++ {
		if !d.vset.has(j) {
			continue
		}
		e := &d.stack[j]
		if seen[e.ev.Thread] {
			continue
		}
		seen[e.ev.Thread] = true
		if d.stack[j].pred.intersects(&d.vset) {
			continue
		}
		key := keyOf(e.ev)
		if n.index(key) < 0 {
			continue // not enabled at i under this name
		}
		if containsKey(n.done, key) || hasKey(n.backtrack, key) {
			return // an initial is already explored or scheduled
		}
		if !found {
			first, found = key, true
		}
	}
	if found {
		n.backtrack = append(n.backtrack, first)
		return
	}
	if kv := d.stack[k].ev; kv.Lock && kv.Ref == 0 && n.index(keyOf(kv)) < 0 {
		// k is a NIC atomic's read that waited for the address's lock and
		// was not enabled at i: only the release of the lock enables it (a
		// dependency the happens-before relation has), so a reordering that
		// puts k before i would have to move that release too. Not a
		// reversible race: nothing to add.
		return
	}
	// No initial is an option at i (the model's options name steps differently
	// than they fired): explore everything there, which is always sound.
	for _, o := range n.opts {
		if !hasKey(n.backtrack, keyOf(o)) {
			n.backtrack = append(n.backtrack, keyOf(o))
		}
	}
}

func (n *dfsNode) index(key optKey) int {
	for i, o := range n.opts {
		if keyOf(o) == key {
			return i
		}
	}
	return -1
}

func containsKey(opts []Option, key optKey) bool {
	for _, o := range opts {
		if keyOf(o) == key {
			return true
		}
	}
	return false
}

func hasKey(keys []optKey, key optKey) bool {
	for _, k := range keys {
		if k == key {
			return true
		}
	}
	return false
}

func sameOptions(a, b []Option) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if keyOf(a[i]) != keyOf(b[i]) {
			return false
		}
	}
	return true
}

// bitset is a set of step indices.
type bitset struct{ w []uint64 }

func (b *bitset) reset(n int) {
	words := (n + 63) / 64
	if cap(b.w) < words {
		b.w = make([]uint64, words)
	} else {
		b.w = b.w[:words]
		clear(b.w)
	}
}

func (b *bitset) set(i int) { b.w[i/64] |= 1 << (i % 64) }

func (b *bitset) has(i int) bool {
	return i/64 < len(b.w) && b.w[i/64]&(1<<(i%64)) != 0
}

// or adds c's members (c may be shorter).
func (b *bitset) or(c *bitset) {
	for i, x := range c.w {
		b.w[i] |= x
	}
}

func (b *bitset) intersects(c *bitset) bool {
	for i := range min(len(b.w), len(c.w)) {
		if b.w[i]&c.w[i] != 0 {
			return true
		}
	}
	return false
}
