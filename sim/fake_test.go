package sim_test

import (
	"fmt"
	"testing"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/traces"
)

// fake is the smallest sim.Model the engine's tests need: sequentially
// consistent word memory per node, and operations split into steps as follows.
//
//	Load, Store, CAS, Swap, FAA   one step on the thread's own node
//	Fence                         one step that touches no word
//	RRead, RWrite                 one step on any node
//	RReadN of n words             n steps, one per word, in any order (Ref = word)
//	RCAS, RFAA                    a read step (Ref 0), then a write step (Ref 1)
//
// The two steps of an RCAS or RFAA are not atomic against anything: another
// thread may write the word between them, and the write step overwrites it. A
// failed RCAS writes back the value it read (a write of the same value unless
// the word changed in between). Posted verbs, Poll and Wait are refused as
// misuse: the fake has no agents, so Owner is the identity.
//
// The first rdma.ReservedBytes of a node are reserved and allocations are
// consecutive, as in the real model, so the first allocation on node 0 is
// n0:0x40.
type fake struct {
	obs    sim.Observer
	mem    [][]uint64    // by node, by word
	allocs [][]fakeAlloc // by node, in address order
	ops    []fakeOp      // by thread: the operation in progress
}

type fakeAlloc struct {
	start, words int
	label        string
}

type fakeOp struct {
	op     *sim.Op
	active bool   // the operation has steps left
	phase  int32  // RCAS, RFAA: 0 before the read step, 1 after
	read   uint64 // RCAS, RFAA: what the read step read
	left   uint64 // RReadN: bit i set while word i is not read
}

// fakeMaxAlloc bounds one allocation, so that Alloc can be misused.
const fakeMaxAlloc = 1 << 16

func newFake(tb testing.TB, nodes int) *fake {
	tb.Helper()
	m := &fake{mem: make([][]uint64, nodes), allocs: make([][]fakeAlloc, nodes)}
	for i := range m.mem {
		m.mem[i] = make([]uint64, rdma.ReservedBytes/rdma.WordBytes)
	}
	return m
}

// AllocLabeled returns words zeroed words on node, named label.
func (m *fake) AllocLabeled(node, words int, label string) (rdma.Ptr, error) {
	if node < 0 || node >= len(m.mem) || words < 1 || words > fakeMaxAlloc {
		return 0, fmt.Errorf("cannot allocate %d words on node %d", words, node)
	}
	start := len(m.mem[node])
	m.mem[node] = append(m.mem[node], make([]uint64, words)...)
	m.allocs[node] = append(m.allocs[node], fakeAlloc{start, words, label})
	return rdma.MakePtr(node, uint64(start*rdma.WordBytes)), nil
}

// Init sets a word before the run.
func (m *fake) Init(p rdma.Ptr, v uint64) error {
	if err := m.check(p, 1); err != nil {
		return err
	}
	*m.word(p) = v
	return nil
}

func (m *fake) word(p rdma.Ptr) *uint64 { return &m.mem[p.Node()][p.Offset()/rdma.WordBytes] }

// check validates words consecutive allocated words at p.
func (m *fake) check(p rdma.Ptr, words int) error {
	if p == 0 || p.Node() >= len(m.mem) || p.Offset()%rdma.WordBytes != 0 || p.Offset() < rdma.ReservedBytes ||
		p.Offset()/rdma.WordBytes+uint64(words) > uint64(len(m.mem[p.Node()])) {
		return fmt.Errorf("%s: not an allocated word", p)
	}
	return nil
}

// Attach implements sim.Model.
func (m *fake) Attach(obs sim.Observer) {
	m.obs = obs
	m.ops = make([]fakeOp, obs.ThreadCount())
}

// Alloc implements sim.Model.
func (m *fake) Alloc(node, words int) (rdma.Ptr, error) { return m.AllocLabeled(node, words, "") }

// Issue implements sim.Model. Every operation it accepts takes at least one step.
func (m *fake) Issue(th *sim.Thread, op *sim.Op) (bool, error) {
	words := 1
	switch {
	case op.Post || op.Kind == rdma.OpPoll || op.Kind == rdma.OpWait:
		return false, fmt.Errorf("%v: not supported by the fake model", op.Kind)
	case op.Kind == rdma.OpFence:
		words = 0
	case op.Kind == rdma.OpRReadN:
		words = len(op.Buf)
		if words < 1 || words > 64 {
			return false, fmt.Errorf("RReadN of %d words", words)
		}
	}
	if words > 0 {
		if err := m.check(op.Addr, words); err != nil {
			return false, fmt.Errorf("%v: %v", op.Kind, err)
		}
	}
	if op.Kind.IsCPU() && words > 0 && op.Addr.Node() != th.Node() {
		return false, fmt.Errorf("CPU %v on %s, memory of another node", op.Kind, op.Addr)
	}
	m.ops[th.ID()] = fakeOp{op: op, active: true, left: 1<<uint(words) - 1}
	return false, nil
}

// Enabled implements sim.Model: by thread, then by word or phase.
func (m *fake) Enabled(dst []sim.Option) []sim.Option {
	for th := range m.ops {
		f := &m.ops[th]
		if !f.active {
			continue
		}
		o := sim.Option{Thread: int32(th), Op: f.op.Kind, Addr: f.op.Addr}
		switch f.op.Kind {
		case rdma.OpLoad, rdma.OpRRead:
		case rdma.OpFence:
			o.Addr = 0
		case rdma.OpRReadN:
			for i := range len(f.op.Buf) {
				if f.left&(1<<uint(i)) != 0 {
					o.Ref, o.Addr = int32(i), f.op.Addr.Add(i)
					dst = append(dst, o)
				}
			}
			continue
		case rdma.OpRCAS, rdma.OpRFAA:
			o.Ref, o.Write = f.phase, f.phase == 1
		default: // Store, CAS, Swap, FAA, RWrite
			o.Write = true
		}
		dst = append(dst, o)
	}
	return dst
}

// Fire implements sim.Model. It records the step's event, then tells the
// observer what it read and wrote (a read-modify-write reads, then writes).
func (m *fake) Fire(o sim.Option) bool {
	th := int(o.Thread)
	f := &m.ops[th]
	op, p := f.op, o.Addr
	ev := traces.Event{Thread: th, Kind: traces.CPU, Op: op.Kind, Addr: p}
	var cur, v uint64
	if p != 0 {
		cur = *m.word(p)
	}
	read, write, done := true, false, true
	switch op.Kind {
	case rdma.OpFence:
		read = false
	case rdma.OpLoad:
		op.Result = cur
	case rdma.OpRRead:
		ev.Kind, op.Result = traces.NICRead, cur
	case rdma.OpRReadN:
		ev.Kind, op.Buf[o.Ref] = traces.NICRead, cur
		f.left &^= 1 << uint(o.Ref)
		done = f.left == 0
	case rdma.OpStore:
		read, write, v = false, true, op.A
	case rdma.OpRWrite:
		ev.Kind, read, write, v = traces.NICWrite, false, true, op.A
	case rdma.OpCAS, rdma.OpSwap, rdma.OpFAA:
		op.Result = cur
		v, write = rmw(op, cur)
	case rdma.OpRCAS, rdma.OpRFAA:
		if f.phase == 0 {
			ev.Kind, f.read, f.phase, done = traces.NICAtomicRead, cur, 1, false
			break
		}
		ev.Kind, read, write, op.Result = traces.NICAtomicWrite, false, true, f.read
		ok := false
		if v, ok = rmw(op, f.read); !ok {
			v = f.read // a failed RCAS writes back what it read
		}
	}
	if read {
		ev.Read, ev.HasRead = cur, true
	}
	if write {
		ev.Wrote, ev.HasWrite = v, true
		*m.word(p) = v
	}
	if m.obs.Recording() {
		ev.Label = m.Label(p)
		m.obs.Record(ev)
	}
	if read {
		m.obs.Read(th, p, cur)
	}
	if write {
		m.obs.Wrote(th, p, cur, v)
	}
	f.active = !done
	return done
}

// rmw returns what a read-modify-write that read cur writes, and whether it
// writes (a failed CAS does not).
func rmw(op *sim.Op, cur uint64) (uint64, bool) {
	switch op.Kind {
	case rdma.OpCAS, rdma.OpRCAS:
		return op.B, cur == op.A
	case rdma.OpFAA, rdma.OpRFAA:
		return cur + op.A, true
	}
	return op.A, true // Swap
}

// Peek implements sim.Model.
func (m *fake) Peek(p rdma.Ptr) uint64 { return *m.word(p) }

// View implements sim.Model: memory is sequentially consistent.
func (m *fake) View(_ int, p rdma.Ptr) uint64 { return m.Peek(p) }

// Owner implements sim.Model: the fake has no agents.
func (m *fake) Owner(agent int32) int { return int(agent) }

// Label implements sim.Model: the label of the allocation p lies in.
func (m *fake) Label(p rdma.Ptr) string {
	if p.Node() >= len(m.allocs) {
		return ""
	}
	w := int(p.Offset() / rdma.WordBytes)
	for _, a := range m.allocs[p.Node()] {
		if w >= a.start && w < a.start+a.words {
			return a.label
		}
	}
	return ""
}
