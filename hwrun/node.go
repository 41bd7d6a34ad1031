package hwrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// JoinOptions describe a node's process in a session with one process per
// node.
type JoinOptions struct {
	// Build makes the workload a run's order describes (its Spec, as the
	// coordinator's caller wrote it).
	Build func(spec []byte) (workload.Workload, error)
	// PeerTimeout bounds connecting to the coordinator and the waits of a
	// run's set-up (0: 30 s).
	PeerTimeout time.Duration
	// Devices, when set, replace the run's verbs devices on this machine (on a
	// cluster every machine names its own); the node uses Devices[node mod
	// len].
	Devices []string
}

// ErrAborted is what Join's error is (errors.Is) when the coordinator ended
// the session after a failure elsewhere: the coordinator reports it.
var ErrAborted = errors.New("the coordinator ended the session")

// abortError is the coordinator's end of a session after a failure.
type abortError struct{ reason string }

func (e *abortError) Error() string        { return "the coordinator ended the session: " + e.reason }
func (e *abortError) Is(target error) bool { return target == ErrAborted }

// nodeProc is a node's process in a session.
type nodeProc struct {
	ctx  context.Context
	node int
	opts JoinOptions
	cn   *conn
	in   chan inbound
}

// Join connects to the coordinator at addr as node node, and runs the runs it
// orders until it says bye. It returns an error when a run fails here (the
// coordinator is told why), when the coordinator ends the session after a
// failure elsewhere, when the connection is lost, or when ctx is cancelled;
// every mapping, file and QP of a run is released in every case.
func Join(ctx context.Context, addr string, node int, o JoinOptions) error {
	if o.Build == nil {
		return errors.New("join: no Build")
	}
	if node < 0 || node > rdma.MaxNode {
		return fmt.Errorf("join: node %d: want 0 … %d", node, rdma.MaxNode)
	}
	if o.PeerTimeout <= 0 {
		o.PeerTimeout = 30 * time.Second
	}
	// The coordinator may not listen yet (a cluster's machines start in any
	// order): retry until the peer timeout.
	var nc net.Conn
	deadline := time.Now().Add(o.PeerTimeout)
	for {
		var err error
		nc, err = net.DialTimeout("tcp", addr, time.Until(deadline))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("join: no coordinator at %s within %v: %v", addr, o.PeerTimeout, err)
		}
		select {
		case <-ctx.Done():
			return errors.New("join: interrupted")
		case <-time.After(200 * time.Millisecond):
		}
	}
	cn, err := greet(nc, o.PeerTimeout, "the coordinator at "+addr)
	if err != nil {
		nc.Close()
		return fmt.Errorf("join: %v", err)
	}
	defer cn.close()
	if err := cn.send(&message{Kind: msgHello, Node: node}); err != nil {
		return fmt.Errorf("join: %v", err)
	}
	n := &nodeProc{ctx: ctx, node: node, opts: o, cn: cn, in: make(chan inbound, 8)}
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			m, err := cn.recv()
			select {
			case n.in <- inbound{node, m, err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		m, err := n.next(0)
		if err != nil {
			return err
		}
		switch m.Kind {
		case msgOrder:
			if err := n.run(m.Order); err != nil {
				var ab *abortError
				if !errors.As(err, &ab) {
					cn.send(&message{Kind: msgError, Err: err.Error()})
				}
				return err
			}
		case msgBye:
			return nil
		default:
			return fmt.Errorf("join: an unexpected %q message from the coordinator", m.Kind)
		}
	}
}

// next is the coordinator's next message (timeout 0: no bound); abort and a
// lost connection are errors.
func (n *nodeProc) next(timeout time.Duration) (*message, error) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		tc = t.C
	}
	select {
	case in := <-n.in:
		return n.check(in)
	case <-tc:
		return nil, fmt.Errorf("the coordinator did not answer within %v", timeout)
	case <-n.ctx.Done():
		return nil, errors.New("interrupted")
	}
}

func (n *nodeProc) check(in inbound) (*message, error) {
	if in.err != nil {
		return nil, connErr("the coordinator", in.err)
	}
	if in.m.Kind == msgAbort {
		return nil, &abortError{in.m.Err}
	}
	return in.m, nil
}

// expect is the coordinator's next message, which must be of kind.
func (n *nodeProc) expect(kind string, timeout time.Duration) (*message, error) {
	m, err := n.next(timeout)
	if err == nil && m.Kind != kind {
		err = fmt.Errorf("an unexpected %q message from the coordinator (want %s)", m.Kind, kind)
	}
	return m, err
}

// exchange sends this node's part of an exchange round and returns every
// node's.
func (n *nodeProc) exchange(blob []byte) ([][]byte, error) {
	if err := n.cn.send(&message{Kind: msgExchange, Blob: blob}); err != nil {
		return nil, err
	}
	m, err := n.expect(msgTable, 2*n.opts.PeerTimeout)
	if err != nil {
		return nil, err
	}
	return m.Table, nil
}

// nodeRun is one run's state in a node's process.
type nodeRun struct {
	cfg     Config
	node    int
	mem     *Memory
	names   []string
	prog    *workload.Program
	paths   func(id int) (verbPath, error) // a local thread's verb path
	seq     func(id int) uint64            // the next number of the global order of marks
	scope   string
	started func()         // after the start barrier (unlink the shared files)
	after   func(*nodeRun) // after the threads finish, before the report (stop the NICs, complete posted verbs)
	layout  []uint64       // bytes used per node by the workload (nil: mem.next)
	threads []*thread
	stop    atomic.Bool
	fail    func(property, msg string)
	first   *workload.Finding
	leak    bool // threads did not unwind: do not unmap
}

func (n *nodeProc) run(o *order) error {
	setupStart := time.Now()
	if o == nil {
		return errors.New("an order without a run")
	}
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	if n.node >= cfg.Nodes {
		return fmt.Errorf("the run has nodes 0 … %d", cfg.Nodes-1)
	}
	w, err := n.opts.Build(o.Spec)
	if err != nil {
		return fmt.Errorf("building the workload: %v", err)
	}
	words := cfg.WordsPerNode
	if words == 0 {
		words = 1 << 16
	}
	nr := &nodeRun{cfg: cfg, node: n.node}
	var cleanup []func()
	defer func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}()
	switch cfg.Backend {
	case Verbs:
		err = n.setupVerbs(nr, o, w, words, &cleanup)
	default:
		err = n.setupNative(nr, o, w, words, &cleanup)
	}
	if err != nil {
		return err
	}
	layout := nr.layout
	if layout == nil {
		layout = nr.mem.next
	}
	if err := n.cn.send(&message{Kind: msgReady, Layout: layout}); err != nil {
		return err
	}
	if _, err := n.expect(msgStart, 2*n.opts.PeerTimeout); err != nil {
		return err
	}
	if nr.started != nil {
		nr.started()
	}
	return n.execute(nr, setupStart)
}

// build lays the workload out on mem (every node's words, the same in every
// process) and makes the run's thread list.
func (nr *nodeRun) build(w workload.Workload) error {
	prog, names, err := layOut(nr.cfg, w, nr.mem)
	nr.prog, nr.names = prog, names
	return err
}

// The native backend with one process per node: each node creates its memory
// as a shared file, and every process maps every node's file. Each process has
// a NIC goroutine per node, serialised across processes by the node's NIC lock
// (reserved word nicLockWord); the marks' global order is a counter in node 0's
// reserved bytes (markSeqWord), taken with a CPU atomic.
const (
	nicLockWord = 1
	markSeqWord = 2
)

type nativeEndpoint struct{ Path string }

func (n *nodeProc) setupNative(nr *nodeRun, o *order, w workload.Workload, words int, cleanup *[]func()) error {
	cfg, size := nr.cfg, words*rdma.WordBytes
	path := filepath.Join(o.ShmDir, fmt.Sprintf("%s%s-r%d-n%d", shmPrefix, o.Session, o.Run, n.node))
	own, err := createShm(path, size)
	if err != nil {
		return err
	}
	var once sync.Once
	unlink := func() { once.Do(func() { os.Remove(path) }) }
	*cleanup = append(*cleanup, unlink)
	regions := make([][]byte, cfg.Nodes)
	regions[n.node] = own
	*cleanup = append(*cleanup, func() {
		if !nr.leak {
			for _, b := range regions {
				if b != nil {
					unmap(b)
				}
			}
		}
	})
	blob, _ := json.Marshal(nativeEndpoint{Path: path})
	table, err := n.exchange(blob)
	if err != nil {
		return err
	}
	for peer, b := range table {
		if peer == n.node {
			continue
		}
		var ep nativeEndpoint
		if err := json.Unmarshal(b, &ep); err != nil || ep.Path == "" {
			return fmt.Errorf("node %d's endpoint %q: not a native backend's", peer, b)
		}
		if regions[peer], err = openShm(ep.Path, size); err != nil {
			return fmt.Errorf("node %d's memory: %v", peer, err)
		}
	}
	if nr.mem, err = memoryOf(regions, nil, n.node); err != nil {
		return err
	}
	if err := nr.build(w); err != nil {
		return err
	}
	nr.scope = "hca"
	if cfg.GlobalAtomics {
		nr.scope = "glob"
	}
	nics := make(nativeVerbs, cfg.Nodes)
	var nicsDone sync.WaitGroup
	for t := range nics {
		nics[t] = &nic{mem: nr.mem, global: cfg.GlobalAtomics, gap: cfg.AtomicGap, in: make(chan *request),
			lock: nr.mem.reserved(t, nicLockWord), stop: &nr.stop}
		nicsDone.Go(nics[t].serve)
	}
	var stopOnce sync.Once
	stopNICs := func() {
		stopOnce.Do(func() {
			for _, x := range nics {
				close(x.in)
			}
			nicsDone.Wait()
		})
	}
	*cleanup = append(*cleanup, func() {
		if !nr.leak {
			stopNICs()
		}
	})
	nr.after = func(*nodeRun) { stopNICs() }
	nr.paths = func(int) (verbPath, error) { return nics, nil }
	counter := nr.mem.reserved(0, markSeqWord)
	nr.seq = func(int) uint64 { return atomic.AddUint64(counter, 1) }
	nr.started = unlink // every peer has mapped it
	return nil
}

// execute runs the node's threads from the start barrier to the report, and
// sends its memory when the coordinator says finish.
func (n *nodeProc) execute(nr *nodeRun, setupStart time.Time) error {
	mem, cfg := nr.mem, nr.cfg
	rec := &recorder{events: make([][]markEvent, len(mem.threads)), seq: nr.seq}
	local := *nr.prog
	local.Monitors = []workload.Monitor{rec} // the workload's own monitors judge the merged run
	run := workload.NewRun(&local, len(mem.threads), workload.Options{Names: nr.names, Label: mem.Label,
		GlobalAtomics: nr.scope == "glob", Concurrent: true})
	var progress atomic.Int64
	var failMu sync.Mutex
	nr.fail = func(property, msg string) {
		failMu.Lock()
		defer failMu.Unlock()
		if nr.first == nil {
			nr.first = &workload.Finding{Property: property, Message: msg}
		}
	}
	var ids []int
	for id, in := range mem.threads {
		if in.Node != nr.node {
			continue
		}
		p, err := nr.paths(id)
		if err != nil {
			return fmt.Errorf("connecting %s's QPs: %v", nr.names[id], err)
		}
		ids = append(ids, id)
		nr.threads = append(nr.threads, &thread{id: id, node: in.Node, mem: mem, verbs: p, stop: &nr.stop, progress: &progress, fail: nr.fail, local: in.Local,
			req: request{reply: make(chan uint64, 1)}, records: make([]OpRecord, 0, 4*cfg.Ops)})
	}
	finished, epoch := startThreads(nr.threads, local.Thread, run)
	setup := time.Since(setupStart)
	hb := time.NewTicker(heartbeat)
	defer hb.Stop()
	hung := false
	var failure error
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-hb.C:
			if err := n.cn.send(&message{Kind: msgProgress, Progress: progress.Load()}); err != nil {
				failure = err
				break wait
			}
		case in := <-n.in:
			m, err := n.check(in)
			if err != nil {
				failure = err
				break wait
			}
			if m.Kind != msgStop {
				failure = fmt.Errorf("an unexpected %q message from the coordinator while the threads run", m.Kind)
				break wait
			}
			hung = true
			nr.stop.Store(true) // every spin loop Pauses, so every thread unwinds
		case <-n.ctx.Done():
			failure = errors.New("interrupted")
			break wait
		}
	}
	dataPath := time.Since(epoch)
	if failure != nil {
		nr.stop.Store(true)
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			nr.leak = true // a thread that never Pauses: leave the memory mapped until the process exits
		}
		return failure
	}
	if nr.after != nil {
		nr.after(nr)
	}
	rep := &nodeReport{Failure: nr.first, Hung: hung, Setup: setup, DataPath: dataPath, Scope: nr.scope, Threads: ids}
	for _, t := range nr.threads {
		rep.Ops = append(rep.Ops, t.records...)
		rep.Events = append(rep.Events, rec.events[t.id])
	}
	if err := n.cn.send(&message{Kind: msgDone, Report: rep}); err != nil {
		return err
	}
	for {
		m, err := n.next(0)
		if err != nil {
			return err
		}
		if m.Kind == msgFinish {
			break
		}
		if m.Kind != msgStop { // a stop may cross the done
			return fmt.Errorf("an unexpected %q message from the coordinator (want finish)", m.Kind)
		}
	}
	dump := make([]uint64, mem.next[nr.node]/rdma.WordBytes)
	for i := rdma.ReservedBytes / rdma.WordBytes; i < len(dump); i++ {
		dump[i] = mem.Peek(rdma.MakePtr(nr.node, uint64(i*rdma.WordBytes)))
	}
	return n.cn.send(&message{Kind: msgMemory, Memory: dump})
}

// startThreads starts every thread's goroutine (locked to an OS thread) on
// body, lets them go together, and returns a channel closed when all have
// finished, and the start time, which every thread's records count from.
func startThreads(threads []*thread, body func(*workload.Thread), run *workload.Run) (<-chan struct{}, time.Time) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for _, t := range threads {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			defer t.recoverThread()
			wt := run.Thread(t.id, t)
			ready.Done()
			<-start
			body(wt)
		}()
	}
	ready.Wait()
	epoch := time.Now()
	for _, t := range threads {
		t.epoch = epoch
	}
	close(start)
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	return finished, epoch
}

// markEvent is one event a node's thread marked, as the coordinator replays
// it: Seq is its place in the global order of marks (0 for a memory access,
// which is replayed after the thread's previous event).
type markEvent struct {
	Seq               uint64
	Kind              workload.EventKind
	Name              string
	Arg, Result       uint64
	HasArg, HasResult bool
	Key               int
	Access            rdma.Op
	Addr              rdma.Ptr
}

// recorder is the monitor a node's process runs instead of the workload's: it
// records every event with its place in the global order of marks. Its calls
// are serialised by the node's Run (Options.Concurrent).
type recorder struct {
	events [][]markEvent // by thread id
	seq    func(id int) uint64
}

func (r *recorder) Observe(_ *workload.Run, ev *workload.Event) *workload.Finding {
	e := markEvent{Kind: ev.Kind, Key: ev.Key, Access: ev.Access, Addr: ev.Addr}
	if ev.Op != nil {
		e.Name, e.Arg, e.HasArg, e.Result, e.HasResult = ev.Op.Name, ev.Op.Arg, ev.Op.HasArg, ev.Op.Result, ev.Op.HasResult
	}
	if ev.Kind != workload.EvAccess {
		e.Seq = r.seq(ev.Thread)
	}
	r.events[ev.Thread] = append(r.events[ev.Thread], e)
	return nil
}
