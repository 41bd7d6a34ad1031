package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/rdmasim/rdmasim/rdma"
)

// Option is one enabled step offered to a Chooser: a thread's next CPU operation,
// one pending NIC event of a verb the thread posted, or the early wake of a parked
// thread.
type Option struct {
	Thread int32    // the thread the step belongs to
	Op     rdma.Op  // the thread's operation
	Addr   rdma.Ptr // the word the step touches (0 for a wake)
	Write  bool     // the step may write Addr
	Wake   bool     // the step resumes a parked thread before a write it waits for
	// Lock: the step takes part in the NIC's per-address atomic lock (the halves
	// of a NIC atomic, its arrival in the atomic unit's queue): two such steps on
	// one address are dependent even when neither writes memory.
	Lock bool
	Ref  int32 // model-private: which event of the operation
	// At is when the step is due, in simulated nanoseconds, in timed mode
	// (Config.Timed); 0 otherwise.
	At int64
}

// Dependent reports whether two steps may not commute: they touch the same word
// and one may write it, or both take part in its NIC atomic lock. Steps of
// different threads that are independent lead to the same state in either order.
func Dependent(a, b Option) bool {
	return a.Addr == b.Addr && a.Addr != 0 && (a.Write || b.Write || (a.Lock && b.Lock))
}

// StepObserver is implemented by choosers that must see every fired step, not
// only the decisions (the DFS explorer computes happens-before from them).
type StepObserver interface {
	Fired(f *Fired)
}

// Fired describes one fired step to a StepObserver.
type Fired struct {
	Option
	// OpSeq numbers the operations of the step's thread: the steps of one
	// operation (the words of a multi-word READ, the halves of a NIC atomic)
	// share it.
	OpSeq int
	// Woken lists the parked threads this step woke by changing a word they read.
	Woken []int32
}

// Chooser decides every interleaving choice of an execution. Choose is called
// only when at least two options are enabled; it returns the index of the one to
// run, or a negative number to give the execution up. Options come in a
// deterministic order: the model's steps by thread, then
// by event, then the early wakes of parked threads by thread.
type Chooser interface {
	Choose(options []Option) int
}

// Decision is one choice made during an execution: option Pick of Of enabled.
type Decision struct {
	Pick, Of int
	// Step is the number of the step the pick fired (the Step of its trace
	// events), filled in by the engine; a replay ignores it. With it, a reader
	// of a recorded execution finds the event of every decision without
	// running the execution again.
	Step int
}

// Random picks uniformly among the enabled options, from a seeded generator.
type Random struct{ rng *rand.Rand }

// NewRandom returns a Random chooser for the given seed.
func NewRandom(seed uint64) *Random {
	return &Random{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// Choose implements Chooser.
func (r *Random) Choose(options []Option) int { return r.rng.IntN(len(options)) }

// PCT is probabilistic concurrency testing (Burckhardt et al., ASPLOS'10): every
// thread gets a random distinct priority, the highest-priority enabled thread
// runs, and at Depth-1 randomly chosen steps the running thread drops to the
// lowest priority. A bug of depth d is found with probability at least
// 1/(n·k^(d-1)) for n threads and k steps.
type PCT struct {
	rng         *rand.Rand
	prio        []int // priority per thread; higher runs first
	changeAt    []int // step numbers (Choose calls) where the running thread is demoted
	steps       int
	nextLowPrio int
}

// NewPCT returns a PCT chooser of depth d for threads threads, with change points
// drawn among the first k choices (k should be about the number of choices of an
// execution).
func NewPCT(seed uint64, threads, depth, k int) *PCT {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	p := &PCT{rng: rng}
	// Initial priorities depth … depth+threads-1, in random order; demoted threads
	// get depth-1, depth-2, …, 1, below every initial priority.
	p.prio = make([]int, threads)
	for i, v := range rng.Perm(threads) {
		p.prio[i] = depth + v
	}
	if k < 1 {
		k = 1
	}
	for range depth - 1 {
		p.changeAt = append(p.changeAt, 1+rng.IntN(k))
	}
	p.nextLowPrio = depth - 1
	return p
}

// Choose implements Chooser.
func (p *PCT) Choose(options []Option) int {
	p.steps++
	best := p.pick(options)
	for _, c := range p.changeAt {
		if c == p.steps {
			th := options[best].Thread
			p.prio[th] = p.nextLowPrio
			p.nextLowPrio--
			best = p.pick(options)
		}
	}
	return best
}

// pick returns the option of the highest-priority thread; among several options of
// that thread (the words of a multi-word READ), a random one.
func (p *PCT) pick(options []Option) int {
	for _, o := range options {
		// More threads than NewPCT was told of: the newcomers get priorities
		// above every other, in order of appearance.
		for int(o.Thread) >= len(p.prio) {
			p.prio = append(p.prio, slices.Max(p.prio)+1)
		}
	}
	best, n := -1, 0
	for i, o := range options {
		switch {
		case best < 0 || p.prio[o.Thread] > p.prio[options[best].Thread]:
			best, n = i, 1
		case o.Thread == options[best].Thread:
			n++
			if p.rng.IntN(n) == 0 {
				best = i
			}
		}
	}
	return best
}

// Replay repeats a recorded decision list. If the execution asks for a choice the
// list does not describe (a different number of options, or more choices than
// recorded) it stops following it and Err reports where it diverged.
type Replay struct {
	decisions []Decision
	next      int
	err       error
}

// NewReplay returns a chooser that replays decisions.
func NewReplay(decisions []Decision) *Replay { return &Replay{decisions: decisions} }

// Choose implements Chooser.
func (r *Replay) Choose(options []Option) int {
	if r.err != nil {
		return 0
	}
	if r.next >= len(r.decisions) {
		r.err = fmt.Errorf("replay diverged at choice %d: the execution asks for more choices than the %d recorded", r.next+1, len(r.decisions))
		return 0
	}
	d := r.decisions[r.next]
	if d.Of != len(options) || d.Pick < 0 || d.Pick >= d.Of {
		r.err = fmt.Errorf("replay diverged at choice %d: recorded option %d of %d, the execution offers %d options", r.next+1, d.Pick, d.Of, len(options))
		return 0
	}
	r.next++
	return d.Pick
}

// Err reports a divergence, or nil.
func (r *Replay) Err() error { return r.err }

// Unused reports how many recorded decisions were not consumed.
func (r *Replay) Unused() int { return len(r.decisions) - r.next }
