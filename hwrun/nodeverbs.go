package hwrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/rdmasim/rdmasim/hwrun/verbs"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// The verbs backend with one process per node: each process opens its
// device, registers its node's arena, and creates for each of its threads one
// RC QP to every node (lane 0) and one more to node 0 for the marks' global
// order (an RDMA FAA on a counter word in node 0's reserved bytes). Round 1 of
// the exchange carries every node's arena (address, rkey, size), its atomic
// capability, and its requesters' QP endpoints (QPN, PSN, LID, GID); every
// node then creates and connects a responder QP for each requester that
// targets it, and round 2 carries the responders' endpoints, to which the
// requesters connect.

// qpEnd is one QP's endpoint, named by the requesting thread, its target node
// and whether it is the thread's mark QP.
type qpEnd struct {
	Thread, Target int
	Mark           bool
	Endpoint       verbs.Endpoint
}

type verbsRound1 struct {
	Remote     verbs.Remote
	Scope      string
	Requesters []qpEnd
}

type verbsRound2 struct{ Responders []qpEnd }

func (n *nodeProc) setupVerbs(nr *nodeRun, o *order, w workload.Workload, words int, cleanup *[]func()) error {
	if !verbs.Supported() {
		return errors.New("verbs support was not compiled in (build with -tags rdma and libibverbs-dev)")
	}
	cfg, size := nr.cfg, words*rdma.WordBytes
	names := n.opts.Devices
	if len(names) == 0 {
		names = cfg.Devices
	}
	if len(names) == 0 {
		var err error
		if names, err = verbs.DeviceNames(); err != nil {
			return err
		}
		if len(names) == 0 {
			return errors.New("no RDMA device found (ibv_get_device_list is empty)")
		}
	}
	dev, err := verbs.Open(names[n.node%len(names)])
	if err != nil {
		return err
	}
	*cleanup = append(*cleanup, func() { dev.Close() })
	if dev.AtomicCap() == verbs.AtomicNone {
		return fmt.Errorf("device %s reports atomic_cap NONE: it cannot run RDMA atomics; refusing", dev.Name())
	}
	nr.scope = "hca"
	if dev.AtomicCap() == verbs.AtomicGlob {
		nr.scope = "glob"
	}
	arena, err := dev.NewArena(size)
	if err != nil {
		return err
	}
	*cleanup = append(*cleanup, func() {
		if !nr.leak {
			arena.Close()
		}
	})
	var qps []*verbs.QP
	*cleanup = append(*cleanup, func() {
		if !nr.leak {
			for _, q := range qps {
				q.Close()
			}
		}
	})
	newQP := func() (*verbs.QP, error) {
		q, err := dev.NewQP(16)
		if err == nil {
			qps = append(qps, q)
		}
		return q, err
	}
	regions := make([][]byte, cfg.Nodes)
	sizes := make([]uint64, cfg.Nodes)
	for i := range sizes {
		sizes[i] = uint64(size)
	}
	regions[n.node] = arena.Bytes()[:size]
	if nr.mem, err = memoryOf(regions, sizes, n.node); err != nil {
		return err
	}
	if err := nr.build(w); err != nil {
		return err
	}
	layout := slices.Clone(nr.mem.next)

	// Every local thread's scratch buffer (one more word for the marks' FAA)
	// and requester QPs.
	type local struct {
		scratch rdma.Ptr
		qps     []*verbs.QP // by target
		mark    *verbs.QP
	}
	locals := map[int]*local{}
	var r1 verbsRound1
	r1.Remote, r1.Scope = arena.Remote(), nr.scope
	for id, in := range nr.mem.threads {
		if in.Node != n.node {
			continue
		}
		l := &local{scratch: nr.mem.Alloc(n.node, scratchWords+asyncSlots+1, "scratch."+nr.names[id])}
		if nr.mem.err != nil {
			return nr.mem.err
		}
		for t := 0; t <= cfg.Nodes; t++ {
			q, err := newQP()
			if err != nil {
				return fmt.Errorf("%s's QPs: %v", nr.names[id], err)
			}
			end := qpEnd{Thread: id, Target: t, Endpoint: q.Endpoint()}
			if t == cfg.Nodes {
				end.Target, end.Mark, l.mark = 0, true, q
			} else {
				l.qps = append(l.qps, q)
			}
			r1.Requesters = append(r1.Requesters, end)
		}
		locals[id] = l
	}
	blob, _ := json.Marshal(r1)
	table, err := n.exchange(blob)
	if err != nil {
		return err
	}
	peers := make([]verbsRound1, len(table))
	remotes := make([]verbs.Remote, len(table))
	for p, b := range table {
		if err := json.Unmarshal(b, &peers[p]); err != nil || peers[p].Remote.Size == 0 {
			return fmt.Errorf("node %d's endpoints %.80q: not a verbs backend's", p, b)
		}
		if peers[p].Remote.Size < uint64(size) {
			return fmt.Errorf("node %d registered %d bytes, want %d", p, peers[p].Remote.Size, size)
		}
		remotes[p] = peers[p].Remote
		if peers[p].Scope != "glob" {
			nr.scope = "hca"
		}
	}
	// Responders for every requester that targets this node.
	var r2 verbsRound2
	for _, peer := range peers {
		for _, req := range peer.Requesters {
			if req.Target != n.node {
				continue
			}
			q, err := newQP()
			if err != nil {
				return fmt.Errorf("a responder QP for %s: %v", nr.names[req.Thread], err)
			}
			if err := q.Connect(req.Endpoint); err != nil {
				return fmt.Errorf("connecting the responder QP of %s: %v", nr.names[req.Thread], err)
			}
			r2.Responders = append(r2.Responders, qpEnd{Thread: req.Thread, Target: n.node, Mark: req.Mark, Endpoint: q.Endpoint()})
		}
	}
	blob, _ = json.Marshal(r2)
	if table, err = n.exchange(blob); err != nil {
		return err
	}
	responders := map[qpEnd]verbs.Endpoint{}
	for p, b := range table {
		var r verbsRound2
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("node %d's responders: %v", p, err)
		}
		for _, e := range r.Responders {
			responders[qpEnd{Thread: e.Thread, Target: e.Target, Mark: e.Mark}] = e.Endpoint
		}
	}
	connect := func(q *verbs.QP, id, target int, mark bool) error {
		ep, ok := responders[qpEnd{Thread: id, Target: target, Mark: mark}]
		if !ok {
			return fmt.Errorf("node %d made no responder QP for %s", target, nr.names[id])
		}
		if err := q.Connect(ep); err != nil {
			return fmt.Errorf("connecting %s's QP to node %d: %v", nr.names[id], target, err)
		}
		return nil
	}
	paths := map[int]*qpVerbs{}
	marks := map[int]func() uint64{}
	for id, l := range locals {
		for t, q := range l.qps {
			if err := connect(q, id, t, false); err != nil {
				return err
			}
		}
		if err := connect(l.mark, id, 0, true); err != nil {
			return err
		}
		paths[id] = &qpVerbs{local: arena, scratch: l.scratch.Offset(), remotes: remotes, qps: l.qps}
		slot := l.scratch.Offset() + uint64(rdma.WordBytes*(scratchWords+asyncSlots))
		mark, name := l.mark, nr.names[id]
		marks[id] = func() uint64 {
			v, err := mark.FAA(arena, slot, remotes[0], markSeqWord*rdma.WordBytes, 1)
			if err != nil {
				// No place in the order for this mark: the run is not judged.
				nr.fail("misuse", fmt.Sprintf("%s: the marks' FAA on node 0: %v", name, err))
				return 0
			}
			return v + 1
		}
	}
	nr.layout = layout
	nr.paths = func(id int) (verbPath, error) {
		if p := paths[id]; p != nil {
			return p, nil
		}
		return nil, errors.New("not a thread of this node")
	}
	nr.seq = func(id int) uint64 { return marks[id]() }
	nr.after = func(nr *nodeRun) {
		if nr.stop.Load() {
			return // hung: the posted requests may never complete
		}
		// Posted requests nobody waited for (an unsignaled release) must land
		// before memory is judged.
		for _, t := range nr.threads {
			for target := range cfg.Nodes {
				for pend := t.pendingTo(target); len(pend) > 0; pend = t.pendingTo(target) {
					if err := t.verbs.(asyncPath).progress(t, pend, true); err != nil {
						nr.fail("misuse", fmt.Sprintf("%s: completing its posted requests: %v", nr.names[t.id], err))
						break
					}
				}
			}
		}
	}
	return nil
}
