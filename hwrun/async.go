package hwrun

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/rdma"
)

// posted is one asynchronous verb of a thread (rdma.Async): posted, then
// completed, then (once) polled.
type posted struct {
	req    rdma.Req
	target int
	done   bool
	result uint64 // an atomic's old value, once done
	polled bool

	reply    chan uint64 // native: the NIC goroutine's answer
	wrid     uint64      // verbs: the work request's id
	slot     uint64      // verbs: byte offset of the local word an atomic's old value lands in
	isAtomic bool
}

// asyncPath is what a backend does for posted verbs.
type asyncPath interface {
	// start posts p's request: kind to remote, local the thread's buffer
	// (READ: destination; WRITE: source, unless inline), words long.
	start(t *thread, p *posted, kind rdma.Op, remote, local rdma.Ptr, words int, inline bool, a, b uint64) error
	// progress marks the completed posts among pending (all to one target, in
	// posting order) done; with block it waits until pending[0] is done.
	progress(t *thread, pending []*posted, block bool) error
}

func (t *thread) post(qp rdma.QP, kind rdma.Op, remote, local rdma.Ptr, words int, inline bool, a, b uint64) rdma.Req {
	ap, ok := t.verbs.(asyncPath)
	switch {
	case !ok:
		t.fail("misuse", fmt.Sprintf("t%d: this backend does not post verbs", t.id))
		panic(stopThread{})
	case qp.Lane != 0:
		t.fail("misuse", fmt.Sprintf("t%d: %v on lane %d: the hardware runner has one QP per thread per node (lane 0)", t.id, kind, qp.Lane))
		panic(stopThread{})
	case qp.Node < 0 || qp.Node >= t.mem.nodes || remote.Node() != qp.Node:
		t.fail("misuse", fmt.Sprintf("t%d: %v on %s through %v: not that QP's node", t.id, kind, remote, qp))
		panic(stopThread{})
	case !inline && local != 0 && local.Node() != t.node:
		t.fail("misuse", fmt.Sprintf("t%d: %v with local buffer %s: not the thread's own node", t.id, kind, local))
		panic(stopThread{})
	case words < 1:
		t.fail("misuse", fmt.Sprintf("t%d: %v of %d words", t.id, kind, words))
		panic(stopThread{})
	}
	t.nextReq++
	p := &posted{req: t.nextReq, target: qp.Node, isAtomic: kind == rdma.OpRCAS || kind == rdma.OpRFAA}
	if err := ap.start(t, p, kind, remote, local, words, inline, a, b); err != nil {
		t.fail("misuse", fmt.Sprintf("t%d: posting %v on %s: %v", t.id, kind, remote, err))
		panic(stopThread{})
	}
	t.posts = append(t.posts, p)
	return p.req
}

// pendingTo lists the posts to target not yet done, in posting order.
func (t *thread) pendingTo(target int) []*posted {
	var out []*posted
	for _, p := range t.posts {
		if p.target == target && !p.done {
			out = append(out, p)
		}
	}
	return out
}

func (t *thread) find(r rdma.Req) *posted {
	for _, p := range t.posts {
		if p.req == r {
			return p
		}
	}
	return nil
}

// PostRead implements rdma.Async.
func (t *thread) PostRead(qp rdma.QP, dst, src rdma.Ptr, words int, f rdma.Flags) rdma.Req {
	return t.post(qp, rdma.OpRRead, src, dst, words, false, 0, 0)
}

// PostWrite implements rdma.Async.
func (t *thread) PostWrite(qp rdma.QP, dst, src rdma.Ptr, words int, f rdma.Flags) rdma.Req {
	return t.post(qp, rdma.OpRWrite, dst, src, words, false, 0, 0)
}

// PostWriteValue implements rdma.Async.
func (t *thread) PostWriteValue(qp rdma.QP, dst rdma.Ptr, v uint64, f rdma.Flags) rdma.Req {
	return t.post(qp, rdma.OpRWrite, dst, 0, 1, true, v, 0)
}

// PostCAS implements rdma.Async.
func (t *thread) PostCAS(qp rdma.QP, p rdma.Ptr, old, new uint64, f rdma.Flags) rdma.Req {
	return t.post(qp, rdma.OpRCAS, p, 0, 1, false, old, new)
}

// PostFAA implements rdma.Async.
func (t *thread) PostFAA(qp rdma.QP, p rdma.Ptr, delta uint64, f rdma.Flags) rdma.Req {
	return t.post(qp, rdma.OpRFAA, p, 0, 1, false, delta, 0)
}

// Poll implements rdma.Async: the QP's next completion, in posting order.
func (t *thread) Poll(qp rdma.QP) (rdma.Req, bool) {
	if pend := t.pendingTo(qp.Node); len(pend) > 0 {
		if err := t.verbs.(asyncPath).progress(t, pend, false); err != nil {
			t.fail("misuse", fmt.Sprintf("t%d: polling %v: %v", t.id, qp, err))
			panic(stopThread{})
		}
	}
	for i, p := range t.posts {
		if p.target != qp.Node || p.polled {
			continue
		}
		if !p.done {
			return 0, false // the oldest unpolled request has not completed
		}
		p.polled = true
		t.forget(i)
		return p.req, true
	}
	return 0, false
}

// forget drops posts[i] when it is both polled and no longer needed by Wait
// (a polled request's result stays available until then: keep it simple and
// drop polled posts older than the newest 64).
func (t *thread) forget(int) {
	if len(t.posts) > 64 && t.posts[0].polled && t.posts[0].done {
		t.posts = t.posts[1:]
	}
}

// Wait implements rdma.Async: block until r completes; an atomic's old value.
func (t *thread) Wait(r rdma.Req) uint64 {
	p := t.find(r)
	if p == nil {
		t.fail("misuse", fmt.Sprintf("t%d: Wait(%d): no such request", t.id, r))
		panic(stopThread{})
	}
	for !p.done {
		pend := t.pendingTo(p.target)
		if err := t.verbs.(asyncPath).progress(t, pend, true); err != nil {
			t.fail("misuse", fmt.Sprintf("t%d: waiting for request %d: %v", t.id, r, err))
			panic(stopThread{})
		}
	}
	return p.result
}

var _ rdma.AsyncThread = (*thread)(nil)

// The native backend's posted verbs: the request goes to the target's NIC
// goroutine with a reply channel of its own; the NIC serves its requests in
// arrival order, so one thread's requests to one node complete in posting
// order, as on an RC QP.

func (n nativeVerbs) start(t *thread, p *posted, kind rdma.Op, remote, local rdma.Ptr, words int, inline bool, a, b uint64) error {
	p.reply = make(chan uint64, 1)
	r := &request{kind: kind, addr: remote, a: a, b: b, reply: p.reply, post: true, local: local, words: words, inline: inline}
	n[p.target].in <- r
	return nil
}

func (n nativeVerbs) progress(t *thread, pending []*posted, block bool) error {
	for i, p := range pending {
		if block && i == 0 {
			p.result, p.done = <-p.reply, true
			continue
		}
		select {
		case v := <-p.reply:
			p.result, p.done = v, true
		default:
			return nil // later ones complete after this one
		}
	}
	return nil
}

// doPosted carries out a posted READ or WRITE of several words (the NIC
// goroutine's side): a WRITE reads its source words and places them in
// ascending address order, a READ reads the words at the target and lands them
// in the local buffer.
func (n *nic) doPosted(r *request) uint64 {
	if r.kind != rdma.OpRRead && r.kind != rdma.OpRWrite {
		return n.do(r)
	}
	for i := range r.words {
		dst, src := r.addr.Add(i), r.local.Add(i)
		if r.kind == rdma.OpRRead {
			dst, src = r.local.Add(i), r.addr.Add(i)
		}
		wd, ws := n.mem.word(dst), n.mem.word(src)
		if wd == nil || (ws == nil && !r.inline) {
			r.err = fmt.Errorf("posted %v of %d words at %s: word %d is not an allocated word", r.kind, r.words, r.addr, i)
			return 0
		}
		v := r.a
		if !r.inline {
			v = atomic.LoadUint64(ws)
		}
		atomic.StoreUint64(wd, v)
	}
	return 0
}

// The verbs backend's posted verbs: one work request each on the thread's QP
// to the target, completions collected by work request id. An atomic's old
// value, and an inline WRITE's value, go through a word of the thread's
// scratch buffer (a ring of asyncSlots words after the blocking verbs' part).

const asyncSlots = 16

// completionTimeout bounds the wait for one posted request's completion.
const completionTimeout = 10 * time.Second

func (v *qpVerbs) start(t *thread, p *posted, kind rdma.Op, remote, local rdma.Ptr, words int, inline bool, a, b uint64) error {
	q, rem := v.qps[p.target], v.remotes[p.target]
	v.wrid++
	p.wrid = v.wrid
	loff := local.Offset()
	if inline || p.isAtomic {
		loff = v.scratch + uint64(8*(scratchWords+int(v.wrid%asyncSlots)))
		p.slot = loff
		if inline {
			atomic.StoreUint64(v.local.Word(loff), a)
		}
	}
	switch kind {
	case rdma.OpRRead:
		return q.Post(verbsOp(kind), p.wrid, v.local, loff, uint32(8*words), rem, remote.Offset(), 0, 0)
	case rdma.OpRWrite:
		return q.Post(verbsOp(kind), p.wrid, v.local, loff, uint32(8*words), rem, remote.Offset(), 0, 0)
	default:
		return q.Post(verbsOp(kind), p.wrid, v.local, loff, 8, rem, remote.Offset(), a, b)
	}
}

func (v *qpVerbs) progress(t *thread, pending []*posted, block bool) error {
	if len(pending) == 0 {
		return nil
	}
	q := v.qps[pending[0].target]
	deadline := time.Now().Add(completionTimeout)
	for {
		cs, err := q.Poll(16)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if !c.OK() {
				return fmt.Errorf("work request %d failed: %s", c.WRID, c.Err)
			}
			for _, p := range pending {
				if p.wrid == c.WRID {
					p.done = true
					if p.isAtomic {
						p.result = atomic.LoadUint64(v.local.Word(p.slot))
					}
				}
			}
		}
		if !block || pending[0].done {
			return nil
		}
		if t.stop.Load() {
			panic(stopThread{})
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no completion of work request %d within %v", pending[0].wrid, completionTimeout)
		}
	}
}
