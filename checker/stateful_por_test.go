package checker_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
)

// TestStateSearchPOR: the search with partial-order reduction reaches the
// same final memories, and finds the same kinds of violation, as the
// unreduced search, on safe and broken locks; it stores no more states.
func TestStateSearchPOR(t *testing.T) {
	for _, c := range []struct {
		alg           string
		local, remote int
		k             int
	}{
		{"spin", 2, 2, 1}, {"mcs", 1, 2, 1}, {"alock", 1, 2, 1}, {"spin", 1, 2, 2},
		{"spin-naive", 1, 2, 1}, {"mcs-naive", 1, 2, 1}, {"ticket-naive", 1, 2, 1},
	} {
		lock := lockOf(t, c.alg, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
		cfg := oracleConfig(c.local, c.remote, c.k)
		full, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock)}.Run()
		if err != nil {
			t.Fatal(err)
		}
		red, err := checker.StateSearch{Config: cfg, Workload: checker.Lock(lock), POR: true}.Run()
		if err != nil {
			t.Fatalf("%s: %v", c.alg, err)
		}
		t.Logf("%s %d+%d x%d: %d states, %d transitions; reduced %d, %d", c.alg, c.local, c.remote, c.k,
			full.States, full.Transitions, red.States, red.Transitions)
		if !red.Complete || !red.Reduced || !slices.Equal(full.Finals, red.Finals) || red.States > full.States {
			t.Errorf("%s: reduced search: complete %v, finals %d (want %d), states %d (unreduced %d)",
				c.alg, red.Complete, red.FinalStates, full.FinalStates, red.States, full.States)
		}
		for k := range full.Kinds {
			if red.Kinds[k] == 0 {
				t.Errorf("%s: the reduced search misses %s", c.alg, k)
			}
		}
		if len(red.Kinds) != len(full.Kinds) {
			t.Errorf("%s: findings %v, unreduced %v", c.alg, red.Kinds, full.Kinds)
		}
	}
}

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

// TestStateSearchCarryChecked: a retry loop that carries more than it tells
// rdma.Carry is caught: the search stops with an error naming the thread.
func TestStateSearchCarryChecked(t *testing.T) {
	lock := func(s rdma.Setup) (rdma.Lock, error) {
		return &lyingSwap{word: s.Alloc(s.Home(), 1, "word"), out: s.Alloc(s.Home(), 1, "out")}, nil
	}
	_, err := checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: checker.Lock(lock)}.Run()
	if err == nil || !strings.Contains(err.Error(), "not exact") {
		t.Fatalf("err = %v, want the exactness error", err)
	}
	t.Log(err)
}

// lyingForget takes a ticket, promises through rdma.Forget that nothing it
// read matters any more, and then writes the ticket.
type lyingForget struct{ word, out rdma.Ptr }

func (l *lyingForget) Acquire(t rdma.Thread) {
	v := t.RFAA(l.word, 1)
	rdma.Forget(t, "lie")
	t.RWrite(l.out, v)
}

func (l *lyingForget) Release(rdma.Thread) {}

// TestStateSearchForgetChecked: a lock that uses a value after promising
// rdma.Forget that it would not is caught.
func TestStateSearchForgetChecked(t *testing.T) {
	lock := func(s rdma.Setup) (rdma.Lock, error) {
		return &lyingForget{word: s.Alloc(s.Home(), 1, "word"), out: s.Alloc(s.Home(), 1, "out")}, nil
	}
	_, err := checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: checker.Lock(lock)}.Run()
	if err == nil || !strings.Contains(err.Error(), "not exact") {
		t.Fatalf("err = %v, want the exactness error", err)
	}
	t.Log(err)
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
