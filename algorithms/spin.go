package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// spinLock is a test-and-set lock on one word on the home: 0 free, 1 held.
//
// In "spin" every thread takes it with RDMA CAS and frees it with RDMA WRITE, host
// threads through loopback, so every atomic on the word is a NIC atomic and the NIC
// serialises them. In "spin-naive" threads classified local use a CPU CAS and a
// CPU store instead; a host CAS can then land between the NIC's read of 0 and its
// write of 1 for a remote RCAS, and both threads own the lock.
type spinLock struct {
	word rdma.Ptr
	cpu  []bool // by thread ID: the thread uses CPU operations (naive variant, local threads)
}

func newSpin(s rdma.Setup, _ Options) (rdma.Lock, error) { return newSpinLock(s, false) }

func newSpinNaive(s rdma.Setup, _ Options) (rdma.Lock, error) { return newSpinLock(s, true) }

func newSpinLock(s rdma.Setup, naive bool) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("spin: %w", err)
	}
	l := &spinLock{
		word: s.Alloc(s.Home(), 1, "lock"),
		cpu:  make([]bool, len(s.Threads())),
	}
	if naive {
		l.cpu = localFlags(s)
	}
	return l, nil
}

func (l *spinLock) Acquire(t rdma.Thread) {
	if l.cpu[t.ID()] {
		for t.CAS(l.word, 0, 1) != 0 {
			t.Pause()
		}
		return
	}
	for t.RCAS(l.word, 0, 1) != 0 {
		t.Pause()
	}
}

func (l *spinLock) Release(t rdma.Thread) {
	if l.cpu[t.ID()] {
		t.Store(l.word, 0)
		return
	}
	t.RWrite(l.word, 0)
}
