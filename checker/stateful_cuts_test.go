package checker_test

import (
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
)

// lyingSwap takes a word with a CAS retry loop that claims, through
// rdma.Carry, to carry only the value it read, but also counts its failures
// and writes the count after the loop.
type lyingSwap struct{ word, out rdma.Ptr }

func (l *lyingSwap) Acquire(t rdma.Thread) {
	cur, fails := t.RRead(l.word), uint64(0)
	for {
		rdma.Carry(t, cur)
		old := t.RCAS(l.word, cur, cur+1)
		if old == cur {
			break
		}
		cur, fails = old, fails+1
	}
	t.RWrite(l.out, fails)
}

func (l *lyingSwap) Release(rdma.Thread) {}

// lyingForget takes a ticket, promises through rdma.Forget that nothing it
// read matters any more, and then writes the ticket.
type lyingForget struct{ word, out rdma.Ptr }

func (l *lyingForget) Acquire(t rdma.Thread) {
	v := t.RFAA(l.word, 1)
	rdma.Forget(t, "lie")
	t.RWrite(l.out, v)
}

func (l *lyingForget) Release(rdma.Thread) {}

// TestStateSearchPromisesChecked: a lock that carries more through a retry
// loop than it tells rdma.Carry, or uses a value after promising rdma.Forget
// it would not, is caught: the search stops with an error naming the thread.
func TestStateSearchPromisesChecked(t *testing.T) {
	for name, newLock := range map[string]func(word, out rdma.Ptr) rdma.Lock{
		"carry":  func(word, out rdma.Ptr) rdma.Lock { return &lyingSwap{word: word, out: out} },
		"forget": func(word, out rdma.Ptr) rdma.Lock { return &lyingForget{word: word, out: out} },
	} {
		lock := func(s rdma.Setup) (rdma.Lock, error) {
			return newLock(s.Alloc(s.Home(), 1, "word"), s.Alloc(s.Home(), 1, "out")), nil
		}
		_, err := checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: checker.Lock(lock)}.Run()
		if err == nil || !strings.Contains(err.Error(), "not exact") {
			t.Errorf("%s: err = %v, want the exactness error", name, err)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestStateSearchFinalIgnore: leaving the descriptors' first words (MCS's
// locked flags) out of the final memories gives the explicit-state checker's
// figures for MCS 1+2 threads: 13 with one acquire (unchanged), 16 with two
// (109 with the flags).
func TestStateSearchFinalIgnore(t *testing.T) {
	if raceEnabled {
		t.Skip("a hundred thousand states: too slow under -race")
	}
	lock := lockOf(t, "mcs", algorithms.Options{})
	for _, c := range []struct {
		k, all, without int
	}{{1, 13, 13}, {2, 109, 16}} {
		var got []int
		for _, ignore := range [][]string{nil, {"desc.*[0]"}} {
			rep, err := checker.StateSearch{Config: oracleConfig(1, 2, c.k), Workload: checker.Lock(lock), FinalIgnore: ignore}.Run()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, rep.FinalStates)
		}
		if got[0] != c.all || got[1] != c.without {
			t.Errorf("mcs 1+2×%d: final states %d, without the locked flags %d; want %d, %d", c.k, got[0], got[1], c.all, c.without)
		}
	}
	_, err := checker.StateSearch{Config: oracleConfig(1, 1, 1), Workload: checker.Lock(lock), FinalIgnore: []string{"nosuch*"}}.Run()
	if err == nil || !strings.Contains(err.Error(), "matches no word") {
		t.Errorf("an unmatched pattern: err = %v", err)
	}
}
