package workload

import (
	"errors"
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// The operations of a lock history: the lock's acquire and release, and, inside
// the critical section, the read and the write of the register it protects.
const (
	OpAcquire = "acquire"
	OpRelease = "release"
	OpRead    = "read"
	OpWrite   = "write"
)

// endlessCounterWrap: an endless LockCounter (no operation count) counts modulo
// this, so that its memory takes finitely many values (a stateful search of an
// endless workload needs finitely many states).
const endlessCounterWrap = 4

// LockCounter is the counter-under-lock workload: every thread takes the lock
// OpsPerThread times; inside the critical section it does a non-atomic
// read-modify-write of a counter on the home node (CPU load and store for
// threads on the home node, RDMA READ and WRITE for the others). A broken lock
// shows as two threads in the critical section (mutual exclusion, judged at
// every entry), as a counter that ends short (lost update), or as a history
// that is not linearizable as a lock protecting a register.
type LockCounter struct {
	Lock LockFactory
}

// Build implements Workload.
func (w LockCounter) Build(s Setup) (*Program, error) {
	if w.Lock == nil {
		return nil, errors.New("lock counter: no lock constructor (LockCounter.Lock is nil)")
	}
	home := s.Home()
	counter := s.Alloc(home, 1, "counter")
	lock, err := w.Lock(s)
	if err != nil {
		return nil, fmt.Errorf("building the lock: %v", err)
	}
	if lock == nil {
		return nil, errors.New("building the lock: the constructor returned a nil lock and no error")
	}
	ops := s.OpsPerThread()
	want := uint64(len(s.Threads()) * ops)
	return &Program{
		Thread: func(t *Thread) {
			local := t.Node() == home
			for i := 0; ops <= 0 || i < ops; i++ { // ops 0: until stopped
				// Nothing is carried from one round to the next but the
				// round's index (and, when endless, not even that).
				if ops > 0 {
					t.Round(i)
				} else {
					t.Round(0)
				}
				op := t.Call(OpAcquire)
				lock.Acquire(t)
				t.Return(op)
				t.Enter()
				var v uint64
				op = t.Call(OpRead)
				if local {
					v = t.Load(counter)
				} else {
					v = t.RRead(counter)
				}
				t.Return(op, v)
				next := v + 1
				if ops <= 0 {
					next %= endlessCounterWrap
				}
				op = t.Call(OpWrite, next)
				if local {
					t.Store(counter, next)
				} else {
					t.RWrite(counter, next)
				}
				t.Return(op)
				t.Exit()
				op = t.Call(OpRelease)
				lock.Release(t)
				t.Return(op)
			}
		},
		Final: func(peek func(rdma.Ptr) uint64) *Finding {
			if got := peek(counter); got != want {
				return &Finding{Property: LostUpdate, Message: fmt.Sprintf("the counter ends at %d after %d critical sections", got, want)}
			}
			return nil
		},
		Spec: LockSpec(),
	}, nil
}

// lockState is the state of a lock protecting a register: the holder
// (lockFree when free) and the register's value.
type lockState struct {
	Holder int
	Reg    uint64
}

const lockFree = -1

// LockSpec is the sequential specification of a lock protecting a register
// (the counter), 0 initially:
//
//   - acquire(t) is legal iff the lock is free; the lock becomes held by t;
//   - release(t) is legal iff t holds the lock; the lock becomes free;
//   - read(t) returning v is legal iff t holds the lock and the register is v;
//   - write(t, v) is legal iff t holds the lock; the register becomes v.
//
// So a linearizability check catches both a broken lock (two critical sections
// that overlap in real time) and a lost update (a read that does not see the
// previous critical section's write), even when the lock operations alone look
// fine.
func LockSpec() *Spec { return lockSpec }

var lockSpec = &Spec{
	Name: "lock-protected register",
	Init: func() any { return lockState{Holder: lockFree} },
	Step: func(state any, op *Op) (bool, any) {
		s := state.(lockState)
		switch op.Name {
		case OpAcquire:
			if s.Holder == lockFree {
				s.Holder = op.Thread
				return true, s
			}
		case OpRelease:
			if s.Holder == op.Thread {
				s.Holder = lockFree
				return true, s
			}
		case OpRead:
			if s.Holder == op.Thread && (!op.HasResult || s.Reg == op.Result) {
				return true, s
			}
		case OpWrite:
			if s.Holder == op.Thread {
				s.Reg = op.Arg
				return true, s
			}
		}
		return false, s
	},
	DescribeState: func(state any, name func(int) string) string {
		s := state.(lockState)
		if s.Holder == lockFree {
			return fmt.Sprintf("free, register %d", s.Reg)
		}
		return fmt.Sprintf("held by %s, register %d", name(s.Holder), s.Reg)
	},
}
