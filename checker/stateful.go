package checker

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// StateSearch explores every reachable state of one configuration, each once
// (stateful model checking; see package sim, "State caching"): a depth-first
// search over states identified by 64-bit fingerprints, or, with Minimal, a
// search in order of steps that gives the counterexample with the fewest
// steps of all.
//
// It checks mutual exclusion (at every entry), deadlock and lost update (at
// the end); linearizability, bypass bounds and starvation-by-step-bound are
// not judged (they depend on the path, not the state). It runs untimed
// configurations whose threads use blocking verbs and sequentially
// consistent CPUs (nicmodel.Snapshot).
type StateSearch struct {
	Config   Config
	Workload workload.Workload
	// MaxStates stops the search after this many states (0: no limit); the
	// report is then not Complete.
	MaxStates int64
	// StopAtFirst stops at the first violation.
	StopAtFirst bool
	// NoCache turns the visited set off: every path is followed to its end,
	// or until it comes back to a state on it (a spin loop's cycle): a tree
	// search over the simple paths, for cross-checks on tiny configurations.
	NoCache bool
	// Minimal searches in order of steps (a shortest-path search over
	// states): the first violation found is one with the fewest steps.
	Minimal bool
	// Progress, if set, is called about every ProgressEvery states.
	Progress      func(StateProgress)
	ProgressEvery int64
	// Stop, if set, ends the search early once closed (not Complete).
	Stop <-chan struct{}
	// Lassos records the state graph and, once the search is complete, looks
	// for a starvation lasso (see Lasso); meant for endless workloads
	// (Config.Acquires 0, which a StateSearch accepts untimed).
	Lassos bool
	// Shards > 1 runs shard Shard (0 … Shards-1) of the search: every shard
	// runs the same search down to depth ShardDepth (default 8) and keeps the
	// states there, the frontier, for later; shard i then explores from the
	// frontier states whose index is i modulo Shards. Record, if set, sees
	// every state a shard stores; the union of the shards' records (see
	// StateRecord) is the whole search's (rdmasim merge computes it). Not with
	// Workers, Minimal or Lassos.
	Shard, Shards, ShardDepth int
	Record                    func(StateRecord)
	// FinalIgnore leaves the words whose labels match any of these patterns
	// ("*" matches any run of characters: "desc.*[0]" is word 0 of every
	// descriptor) out of the final memories that FinalStates counts, to
	// compare with a model that does not keep them. It changes nothing else.
	FinalIgnore []string
	// Workers > 1 runs the depth-first search on that many goroutines sharing
	// one visited set (not with Minimal, Lassos or NoCache); the figures and
	// the verdict do not depend on it.
	Workers int
	// VisitedBytes > 0 keeps 32 bits of each state's fingerprint, instead of
	// 64, in a visited set of that size that never grows (not with Minimal):
	// half the memory, more states lost to collisions (OmittedEstimate says
	// how many are expected), and the search stops, not Complete, with
	// VisitedFull once the set is 90 % full.
	VisitedBytes int64
}

// newVisited is the search's visited set (see VisitedBytes).
func (x *StateSearch) newVisited() visited {
	if x.VisitedBytes > 0 {
		return compactVisited(x.VisitedBytes)
	}
	return visited{}
}

// StateRecord is one state a (sharded) search stored: its fingerprint, how
// many transitions leave it (Out; -1 when this shard stored it without
// expanding it: another shard's frontier state), and whether every thread
// finished there (with the fingerprint of its final memory) or it violates a
// property. The union over shards, by fingerprint, taking the Out ≥ 0 of any
// record that has one, gives the whole search's states (distinct
// fingerprints), transitions (sum of Out), final states and findings.
type StateRecord struct {
	FP       uint64
	Out      int32
	Final    bool
	FinalMem uint64
	Finding  bool
}

// StateProgress is what a running search reports.
type StateProgress struct {
	States, Transitions int64
	Elapsed             time.Duration
}

// StateReport is the outcome of a StateSearch.
type StateReport struct {
	Config Config // as explored (arbitration any)
	// Complete: every reachable state was explored (up to hash compaction:
	// see OmittedEstimate).
	Complete bool
	// States: distinct states stored; Transitions: steps fired.
	States, Transitions int64
	// FinalStates: distinct final memories of the states in which every
	// thread finished; Finals lists their fingerprints, sorted.
	FinalStates int
	Finals      []uint64
	Findings    int
	Kinds       map[string]int
	// Shortest is a violating execution, replayable: the first found, or
	// with Minimal the one with the fewest steps (then Minimal is true).
	Shortest *Counterexample
	Minimal  bool
	// OmittedEstimate is the expected number of states the search never
	// explored because their 64-bit fingerprint equalled an earlier state's
	// (hash compaction): about States²/2⁶⁵; with VisitedBytes, because their
	// 32 bits equalled those of a state in a slot their insertion probed.
	OmittedEstimate float64
	// VisitedFull: the compact visited set (StateSearch.VisitedBytes) filled
	// up and the search stopped there.
	VisitedFull bool
	// MemoryBytes is the visited set's size plus the peak of saved states.
	MemoryBytes int64
	MaxDepth    int
	Elapsed     time.Duration
	Interrupted bool
	// Lasso is a starvation lasso (StateSearch.Lassos), replayed; nil when
	// the complete search found none.
	Lasso *Lasso
}

// stateSys is the system a StateSearch drives: the runner's configuration and
// workload, rebuilt in a fresh engine at every restore.
type stateSys struct {
	// ignore: StateSearch.FinalIgnore; finalMask: the words it marks.
	ignore    []string
	finalMask [][]bool
	r         *runner
	nic       *nicmodel.NIC
	run       workload.Run
	eng       *sim.StateEngine
	simc      sim.Scratch
	opts      workload.Options
	// deadlockAhead: a saved state to come back to, what it learnt (by the
	// thread's and the model's state: the thread is not only spinning), and
	// the decisions to the deadlock it found.
	look snap
	busy keyCache
	tail []sim.Decision
	// lookOK: look holds the state the engine is in, as it was when
	// restores and the engine's steps were lookAt (a step or a restore
	// since changes them).
	lookOK   bool
	lookAt   stateTok
	restores int64
}

// stateTok tells whether the engine moved: restores so far, and its steps.
type stateTok struct {
	restores int64
	steps    int
}

// maxPositions is the engines' MaxPositions (tests make it small).
var maxPositions = sim.DefaultMaxPositions

// snap is one saved state.
type snap struct {
	nic nicmodel.Snapshot
	eng sim.EngineState
	run workload.RunState
}

func newStateSys(cfg Config, wl workload.Workload, finalIgnore []string) (*stateSys, error) {
	if cfg.Timing != nil {
		return nil, errors.New("states: timed mode is not supported")
	}
	cfg.Linearizability = false
	cfg.BypassBound = 0
	if cfg.Acquires == 0 && cfg.StepBound == 0 {
		cfg.StepBound = math.MaxInt32 // validates an endless workload; a state search has no step bound
	}
	r, err := newRunner(cfg, wl)
	if err != nil {
		return nil, err
	}
	nic, err := nicmodel.New(r.nicCfg)
	if err != nil {
		return nil, err
	}
	return &stateSys{r: r, nic: nic, ignore: finalIgnore}, nil
}

// fresh builds the program in a fresh engine; begin runs it to the initial
// state. The program is built once: a restore keeps it, and the coroutines of
// the threads that have not moved (see sim.StateEngine.Restore).
func (s *stateSys) fresh(begin bool) error {
	if s.eng != nil {
		s.eng.Stop()
		s.eng = nil
	}
	s.nic.Reset()
	w := s.r
	prog, err := w.build(s.nic)
	if err != nil {
		return err
	}
	s.opts = workload.Options{Names: w.names, Label: s.nic.Label, GlobalAtomics: w.nicCfg.Scope == nicmodel.ScopeGlob}
	s.run.Reset(prog, len(w.infos), s.opts)
	if !s.run.Saveable() {
		return errors.New("states: the workload has monitors of its own, which a saved state does not cover")
	}
	run := &s.run
	body := func(st *sim.Thread) { prog.Thread(run.Thread(st.ID(), st)) }
	s.eng, err = sim.NewStateEngine(s.nic, sim.Config{Scratch: &s.simc}, w.specs, body)
	if err != nil {
		return err
	}
	s.eng.MaxPositions = maxPositions
	if len(s.ignore) > 0 && s.finalMask == nil {
		labels := s.nic.WordLabels()
		var unmatched []string
		for _, pat := range s.ignore {
			if !slices.ContainsFunc(labels, func(l string) bool { return wildMatch(pat, l) }) {
				unmatched = append(unmatched, pat)
			}
		}
		if len(unmatched) > 0 {
			return fmt.Errorf("states: final-ignore %s: matches no word (the words: %s)", strings.Join(unmatched, ", "), strings.Join(labels, ", "))
		}
		s.finalMask = s.nic.WordMask(func(l string) bool {
			return slices.ContainsFunc(s.ignore, func(pat string) bool { return wildMatch(pat, l) })
		})
	}
	if begin {
		s.eng.Begin()
	}
	return nil
}

// finalFP is the fingerprint of the final memory, without the words
// StateSearch.FinalIgnore leaves out.
func (s *stateSys) finalFP() uint64 {
	if s.finalMask == nil {
		return s.nic.Fingerprint()
	}
	return s.nic.FingerprintExcept(s.finalMask)
}

// wildMatch reports whether s matches pattern, in which "*" matches any run
// of characters and every other character itself.
func wildMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func (s *stateSys) save(sn *snap) error {
	if s.lookOK && s.lookAt == (stateTok{s.restores, s.eng.Steps()}) {
		// deadlockAhead saved this very state and came back to it: take its
		// copy (sn's buffers become the look's).
		*sn, s.look = s.look, *sn
		s.lookOK = false
		return nil
	}
	if err := s.nic.TakeSnapshot(&sn.nic); err != nil {
		return err
	}
	s.eng.Save(&sn.eng)
	s.run.SaveState(&sn.run)
	return nil
}

func (s *stateSys) restore(sn *snap) {
	s.restores++
	s.eng.Restore(&sn.eng)
	s.nic.RestoreSnapshot(&sn.nic, s.eng.PendingOp)
	s.run.LoadState(&sn.run)
}

func (s *stateSys) fingerprint() uint64 {
	return mix64(s.nic.StateHash() ^ mix64(s.eng.Hash()))
}

// mix64 is SplitMix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// judge returns the finding of the state the engine is in: a violation seen
// while firing, a deadlock, or, at the end, a lost update. end reports that
// every thread finished. A deadlock found ahead (see deadlockAhead) is
// reached from the state by the decisions in s.tail; otherwise s.tail is
// empty.
func (s *stateSys) judge() (f *sim.Finding, end bool, opts []sim.Option, err error) {
	s.tail = s.tail[:0]
	if f := s.eng.Finding(); f != nil {
		return f, false, nil, nil
	}
	if s.eng.Live() == 0 {
		if wf := s.run.Final(s.nic.Peek); wf != nil {
			return &sim.Finding{Property: wf.Property, Message: wf.Message, Step: s.eng.Steps()}, true, nil, nil
		}
		return nil, true, nil, nil
	}
	opts = s.eng.Options()
	if len(opts) == 0 || s.eng.Stuck(opts) {
		s.eng.Deadlock()
		return s.eng.Finding(), false, nil, nil
	}
	f, ran, err := s.deadlockAhead(opts)
	if f != nil || err != nil {
		return f, false, nil, err
	}
	if ran {
		opts = s.eng.Options() // (the slice was reused)
	}
	return nil, false, opts, nil
}

// maxSoloSteps bounds the steps deadlockAhead runs one thread alone: a
// thread that takes more without finishing a spin iteration that changes
// nothing is not spinning (and would not park either).
const maxSoloSteps = 10_000

// deadlockAhead decides whether the state the engine is in, with options
// opts, is a deadlock. The search never parks a thread (sim.Config.
// KeepSpinning), so a deadlock is a state in which every live thread only
// spins: run alone, each would finish a spin iteration that changed nothing
// and read only current values (the engine then calls it idle). Whether a
// thread is idle is the engine's bookkeeping of the path, not part of the
// state, so it is decided here from the state: every live thread that is not
// idle yet is run alone, one after another, until it is, and the state is a
// deadlock if all get there without a write. The answer for one thread
// depends only on its own state and the model's, so a "no" is remembered by
// that, in a cache of bounded size; a thread whose next operation would
// change memory is not spinning.
// A deadlock is returned with the engine's finding at the end of the runs
// (their decisions in s.tail); the engine is put back into the state, and
// ran reports that it moved (opts, the engine's slice, is then stale).
func (s *stateSys) deadlockAhead(opts []sim.Option) (f *sim.Finding, ran bool, err error) {
	n := len(s.r.infos)
	for _, o := range opts {
		if int(o.Thread) >= n {
			return nil, false, nil // an agent's step (a posted request) is enabled
		}
	}
	nicH := s.nic.StateHash()
	for th := range n {
		if s.eng.Done(th) || s.eng.Idle(th) {
			continue
		}
		if s.eng.WouldWrite(th) {
			return nil, false, nil
		}
		if s.busy.has(mix64(s.eng.ThreadHash(th) ^ nicH)) {
			return nil, false, nil
		}
	}
	if err := s.save(&s.look); err != nil {
		return nil, false, err
	}
	f, err = s.ahead(n)
	s.restore(&s.look)
	s.lookOK, s.lookAt = err == nil, stateTok{s.restores, s.eng.Steps()}
	if f == nil {
		s.tail = s.tail[:0]
	}
	return f, true, err
}

// ahead runs deadlockAhead's threads alone, one after another.
func (s *stateSys) ahead(n int) (*sim.Finding, error) {
	for th := range n {
		if s.eng.Done(th) || s.eng.Idle(th) {
			continue
		}
		key := mix64(s.eng.ThreadHash(th) ^ s.nic.StateHash())
		if s.busy.has(key) {
			return nil, nil
		}
		q, err := s.solo(th)
		if err != nil || !q {
			if err == nil {
				s.busy.add(key)
			}
			return nil, err
		}
	}
	if opts := s.eng.Options(); !s.eng.Stuck(opts) {
		return nil, nil
	}
	s.eng.Deadlock()
	return s.eng.Finding(), nil
}

// solo runs thread th alone until it is idle (true), or until it changes
// memory, finishes, breaks a property, cannot step alone or runs too long
// (false). Its decisions are appended to s.tail.
func (s *stateSys) solo(th int) (bool, error) {
	writes := s.eng.Writes()
	for range maxSoloSteps {
		opts := s.eng.Options()
		pick := -1
		for i, o := range opts {
			if s.eng.Owner(o) == th {
				if pick >= 0 {
					return false, nil // two steps of its own: requests in flight
				}
				pick = i
			}
		}
		if pick < 0 {
			return false, nil
		}
		if len(opts) > 1 {
			s.tail = append(s.tail, sim.Decision{Pick: pick, Of: len(opts)})
		}
		s.eng.Fire(opts[pick])
		if err := s.eng.Err(); err != nil {
			return false, err
		}
		switch {
		case s.eng.Finding() != nil, s.eng.Done(th), s.eng.Writes() != writes:
			return false, nil
		case s.eng.Idle(th):
			return true, nil
		}
	}
	return false, nil
}

// keyCache remembers up to keyCacheSize 64-bit keys, a newer one replacing
// an older one with the same low bits: a cache whose misses cost only the
// work it saves.
type keyCache struct{ t []uint64 }

const keyCacheSize = 1 << 18

func (c *keyCache) has(k uint64) bool {
	return c.t != nil && c.t[k&(keyCacheSize-1)] == k|1
}

func (c *keyCache) add(k uint64) {
	if c.t == nil {
		c.t = make([]uint64, keyCacheSize)
	}
	c.t[k&(keyCacheSize-1)] = k | 1
}

// visited is a set of 64-bit fingerprints (hash compaction): open addressing,
// linear probing, 0 stands for fingerprint 0's slot being empty.
//
// Made by compactVisited, it keeps 32 bits of each fingerprint instead, in a
// table of a fixed size that never grows (there is no rehashing without the
// bits left out): half the memory a state, and a state is lost when its 32
// bits equal those of another state in a slot its insertion probes
// (probability 2⁻³² a slot: probes counts them, for OmittedEstimate).
type visited struct {
	t    []uint64
	n    int64
	zero bool
	// Compact: the 32-bit tags, and the occupied slots insertions probed.
	tags   []uint32
	probes int64
}

// compactVisited returns a compact visited set of at most bytes (at least
// 4 KiB): a power of two of 32-bit slots.
func compactVisited(bytes int64) visited {
	n := int64(1024)
	for n*2*4 <= bytes {
		n *= 2
	}
	return visited{tags: make([]uint32, n)}
}

// overfull reports that a compact set is 90 % full: the search stops there
// (a new state would probe about 50 slots; the set cannot grow).
func (v *visited) overfull() bool {
	return v.tags != nil && v.n*10 >= int64(len(v.tags))*9
}

// addTag is add for a compact set. The slot is chosen by the fingerprint's
// low bits and the tag is bits 26 to 57, apart from them and from the bits
// that choose a shared set's stripe (tables of up to 2²⁶ slots).
func (v *visited) addTag(fp uint64) bool {
	tag := uint32(fp >> 26)
	if tag == 0 {
		tag = 1
	}
	mask := uint64(len(v.tags) - 1)
	var probed int64
	for i := fp & mask; ; i = (i + 1) & mask {
		switch v.tags[i] {
		case tag:
			return false
		case 0:
			v.tags[i] = tag
			v.n++
			v.probes += probed
			return true
		}
		probed++
	}
}

// omitted is the expected number of states lost to collisions so far.
func (v *visited) omitted() float64 {
	n := float64(v.n)
	return n*n/math.Exp2(65) + float64(v.probes)/math.Exp2(32)
}

func (v *visited) add(fp uint64) bool {
	if v.tags != nil {
		return v.addTag(fp)
	}
	if fp == 0 {
		if v.zero {
			return false
		}
		v.zero = true
		v.n++
		return true
	}
	if v.full() {
		v.grow()
	}
	mask := uint64(len(v.t) - 1)
	for i := fp & mask; ; i = (i + 1) & mask {
		switch v.t[i] {
		case fp:
			return false
		case 0:
			v.t[i] = fp
			v.n++
			return true
		}
	}
}

// full reports that the table should double before the next insertion: at
// three quarters full, or, once it has 4 Mi slots (32 MB), at 85 %: a new
// state then probes about 23 slots on average instead of 8.5 (Knuth's
// estimate for linear probing), and a table holds 13 % more states before it
// doubles (the largest searches are bound by memory).
func (v *visited) full() bool {
	if len(v.t) >= 1<<22 {
		return v.n*20 >= int64(len(v.t))*17
	}
	return v.n*4 >= int64(len(v.t))*3
}

func (v *visited) grow() {
	old := v.t
	n := max(1<<16, 2*len(old))
	v.t = make([]uint64, n)
	mask := uint64(n - 1)
	for _, fp := range old {
		if fp == 0 {
			continue
		}
		i := fp & mask
		for v.t[i] != 0 {
			i = (i + 1) & mask
		}
		v.t[i] = fp
	}
}

func (v *visited) bytes() int64 { return int64(len(v.t))*8 + int64(len(v.tags))*4 }

// dfsFrame is a state on the DFS stack: its options and the next to fire.
type dfsFrame struct {
	opts  []sim.Option
	next  int
	sn    *snap // saved when the state has more than one option
	node  int32 // in the state graph (StateSearch.Lassos)
	steps int
	since []int  // the run's PendingSince in this state (StateSearch.Lassos)
	given bool   // parallel search: the options left were handed to another worker
	fp    uint64 // StateSearch.NoCache: the state's fingerprint
}

// Run explores.
func (x StateSearch) Run() (StateReport, error) {
	if x.Minimal && x.VisitedBytes > 0 {
		return StateReport{}, errors.New("states: a compact visited set (VisitedBytes) is not for the minimal search")
	}
	if x.Minimal {
		return x.runMinimal()
	}
	if x.Workers > 1 && !x.Lassos && !x.NoCache {
		return x.runParallel()
	}
	start := time.Now()
	s, err := x.system()
	if err != nil {
		return StateReport{}, err
	}
	defer s.stop()
	rep := StateReport{Config: x.Config}
	seen := x.newVisited()
	// limited: MaxStates reached, or the compact visited set full.
	limited := func() bool {
		rep.VisitedFull = seen.overfull()
		return x.MaxStates > 0 && rep.States >= x.MaxStates || rep.VisitedFull
	}
	finals := map[uint64]bool{}
	var stack []dfsFrame
	var pool []*snap
	var best []sim.Decision
	var bestFinding *sim.Finding
	peakSnaps := 0
	every := x.ProgressEvery
	if every <= 0 {
		every = 100_000
	}

	var g *stateGraph
	if x.Lassos {
		if x.NoCache {
			return rep, errors.New("states: lassos need the visited set")
		}
		g = newStateGraph()
	}
	cur := int32(-1) // the state's node in g
	var since []int
	// Sharding: the decisions that lead to the root of the search under way,
	// the frontier kept for later, and whether the shared phase is on.
	var prefix []sim.Decision
	type root struct {
		sn     *snap
		opts   []sim.Option
		prefix []sim.Decision
	}
	var frontier []root
	sharded := x.Shards > 1
	depth := x.ShardDepth
	if depth <= 0 {
		depth = 8
	}
	if sharded && (x.Shard < 0 || x.Shard >= x.Shards || x.Lassos || x.NoCache) {
		return rep, fmt.Errorf("states: shard %d/%d: want 0 ≤ shard < shards, and no lassos or uncached search", x.Shard, x.Shards)
	}
	phase1 := sharded
	var lastFP uint64
	onPath := map[uint64]bool{} // NoCache: the states of the path on the stack
	// visit judges the state the engine is in; it returns its options when
	// it is new and not final.
	visit := func() ([]sim.Option, bool, error) {
		if err := s.eng.Err(); err != nil {
			return nil, false, err
		}
		fp := s.fingerprint()
		lastFP = fp
		if g != nil {
			idx, _ := g.node(fp)
			if len(stack) > 0 {
				fr := &stack[len(stack)-1]
				o := fr.opts[fr.next-1]
				since = s.run.PendingSince(since)
				var returned uint64
				for id, at := range since {
					if id < 64 && at != fr.since[id] {
						returned |= 1 << id
					}
				}
				g.out[fr.node] = append(g.out[fr.node], gedge{to: idx, thread: int32(s.eng.Owner(o)), pick: int32(fr.next - 1),
					of: int32(len(fr.opts)), steps: int32(s.eng.Steps() - fr.steps), returned: returned})
			} else {
				g.initSteps = s.eng.Steps()
			}
			cur = idx
		}
		if x.NoCache {
			if onPath[fp] {
				return nil, false, nil
			}
		} else if !seen.add(fp) {
			return nil, false, nil
		}
		rep.States++
		if x.Progress != nil && rep.States%every == 0 {
			x.Progress(StateProgress{States: rep.States, Transitions: rep.Transitions, Elapsed: time.Since(start)})
		}
		f, end, opts, err := s.judge()
		if err != nil {
			return nil, false, err
		}
		if end {
			finals[s.finalFP()] = true
		}
		if x.Record != nil && (end || f != nil) {
			r := StateRecord{FP: fp, Final: end, Finding: f != nil}
			if end {
				r.FinalMem = s.finalFP()
			}
			x.Record(r)
		}
		if g != nil {
			g.pending[cur] = s.run.PendingMask()
			for _, o := range opts {
				if !o.Wake {
					g.enabled[cur] |= 1 << s.eng.Owner(o)
				}
			}
		}
		if f != nil {
			rep.count(f)
			if best == nil || f.Step < bestFinding.Step {
				best = append(append(slices.Clone(prefix), decisionsOf(stack)...), s.tail...)
				bestFinding = f
			}
			return nil, true, nil
		}
		return opts, false, nil
	}
	push := func(opts []sim.Option) (bool, error) {
		if phase1 && len(stack) == depth {
			// The frontier: every shard stores it; its owner explores it.
			r := root{sn: &snap{}, opts: slices.Clone(opts), prefix: append(slices.Clone(prefix), decisionsOf(stack)...)}
			if err := s.save(r.sn); err != nil {
				return false, err
			}
			frontier = append(frontier, r)
			if x.Record != nil {
				x.Record(StateRecord{FP: lastFP, Out: -1})
			}
			return false, nil
		}
		if x.Record != nil {
			x.Record(StateRecord{FP: lastFP, Out: int32(len(opts))})
		}
		stack = append(stack, dfsFrame{})
		fr := &stack[len(stack)-1]
		if x.NoCache {
			fr.fp = lastFP
			onPath[lastFP] = true
		}
		fr.opts = append(fr.opts[:0], opts...)
		fr.next = 0
		fr.node, fr.steps = cur, s.eng.Steps()
		if g != nil {
			fr.since = s.run.PendingSince(fr.since)
		}
		if len(opts) > 1 {
			if len(pool) == 0 {
				pool = append(pool, &snap{})
			}
			fr.sn = pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			if err := s.save(fr.sn); err != nil {
				return false, err
			}
		}
		rep.MaxDepth = max(rep.MaxDepth, len(stack))
		peakSnaps = max(peakSnaps, len(stack))
		return true, nil
	}

	if err := s.fresh(true); err != nil {
		return rep, err
	}
	opts, found, err := visit()
	if err != nil {
		return rep, err
	}
	if opts != nil {
		if _, err := push(opts); err != nil {
			return rep, err
		}
	}
	atTop := true // the engine is in the state of the top frame
	stopped := found && x.StopAtFirst
	nextRoot := x.Shard
	for {
		if len(stack) == 0 && phase1 && !stopped && !rep.Interrupted && !limited() {
			// The shared phase is over: explore this shard's frontier states.
			phase1 = false
		}
		if len(stack) == 0 && !phase1 && sharded && nextRoot < len(frontier) && !stopped && !rep.Interrupted && !limited() {
			r := frontier[nextRoot]
			frontier[nextRoot].sn = nil
			nextRoot += x.Shards
			s.restore(r.sn)
			prefix = r.prefix
			lastFP = s.fingerprint()
			if _, err := push(r.opts); err != nil {
				return rep, err
			}
			atTop = true
		}
		if len(stack) == 0 || stopped {
			break
		}
		for len(stack) > 0 && !stopped {
			if limited() {
				break
			}
			if rep.Transitions&1023 == 0 && isClosed(x.Stop) {
				rep.Interrupted = true
				break
			}
			fr := &stack[len(stack)-1]
			if fr.next == len(fr.opts) {
				if fr.sn != nil {
					pool = append(pool, fr.sn)
					fr.sn = nil
				}
				if x.NoCache {
					delete(onPath, fr.fp)
				}
				stack = stack[:len(stack)-1]
				atTop = false
				continue
			}
			if !atTop {
				s.restore(fr.sn)
			}
			o := fr.opts[fr.next]
			fr.next++
			s.eng.Fire(o)
			rep.Transitions++
			opts, found, err := visit()
			if err != nil {
				return rep, err
			}
			if found && x.StopAtFirst {
				stopped = true
				break
			}
			if opts == nil {
				atTop = false
				continue
			}
			pushed, err := push(opts)
			if err != nil {
				return rep, err
			}
			atTop = pushed
		}
		if rep.Interrupted || limited() {
			break
		}
	}
	rep.Complete = len(stack) == 0 && !rep.Interrupted && !stopped && !phase1 && (!sharded || nextRoot >= len(frontier))
	rep.finish(finals, &seen, peakSnaps, start)
	// A fair cycle in the part explored is a lasso whether or not the search
	// is complete; only a complete search proves there is none.
	if g != nil && !rep.Interrupted {
		if l := g.findLasso(len(s.r.infos)); l != nil {
			if err := replayLasso(x.Config, x, l); err != nil {
				return rep, err
			}
			rep.Lasso = l
		}
		rep.MemoryBytes += int64(len(g.enabled))*64 + rep.Transitions*16
	}
	if best != nil {
		cx, err := Replay(x.Config, x.Workload, best)
		if err != nil {
			return rep, fmt.Errorf("states: the violation does not replay: %v", err)
		}
		rep.Shortest = &Counterexample{Finding: *cx.Finding, Decisions: best, Execution: cx, LengthBefore: len(cx.Trace)}
	}
	return rep, nil
}

// count counts a violation by kind.
func (rep *StateReport) count(f *sim.Finding) {
	rep.Findings++
	if rep.Kinds == nil {
		rep.Kinds = map[string]int{}
	}
	rep.Kinds[f.Property]++
}

// system builds the system the search drives: its configuration, with
// arbitration any (the search explores every order NIC atomics are served
// in), and its workload.
func (x *StateSearch) system() (*stateSys, error) {
	x.Config.Arbitration = "any"
	x.Config.KeepSpinning = true // as sim.NewStateEngine runs: counterexamples replay so
	return newStateSys(x.Config, x.Workload, x.FinalIgnore)
}

// stop ends the coroutines of the system's engine, if it has one.
func (s *stateSys) stop() {
	if s.eng != nil {
		s.eng.Stop()
	}
}

func (rep *StateReport) finish(finals map[uint64]bool, seen *visited, peakSnaps int, start time.Time) {
	for fp := range finals {
		rep.Finals = append(rep.Finals, fp)
	}
	slices.Sort(rep.Finals)
	rep.FinalStates = len(rep.Finals)
	n := float64(rep.States)
	rep.OmittedEstimate = n * n / math.Exp2(65)
	if seen.tags != nil {
		rep.OmittedEstimate = seen.omitted()
	}
	rep.MemoryBytes = seen.bytes() + int64(peakSnaps)*512
	rep.Elapsed = time.Since(start)
}

// decisionsOf is the decision list of the path on the stack, the option
// fired last included: one decision per state with two options or more.
func decisionsOf(stack []dfsFrame) []sim.Decision {
	var d []sim.Decision
	for _, fr := range stack {
		if len(fr.opts) > 1 {
			d = append(d, sim.Decision{Pick: fr.next - 1, Of: len(fr.opts)})
		}
	}
	return d
}

// mnode is a state of the minimal search: where it was reached from.
type mnode struct {
	sn       *snap
	parent   *mnode
	pick, of int
	steps    int
	fp       uint64
}

func (n *mnode) decisions() []sim.Decision {
	var d []sim.Decision
	for ; n != nil; n = n.parent {
		if n.of > 1 {
			d = append(d, sim.Decision{Pick: n.pick, Of: n.of})
		}
	}
	slices.Reverse(d)
	return d
}

// runMinimal searches states in order of steps (Dijkstra: a step costs the
// engine steps it takes, Pauses included), so the first violation reached is
// one of the fewest steps.
func (x StateSearch) runMinimal() (StateReport, error) {
	start := time.Now()
	s, err := x.system()
	if err != nil {
		return StateReport{}, err
	}
	defer s.stop()
	rep := StateReport{Config: x.Config, Minimal: true}
	finals := map[uint64]bool{}
	dist := map[uint64]int{}
	buckets := map[int][]*mnode{}
	var seen visited
	var best *mnode
	var bestFinding *sim.Finding
	var bestTail []sim.Decision
	peak := 0
	frontier := 0

	if err := s.fresh(true); err != nil {
		return rep, err
	}
	root := &mnode{steps: s.eng.Steps(), sn: &snap{}}
	if err := s.eng.Err(); err != nil {
		return rep, err
	}
	root.fp = s.fingerprint()
	f, end, opts, err := s.judge()
	if err != nil {
		return rep, err
	}
	if f != nil || end || opts == nil {
		// A violation or the end before any choice: nothing to search.
		rep.States = 1
		if end {
			finals[s.finalFP()] = true
		}
		if f != nil {
			rep.count(f)
			best, bestFinding, bestTail = root, f, slices.Clone(s.tail)
		}
	} else {
		if err := s.save(root.sn); err != nil {
			return rep, err
		}
		dist[root.fp] = root.steps
		buckets[root.steps] = append(buckets[root.steps], root)
		frontier = 1
	}
	for d := root.steps; frontier > 0; d++ {
		if best != nil && d >= bestFinding.Step {
			break
		}
		if x.MaxStates > 0 && rep.States >= x.MaxStates {
			break
		}
		list := buckets[d]
		delete(buckets, d)
		for _, n := range list {
			frontier--
			if dist[n.fp] < n.steps {
				n.sn = nil
				continue // reached in fewer steps since
			}
			rep.States++
			seen.add(n.fp)
			s.restore(n.sn)
			opts := slices.Clone(s.eng.Options())
			for i, o := range opts {
				if i > 0 {
					s.restore(n.sn)
				}
				s.eng.Fire(o)
				rep.Transitions++
				if err := s.eng.Err(); err != nil {
					return rep, err
				}
				c := &mnode{parent: n, pick: i, of: len(opts), steps: s.eng.Steps(), fp: s.fingerprint()}
				if old, ok := dist[c.fp]; ok && old <= c.steps {
					continue
				}
				dist[c.fp] = c.steps
				f, end, copts, err := s.judge()
				if err != nil {
					return rep, err
				}
				if end {
					finals[s.finalFP()] = true
				}
				if f != nil {
					rep.count(f)
					if best == nil || f.Step < bestFinding.Step {
						best, bestFinding, bestTail = c, f, slices.Clone(s.tail)
					}
					continue
				}
				if end || copts == nil {
					rep.States++
					seen.add(c.fp)
					continue
				}
				c.sn = &snap{}
				if err := s.save(c.sn); err != nil {
					return rep, err
				}
				buckets[c.steps] = append(buckets[c.steps], c)
				frontier++
				peak = max(peak, frontier)
			}
			n.sn = nil
		}
	}
	rep.Complete = frontier == 0 || best != nil
	rep.finish(finals, &seen, peak, start)
	rep.MemoryBytes += int64(len(dist)) * 48
	if best != nil {
		dec := append(best.decisions(), bestTail...)
		cx, err := Replay(x.Config, x.Workload, dec)
		if err != nil {
			return rep, fmt.Errorf("states: the minimal violation does not replay: %v", err)
		}
		rep.Shortest = &Counterexample{Finding: *cx.Finding, Decisions: dec, Execution: cx, LengthBefore: len(cx.Trace)}
	}
	return rep, nil
}
