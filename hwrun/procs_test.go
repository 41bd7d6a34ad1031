package hwrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/hwrun"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/workload"
)

// The node processes of these tests are this test binary: TestMain joins the
// coordinator named in joinEnv instead of running the tests.
const joinEnv = "RDMASIM_HWRUN_TEST_JOIN"

// thisNode is the node of this process, when it is a node's process.
var thisNode = -1

func TestMain(m *testing.M) {
	if v := os.Getenv(joinEnv); v != "" {
		addr, node, _ := strings.Cut(v, ",")
		n, _ := strconv.Atoi(node)
		thisNode = n
		err := hwrun.Join(context.Background(), addr, n, hwrun.JoinOptions{Build: buildSpec, PeerTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintf(os.Stderr, "node %d: %v\n", n, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testSpec is the workload of a run in these tests.
type testSpec struct {
	Lock string // a registered lock under the counter workload
	// Overlap: a workload whose two threads (one on node 0, one on node 1)
	// overlap their critical sections on purpose and mix a CPU CAS with an
	// RDMA CAS on one word.
	Overlap bool
	// Die: node 1's thread exits its process after a few operations.
	Die bool
	// DieInSetup: node 1's process exits while it builds the workload, after
	// it created its shared memory file.
	DieInSetup bool
	// Broken: a lock that never frees (the run hangs).
	Broken bool
}

func buildSpec(b []byte) (workload.Workload, error) {
	var s testSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	switch {
	case s.Overlap:
		return overlap, nil
	case s.Die:
		return dying, nil
	case s.DieInSetup:
		return dyingInSetup, nil
	case s.Broken:
		return broken, nil
	}
	a, err := lookup(s.Lock)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func lookup(name string) (workload.Workload, error) {
	var w workload.Workload
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		w = lockWorkload(fatalTB{}, name)
	}()
	return w, err
}

// fatalTB lets lockWorkload run outside a test (in a node's process).
type fatalTB struct{ testing.TB }

func (fatalTB) Helper()           {}
func (fatalTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

type flags struct{ entered, left, mixed rdma.Ptr }

// overlap: n0/t0 enters its critical section and raises a flag; n1/t0 waits
// for the flag and enters while n0/t0 is still inside (it leaves only when
// n1/t0 says so). Both also CAS one word, by CPU and by RDMA.
var overlap = workload.Object[flags]{
	New: func(s workload.Setup) (flags, error) {
		return flags{entered: s.Alloc(0, 1, "entered"), left: s.Alloc(0, 1, "left"), mixed: s.Alloc(0, 1, "mixed")}, nil
	},
	Thread: func(t *workload.Thread, f flags, _ int) {
		if t.Node() == 0 {
			t.CAS(f.mixed, 0, 1)
			t.Enter()
			t.Store(f.entered, 1)
			for t.Load(f.left) == 0 {
				t.Pause()
			}
			t.Exit()
			return
		}
		t.RCAS(f.mixed, 1, 2)
		for t.RRead(f.entered) == 0 {
			t.Pause()
		}
		t.Enter()
		t.RWrite(f.left, 1)
		t.Exit()
	},
}

// dying: every thread adds to a counter forever; node 1's exits its process
// after 50 additions.
var dying = workload.Object[rdma.Ptr]{
	New: func(s workload.Setup) (rdma.Ptr, error) { return s.Alloc(0, 1, "counter"), nil },
	Thread: func(t *workload.Thread, c rdma.Ptr, _ int) {
		for i := 0; ; i++ {
			t.RFAA(c, 1)
			if t.Node() == 1 && i == 50 {
				os.Exit(3)
			}
			t.Pause()
		}
	},
}

// dyingInSetup: node 1's process exits while it builds the workload.
var dyingInSetup = workload.Object[int]{
	New: func(s workload.Setup) (int, error) {
		if thisNode == 1 {
			os.Exit(3)
		}
		return 0, nil
	},
	Thread: func(*workload.Thread, int, int) {},
}

var broken = workload.LockCounter{Lock: func(s rdma.Setup) (rdma.Lock, error) { return &brokenLock{w: s.Alloc(s.Home(), 1, "lock")}, nil }}

// startCluster starts a session of nodes processes of this test binary (the
// nodes in skip are not started), with its shared files in a directory of
// the test's.
func startCluster(t *testing.T, nodes int, timeout time.Duration, skip ...int) (*hwrun.Cluster, string, error) {
	t.Helper()
	dir := t.TempDir()
	c, err := hwrun.StartCluster(context.Background(), hwrun.ClusterOptions{Nodes: nodes, PeerTimeout: timeout, ShmDir: dir,
		Launch: func(node int, addr string) (*exec.Cmd, error) {
			for _, s := range skip {
				if s == node {
					return nil, nil
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", joinEnv, addr, node))
			cmd.Stderr = io.Discard
			if testing.Verbose() {
				cmd.Stderr = os.Stderr
			}
			return cmd, nil
		}})
	return c, dir, err
}

func spec(s testSpec) []byte {
	b, _ := json.Marshal(s)
	return b
}

// noLeftovers fails t if a shared memory file is left in dir.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) > 0 {
		t.Errorf("files left behind: %v", files)
	}
}

// TestProcsSafeLocks: spin, mcs and alock with one process per node (two
// nodes: the host's thread and two remote ones) keep mutual exclusion and
// every update, the merged history is linearizable, and every operation is
// recorded; the shared files are gone afterwards.
func TestProcsSafeLocks(t *testing.T) {
	c, dir, err := startCluster(t, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"spin", "mcs", "alock"} {
		cfg := hwrun.Config{Nodes: 2, Threads: []int{1, 2}, Ops: 200, Linearizability: true, Timeout: 10 * time.Second}
		res, err := c.Run(cfg, lockWorkload(t, name), spec(testSpec{Lock: name}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Finding != nil || len(res.Warnings) > 0 {
			t.Errorf("%s: %v, warnings %v", name, res.Finding, res.Warnings)
		}
		if got, want := len(res.Ops), 4*3*cfg.Ops; got != want {
			t.Errorf("%s: %d records, want %d", name, got, want)
		}
		if res.Lin == nil || res.Lin.Verdict != workload.LinOK {
			t.Errorf("%s: linearizability %v", name, res.Lin)
		}
		local, remote := res.Latencies(workload.OpAcquire)
		t.Logf("%s across processes: acquire p50 local %v remote %v, setup %v, data path %v", name,
			time.Duration(local.P50), time.Duration(remote.P50), res.Setup, res.DataPath)
	}
	c.Close()
	noLeftovers(t, dir)
}

// TestProcsViolation: violations across processes are judged on the merged
// run: two critical sections that overlap (one thread in each process), and a
// word that one process's thread CASes by CPU and the other's by RDMA.
func TestProcsViolation(t *testing.T) {
	c, dir, err := startCluster(t, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 1, Timeout: 10 * time.Second}, overlap, spec(testSpec{Overlap: true}))
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Finding; f == nil || f.Property != workload.MutualExclusion || !strings.Contains(f.Message, "n1/t0 enters the critical section while n0/t0") {
		t.Errorf("finding %v, want n1/t0 entering while n0/t0 holds the lock", f)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, "mixed") {
		t.Errorf("warnings %v, want the mixed word", res.Warnings)
	}
	c.Close()
	noLeftovers(t, dir)
}

// TestProcsNaiveLock: spin-naive across processes: the mixed-atomicity warning
// on every run; a violation, if the race shows in one of at most three runs,
// must be one the simulator produces for it.
func TestProcsNaiveLock(t *testing.T) {
	c, dir, err := startCluster(t, 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close(); noLeftovers(t, dir) }()
	for run := 1; run <= 3; run++ {
		res, err := c.Run(hwrun.Config{Nodes: 2, Threads: []int{2, 2}, Ops: 5000, Timeout: 5 * time.Second}, lockWorkload(t, "spin-naive"), spec(testSpec{Lock: "spin-naive"}))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) == 0 || res.Warnings[0].Property != workload.MixedAtomicity {
			t.Fatalf("warnings %v, want mixed atomicity on the lock word", res.Warnings)
		}
		if f := res.Finding; f != nil {
			if f.Property != workload.MutualExclusion && f.Property != workload.LostUpdate && f.Property != hwrun.Hung {
				t.Errorf("a kind of violation the simulator does not produce for spin-naive: %v", f)
			}
			t.Logf("run %d: %v", run, f)
			return
		}
	}
	t.Logf("spin-naive kept mutual exclusion in 3 runs across processes (the race is real but its window narrow)")
}

// TestProcsPeerNeverArrives: a node whose process never joins is an error
// naming it after the peer timeout.
func TestProcsPeerNeverArrives(t *testing.T) {
	start := time.Now()
	_, dir, err := startCluster(t, 3, time.Second, 1, 2)
	if err == nil || !strings.Contains(err.Error(), "nodes 1, 2 never joined within 1s") {
		t.Fatalf("error %v, want nodes 1 and 2 never joined", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("took %v", d)
	}
	noLeftovers(t, dir)
}

// TestProcsPeerDies: a node's process that exits during the run is an error
// naming it; the other node stops and removes its files.
func TestProcsPeerDies(t *testing.T) {
	c, dir, err := startCluster(t, 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 1, Timeout: 5 * time.Second}, dying, spec(testSpec{Die: true}))
	if err == nil || !strings.Contains(err.Error(), "node 1's process went away") {
		t.Errorf("error %v, want node 1's process gone", err)
	}
	if _, err := c.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 1}, dying, spec(testSpec{Die: true})); err == nil {
		t.Error("a run after a failed one: no error")
	}
	c.Close()
	noLeftovers(t, dir)
}

// TestProcsPeerDiesInSetup: a node's process that exits after creating its
// shared memory file, before the start: an error naming it, and no file left.
func TestProcsPeerDiesInSetup(t *testing.T) {
	c, dir, err := startCluster(t, 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Run(hwrun.Config{Nodes: 2, Threads: []int{1}, Ops: 1}, dyingInSetup, spec(testSpec{DieInSetup: true}))
	if err == nil || !strings.Contains(err.Error(), "node 1's process went away") {
		t.Errorf("error %v, want node 1's process gone", err)
	}
	c.Close()
	noLeftovers(t, dir)
}

// TestProcsHung: a lock that never frees hangs the run across processes: the
// coordinator's watchdog stops every node's threads and reports the run hung,
// naming the threads still in acquire; the session goes on.
func TestProcsHung(t *testing.T) {
	c, dir, err := startCluster(t, 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close(); noLeftovers(t, dir) }()
	cfg := hwrun.Config{Nodes: 2, Threads: []int{1, 2}, Ops: 2, Timeout: 300 * time.Millisecond}
	res, err := c.Run(cfg, broken, spec(testSpec{Broken: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hung || res.Finding == nil || res.Finding.Property != hwrun.Hung || !strings.Contains(res.Finding.Message, "acquire") {
		t.Errorf("hung %v, finding %v", res.Hung, res.Finding)
	}
	cfg.Timeout = 5 * time.Second
	res, err = c.Run(cfg, lockWorkload(t, "spin"), spec(testSpec{Lock: "spin"}))
	if err != nil || res.Finding != nil {
		t.Errorf("a run after a hung one: %v, %v", err, res.Finding)
	}
}

// TestProcsGarbagePeer: something that does not speak the protocol is a clear
// error, neither a hang nor a panic.
func TestProcsGarbagePeer(t *testing.T) {
	for _, garbage := range []string{"GET / HTTP/1.0\r\n\r\n", "rdmasim-hw-bootstrap/9\n", "", "rdmasim-hw-bootstrap/1\n\x7f\xff\xff\xff"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		done := make(chan error, 1)
		go func() {
			c, err := hwrun.StartCluster(context.Background(), hwrun.ClusterOptions{Nodes: 1, Listen: addr, PeerTimeout: time.Second, ShmDir: t.TempDir()})
			if c != nil {
				c.Close()
			}
			done <- err
		}()
		var nc net.Conn
		for range 50 {
			if nc, err = net.Dial("tcp", addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(nc, garbage)
		err = <-done
		nc.Close()
		want := map[string]string{"": "sent no greeting", "rdmasim-hw-bootstrap/9\n": "another version", "rdmasim-hw-bootstrap/1\n\x7f\xff\xff\xff": "a frame of 2147483647 bytes"}[garbage]
		if want == "" {
			want = "not an rdmasim hw peer"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", garbage, err, want)
		}
	}
	// and a node that joins something that is not a coordinator
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	err = hwrun.Join(context.Background(), ln.Addr().String(), 0, hwrun.JoinOptions{Build: buildSpec, PeerTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "not an rdmasim hw peer") {
		t.Errorf("joining an ssh server: %v", err)
	}
}
