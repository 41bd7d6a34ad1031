package nicmodel

import (
	"errors"
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// Snapshot is a copy of the model's state between two steps, for a stateful
// search (sim.StateSpace) to come back to: memory, allocations, every thread's
// operation in flight and the NIC atomic locks held.
//
// Only the synchronous state is covered: no posted request may be in flight
// and no store buffer hold a store (Snapshottable says so), and the model must
// be untimed.
type Snapshot struct {
	memHash uint64
	mem     [][]uint64
	allocs  [][]alloc
	flight  []flightSnap
	locked  []rdma.Ptr
	queue   []queued
}

type flightSnap struct {
	active  bool
	blocked uint8
	req     *request // a copy of the thread's blocking request, or nil
}

// ErrNotSnapshottable is returned by TakeSnapshot when the model holds state a
// snapshot does not cover.
var ErrNotSnapshottable = errors.New("nicmodel: a snapshot covers blocking verbs and sequentially consistent CPUs only (no posted requests, no TSO store buffers, no timing)")

// Snapshottable reports whether TakeSnapshot can copy the model now.
func (n *NIC) Snapshottable() bool {
	return n.tm == nil && n.busy == 0 && len(n.active) == 0 && len(n.agents) == 0 && n.cfg.CPU != CPUTSO
}

// TakeSnapshot copies the model's state into s (reusing its buffers).
func (n *NIC) TakeSnapshot(s *Snapshot) error {
	if !n.Snapshottable() {
		return ErrNotSnapshottable
	}
	s.mem = resize(s.mem, len(n.nodes))
	s.allocs = resize(s.allocs, len(n.nodes))
	for i := range n.nodes {
		s.mem[i] = append(s.mem[i][:0], n.nodes[i].mem...)
		s.allocs[i] = append(s.allocs[i][:0], n.nodes[i].allocs...)
	}
	s.flight = resize(s.flight, len(n.flight))
	for i := range n.flight {
		f := &n.flight[i]
		fs := &s.flight[i]
		fs.active, fs.blocked = f.active, f.blocked
		if f.req != nil && f.active {
			if fs.req == nil {
				fs.req = &request{}
			}
			copyRequest(fs.req, f.req)
		} else {
			fs.req = nil
		}
	}
	s.locked = append(s.locked[:0], n.locked...)
	s.queue = append(s.queue[:0], n.queue...)
	s.memHash = n.memHash
	return nil
}

// RestoreSnapshot puts the model back into the state of s. ops gives, by
// thread, the operation each thread is in now (a restored engine's threads:
// see sim.Engine.PendingOp); the snapshot's operations in flight are
// re-attached to them.
func (n *NIC) RestoreSnapshot(s *Snapshot, ops func(th int) *sim.Op) {
	for i := range n.nodes {
		n.nodes[i].mem = append(n.nodes[i].mem[:0], s.mem[i]...)
		if !slices.Equal(n.nodes[i].allocs, s.allocs[i]) { // (mostly equal: comparing is cheaper than copying labels)
			n.nodes[i].allocs = append(n.nodes[i].allocs[:0], s.allocs[i]...)
		}
	}
	n.flight = resize(n.flight, len(s.flight))
	for len(n.threadNode) < len(n.flight) {
		n.threadNode = append(n.threadNode, 0)
	}
	for i := range s.flight {
		fs := &s.flight[i]
		f := &n.flight[i]
		*f = inflight{op: ops(i), active: fs.active, blocked: fs.blocked}
		if fs.req != nil {
			for len(n.breqs) <= i {
				// As blockingRequest makes them: room for the longest READ.
				n.breqs = append(n.breqs, &request{stage: make([]uint8, 0, MaxReadWords), vals: make([]uint64, 0, MaxReadWords), at: make([]int64, 0, MaxReadWords)})
			}
			copyRequest(n.breqs[i], fs.req)
			f.req = n.breqs[i]
		}
	}
	n.locked = append(n.locked[:0], s.locked...)
	n.queue = append(n.queue[:0], s.queue...)
	n.memHash = s.memHash
}

// StateHash hashes the model's state as TakeSnapshot copies it: memory, the
// progress of every operation in flight, the atomic locks held. Two states
// with different hashes differ; equal hashes mean equal states with
// overwhelming likelihood (64 bits).
func (n *NIC) StateHash() uint64 {
	h := mix(0x243f6a8885a308d3, n.memHash)
	for i := range n.nodes {
		h = mix(h, uint64(len(n.nodes[i].mem))|uint64(len(n.nodes[i].allocs))<<32)
	}
	for i := range n.flight {
		f := &n.flight[i]
		v := uint64(f.blocked) << 1
		if f.active {
			v |= 1
		}
		h = mix(h, v|uint64(i)<<8)
		if r := f.req; r != nil && f.active {
			h = mix(h, uint64(r.phase)|uint64(r.left)<<8|uint64(len(r.stage))<<24)
			// An atomic holds the value it read from its read to its write;
			// before, readVal and result are a reused request's stale values,
			// and result is set only as it completes.
			if r.atomic() && r.phase == phaseWrite {
				h = mix(h, r.readVal)
			}
			// A reused request keeps stale values in words it has not read
			// yet: only what an event wrote counts (an atomic keeps its
			// values in readVal and result).
			for w := range r.stage {
				v := uint64(r.stage[w]) << 56
				if r.stage[w] != 0 && !r.atomic() {
					v ^= r.vals[w]
				}
				h = mix(h, v)
			}
		}
	}
	for _, p := range n.locked {
		h = mix(h, uint64(p)^0x5bd1e995)
	}
	for _, q := range n.queue {
		h = mix(h, uint64(q.addr)^uint64(q.thread)<<48)
	}
	return h
}

// mix folds v into h (a 64-bit multiply-xorshift; not cryptographic).
func mix(h, v uint64) uint64 {
	h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 31
	return h
}

func copyRequest(dst, src *request) {
	stage, vals, at := dst.stage, dst.vals, dst.at
	*dst = *src
	dst.stage = append(stage[:0], src.stage...)
	dst.vals = append(vals[:0], src.vals...)
	dst.at = append(at[:0], src.at...)
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return append(s[:cap(s)], make([]T, n-cap(s))...)[:n]
	}
	return s[:n]
}

// WordMask marks, by node and word, the allocated words whose label (as
// Label gives it: "desc.t0[1]") match accepts; for FingerprintExcept.
func (n *NIC) WordMask(match func(label string) bool) [][]bool {
	mask := make([][]bool, len(n.nodes))
	for i := range n.nodes {
		nd := &n.nodes[i]
		mask[i] = make([]bool, len(nd.mem))
		for _, a := range nd.allocs {
			for w := range a.words {
				if a.start+w < len(mask[i]) && match(rdma.WordLabel(a.label, a.words, w)) {
					mask[i][a.start+w] = true
				}
			}
		}
	}
	return mask
}

// FingerprintExcept is Fingerprint over the words mask does not mark (a
// word beyond the mask counts).
func (n *NIC) FingerprintExcept(mask [][]bool) uint64 {
	h := uint64(14695981039346656037)
	for i, nd := range n.nodes {
		for j, w := range nd.mem {
			if i < len(mask) && j < len(mask[i]) && mask[i][j] {
				continue
			}
			for range 8 {
				h ^= w & 0xff
				h *= 1099511628211
				w >>= 8
			}
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// WordLabels lists the labels of the allocated words, node by node.
func (n *NIC) WordLabels() []string {
	var l []string
	for i := range n.nodes {
		for _, a := range n.nodes[i].allocs {
			for w := range a.words {
				l = append(l, rdma.WordLabel(a.label, a.words, w))
			}
		}
	}
	return l
}

// mix64 is SplitMix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
