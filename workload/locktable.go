package workload

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
)

// LockTable is the distributed lock table of the ALock paper's benchmark: Keys
// locks split into contiguous ranges, one range per node (key k lives on node
// k·nodes/Keys); every operation picks a key — with probability Local one on the
// requester's own node, otherwise one on another node, uniformly or by a Zipf
// law within the range — takes that key's lock, optionally runs a critical
// section (a non-atomic increment of the key's counter word), and releases it.
// Each key's lock is built by Lock with the key's node as its home, so every
// thread on that node is local to it.
//
// Mutual exclusion is judged per key; with CriticalSection, the counters must
// add up to the operations done (lost update).
type LockTable struct {
	Lock  LockFactory
	Keys  int     // number of keys (locks), ≥ 1
	Local float64 // p_local: share of operations on the requester's own node, 0 … 1
	// ZipfS, if > 1, draws keys within a node's range by a Zipf law with this
	// exponent (math/rand/v2's); otherwise uniformly.
	ZipfS float64
	// CriticalSection: increment the key's counter inside the critical section.
	CriticalSection bool
	Seed            uint64 // key choices are drawn from it, per thread
}

// keySetup is the Setup a key's lock is built with: the key's node is home.
type keySetup struct {
	Setup
	home int
}

func (k keySetup) Home() int { return k.home }
func (k keySetup) Threads() []rdma.ThreadInfo {
	ts := slices.Clone(k.Setup.Threads())
	for i := range ts {
		ts[i].Local = ts[i].Node == k.home
	}
	return ts
}

// KeyNode is the node key k lives on, of nodes, with keys keys in all.
func KeyNode(k, keys, nodes int) int { return k * nodes / keys }

// Build implements Workload.
func (w LockTable) Build(s Setup) (*Program, error) {
	nodes := s.Nodes()
	switch {
	case w.Lock == nil:
		return nil, errors.New("lock table: no lock constructor (LockTable.Lock is nil)")
	case w.Keys < 1:
		return nil, fmt.Errorf("lock table: %d keys: want ≥ 1", w.Keys)
	case w.Local < 0 || w.Local > 1:
		return nil, fmt.Errorf("lock table: local share %v: want 0 … 1", w.Local)
	}
	// The key ranges of the nodes: [first[n], first[n+1]).
	first := make([]int, nodes+1)
	for n := range first {
		first[n] = (n*w.Keys + nodes - 1) / nodes
	}
	for k := range w.Keys {
		if n := KeyNode(k, w.Keys, nodes); k < first[n] || k >= first[n+1] {
			return nil, fmt.Errorf("lock table: internal error: key %d of node %d outside [%d, %d)", k, n, first[n], first[n+1])
		}
	}
	locks := make([]rdma.Lock, w.Keys)
	counters := make([]rdma.Ptr, w.Keys)
	for k := range w.Keys {
		home := KeyNode(k, w.Keys, nodes)
		l, err := w.Lock(keySetup{Setup: s, home: home})
		if err != nil {
			return nil, fmt.Errorf("building the lock of key %d: %v", k, err)
		}
		if l == nil {
			return nil, fmt.Errorf("building the lock of key %d: the constructor returned a nil lock and no error", k)
		}
		locks[k] = l
		if w.CriticalSection {
			counters[k] = s.Alloc(home, 1, fmt.Sprintf("counter%d", k))
		}
	}
	threads := s.Threads()
	ops := s.OpsPerThread()
	// Key choices are drawn before the run, so that no thread's code allocates
	// or draws while it runs; a thread that runs until stopped (ops 0) draws
	// each key as it goes, from its own generator.
	plan := make([][]int, len(threads))
	draw := make([]func() int, len(threads))
	for id, th := range threads {
		rng := rand.New(rand.NewPCG(w.Seed, uint64(id)+1))
		var zipf map[int]*rand.Zipf
		if w.ZipfS > 1 {
			zipf = map[int]*rand.Zipf{}
		}
		pick := func(n int) int {
			lo, hi := first[n], first[n+1]
			if hi-lo <= 1 {
				return lo
			}
			if zipf != nil {
				z, ok := zipf[n]
				if !ok {
					z = rand.NewZipf(rng, w.ZipfS, 1, uint64(hi-lo-1))
					zipf[n] = z
				}
				return lo + int(z.Uint64())
			}
			return lo + rng.IntN(hi-lo)
		}
		var others []int
		for n := range nodes {
			if n != th.Node && first[n+1] > first[n] {
				others = append(others, n)
			}
		}
		ownHas := first[th.Node+1] > first[th.Node]
		draw[id] = func() int {
			local := rng.Float64() < w.Local
			if local && ownHas || len(others) == 0 {
				return pick(th.Node)
			}
			return pick(others[rng.IntN(len(others))])
		}
		if ops > 0 {
			plan[id] = make([]int, ops)
			for i := range ops {
				plan[id][i] = draw[id]()
			}
		}
	}
	p := &Program{Thread: func(t *Thread) {
		id := t.ID()
		for i := 0; ops <= 0 || i < ops; i++ {
			var k int
			if ops > 0 {
				k = plan[id][i]
			} else {
				k = draw[id]()
			}
			op := t.Call(OpAcquire, uint64(k))
			locks[k].Acquire(t)
			t.Return(op)
			t.EnterKey(k)
			if c := counters[k]; c != 0 {
				if t.Node() == c.Node() {
					t.Store(c, t.Load(c)+1)
				} else {
					t.RWrite(c, t.RRead(c)+1)
				}
			}
			t.ExitKey(k)
			op = t.Call(OpRelease, uint64(k))
			locks[k].Release(t)
			t.Return(op)
		}
	}}
	if w.CriticalSection && ops > 0 {
		want := uint64(len(threads) * ops)
		p.Final = func(peek func(rdma.Ptr) uint64) *Finding {
			var sum uint64
			for _, c := range counters {
				sum += peek(c)
			}
			if sum != want {
				return &Finding{Property: LostUpdate, Message: fmt.Sprintf("the key counters add up to %d after %d critical sections", sum, want)}
			}
			return nil
		}
	}
	return p, nil
}
