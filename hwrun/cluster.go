package hwrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/rdmasim/rdmasim/workload"
)

// ClusterOptions describe a session of runs with one process per node.
type ClusterOptions struct {
	Nodes int
	// Listen is the coordinator's TCP address (""/":0" forms are fine; "":
	// 127.0.0.1 on a free port).
	Listen string
	// PeerTimeout bounds every wait for a peer: for all nodes to join, to
	// answer during a run's set-up, to send a heartbeat while running (0:
	// 30 s).
	PeerTimeout time.Duration
	// Launch makes the command of node's process on this machine, to join
	// addr; the coordinator starts it, reports its early exit, and kills it at
	// Close if it has not exited by then. Nil (or a nil command for a node):
	// the node is started by someone else (rdmasim hw node --join on every
	// machine of a cluster).
	Launch func(node int, addr string) (*exec.Cmd, error)
	// ShmDir is where the native backend's nodes create their shared memory
	// files ("": /dev/shm, or the temporary directory without one).
	ShmDir string
	// Log receives the line that says where to join (nil: nowhere).
	Log io.Writer
}

// Cluster is a coordinator's session: every node's process connected,
// running one run after another (Cluster.Run) until Close.
type Cluster struct {
	opts    ClusterOptions
	ctx     context.Context
	ln      net.Listener
	conns   []*conn
	in      chan inbound
	quit    chan struct{}
	cmds    []*exec.Cmd
	exited  chan procExit
	session string
	runs    int
	gone    int // launched processes whose exit was consumed
	broken  error
	closed  bool
	readers sync.WaitGroup
}

type inbound struct {
	node int
	m    *message
	err  error
}

type procExit struct {
	node int
	err  error
}

// StartCluster listens, launches the nodes' processes (Launch) and waits until
// every node has joined, for at most the peer timeout: a node that never
// arrives is an error naming it, as is a peer that does not speak the
// protocol. On error everything started is stopped.
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Nodes < 1 {
		return nil, fmt.Errorf("cluster: %d nodes: want ≥ 1", o.Nodes)
	}
	if o.PeerTimeout <= 0 {
		o.PeerTimeout = 30 * time.Second
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.ShmDir == "" {
		o.ShmDir = defaultShmDir()
	}
	var id [6]byte
	rand.Read(id[:])
	c := &Cluster{opts: o, ctx: ctx, conns: make([]*conn, o.Nodes), in: make(chan inbound, 4*o.Nodes), quit: make(chan struct{}),
		exited: make(chan procExit, o.Nodes), session: fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(id[:]))}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: listening on %s: %v", o.Listen, err)
	}
	c.ln = ln
	addr := ln.Addr().String()
	if o.Log != nil {
		fmt.Fprintf(o.Log, "coordinator listening on %s: waiting up to %v for %d nodes (rdmasim hw node --join %s --node I)\n", addr, o.PeerTimeout, o.Nodes, addr)
	}
	if err := c.join(); err != nil {
		c.abort(err)
		c.Close()
		return nil, err
	}
	return c, nil
}

// Addr is the address the coordinator listens on.
func (c *Cluster) Addr() string { return c.ln.Addr().String() }

type joined struct {
	node int
	cn   *conn
	err  error
}

func (c *Cluster) join() error {
	addr := c.Addr()
	if c.opts.Launch != nil {
		for n := range c.opts.Nodes {
			cmd, err := c.opts.Launch(n, addr)
			if err == nil && cmd == nil {
				continue // started elsewhere
			}
			if err == nil {
				err = cmd.Start()
			}
			if err != nil {
				return fmt.Errorf("cluster: starting node %d's process: %v", n, err)
			}
			c.cmds = append(c.cmds, cmd)
			go func() { c.exited <- procExit{n, cmd.Wait()} }()
		}
	}
	joins := make(chan joined)
	stopAccept := make(chan struct{})
	defer close(stopAccept)
	go func() {
		for {
			nc, err := c.ln.Accept()
			if err != nil {
				return // closed
			}
			go func() {
				j := c.hello(nc)
				select {
				case joins <- j:
				case <-stopAccept:
					if j.cn != nil {
						j.cn.close()
					} else {
						nc.Close()
					}
				}
			}()
		}
	}()
	deadline := time.NewTimer(c.opts.PeerTimeout)
	defer deadline.Stop()
	for c.missing() != nil {
		select {
		case j := <-joins:
			if j.err != nil {
				return fmt.Errorf("cluster: %v", j.err)
			}
			if j.node < 0 || j.node >= c.opts.Nodes {
				j.cn.send(&message{Kind: msgAbort, Err: fmt.Sprintf("node %d: this run has nodes 0 … %d", j.node, c.opts.Nodes-1)})
				j.cn.close()
				return fmt.Errorf("cluster: %s joined as node %d, but the run has nodes 0 … %d", j.cn.c.RemoteAddr(), j.node, c.opts.Nodes-1)
			}
			if c.conns[j.node] != nil {
				j.cn.send(&message{Kind: msgAbort, Err: fmt.Sprintf("node %d has joined already", j.node)})
				j.cn.close()
				return fmt.Errorf("cluster: node %d joined twice (from %s and %s)", j.node, c.conns[j.node].c.RemoteAddr(), j.cn.c.RemoteAddr())
			}
			j.cn.peer = fmt.Sprintf("node %d", j.node)
			c.conns[j.node] = j.cn
		case e := <-c.exited:
			if c.conns[e.node] == nil {
				c.gone++
				return fmt.Errorf("cluster: node %d's process exited before joining: %v", e.node, exitText(e.err))
			}
			c.exited <- e // reported later, as a lost connection
		case <-deadline.C:
			return fmt.Errorf("cluster: %s never joined within %v (listening on %s)", nodeList(c.missing()), c.opts.PeerTimeout, addr)
		case <-c.ctx.Done():
			return fmt.Errorf("cluster: interrupted while waiting for %s to join", nodeList(c.missing()))
		}
	}
	for n, cn := range c.conns {
		c.readers.Add(1)
		go func() {
			defer c.readers.Done()
			for {
				m, err := cn.recv()
				select {
				case c.in <- inbound{n, m, err}:
				case <-c.quit:
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// hello greets a new connection and reads its hello.
func (c *Cluster) hello(nc net.Conn) joined {
	peer := "the peer at " + nc.RemoteAddr().String()
	// Half the peer timeout, so that a silent peer is named before the wait
	// for the nodes to join ends.
	cn, err := greet(nc, min(c.opts.PeerTimeout/2, 10*time.Second), peer)
	if err != nil {
		nc.Close()
		return joined{err: err}
	}
	nc.SetReadDeadline(time.Now().Add(c.opts.PeerTimeout))
	m, err := cn.recvMax(helloMax)
	nc.SetReadDeadline(time.Time{})
	if err == nil && m.Kind != msgHello {
		err = fmt.Errorf("a %q message instead of hello", m.Kind)
	}
	if err != nil {
		cn.close()
		return joined{err: fmt.Errorf("%s: %v", peer, err)}
	}
	return joined{node: m.Node, cn: cn}
}

func (c *Cluster) missing() []int {
	var out []int
	for n, cn := range c.conns {
		if cn == nil {
			out = append(out, n)
		}
	}
	return out
}

// abort tells every connected node why the session ends.
func (c *Cluster) abort(err error) {
	if c.broken == nil {
		c.broken = err
	}
	for _, cn := range c.conns {
		if cn != nil {
			cn.send(&message{Kind: msgAbort, Err: err.Error()})
		}
	}
}

func (c *Cluster) broadcast(m *message) error {
	for _, cn := range c.conns {
		if err := cn.send(m); err != nil {
			return err
		}
	}
	return nil
}

// Close ends the session: bye (or the abort already sent), then the nodes'
// processes are given a moment to exit and are killed otherwise, and any
// shared memory file of the session left behind is removed.
func (c *Cluster) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.broken == nil {
		c.broadcast(&message{Kind: msgBye})
	}
	close(c.quit)
	for _, cn := range c.conns {
		if cn != nil {
			cn.close()
		}
	}
	c.ln.Close()
	running := len(c.cmds) - c.gone
	grace := time.NewTimer(3 * time.Second)
	defer grace.Stop()
	for running > 0 {
		select {
		case <-c.exited:
			running--
		case <-grace.C:
			for _, cmd := range c.cmds {
				cmd.Process.Kill()
			}
			grace.Reset(time.Hour)
		}
	}
	c.readers.Wait()
	removeSession(c.opts.ShmDir, c.session)
	return nil
}

// removeSession removes the session's shared memory files left behind by a
// node that died before unlinking its own.
func removeSession(dir, session string) {
	files, _ := filepath.Glob(filepath.Join(dir, shmPrefix+session+"-*"))
	for _, f := range files {
		os.Remove(f)
	}
}

// Run runs w once with one process per node: cfg must have the session's
// number of nodes; spec is what every node's Build makes the same workload of.
// The nodes' records and events are merged and judged here by the workload's
// monitors (see the package doc). A failure of the session (a node that died,
// stopped answering, or failed to set up) is an error, after which the
// session is over.
func (c *Cluster) Run(cfg Config, w workload.Workload, spec []byte) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c.broken != nil {
		return nil, fmt.Errorf("cluster: the session has failed already: %v", c.broken)
	}
	if c.closed {
		return nil, errors.New("cluster: closed")
	}
	if cfg.Nodes != c.opts.Nodes {
		return nil, fmt.Errorf("cluster: a run of %d nodes in a session of %d", cfg.Nodes, c.opts.Nodes)
	}
	if w == nil {
		return nil, errors.New("no workload")
	}
	c.runs++
	res, err := c.run(cfg, w, spec)
	if err != nil {
		c.abort(err)
		removeSession(c.opts.ShmDir, c.session)
		return nil, err
	}
	return res, nil
}

func (c *Cluster) run(cfg Config, w workload.Workload, spec []byte) (*Result, error) {
	setupStart := time.Now()
	o := &order{Session: c.session, Run: c.runs, Config: cfg, Spec: spec, ShmDir: c.opts.ShmDir}
	if err := c.broadcast(&message{Kind: msgOrder, Order: o}); err != nil {
		return nil, err
	}
	// Exchange rounds until every node is ready.
	var layouts [][]uint64
	for layouts == nil {
		ms, err := c.gather("its set-up", msgExchange, msgReady)
		if err != nil {
			return nil, err
		}
		switch ms[0].Kind {
		case msgExchange:
			t := make([][]byte, len(ms))
			for n, m := range ms {
				t[n] = m.Blob
			}
			if err := c.broadcast(&message{Kind: msgTable, Table: t}); err != nil {
				return nil, err
			}
		case msgReady:
			layouts = make([][]uint64, len(ms))
			for n, m := range ms {
				layouts[n] = m.Layout
			}
		}
	}
	setup := time.Since(setupStart)
	if err := c.broadcast(&message{Kind: msgStart}); err != nil {
		return nil, err
	}
	reports, err := c.dataPath(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.broadcast(&message{Kind: msgFinish}); err != nil {
		return nil, err
	}
	ms, err := c.gather("its memory", msgMemory)
	if err != nil {
		return nil, err
	}
	dumps := make([][]uint64, len(ms))
	for n, m := range ms {
		dumps[n] = m.Memory
	}
	return judge(cfg, w, setup, layouts, reports, dumps)
}

// gather waits for one message of one of kinds from every node (all of the
// same kind), for at most the peer timeout; heartbeats are skipped.
func (c *Cluster) gather(what string, kinds ...string) ([]*message, error) {
	got := make([]*message, len(c.conns))
	left := len(got)
	deadline := time.NewTimer(c.opts.PeerTimeout)
	defer deadline.Stop()
	for left > 0 {
		select {
		case in := <-c.in:
			m, err := c.check(in)
			if err != nil {
				return nil, err
			}
			if m.Kind == msgProgress {
				continue
			}
			if !slices.Contains(kinds, m.Kind) || got[in.node] != nil || (left < len(got) && m.Kind != c.firstKind(got)) {
				return nil, fmt.Errorf("node %d: an unexpected %q message while waiting for %s", in.node, m.Kind, what)
			}
			got[in.node] = m
			left--
		case <-deadline.C:
			var slow []int
			for n, m := range got {
				if m == nil {
					slow = append(slow, n)
				}
			}
			return nil, fmt.Errorf("%s did not answer within %v (waiting for %s)", nodeList(slow), c.opts.PeerTimeout, what)
		case <-c.ctx.Done():
			return nil, errors.New("interrupted")
		}
	}
	return got, nil
}

func (c *Cluster) firstKind(got []*message) string {
	for _, m := range got {
		if m != nil {
			return m.Kind
		}
	}
	return ""
}

// check turns a lost connection or a node's error into an error naming it.
func (c *Cluster) check(in inbound) (*message, error) {
	if in.err != nil {
		return nil, connErr(fmt.Sprintf("node %d's process", in.node), in.err)
	}
	if in.m.Kind == msgError {
		return nil, fmt.Errorf("node %d: %s", in.node, in.m.Err)
	}
	return in.m, nil
}

// dataPath runs the watchdog while the nodes' threads run: a run in which no
// node reports progress for cfg.Timeout is stopped as hung; a node silent for
// the peer timeout is an error.
func (c *Cluster) dataPath(cfg Config) ([]*nodeReport, error) {
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	reports := make([]*nodeReport, len(c.conns))
	progress := make([]int64, len(c.conns))
	heard := make([]time.Time, len(c.conns))
	now := time.Now()
	for n := range heard {
		heard[n] = now
	}
	left := len(reports)
	lastSum, lastChange, stopped := int64(-1), now, false
	tick := time.NewTicker(min(heartbeat, max(timeout/10, time.Millisecond)))
	defer tick.Stop()
	for left > 0 {
		select {
		case in := <-c.in:
			m, err := c.check(in)
			if err != nil {
				return nil, err
			}
			heard[in.node] = time.Now()
			switch {
			case m.Kind == msgProgress:
				progress[in.node] = m.Progress
			case m.Kind == msgDone && reports[in.node] == nil && m.Report != nil:
				reports[in.node] = m.Report
				left--
			default:
				return nil, fmt.Errorf("node %d: an unexpected %q message while the threads run", in.node, m.Kind)
			}
		case now := <-tick.C:
			for n, t := range heard {
				if reports[n] == nil && now.Sub(t) > c.opts.PeerTimeout {
					return nil, fmt.Errorf("node %d's process stopped answering (no heartbeat for %v)", n, c.opts.PeerTimeout)
				}
			}
			var sum int64
			for _, p := range progress {
				sum += p
			}
			if sum != lastSum {
				lastSum, lastChange = sum, now
			} else if !stopped && now.Sub(lastChange) >= timeout {
				stopped = true
				for n, cn := range c.conns {
					if reports[n] != nil {
						continue // done already
					}
					if err := cn.send(&message{Kind: msgStop}); err != nil {
						return nil, err
					}
				}
			}
		case <-c.ctx.Done():
			return nil, errors.New("interrupted")
		}
	}
	return reports, nil
}
