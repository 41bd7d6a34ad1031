package workload

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// mutexMonitor: mutual exclusion, judged at every critical-section entry, per
// key (a lock table has one lock per key; a single lock is key 0).
type mutexMonitor struct {
	holders []int // per key: the thread in its critical section, -1: none
}

func (m *mutexMonitor) holder(key int) int {
	if key < len(m.holders) {
		return m.holders[key]
	}
	return -1
}

func (m *mutexMonitor) enter(r *Run, id, key int) *Finding {
	for key >= len(m.holders) {
		m.holders = append(m.holders, -1)
	}
	if h := m.holders[key]; h >= 0 {
		what := "the critical section"
		if key > 0 || len(m.holders) > 1 {
			what = fmt.Sprintf("the critical section of key %d", key)
		}
		return &Finding{Property: MutualExclusion,
			Message: fmt.Sprintf("%s enters %s while %s holds the lock", r.Name(id), what, r.Name(h))}
	}
	m.holders[key] = id
	return nil
}

func (m *mutexMonitor) exit(id, key int) {
	if key < len(m.holders) && m.holders[key] == id {
		m.holders[key] = -1
	}
}

// bypassMonitor: fairness. For every thread, how many critical sections others
// entered between the start of its wait (its doorway, or else its last call) and
// its own entry.
type bypassMonitor struct {
	entries  int
	waitFrom []int // per thread: entries when it started waiting; -1: not waiting
	max      int
	bound    int
}

func (b *bypassMonitor) init(n, bound int) {
	if cap(b.waitFrom) < n {
		b.waitFrom = make([]int, n)
	}
	b.waitFrom = b.waitFrom[:n]
	for i := range b.waitFrom {
		b.waitFrom[i] = -1
	}
	b.bound, b.entries, b.max = bound, 0, 0
}

func (b *bypassMonitor) call(id int)    { b.waitFrom[id] = b.entries }
func (b *bypassMonitor) doorway(id int) { b.waitFrom[id] = b.entries }

func (b *bypassMonitor) enter(r *Run, id int) *Finding {
	bypass := 0
	if from := b.waitFrom[id]; from >= 0 {
		bypass = b.entries - from
	}
	b.waitFrom[id] = -1
	b.entries++
	b.max = max(b.max, bypass)
	if b.bound > 0 && bypass > b.bound {
		return &Finding{Property: BypassBound, Message: fmt.Sprintf("%s entered after %d critical sections of others since it queued (its doorway, or its call to Acquire); the bound is %d",
			r.Name(id), bypass, b.bound)}
	}
	return nil
}

// mixedMonitor: a word that is the target of a NIC atomic and of a CPU write or
// CPU atomic in one execution. Under atomic scope hca the CPU operation can land
// between the NIC atomic's read and its write, which is how every naive lock here
// breaks; one execution that does both is enough to see the hazard, whatever the
// interleaving.
type mixedMonitor struct {
	on    bool
	words []mixedWord // the words that atomics target: few in a check, many in a lock table
	index map[rdma.Ptr]int
}

// mixedIndexAt is the number of words from which a map finds them.
const mixedIndexAt = 64

type site struct {
	thread int
	op     rdma.Op
}

type mixedWord struct {
	addr     rdma.Ptr
	nic, cpu site // first of each; thread -1: none yet
	reported bool
}

func (m *mixedMonitor) access(r *Run, id int, op rdma.Op, p rdma.Ptr) *Finding {
	var w *mixedWord
	if len(m.words) >= mixedIndexAt {
		if i, ok := m.index[p]; ok {
			w = &m.words[i]
		}
	} else {
		for i := range m.words {
			if m.words[i].addr == p {
				w = &m.words[i]
				break
			}
		}
	}
	if w == nil {
		m.words = append(m.words, mixedWord{addr: p, nic: site{thread: -1}, cpu: site{thread: -1}})
		w = &m.words[len(m.words)-1]
		switch {
		case len(m.words) > mixedIndexAt:
			m.index[p] = len(m.words) - 1
		case len(m.words) == mixedIndexAt:
			// From here on a map finds the words (kept, cleared, from one
			// execution to the next).
			if m.index == nil {
				m.index = make(map[rdma.Ptr]int, 4*mixedIndexAt)
			}
			for i := range m.words {
				m.index[m.words[i].addr] = i
			}
		}
	}
	s := site{thread: id, op: op}
	if op.IsVerb() {
		if w.nic.thread < 0 {
			w.nic = s
		}
	} else if w.cpu.thread < 0 {
		w.cpu = s
	}
	if w.reported || w.nic.thread < 0 || w.cpu.thread < 0 {
		return nil
	}
	w.reported = true
	return &Finding{Property: MixedAtomicity, Key: p.String(), Message: fmt.Sprintf(
		"%s is the target of a NIC atomic (%s %s) and of a CPU %s (%s %s): under atomic scope hca the CPU operation can land between the NIC atomic's read and its write",
		r.Word(p), r.Name(w.nic.thread), w.nic.op, cpuKind(w.cpu.op), r.Name(w.cpu.thread), w.cpu.op)}
}

func cpuKind(op rdma.Op) string {
	if op == rdma.OpStore {
		return "write"
	}
	return "atomic"
}
