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

// waitForever waits for a word nobody sets: every thread spins on it (home
// threads with loads, the others with READs, two words an iteration when
// two is set), or, with flags, each raises its own flag (a store of the same
// value every iteration) and waits for every other thread's to be down.
type waitForever struct {
	home       int
	word       rdma.Ptr
	two, flags bool
	flag       []rdma.Ptr
}

func (l *waitForever) read(t rdma.Thread, p rdma.Ptr) uint64 {
	if t.Node() == l.home {
		return t.Load(p)
	}
	return t.RRead(p)
}

func (l *waitForever) Acquire(t rdma.Thread) {
	if l.flags {
		for {
			t.RWrite(l.flag[t.ID()], 1)
			up := false
			for i, f := range l.flag {
				if i != t.ID() && t.RRead(f) != 0 {
					up = true
					break
				}
			}
			if !up {
				return
			}
			t.Pause()
		}
	}
	for {
		a := l.read(t, l.word)
		b := uint64(1)
		if l.two {
			b = l.read(t, l.word.Add(1))
		}
		if a != 0 && b != 0 {
			return
		}
		t.Pause()
	}
}

func (l *waitForever) Release(rdma.Thread) {}

// TestStateSearchDeadlock: the search never parks a spinning thread, so it
// finds a deadlock by running every thread that is not yet idle alone until
// its spin iteration changes nothing: with one word or two per iteration,
// and with a store of the same value in every iteration. The deadlock it
// reports replays (Run replays it, and fails if it does not), with the
// fewest steps too.
func TestStateSearchDeadlock(t *testing.T) {
	for _, c := range []struct {
		name       string
		two, flags bool
	}{{"one word", false, false}, {"two words", true, false}, {"same-value store", false, true}} {
		lock := func(s rdma.Setup) (rdma.Lock, error) {
			l := &waitForever{home: s.Home(), word: s.Alloc(s.Home(), 2, "word"), two: c.two, flags: c.flags}
			for range s.Threads() {
				l.flag = append(l.flag, s.Alloc(s.Home(), 1, "flag"))
			}
			return l, nil
		}
		for _, minimal := range []bool{false, true} {
			rep, err := checker.StateSearch{Config: oracleConfig(1, 2, 1), Workload: checker.Lock(lock), Minimal: minimal}.Run()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if rep.Shortest == nil || rep.Shortest.Finding.Property != "deadlock" || rep.Kinds["deadlock"] == 0 {
				t.Errorf("%s (minimal %v): kinds %v, shortest %+v; want a deadlock", c.name, minimal, rep.Kinds, rep.Shortest)
				continue
			}
			t.Logf("%s (minimal %v): %d states, %v, %d steps: %s", c.name, minimal, rep.States, rep.Kinds, rep.Shortest.Finding.Step, rep.Shortest.Finding.Message)
		}
	}
}
