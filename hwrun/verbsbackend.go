package hwrun

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/rdmasim/rdmasim/hwrun/verbs"
	"github.com/rdmasim/rdmasim/rdma"
)

// scratchWords is the local buffer every thread has in its node's registered
// memory, for the data of its verbs (a READ lands there, a WRITE is sent from
// there, an atomic's old value comes back there): the longest RReadN it can do.
const scratchWords = 16

// cluster is the verbs backend's set-up, made once before the data path: the
// devices, one registered arena per node (node n on device n mod devices), and
// for every thread one RC QP to every node, connected to a QP on the target's
// device. The data path only posts and polls.
type cluster struct {
	devs    []*verbs.Device
	arenas  []*verbs.Arena
	remotes []verbs.Remote
	qps     []*verbs.QP // every QP, for Close
	caps    []verbs.AtomicCap
}

// openCluster opens the devices named (all of them when none are) and maps
// and registers words words per node.
func openCluster(names []string, nodes, words int) (*cluster, error) {
	if !verbs.Supported() {
		return nil, errors.New("verbs support was not compiled in (build with -tags rdma and libibverbs-dev)")
	}
	if len(names) == 0 {
		var err error
		if names, err = verbs.DeviceNames(); err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, errors.New("no RDMA device found (ibv_get_device_list is empty)")
		}
	}
	c := &cluster{}
	for _, name := range names {
		d, err := verbs.Open(name)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.devs = append(c.devs, d)
		c.caps = append(c.caps, d.AtomicCap())
		if d.AtomicCap() == verbs.AtomicNone {
			c.Close()
			return nil, fmt.Errorf("device %s reports atomic_cap NONE: it cannot run RDMA atomics; refusing", name)
		}
	}
	for n := range nodes {
		a, err := c.dev(n).NewArena(words * rdma.WordBytes)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.arenas = append(c.arenas, a)
		c.remotes = append(c.remotes, a.Remote())
	}
	return c, nil
}

func (c *cluster) dev(node int) *verbs.Device { return c.devs[node%len(c.devs)] }

// atomicScope is the weakest atomic_cap of the devices: "hca" or "glob".
func (c *cluster) atomicScope() string {
	for _, a := range c.caps {
		if a != verbs.AtomicGlob {
			return "hca"
		}
	}
	return "glob"
}

// connect makes thread's QPs: one to every node, lane 0.
func (c *cluster) connect(node int, scratch rdma.Ptr) (*qpVerbs, error) {
	v := &qpVerbs{local: c.arenas[node], scratch: scratch.Offset(), remotes: c.remotes}
	for target := range c.arenas {
		qa, err := c.dev(node).NewQP(16)
		if err != nil {
			return nil, err
		}
		c.qps = append(c.qps, qa)
		qb, err := c.dev(target).NewQP(16)
		if err != nil {
			return nil, err
		}
		c.qps = append(c.qps, qb)
		if err := qa.Connect(qb.Endpoint()); err != nil {
			return nil, err
		}
		if err := qb.Connect(qa.Endpoint()); err != nil {
			return nil, err
		}
		v.qps = append(v.qps, qa)
	}
	return v, nil
}

// Close releases every QP, arena and device.
func (c *cluster) Close() error {
	var errs []error
	for _, q := range c.qps {
		errs = append(errs, q.Close())
	}
	for _, a := range c.arenas {
		errs = append(errs, a.Close())
	}
	for _, d := range c.devs {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// qpVerbs carries one thread's blocking verbs over its QPs.
type qpVerbs struct {
	wrid    uint64      // the last posted work request's id
	qps     []*verbs.QP // by target node
	local   *verbs.Arena
	scratch uint64 // byte offset of the thread's buffer in local
	remotes []verbs.Remote
}

func (v *qpVerbs) do(r *request, target int) uint64 {
	q, rem, off := v.qps[target], v.remotes[target], r.addr.Offset()
	var err error
	var old uint64
	switch r.kind {
	case rdma.OpRRead:
		if err = q.Read(v.local, v.scratch, 8, rem, off); err == nil {
			old = atomic.LoadUint64(v.local.Word(v.scratch))
		}
	case rdma.OpRReadN:
		if len(r.buf) > scratchWords {
			err = fmt.Errorf("RReadN of %d words: the verbs backend reads at most %d at once", len(r.buf), scratchWords)
			break
		}
		if err = q.Read(v.local, v.scratch, uint32(8*len(r.buf)), rem, off); err == nil {
			for i := range r.buf {
				r.buf[i] = atomic.LoadUint64(v.local.Word(v.scratch + uint64(8*i)))
			}
		}
	case rdma.OpRWrite:
		atomic.StoreUint64(v.local.Word(v.scratch), r.a)
		err = q.Write(v.local, v.scratch, 8, rem, off)
	case rdma.OpRCAS:
		old, err = q.CAS(v.local, v.scratch, rem, off, r.a, r.b)
	case rdma.OpRFAA:
		old, err = q.FAA(v.local, v.scratch, rem, off, r.a)
	default:
		err = fmt.Errorf("%v is not a verb", r.kind)
	}
	if err != nil {
		r.err = fmt.Errorf("%v(%s): %v", r.kind, r.addr, err)
	}
	return old
}

// verbsOp is the verbs package's name of a one-sided verb.
func verbsOp(k rdma.Op) verbs.Op {
	switch k {
	case rdma.OpRRead, rdma.OpRReadN:
		return verbs.OpRead
	case rdma.OpRWrite:
		return verbs.OpWrite
	case rdma.OpRCAS:
		return verbs.OpCAS
	}
	return verbs.OpFAA
}
