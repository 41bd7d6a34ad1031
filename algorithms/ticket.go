package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// ticketLock is a ticket lock on two words on the home: next_ticket, the next
// ticket to hand out, and now_serving, the ticket that may enter.
//
// Threads classified local take a ticket with a CPU FAA and spin on now_serving
// with CPU loads; remote threads use RDMA FAA and READ. It is "ticket-naive": a CPU
// FAA between the NIC's read and write of an RDMA FAA is overwritten by the NIC's
// write, so either two threads hold the same ticket (two owners) or a ticket is
// skipped and nobody ever holds it (deadlock). There is no safe twin in the
// registry: with loopback for everyone it is a correct but unremarkable lock.
type ticketLock struct {
	next, serving rdma.Ptr
	cpu           []bool   // by thread ID: local threads use CPU operations
	mine          []uint64 // by thread ID: the ticket the thread holds, from Acquire to Release
}

func newTicketNaive(s rdma.Setup, _ Options) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("ticket-naive: %w", err)
	}
	l := &ticketLock{
		next:    s.Alloc(s.Home(), 1, "next_ticket"),
		serving: s.Alloc(s.Home(), 1, "now_serving"),
		cpu:     localFlags(s),
	}
	l.mine = make([]uint64, len(l.cpu))
	return l, nil
}

func (l *ticketLock) Acquire(t rdma.Thread) {
	id := t.ID()
	if l.cpu[id] {
		my := t.FAA(l.next, 1)
		for t.Load(l.serving) != my {
			t.Pause()
		}
		l.mine[id] = my
		return
	}
	my := t.RFAA(l.next, 1)
	for t.RRead(l.serving) != my {
		t.Pause()
	}
	l.mine[id] = my
}

func (l *ticketLock) Release(t rdma.Thread) {
	id := t.ID()
	if l.cpu[id] {
		t.Store(l.serving, l.mine[id]+1)
		return
	}
	t.RWrite(l.serving, l.mine[id]+1)
}
