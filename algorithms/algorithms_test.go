package algorithms_test

import (
	"fmt"
	"iter"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// Most tests here need no simulator (TestConcurrent runs the checker's
// workload under it). They run the locks on a fake world: memory is
// a map guarded by one mutex, so every operation, CPU or verb, is one atomic step
// (the "glob" atomicity scope: no atomicity gap, so the naive locks are correct
// here when threads are classified by their node). The fake records every
// operation, and records — then executes anyway — a CPU operation on another
// node's word, as the simulator reports misuse.
//
// A thread runs in one of three modes:
//   - sequential (the default): Pause panics, since no other thread can ever
//     change what a lone thread waits for;
//   - coroutine (start/step): Pause suspends the thread, and the test decides who
//     runs next, one at a time, deterministically;
//   - concurrent: the world's Pause hook is runtime.Gosched, threads are goroutines.

// world is a fake rdma.Setup and the memory its threads share.
type world struct {
	t       *testing.T
	nodes   int
	home    int
	infos   []rdma.ThreadInfo
	threads []*thread

	mu     sync.Mutex
	mem    map[rdma.Ptr]uint64
	free   []uint64            // by node: the next unallocated offset
	labels map[string]rdma.Ptr // every word an Alloc label names (split on commas)
	misuse []string
	pause  func() // concurrent mode: called at every Pause instead of panicking
}

func newWorld(t *testing.T, nodes, home int, infos ...rdma.ThreadInfo) *world {
	w := &world{t: t, nodes: nodes, home: home, infos: infos,
		mem: map[rdma.Ptr]uint64{}, free: make([]uint64, nodes), labels: map[string]rdma.Ptr{}}
	for n := range w.free {
		w.free[n] = rdma.ReservedBytes
	}
	for _, info := range infos {
		w.threads = append(w.threads, &thread{w: w, id: info.ID, node: info.Node})
	}
	return w
}

// info is a ThreadInfo literal that reads well in a table.
func info(id, node int, local bool) rdma.ThreadInfo {
	return rdma.ThreadInfo{ID: id, Node: node, Local: local}
}

func (w *world) Nodes() int                           { return w.nodes }
func (w *world) Home() int                            { return w.home }
func (w *world) Threads() []rdma.ThreadInfo           { return slices.Clone(w.infos) }
func (w *world) Init(p rdma.Ptr, v uint64)            { w.mu.Lock(); w.mem[p] = v; w.mu.Unlock() }
func (w *world) Alloc(node, n int, l string) rdma.Ptr { return w.alloc(node, n, l) }

func (w *world) alloc(node, words int, label string) rdma.Ptr {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := rdma.MakePtr(node, w.free[node])
	w.free[node] += uint64(words * rdma.WordBytes)
	for i, name := range strings.Split(label, ",") {
		if i < words && name != "" {
			w.labels[name] = p.Add(i)
		}
	}
	return p
}

// word returns the Ptr an Alloc label names, and whether there is one.
func (w *world) word(name string) (rdma.Ptr, bool) {
	p, ok := w.labels[name]
	return p, ok
}

func (w *world) read(p rdma.Ptr) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mem[p]
}

// op is one recorded operation.
type op struct {
	kind rdma.Op
	p    rdma.Ptr
}

// thread is a fake rdma.Thread.
type thread struct {
	w        *world
	id, node int
	ops      []op

	// Coroutine mode.
	yield func(struct{}) bool
	next  func() (struct{}, bool)
	stop  func()
}

// stopped is what Pause panics with when the test abandons a suspended thread.
type stopped struct{}

// mem runs f on the world's memory as one atomic step, after recording the
// operation and, for a CPU operation on another node's word, the misuse.
func (th *thread) mem(kind rdma.Op, p rdma.Ptr, f func(m map[rdma.Ptr]uint64) uint64) uint64 {
	th.ops = append(th.ops, op{kind, p})
	w := th.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if kind.IsCPU() && p.Node() != th.node {
		w.misuse = append(w.misuse, fmt.Sprintf("t%d on n%d: CPU %v on %v", th.id, th.node, kind, p))
	}
	return f(w.mem)
}

func (th *thread) Load(p rdma.Ptr) uint64 {
	return th.mem(rdma.OpLoad, p, func(m map[rdma.Ptr]uint64) uint64 { return m[p] })
}

func (th *thread) Store(p rdma.Ptr, v uint64) {
	th.mem(rdma.OpStore, p, func(m map[rdma.Ptr]uint64) uint64 { m[p] = v; return 0 })
}

func (th *thread) CAS(p rdma.Ptr, old, nu uint64) uint64 { return th.cas(rdma.OpCAS, p, old, nu) }

func (th *thread) Swap(p rdma.Ptr, v uint64) uint64 {
	return th.mem(rdma.OpSwap, p, func(m map[rdma.Ptr]uint64) uint64 { old := m[p]; m[p] = v; return old })
}

func (th *thread) FAA(p rdma.Ptr, d uint64) uint64 { return th.faa(rdma.OpFAA, p, d) }

func (th *thread) Fence() { th.ops = append(th.ops, op{kind: rdma.OpFence}) }

func (th *thread) RRead(p rdma.Ptr) uint64 {
	return th.mem(rdma.OpRRead, p, func(m map[rdma.Ptr]uint64) uint64 { return m[p] })
}

func (th *thread) RReadN(p rdma.Ptr, dst []uint64) {
	th.mem(rdma.OpRReadN, p, func(m map[rdma.Ptr]uint64) uint64 {
		for i := range dst {
			dst[i] = m[p.Add(i)]
		}
		return 0
	})
}

func (th *thread) RWrite(p rdma.Ptr, v uint64) {
	th.mem(rdma.OpRWrite, p, func(m map[rdma.Ptr]uint64) uint64 { m[p] = v; return 0 })
}

func (th *thread) RCAS(p rdma.Ptr, old, nu uint64) uint64 { return th.cas(rdma.OpRCAS, p, old, nu) }

func (th *thread) RFAA(p rdma.Ptr, d uint64) uint64 { return th.faa(rdma.OpRFAA, p, d) }

func (th *thread) cas(kind rdma.Op, p rdma.Ptr, old, nu uint64) uint64 {
	return th.mem(kind, p, func(m map[rdma.Ptr]uint64) uint64 {
		cur := m[p]
		if cur == old {
			m[p] = nu
		}
		return cur
	})
}

func (th *thread) faa(kind rdma.Op, p rdma.Ptr, d uint64) uint64 {
	return th.mem(kind, p, func(m map[rdma.Ptr]uint64) uint64 { old := m[p]; m[p] = old + d; return old })
}

func (th *thread) ID() int   { return th.id }
func (th *thread) Node() int { return th.node }

func (th *thread) Alloc(words int) rdma.Ptr {
	th.ops = append(th.ops, op{kind: rdma.OpAlloc})
	return th.w.alloc(th.node, words, fmt.Sprintf("alloc.t%d", th.id))
}

func (th *thread) Pause() {
	th.ops = append(th.ops, op{kind: rdma.OpPause})
	switch {
	case th.yield != nil:
		if !th.yield(struct{}{}) {
			panic(stopped{})
		}
	case th.w.pause != nil:
		th.w.pause()
	default:
		panic(fmt.Sprintf("t%d paused in a sequential run: it would wait forever", th.id))
	}
}

// start runs f (an Acquire or a Release) as a coroutine until it first pauses or
// returns, and reports whether it returned.
func (th *thread) start(f func(rdma.Thread)) bool {
	if th.next != nil {
		th.w.t.Fatalf("t%d: start while a call is still suspended", th.id)
	}
	seq := func(yield func(struct{}) bool) {
		defer func() {
			if r := recover(); r != nil && r != (stopped{}) {
				panic(r)
			}
		}()
		th.yield = yield
		f(th)
	}
	th.next, th.stop = iter.Pull(seq)
	th.w.t.Cleanup(func() {
		if th.stop != nil {
			th.stop()
		}
	})
	return th.step()
}

// step resumes the suspended call until it pauses again or returns, and reports
// whether it returned.
func (th *thread) step() bool {
	if th.next == nil {
		th.w.t.Fatalf("t%d: step with no suspended call", th.id)
	}
	if _, ok := th.next(); ok {
		return false
	}
	th.next, th.stop, th.yield = nil, nil, nil
	return true
}

// newLock builds a on w, failing the test on error.
func newLock(t *testing.T, a algorithms.Algorithm, w *world, o algorithms.Options) rdma.Lock {
	t.Helper()
	l, err := a.New(w, o)
	if err != nil {
		t.Fatalf("%s.New: %v", a.Name, err)
	}
	return l
}

// sequential runs each thread's Acquire and Release in turn, converting a Pause
// (which would be a hang) into a test failure.
func sequential(t *testing.T, l rdma.Lock, order ...*thread) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%v", r)
		}
	}()
	for _, th := range order {
		l.Acquire(th)
		l.Release(th)
	}
}

// checkIdle checks that the lock words are back at their free values.
func checkIdle(t *testing.T, w *world) {
	t.Helper()
	for _, name := range []string{"lock", "tail", "r_tail", "l_tail"} {
		if p, ok := w.word(name); ok {
			if v := w.read(p); v != 0 {
				t.Errorf("%s = %#x after the last release, want 0", name, v)
			}
		}
	}
	if p, ok := w.word("next_ticket"); ok {
		q, ok := w.word("now_serving")
		if !ok {
			q, _ = w.word("current_ticket") // farlock
		}
		if n, s := w.read(p), w.read(q); n != s {
			t.Errorf("next_ticket = %d, now_serving = %d after the last release; want them equal", n, s)
		}
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"spin", "spin-naive", "mcs", "mcs-naive", "ticket-naive", "alock", "alock-nofence", "dslr", "hocl", "shiftlock", "farlock", "declock"}
	if got := algorithms.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	safe := map[string]bool{"spin": true, "mcs": true, "alock": true, "alock-nofence": true, "dslr": true, "hocl": true, "shiftlock": true, "declock": true}
	for i, a := range algorithms.All() {
		if a.Name != want[i] {
			t.Errorf("All()[%d].Name = %q, want %q", i, a.Name, want[i])
		}
		if a.Description == "" || a.Origin == "" || a.Expect == "" || a.New == nil {
			t.Errorf("%s: empty field in %+v", a.Name, a)
		}
		if a.ExpectSafe != safe[a.Name] {
			t.Errorf("%s: ExpectSafe = %v, want %v", a.Name, a.ExpectSafe, safe[a.Name])
		}
		if a.ExpectSafe != (a.Expect == "safe") {
			t.Errorf("%s: Expect %q disagrees with ExpectSafe %v", a.Name, a.Expect, a.ExpectSafe)
		}
		got, err := algorithms.Lookup(a.Name)
		if err != nil || got.Name != a.Name {
			t.Errorf("Lookup(%q) = %q, %v", a.Name, got.Name, err)
		}
	}
	_, err := algorithms.Lookup("ticket")
	if err == nil {
		t.Fatal(`Lookup("ticket") succeeded`)
	}
	if msg := err.Error(); !strings.Contains(msg, `"ticket"`) || !strings.Contains(msg, strings.Join(want, ", ")) {
		t.Errorf("Lookup error %q should name %q and list %v", msg, "ticket", want)
	}
	// All returns a fresh slice: a caller cannot corrupt the registry.
	algorithms.All()[0].Name = "scribbled"
	if algorithms.Names()[0] != "spin" {
		t.Error("All() shares its slice between calls")
	}
}

func TestOptions(t *testing.T) {
	a, _ := algorithms.Lookup("alock")
	w := newWorld(t, 1, 0, info(0, 0, true))
	if _, err := a.New(w, algorithms.Options{BudgetLocal: -1}); err == nil || !strings.Contains(err.Error(), "BudgetLocal") {
		t.Errorf("negative BudgetLocal: err = %v, want one naming BudgetLocal", err)
	}
	if _, err := a.New(w, algorithms.Options{BudgetRemote: -2}); err == nil || !strings.Contains(err.Error(), "BudgetRemote") {
		t.Errorf("negative BudgetRemote: err = %v, want one naming BudgetRemote", err)
	}
	for _, a := range algorithms.All() {
		bad := newWorld(t, 2, 2, info(0, 0, true))
		if _, err := a.New(bad, algorithms.Options{}); err == nil {
			t.Errorf("%s: home 2 of 2 nodes accepted", a.Name)
		}
		bad = newWorld(t, 2, 0, info(1, 0, true))
		if _, err := a.New(bad, algorithms.Options{}); err == nil {
			t.Errorf("%s: Threads()[0] with ID 1 accepted", a.Name)
		}
	}
}

// TestSequentialReuse: one host thread and one remote thread, correctly
// classified, take and free the lock over and over without ever waiting, use no
// CPU operation off their node, and leave the lock free.
func TestSequentialReuse(t *testing.T) {
	for _, a := range algorithms.All() {
		for _, o := range []algorithms.Options{{}, {BudgetLocal: 1, BudgetRemote: 1}} {
			t.Run(fmt.Sprintf("%s/%d.%d", a.Name, o.BudgetLocal, o.BudgetRemote), func(t *testing.T) {
				w := newWorld(t, 2, 0, info(0, 0, true), info(1, 1, false))
				l := newLock(t, a, w, o)
				host, remote := w.threads[0], w.threads[1]
				sequential(t, l, host, host, host, remote, remote, remote, host, remote, host)
				if len(w.misuse) > 0 {
					t.Errorf("misuse: %v", w.misuse)
				}
				checkIdle(t, w)
			})
		}
	}
}

var perNode = regexp.MustCompile(`\.n(\d+)$`)

// TestLayout: descriptors are on their thread's node, labelled desc.t<ID>,
// per-node words (HOCL's local locks) on their node, labelled <word>.n<node>,
// and lock words on the home.
func TestLayout(t *testing.T) {
	for _, a := range algorithms.All() {
		w := newWorld(t, 3, 1, info(0, 1, true), info(1, 0, false), info(2, 2, false))
		newLock(t, a, w, algorithms.Options{})
		for name, p := range w.labels {
			switch {
			case strings.HasPrefix(name, "desc.t"):
				var id int
				fmt.Sscanf(name, "desc.t%d", &id)
				if p.Node() != w.infos[id].Node {
					t.Errorf("%s: %s on node %d, want %d", a.Name, name, p.Node(), w.infos[id].Node)
				}
			case perNode.MatchString(name):
				var node int
				fmt.Sscanf(perNode.FindStringSubmatch(name)[1], "%d", &node)
				if p.Node() != node {
					t.Errorf("%s: %s on node %d, want %d", a.Name, name, p.Node(), node)
				}
			case p.Node() != w.home:
				t.Errorf("%s: %s on node %d, want the home %d", a.Name, name, p.Node(), w.home)
			}
		}
		if strings.HasPrefix(a.Name, "mcs") || a.Name == "alock" {
			if _, ok := w.word("desc.t2"); !ok {
				t.Errorf("%s: no descriptor labelled desc.t2 among %v", a.Name, w.labels)
			}
		}
	}
	w := newWorld(t, 1, 0)
	a, _ := algorithms.Lookup("alock")
	newLock(t, a, w, algorithms.Options{})
	r, _ := w.word("r_tail")
	lt, _ := w.word("l_tail")
	v, _ := w.word("victim")
	if lt != r.Add(1) || v != r.Add(2) {
		t.Errorf("alock words r_tail %v, l_tail %v, victim %v: want consecutive", r, lt, v)
	}
}

// misclassifiedMisuse says, for a thread on node 1 that the workload classifies as local,
// whether the algorithm makes it issue CPU operations on the home's words.
var misclassifiedMisuse = map[string]bool{
	"spin":          false, // loopback: ignores the classification
	"spin-naive":    true,
	"mcs":           false,
	"mcs-naive":     true,
	"ticket-naive":  true,
	"alock":         true,
	"alock-nofence": true,
	"dslr":          false, // loopback
	"hocl":          false, // CPU operations only on the thread's own node's local lock
	"shiftlock":     false, // verbs only on the home; CPU only on its own mailbox
	"farlock":       true,
	"declock":       false, // verbs only on the home; CPU only on its own node's cohort and mailbox
}

// TestMisclassifiedLocal: the host path is chosen by ThreadInfo.Local alone, so a
// remote thread classified local issues CPU operations on node 0, and the fake,
// like the simulator, sees it.
func TestMisclassifiedLocal(t *testing.T) {
	for _, a := range algorithms.All() {
		t.Run(a.Name, func(t *testing.T) {
			want, ok := misclassifiedMisuse[a.Name]
			if !ok {
				t.Fatalf("no expectation for %s", a.Name)
			}
			w := newWorld(t, 2, 0, info(0, 1, true))
			l := newLock(t, a, w, algorithms.Options{})
			sequential(t, l, w.threads[0])
			if got := len(w.misuse) > 0; got != want {
				t.Errorf("misuse recorded = %v, want %v: %v", got, want, w.misuse)
			}
			for _, m := range w.misuse {
				if !strings.Contains(m, " on n0:") {
					t.Errorf("misuse %q is not on node 0", m)
				}
			}
		})
	}
}

// lockWords returns the Ptrs of the lock's own words (not descriptors).
func lockWords(w *world) map[rdma.Ptr]string {
	words := map[rdma.Ptr]string{}
	for name, p := range w.labels {
		if !strings.HasPrefix(name, "desc.") {
			words[p] = name
		}
	}
	return words
}

// opsOn returns the kinds of th's operations on the lock words.
func opsOn(th *thread, words map[rdma.Ptr]string) []string {
	var got []string
	for _, o := range th.ops {
		if name, ok := words[o.p]; ok {
			got = append(got, fmt.Sprintf("%v(%s)", o.kind, name))
		}
	}
	return got
}

// TestLoopback: in spin and mcs a host thread classified local still reaches the
// lock word only through verbs (loopback).
func TestLoopback(t *testing.T) {
	for _, name := range []string{"spin", "mcs"} {
		a, _ := algorithms.Lookup(name)
		w := newWorld(t, 2, 0, info(0, 0, true), info(1, 1, false))
		l := newLock(t, a, w, algorithms.Options{})
		sequential(t, l, w.threads[0], w.threads[0])
		ops := opsOn(w.threads[0], lockWords(w))
		if len(ops) == 0 {
			t.Errorf("%s: host thread never touched the lock word", name)
		}
		for i, o := range w.threads[0].ops {
			if _, ok := lockWords(w)[o.p]; ok && !o.kind.IsVerb() {
				t.Errorf("%s: host thread's op %d is %v on the lock word; want verbs only: %v", name, i, o.kind, ops)
			}
		}
	}
}

// TestALockDomains: ALock's local cohort touches the lock words with CPU
// operations only and issues no verb at all; its remote cohort — a host thread
// classified remote included — only with verbs.
func TestALockDomains(t *testing.T) {
	a, _ := algorithms.Lookup("alock")
	w := newWorld(t, 2, 0, info(0, 0, true), info(1, 0, false), info(2, 1, false))
	l := newLock(t, a, w, algorithms.Options{})
	local, hostRemote, remote := w.threads[0], w.threads[1], w.threads[2]
	sequential(t, l, local, hostRemote, remote, local, hostRemote, remote)
	if len(w.misuse) > 0 {
		t.Errorf("misuse: %v", w.misuse)
	}
	words := lockWords(w)
	for _, o := range local.ops {
		if o.kind.IsVerb() {
			t.Errorf("local thread issued %v on %v; want no verbs", o.kind, o.p)
		}
	}
	for _, th := range []*thread{hostRemote, remote} {
		ops := opsOn(th, words)
		if len(ops) == 0 {
			t.Errorf("t%d never touched the lock words", th.id)
		}
		for _, o := range th.ops {
			if _, ok := words[o.p]; ok && !o.kind.IsVerb() {
				t.Errorf("t%d (remote cohort) issued %v on a lock word: %v", th.id, o.kind, ops)
			}
		}
	}
	checkIdle(t, w)
}

// count returns how many of th's operations since from are kind on p.
func count(th *thread, from int, kind rdma.Op, p rdma.Ptr) int {
	n := 0
	for _, o := range th.ops[from:] {
		if o.kind == kind && o.p == p {
			n++
		}
	}
	return n
}

// TestALockBudget walks ALock through one budget-exhausted hand-off, step by step.
// With B_L = 2 the local cohort runs two critical sections back to back while a
// remote leader waits; the third local thread in line is handed the lock
// exhausted, must run Peterson's step, sets victim to local, and so lets the
// remote leader in before it.
func TestALockBudget(t *testing.T) {
	a, _ := algorithms.Lookup("alock")
	w := newWorld(t, 2, 0, info(0, 0, true), info(1, 0, true), info(2, 1, false))
	l := newLock(t, a, w, algorithms.Options{BudgetLocal: 2, BudgetRemote: 3})
	A, B, R := w.threads[0], w.threads[1], w.threads[2]
	victim, _ := w.word("victim")
	must := func(step string, done, want bool) {
		t.Helper()
		if done != want {
			t.Fatalf("%s: returned = %v, want %v", step, done, want)
		}
	}

	must("A acquires: local leader, remote cohort empty", A.start(l.Acquire), true)
	must("R acquires: remote leader, yields to the local cohort", R.start(l.Acquire), false)
	if v := w.read(victim); v != 2 {
		t.Fatalf("victim = %d after the remote leader's write, want 2 (remote)", v)
	}
	must("B queues behind A", B.start(l.Acquire), false)
	must("A releases, handing B budget 1", A.start(l.Release), true)
	mark := len(B.ops)
	must("B is handed the lock within the turn", B.step(), true)
	if n := count(B, mark, rdma.OpSwap, victim); n != 0 {
		t.Errorf("B swapped victim %d times after a hand-off with budget left; want 0", n)
	}
	must("R still waits", R.step(), false)
	must("A queues behind B", A.start(l.Acquire), false)
	must("B releases, handing A budget 0", B.start(l.Release), true)
	mark = len(A.ops)
	must("A, exhausted, runs Peterson's step and yields", A.step(), false)
	if n := count(A, mark, rdma.OpSwap, victim); n != 1 {
		t.Errorf("A swapped victim %d times after an exhausted hand-off; want 1", n)
	}
	must("R enters", R.step(), true)
	must("A waits while R holds the lock", A.step(), false)
	must("R releases: remote cohort empty", R.start(l.Release), true)
	must("A enters", A.step(), true)
	must("A releases: local cohort empty", A.start(l.Release), true)
	checkIdle(t, w)
}

// TestMCSHandOff: a waiter is handed the lock by its predecessor's release.
func TestMCSHandOff(t *testing.T) {
	for _, name := range []string{"mcs", "mcs-naive"} {
		a, _ := algorithms.Lookup(name)
		w := newWorld(t, 2, 0, info(0, 0, true), info(1, 1, false))
		l := newLock(t, a, w, algorithms.Options{})
		A, R := w.threads[0], w.threads[1]
		if !A.start(l.Acquire) {
			t.Fatalf("%s: uncontended acquire waited", name)
		}
		if R.start(l.Acquire) {
			t.Fatalf("%s: second acquire did not wait", name)
		}
		if R.step() {
			t.Fatalf("%s: waiter entered before the release", name)
		}
		if !A.start(l.Release) || !R.step() {
			t.Fatalf("%s: hand-off did not arrive", name)
		}
		if !R.start(l.Release) {
			t.Fatalf("%s: release waited", name)
		}
		checkIdle(t, w)
	}
}

// TestConcurrent runs every lock under the simulator with atomic scope glob, on
// the checker's own workload (the counter under the lock), 3 nodes with 3, 2
// and 1 threads. With no atomicity gap and threads classified by node, even the
// naive locks are correct here: this checks the queue and budget logic under
// many interleavings, not the NIC behaviour (the checker's tests do that). At
// the end of every execution the lock words must be back at their free values.
func TestConcurrent(t *testing.T) {
	budgets := []algorithms.Options{{}, {BudgetLocal: 1, BudgetRemote: 1}, {BudgetLocal: 2, BudgetRemote: 3}}
	cfg := checker.Config{Nodes: 3, Threads: []int{3, 2, 1}, Home: 0, Acquires: 3, Scope: "glob", Linearizability: true}
	for _, a := range algorithms.All() {
		for _, o := range budgets {
			if a.Name != "alock" && o != (algorithms.Options{}) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d.%d", a.Name, o.BudgetLocal, o.BudgetRemote), func(t *testing.T) {
				newLock := func(s rdma.Setup) (rdma.Lock, error) { return a.New(s, o) }
				rep, err := checker.Campaign{Config: cfg, Workload: idleAtEnd{workload.LockCounter{Lock: newLock}},
					Strategy: checker.StrategyRandom, Schedules: 300, Seed: 5}.Run()
				if err != nil {
					t.Fatal(err)
				}
				if rep.Shortest != nil {
					t.Fatalf("%v", rep.Shortest.Finding)
				}
			})
		}
	}
}

// idleAtEnd is the counter-under-lock workload, plus a final check that the
// lock's words are back at their free values.
type idleAtEnd struct{ workload.LockCounter }

// labelSetup notes the word each Alloc label names.
type labelSetup struct {
	workload.Setup
	words map[string]rdma.Ptr
}

func (s *labelSetup) Alloc(node, words int, label string) rdma.Ptr {
	p := s.Setup.Alloc(node, words, label)
	for i, name := range strings.Split(label, ",") {
		if i < words && name != "" {
			s.words[name] = p.Add(i)
		}
	}
	return p
}

func (w idleAtEnd) Build(s workload.Setup) (*workload.Program, error) {
	ls := &labelSetup{Setup: s, words: map[string]rdma.Ptr{}}
	p, err := w.LockCounter.Build(ls)
	if err != nil {
		return nil, err
	}
	final := p.Final
	p.Final = func(peek func(rdma.Ptr) uint64) *workload.Finding {
		if f := final(peek); f != nil {
			return f
		}
		for _, name := range []string{"lock", "tail", "r_tail", "l_tail"} {
			if q, ok := ls.words[name]; ok && peek(q) != 0 {
				return &workload.Finding{Property: "idle", Message: fmt.Sprintf("%s = %#x after the last release, want 0", name, peek(q))}
			}
		}
		if n, ok := ls.words["next_ticket"]; ok {
			serving, ok := ls.words["now_serving"]
			if !ok {
				serving = ls.words["current_ticket"] // farlock
			}
			if peek(n) != peek(serving) {
				return &workload.Finding{Property: "idle", Message: "next_ticket ≠ now_serving after the last release"}
			}
		}
		return nil
	}
	return p, nil
}

func ExampleLookup() {
	a, err := algorithms.Lookup("alock")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Name, "expected safe:", a.ExpectSafe)
	_, err = algorithms.Lookup("ticket")
	fmt.Println(err)
	for _, name := range algorithms.Names() {
		a, _ := algorithms.Lookup(name)
		fmt.Printf("%-12s %s\n", a.Name, a.Expect)
	}
	// Output:
	// alock expected safe: true
	// algorithms: unknown algorithm "ticket" (known: spin, spin-naive, mcs, mcs-naive, ticket-naive, alock, alock-nofence, dslr, hocl, shiftlock, farlock, declock)
	// spin         safe
	// spin-naive   violation: mutual exclusion (a host CAS lands inside an RDMA CAS's atomicity gap)
	// mcs          safe
	// mcs-naive    violation: mutual exclusion or deadlock (two owners, or a hand-off that never arrives)
	// ticket-naive violation: mutual exclusion or deadlock (a ticket issued twice, or lost)
	// alock        safe
	// alock-nofence safe
	// dslr         safe
	// hocl         safe
	// shiftlock    safe
	// farlock      violation: mutual exclusion (the 2-word WRITE of r_flag, victim may place victim first: both cohorts pass Peterson, and a CPU FAA inside the RDMA FAA's gap issues one ticket twice)
	// declock      safe
}

// TestShiftLockModeChange drives ShiftLock's hand-off to the readers
// (ModeChanged, after MODE_CHANGE_THRESHOLD consecutive writers), which the
// registry's threshold of 16 never reaches in a small run: with thresholds 1 and
// 2 it is safe under random and PCT schedules.
func TestShiftLockModeChange(t *testing.T) {
	for _, threshold := range []int{1, 2} {
		newLock := func(s rdma.Setup) (rdma.Lock, error) { return algorithms.NewShiftLockThreshold(s, threshold) }
		cfg := checker.Config{Nodes: 2, Threads: []int{1, 2}, Home: 0, Acquires: 2, Scope: "hca"}
		for _, strategy := range []string{checker.StrategyRandom, checker.StrategyPCT} {
			rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(newLock), Strategy: strategy, Schedules: 1000, Seed: 3}.Run()
			if err != nil {
				t.Fatal(err)
			}
			if rep.Shortest != nil {
				t.Fatalf("threshold %d, %s: %v", threshold, strategy, rep.Shortest.Finding)
			}
		}
	}
}
