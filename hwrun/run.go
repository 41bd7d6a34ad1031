package hwrun

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// The backends.
const (
	Native = "native"
	Verbs  = "verbs"
)

// Config is one run on real threads and memory.
type Config struct {
	// Backend is Native (the default: NIC goroutines) or Verbs (libibverbs
	// devices: build with -tags rdma).
	Backend string `json:"backend,omitempty"`
	// Devices are the verbs devices to use (none: all); node n uses device n
	// mod len(Devices).
	Devices []string `json:"devices,omitempty"`
	Nodes   int      `json:"nodes"`
	// Threads per node: one count for every node, or one count per node.
	Threads []int `json:"threads"`
	Home    int   `json:"home"`
	// Ops is the operations per thread (workload.Setup.OpsPerThread).
	Ops int `json:"ops"`
	// GlobalAtomics makes every NIC atomic one hardware atomic instruction
	// (IBV_ATOMIC_GLOB). By default a NIC atomic is a load and then a store
	// (IBV_ATOMIC_HCA), and a CPU atomic can land between them.
	GlobalAtomics bool `json:"global_atomics,omitempty"`
	// AtomicGap is how long a NIC atomic waits between its load and its store
	// (a real NIC's PCIe read takes ≈ 0.5 µs to come back); 0: no wait.
	AtomicGap time.Duration `json:"atomic_gap_ns,omitempty"`
	// WordsPerNode of memory mapped for every node (0: 65,536).
	WordsPerNode int `json:"words_per_node,omitempty"`
	// Timeout is how long the run may go without any operation completing
	// (0: 30 s): a stall, a deadlock or a lock that lets nobody in. The
	// threads are then stopped at their next Pause and the run is reported as
	// hung. A slow run that keeps completing operations is not cut short.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Linearizability checks the recorded history against the workload's Spec.
	Linearizability bool `json:"linearizability,omitempty"`
}

// threadCounts returns the threads of every node.
func (c Config) threadCounts() []int { return workload.ThreadCounts(c.Nodes, c.Threads) }

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.Backend != "" && c.Backend != Native && c.Backend != Verbs:
		return fmt.Errorf("backend %q: want native or verbs", c.Backend)
	case c.Backend == Verbs && (c.GlobalAtomics || c.AtomicGap != 0):
		return errors.New("global atomics and the atomic gap are the native backend's: a verbs device has its own atomic_cap")
	case c.Ops < 1:
		return fmt.Errorf("ops = %d: want ≥ 1", c.Ops)
	case c.WordsPerNode < 0:
		return fmt.Errorf("words per node = %d: want ≥ 0 (0: 65536)", c.WordsPerNode)
	case c.AtomicGap < 0:
		return fmt.Errorf("atomic gap %v: want ≥ 0", c.AtomicGap)
	case c.Timeout < 0:
		return fmt.Errorf("timeout %v: want ≥ 0 (0: 30 s)", c.Timeout)
	}
	return workload.ValidateShape(c.Nodes, c.Threads, c.Home, 256)
}

// OpRecord is one operation a thread performed: who, where, which operation,
// and when it started and ended, in nanoseconds from the start of the data
// path.
type OpRecord struct {
	Thread  int    `json:"thread"`
	Node    int    `json:"node"`
	Local   bool   `json:"local"` // the thread runs on the home node
	Name    string `json:"op"`
	Arg     uint64 `json:"arg,omitempty"` // the operation's argument (a lock table's key)
	HasArg  bool   `json:"has_arg,omitempty"`
	StartNs int64  `json:"start_ns"`
	EndNs   int64  `json:"end_ns"`
}

// Result is what a native run measured and what its monitors found.
type Result struct {
	Names []string // thread names, n<node>/t<index>
	// Finding is the first violation: a monitor's (mutual exclusion, bypass),
	// the final check's (lost update), misuse, a panic, a hung run, or an
	// illegal history; nil when none.
	Finding  *workload.Finding
	Warnings []workload.Finding
	Lin      *workload.LinResult
	// Ops are every operation's record, by thread, in order.
	Ops       []OpRecord
	MaxBypass int
	// Setup is the time spent mapping memory and building the workload;
	// DataPath the time from the threads' start to the last one's end.
	Setup, DataPath time.Duration
	Hung            bool // threads were stopped at the timeout
	// AtomicScope is the atomicity of the NIC atomics: "hca" or "glob" (the
	// native backend's setting, or the weakest atomic_cap of the devices; the
	// simulator's matching knob is --scope).
	AtomicScope string
}

// Hung is the property of a run whose threads did not finish in time: a
// deadlock or a livelock on real hardware, where the two cannot be told apart.
const Hung = "hung"

// Run runs the workload w on the native backend: one mmap'ed region per node,
// one goroutine per thread (locked to an OS thread), CPU operations as real
// atomic instructions, and one NIC goroutine per node that carries out the
// verbs sent to it. The workload's monitors judge the run as the simulator's
// do.
func Run(cfg Config, w workload.Workload) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, errors.New("no workload")
	}
	words, timeout := cfg.WordsPerNode, cfg.Timeout
	if words == 0 {
		words = 1 << 16
	}
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	setupStart := time.Now()
	var mem *Memory
	var cl *cluster
	scope := "hca"
	if cfg.Backend == Verbs {
		var err error
		if cl, err = openCluster(cfg.Devices, cfg.Nodes, words); err != nil {
			return nil, err
		}
		defer cl.Close()
		regions := make([][]byte, len(cl.arenas))
		for n, a := range cl.arenas {
			regions[n] = a.Bytes()
		}
		if mem, err = memoryOver(regions); err != nil {
			return nil, err
		}
		scope = cl.atomicScope()
	} else {
		var err error
		if mem, err = NewMemory(cfg.Nodes, words); err != nil {
			return nil, err
		}
		if cfg.GlobalAtomics {
			scope = "glob"
		}
	}
	defer mem.Close()
	prog, names, err := layOut(cfg, w, mem)
	if err != nil {
		return nil, err
	}
	lin := cfg.Linearizability && prog.Spec != nil
	run := workload.NewRun(prog, len(mem.threads), workload.Options{Names: names, Label: mem.Label,
		History: lin, GlobalAtomics: scope == "glob", Concurrent: true})

	stopNICs := func() {}
	// The verb paths: NIC goroutines, or every thread's QPs (with its
	// scratch buffer in its node's registered memory), all set up now.
	paths := make([]verbPath, len(mem.threads))
	if cl != nil {
		for id, in := range mem.threads {
			scratch := mem.Alloc(in.Node, scratchWords+asyncSlots, fmt.Sprintf("scratch.%s", names[id]))
			if mem.err != nil {
				return nil, mem.err
			}
			v, err := cl.connect(in.Node, scratch)
			if err != nil {
				return nil, fmt.Errorf("connecting %s's QPs: %v", names[id], err)
			}
			paths[id] = v
		}
	} else {
		nics := make(nativeVerbs, cfg.Nodes)
		var nicsDone sync.WaitGroup
		for n := range nics {
			nics[n] = &nic{mem: mem, global: cfg.GlobalAtomics, gap: cfg.AtomicGap, in: make(chan *request)}
			nicsDone.Go(nics[n].serve)
		}
		// stopNICs lets the NICs finish what they were handed (a posted
		// request nobody waits for) and stop, before memory is judged and
		// unmapped.
		var once sync.Once
		stopNICs = func() {
			once.Do(func() {
				for _, n := range nics {
					close(n.in)
				}
				nicsDone.Wait()
			})
		}
		defer stopNICs()
		for id := range paths {
			paths[id] = nics
		}
	}

	var stop atomic.Bool
	var progress atomic.Int64 // operations completed, for the watchdog
	var failMu sync.Mutex
	var first *workload.Finding
	fail := func(property, msg string) {
		failMu.Lock()
		defer failMu.Unlock()
		if first == nil {
			first = &workload.Finding{Property: property, Message: msg}
		}
	}
	threads := make([]*thread, len(mem.threads))
	for id, in := range mem.threads {
		threads[id] = &thread{id: id, node: in.Node, mem: mem, verbs: paths[id], stop: &stop, progress: &progress, fail: fail, local: in.Local,
			req: request{reply: make(chan uint64, 1)}, records: make([]OpRecord, 0, 4*cfg.Ops)}
	}
	res := &Result{Names: names, Setup: time.Since(setupStart), AtomicScope: scope}

	finished, epoch := startThreads(threads, prog.Thread, run)
	// The watchdog: a run is hung when no operation completed for timeout.
	tick := time.NewTicker(min(100*time.Millisecond, max(timeout/10, time.Millisecond)))
	defer tick.Stop()
	lastCount, lastChange := int64(-1), time.Now()
wait:
	for {
		select {
		case <-finished:
			break wait
		case now := <-tick.C:
			if c := progress.Load(); c != lastCount {
				lastCount, lastChange = c, now
			} else if now.Sub(lastChange) >= timeout {
				stop.Store(true)
				res.Hung = true
				<-finished // every spin loop Pauses, so every thread unwinds
				break wait
			}
		}
	}
	res.DataPath = time.Since(epoch)
	stopNICs()
	if cl != nil && !res.Hung {
		// Posted requests nobody waited for (an unsignaled release) must land
		// before memory is judged.
		for _, t := range threads {
			for target := range cfg.Nodes {
				for pend := t.pendingTo(target); len(pend) > 0; pend = t.pendingTo(target) {
					if err := t.verbs.(asyncPath).progress(t, pend, true); err != nil {
						fail("misuse", fmt.Sprintf("%s: completing its posted requests: %v", names[t.id], err))
						break
					}
				}
			}
		}
	}

	for _, t := range threads {
		res.Ops = append(res.Ops, t.records...)
	}
	res.MaxBypass, res.Warnings = run.MaxBypass(), run.Warnings()
	switch {
	case first != nil:
		res.Finding = first
	case run.Violation() != nil:
		res.Finding = run.Violation()
	case res.Hung:
		res.Finding = &workload.Finding{Property: Hung, Message: fmt.Sprintf("no operation completed for %v (a deadlock, or a lock that lets nobody in); %s", timeout, pendingOps(run))}
	default:
		res.Finding = run.Final(mem.Peek)
	}
	if lin && res.Finding == nil {
		r := workload.CheckLinearizability(run.History(), prog.Spec, workload.LinOptions{Names: names})
		res.Lin = &r
		if r.Verdict == workload.LinIllegal {
			res.Finding = &workload.Finding{Property: workload.Linearizability, Message: "the history is not linearizable: " + r.Reason}
		}
	}
	return res, nil
}

// pendingOps says which threads had an operation pending.
func pendingOps(run *workload.Run) string {
	if f := run.Starving(); f != nil {
		return f.Message
	}
	if p := run.Pending(); p != "" {
		return "pending: " + p
	}
	return "no thread had an operation pending"
}

// Latency is a latency distribution: how many operations, and quantiles in
// nanoseconds.
type Latency struct {
	Count int   `json:"count"`
	P50   int64 `json:"p50_ns"`
	P99   int64 `json:"p99_ns"`
	P999  int64 `json:"p999_ns"`
}

// Latencies returns the distribution of the operations named name, local and
// remote threads apart.
func (r *Result) Latencies(name string) (local, remote Latency) {
	return r.LatenciesBy(name, func(o OpRecord) bool { return o.Local })
}

// LatenciesBy returns the distribution of the operations named name, split by
// local (a lock table's operation is local when its key lives on the
// requester's node: workload.KeyNode).
func (r *Result) LatenciesBy(name string, local func(OpRecord) bool) (loc, remote Latency) {
	var l, rm []int64
	for _, o := range r.Ops {
		if o.Name != name {
			continue
		}
		if local(o) {
			l = append(l, o.EndNs-o.StartNs)
		} else {
			rm = append(rm, o.EndNs-o.StartNs)
		}
	}
	return quantiles(l), quantiles(rm)
}

func quantiles(d []int64) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	q := func(p float64) int64 {
		i := int(p * float64(len(d)-1))
		return d[i]
	}
	return Latency{Count: len(d), P50: q(0.5), P99: q(0.99), P999: q(0.999)}
}

// Throughput is operations named name completed per second of the data path.
func (r *Result) Throughput(name string) float64 {
	n := 0
	for _, o := range r.Ops {
		if o.Name == name {
			n++
		}
	}
	if r.DataPath <= 0 {
		return 0
	}
	return float64(n) / r.DataPath.Seconds()
}

// WriteCSV writes one line per operation, in start order, after a header:
// thread,node,local,op,start_ns,end_ns,latency_ns.
func (r *Result) WriteCSV(w io.Writer) error {
	ops := slices.Clone(r.Ops)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].StartNs < ops[j].StartNs })
	cw := csv.NewWriter(w)
	cw.Write([]string{"thread", "node", "local", "op", "start_ns", "end_ns", "latency_ns"})
	for _, o := range ops {
		cw.Write([]string{r.Names[o.Thread], strconv.Itoa(o.Node), strconv.FormatBool(o.Local), o.Name,
			strconv.FormatInt(o.StartNs, 10), strconv.FormatInt(o.EndNs, 10), strconv.FormatInt(o.EndNs-o.StartNs, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// layOut lays the workload out on mem (every node's words; the same in every
// process of a run) and returns its program and the run's thread names.
func layOut(cfg Config, w workload.Workload, mem *Memory) (*workload.Program, []string, error) {
	mem.home, mem.ops = cfg.Home, cfg.Ops
	var names []string
	for node, k := range cfg.threadCounts() {
		for i := range k {
			mem.threads = append(mem.threads, rdma.ThreadInfo{ID: len(mem.threads), Node: node, Local: node == cfg.Home})
			names = append(names, fmt.Sprintf("n%d/t%d", node, i))
		}
	}
	prog, err := w.Build(mem)
	if err == nil {
		err = mem.err
	}
	if err == nil && (prog == nil || prog.Thread == nil) {
		err = errors.New("the workload built no program (Program.Thread is nil)")
	}
	return prog, names, err
}
