// Command verbscheck exercises hwrun/verbs on two RDMA devices (by default the
// Soft-RoCE devices rxe0 and rxe1 that hwrun/guest/run.sh sets up): it reports
// each device's atomic_cap, checks READ, WRITE, CAS and FAA on a loopback
// connection and across the two devices, and then runs the atomicity
// experiments:
//
//   - lost updates: a CPU thread increments a word with sync/atomic while the
//     other device does RDMA fetch-and-add on it; with atomic_cap HCA the NIC's
//     load and store can straddle a CPU increment and overwrite it;
//   - failed-CAS write-back: the same CPU thread races RDMA compare-and-swaps
//     that never match; a CPU increment lost there means a failed CAS wrote the
//     old value back (Soft-RoCE in Linux 6.1 does, 6.12 does not);
//   - controls: RDMA READs against the CPU thread, and FAAs from two QPs with no
//     CPU thread, must lose nothing.
//
// It optionally runs perftest's ib_read_lat, ib_write_lat and ib_atomic_lat
// between the devices. Under an emulator every figure is emulator speed:
// functional evidence only, never performance data.
//
// Two more experiments run when asked for (-atomicity=false skips the ones
// above):
//
//   - -write-in-atomic: can a plain RDMA WRITE from one QP land between the
//     load and the store of an RDMA atomic from another QP (the simulator's
//     nic-writes knob: interleave or excluded)? See writeatomic.go;
//   - -latency: the per-verb latency of the Go+cgo data path (blocking READ,
//     WRITE and CAS through verbs.QP) next to perftest's, and their ratio. See
//     latency.go. Emulator timings: functional evidence of the binding's
//     overhead, not performance data. With -targets FILE it also writes the
//     measured figures as calibration targets (rdmasim calibrate --targets);
//     see targets.go.
//
// Losses are races: any one trial may miss them, so an experiment whose loss
// the device and kernel allow goes on past -trials, up to -max-trials, until
// one shows. It exits non-zero on a wrong value or a loss in a control; with
// -strict also when an allowed loss never shows or the failed-CAS write-back
// does not match the kernel version.
//
// Build with: go build -tags rdma ./hwrun/verbs/cmd/verbscheck
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rdmasim/rdmasim/hwrun/verbs"
	"golang.org/x/sys/unix"
)

var (
	dev0Name  = flag.String("dev0", "rxe0", "initiating device")
	dev1Name  = flag.String("dev1", "rxe1", "target device")
	trials    = flag.Int("trials", 6, "trials per atomicity experiment")
	ops       = flag.Int("ops", 2000, "RDMA operations per trial")
	hammers   = flag.Int("hammers", 1, "CPU threads incrementing the word in the atomicity experiments")
	depth     = flag.Int("depth", 1, "RDMA requests kept outstanding in the atomicity experiments (1 to 64)")
	maxTrials = flag.Int("max-trials", 60, "keep going up to this many trials while a loss that the device and kernel allow has not been seen yet")
	perftest  = flag.Bool("perftest", true, "also run perftest's ib_*_lat between the devices (if installed); with -latency, perftest's side of the comparison too")
	strict    = flag.Bool("strict", false, "also fail when lost updates are not observed on an HCA device, or the failed-CAS write-back does not match the kernel version")
	atomicity = flag.Bool("atomicity", true, "run the atomicity experiments (CPU vs RDMA lost updates, failed-CAS write-back, controls)")

	writeAtomic  = flag.Bool("write-in-atomic", false, "run the write-inside-atomic experiment (the simulator's nic-writes knob) and its controls")
	wiaWrites    = flag.Int("wia-writes", 1000, "WRITE+READ pairs per write-inside-atomic trial")
	wiaTrials    = flag.Int("wia-trials", 6, "write-inside-atomic trials (and trials per control)")
	wiaMaxTrials = flag.Int("wia-max-trials", 60, "keep going up to this many write-inside-atomic trials while no erased WRITE has been seen (within -wia-budget)")
	wiaBudget    = flag.Duration("wia-budget", 120*time.Second, "time after which the write-inside-atomic experiment stops adding trials")
	wiaDepth     = flag.Int("wia-depth", 8, "FAAs kept outstanding in the write-inside-atomic experiment (1 to 32)")

	latency   = flag.Bool("latency", false, "run the latency microbenchmark: Go+cgo blocking READ, WRITE, CAS vs perftest (EMULATOR timings under qemu: not performance data)")
	latIters  = flag.Int("lat-iters", 1000, "timed iterations per verb in the latency benchmark (perftest's default -n)")
	latWarmup = flag.Int("lat-warmup", 100, "untimed warm-up iterations per verb in the latency benchmark")
	latRounds = flag.Int("lat-rounds", 3, "rounds of the latency benchmark (perftest, then Go, per verb and round)")
	latPin    = flag.Bool("lat-pin", false, "pin the two sides of the ping-pong WRITE measurement to different CPUs")

	latTargets      = flag.String("targets", "", "with -latency: write the measured single-operation figures to this file as calibration targets (rdmasim calibrate --targets FILE --fit)")
	targetsPingPong = flag.Bool("targets-pingpong", false, "with -targets: also write the ping-pong WRITE (half-ping-pong; left out by default: its two spinning sides are at the mercy of the guest's scheduler)")
	perfWeight      = flag.Float64("targets-perftest-weight", 0, "with -targets: also write perftest's figures that measure what a calibration microbenchmark measures, with this weight in the fit (0: not written)")
)

var passed, failed int

func check(ok bool, format string, args ...any) {
	mark := "ok  "
	if ok {
		passed++
	} else {
		failed++
		mark = "FAIL"
	}
	fmt.Printf("  %s %s\n", mark, fmt.Sprintf(format, args...))
}

func fatal(format string, args ...any) {
	fmt.Printf("verbscheck: FATAL: %s\n", fmt.Sprintf(format, args...))
	os.Exit(1)
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func main() {
	flag.Parse()
	if *depth < 1 || *depth > 64 {
		fatal("-depth must be between 1 and 64")
	}
	if *wiaDepth < 1 || *wiaDepth > 32 || *wiaWrites < 1 || *wiaTrials < 1 || *latIters < 1 || *latWarmup < 0 || *latRounds < 1 {
		fatal("-wia-depth must be between 1 and 32; -wia-writes, -wia-trials and -lat-iters positive")
	}
	if *latTargets != "" && !*latency {
		fatal("-targets needs -latency")
	}
	if *perfWeight < 0 {
		fatal("-targets-perftest-weight must be ≥ 0")
	}
	if !verbs.Supported() {
		fatal("%v", verbs.ErrNotCompiled)
	}
	kernel := kernelRelease()
	fmt.Printf("verbscheck: kernel %s, GOMAXPROCS %d\n", kernel, runtime.GOMAXPROCS(0))
	names, err := verbs.DeviceNames()
	if err != nil {
		fatal("%v", err)
	}
	fmt.Printf("devices: %v\n", names)

	if *perftest {
		runPerftest()
	}

	d0, err := verbs.Open(*dev0Name)
	if err != nil {
		fatal("%v", err)
	}
	defer d0.Close()
	d1, err := verbs.Open(*dev1Name)
	if err != nil {
		fatal("%v", err)
	}
	defer d1.Close()
	for _, d := range []*verbs.Device{d0, d1} {
		fmt.Printf("device %s: atomic_cap %v, gid[0] %v\n", d.Name(), d.AtomicCap(), d.GID())
	}

	fmt.Printf("\n== functional: loopback on %s\n", d0.Name())
	functional(d0, d0)
	fmt.Printf("\n== functional: %s -> %s\n", d0.Name(), d1.Name())
	functional(d0, d1)

	var atom atomicityResults
	if *atomicity {
		atom = runAtomicity(d0, d1, kernel)
	}
	if *writeAtomic {
		runWriteInAtomic(d0, d1)
	}
	if *latency {
		runLatency(d0, d1)
	}

	fmt.Printf("\n== summary (kernel %s; emulator: functional results only, no performance data)\n", kernel)
	fmt.Printf("atomic_cap: %s %v, %s %v\n", d0.Name(), d0.AtomicCap(), d1.Name(), d1.AtomicCap())
	if *atomicity {
		atom.summary(d1, kernel)
	}
	if wiaSummary != "" {
		fmt.Println(wiaSummary)
	}
	if latSummary != "" {
		fmt.Println(latSummary)
	}
	fmt.Printf("verbscheck: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// functional checks READ, WRITE, CAS and FAA from a QP on init to memory on
// target, through a pair of connected QPs.
func functional(init, target *verbs.Device) {
	l := newLink(init, target)
	defer l.Close()
	qa, local, remote, r := l.qa, l.local, l.remote, l.r
	lw := local.Word(0)
	rw := remote.Word(64)
	t := time.Now()

	atomic.StoreUint64(lw, 0x1122334455667788)
	err := qa.Write(local, 0, 8, r, 64)
	check(err == nil && atomic.LoadUint64(rw) == 0x1122334455667788, "WRITE 8 bytes: remote word %#x (err %v)", atomic.LoadUint64(rw), err)

	atomic.StoreUint64(rw, 0xcafef00d)
	err = qa.Read(local, 8, 8, r, 64)
	got := atomic.LoadUint64(local.Word(8))
	check(err == nil && got == 0xcafef00d, "READ 8 bytes: %#x (err %v)", got, err)

	src := local.Bytes()[1024:2048]
	for i := range src {
		src[i] = byte(i*7 + 3)
	}
	err = qa.Write(local, 1024, 1024, r, 2048)
	check(err == nil && bytes.Equal(remote.Bytes()[2048:3072], src), "WRITE 1024 bytes (err %v)", err)
	clear(local.Bytes()[3072:4096])
	err = qa.Read(local, 3072, 1024, r, 2048)
	check(err == nil && bytes.Equal(local.Bytes()[3072:4096], src), "READ 1024 bytes (err %v)", err)

	atomic.StoreUint64(rw, 5)
	old, err := qa.CAS(local, 16, r, 64, 5, 7)
	check(err == nil && old == 5 && atomic.LoadUint64(rw) == 7, "CAS 5->7 on 5: returned %d, word %d (err %v)", old, atomic.LoadUint64(rw), err)
	old, err = qa.CAS(local, 16, r, 64, 5, 9)
	check(err == nil && old == 7 && atomic.LoadUint64(rw) == 7, "CAS 5->9 on 7 fails: returned %d, word %d (err %v)", old, atomic.LoadUint64(rw), err)
	old, err = qa.FAA(local, 24, r, 64, 3)
	check(err == nil && old == 7 && atomic.LoadUint64(rw) == 10, "FAA +3 on 7: returned %d, word %d (err %v)", old, atomic.LoadUint64(rw), err)
	old, err = qa.FAA(local, 24, r, 64, ^uint64(0))
	check(err == nil && old == 10 && atomic.LoadUint64(rw) == 9, "FAA -1 (wraps) on 10: returned %d, word %d (err %v)", old, atomic.LoadUint64(rw), err)

	// Pipelined: several requests outstanding, completions in posting order.
	const n = 8
	for i := range n {
		if err := qa.Post(verbs.OpFAA, uint64(100+i), local, uint64(256+8*i), 8, r, 64, 1, 0); err != nil {
			check(false, "post FAA %d: %v", i, err)
			return
		}
	}
	inOrder := true
	for i := range n {
		c, err := qa.Wait(10 * time.Second)
		if err != nil || c.WRID != uint64(100+i) || atomic.LoadUint64(local.Word(uint64(256+8*i))) != uint64(9+i) {
			inOrder = false
		}
	}
	check(inOrder && atomic.LoadUint64(rw) == 9+n, "%d pipelined FAAs complete in order with old values 9..%d, word %d", n, 8+n, atomic.LoadUint64(rw))
	fmt.Printf("  (functional checks took %v of emulator time)\n", time.Since(t).Round(time.Millisecond))
}

func connect(a, b *verbs.Device) (*verbs.QP, *verbs.QP) {
	qa, err := a.NewQP(64)
	if err != nil {
		fatal("%v", err)
	}
	qb, err := b.NewQP(64)
	if err != nil {
		fatal("%v", err)
	}
	if err := qa.Connect(qb.Endpoint()); err != nil {
		fatal("connect %s->%s: %v", a.Name(), b.Name(), err)
	}
	if err := qb.Connect(qa.Endpoint()); err != nil {
		fatal("connect %s->%s: %v", b.Name(), a.Name(), err)
	}
	return qa, qb
}

// link is a connected pair of QPs (init's and target's) with a 4 KiB arena on
// each side: the set-up most checks start from.
type link struct {
	qa, qb        *verbs.QP
	local, remote *verbs.Arena
	r             verbs.Remote // remote's address, for posting
}

func newLink(init, target *verbs.Device) *link {
	l := &link{local: mustArena(init, 4096), remote: mustArena(target, 4096)}
	l.qa, l.qb = connect(init, target)
	l.r = l.remote.Remote()
	return l
}

func (l *link) Close() {
	l.qa.Close()
	l.qb.Close()
	l.local.Close()
	l.remote.Close()
}

func mustArena(d *verbs.Device, size int) *verbs.Arena {
	a, err := d.NewArena(size)
	if err != nil {
		fatal("%v", err)
	}
	return a
}

type losses struct {
	trials, trialsWithLoss int
	total, cpuOps          uint64
	perTrial               []uint64
}

func (l losses) String() string {
	return fmt.Sprintf("lost in %d of %d trials, %d of %d CPU increments in all %v",
		l.trialsWithLoss, l.trials, l.total, l.cpuOps, l.perTrial)
}

// hammer increments *w with sync/atomic until stop is set, and returns how many
// times it did. started is closed after the first increment.
func hammer(w *uint64, stop *atomic.Bool, started chan<- struct{}, n *uint64, wg *sync.WaitGroup, cpu int) {
	defer wg.Done()
	defer pin(cpu)()
	var c uint64
	atomic.AddUint64(w, 1)
	c++
	close(started)
	for !stop.Load() {
		atomic.AddUint64(w, 1)
		c++
	}
	*n = c
}

// experiment races *ops RDMA operations of kind op from d0 on a word of d1's
// memory against a CPU thread adding 1 to it, and counts lost CPU increments.
// FAA adds 1<<32 so that its own count is in the high half; CAS compares with a
// value the word never holds, so it never matches. It runs -trials trials and,
// when expectLoss says the device and kernel allow a loss that has not shown
// yet, goes on up to -max-trials (a loss is a race: any one trial may miss it).
func experiment(d0, d1 *verbs.Device, name string, op verbs.Op, expectLoss bool) losses {
	defer pin(0)()
	l := newLink(d0, d1)
	defer l.Close()
	qa, local, remote, r := l.qa, l.local, l.remote, l.r
	w := remote.Word(64)
	const never = 1 << 63
	var res losses
	t := time.Now()
	for trial := 0; ; trial++ {
		if trial >= *trials && !(expectLoss && res.trialsWithLoss == 0 && trial < *maxTrials) {
			break
		}
		atomic.StoreUint64(w, 0)
		var stop atomic.Bool
		counts := make([]uint64, *hammers)
		var wg sync.WaitGroup
		for h := range counts {
			started := make(chan struct{})
			wg.Add(1)
			go hammer(w, &stop, started, &counts[h], &wg, 1+h)
			<-started
		}
		nicOK := true
		// Keep up to -depth requests outstanding: more NIC atomics per second,
		// more chances to land between a CPU increment's read and write.
		fail := func(i int, err error) {
			stop.Store(true)
			wg.Wait()
			fatal("%s: trial %d op %d: %v", name, trial, i, err)
		}
		posted, done := 0, 0
		for done < *ops {
			for posted < *ops && posted-done < *depth {
				slot := uint64(8 * (posted % *depth))
				var err error
				switch op {
				case verbs.OpFAA:
					err = qa.Post(op, uint64(posted), local, slot, 8, r, 64, 1<<32, 0)
				case verbs.OpCAS:
					err = qa.Post(op, uint64(posted), local, slot, 8, r, 64, never, never|12345)
				case verbs.OpRead:
					err = qa.Post(op, uint64(posted), local, slot, 8, r, 64, 0, 0)
				}
				if err != nil {
					fail(posted, err)
				}
				posted++
			}
			c, err := qa.Wait(10 * time.Second)
			if err != nil {
				fail(done, err)
			}
			if c.WRID != uint64(done) {
				fail(done, fmt.Errorf("completion %d out of order", c.WRID))
			}
			old := atomic.LoadUint64(local.Word(uint64(8 * (done % *depth))))
			switch op {
			case verbs.OpFAA:
				if old>>32 != uint64(done) {
					nicOK = false
				}
			case verbs.OpCAS:
				if old&never != 0 {
					nicOK = false
				}
			}
			done++
		}
		stop.Store(true)
		wg.Wait()
		final := atomic.LoadUint64(w)
		lo, hi := final&0xffffffff, final>>32
		if op != verbs.OpFAA && hi != 0 {
			nicOK = false
		}
		if op == verbs.OpFAA && hi != uint64(*ops) {
			nicOK = false
		}
		if !nicOK {
			check(false, "%s: trial %d: the RDMA side's own values are wrong (word %#x)", name, trial, final)
		}
		var cpu uint64
		for _, c := range counts {
			cpu += c
		}
		lost := cpu - lo
		res.trials++
		res.cpuOps += cpu
		res.total += lost
		res.perTrial = append(res.perTrial, lost)
		if lost > 0 {
			res.trialsWithLoss++
		}
	}
	fmt.Printf("  %s: %v (%v)\n", name, res, time.Since(t).Round(time.Millisecond))
	return res
}

// twoQPControl has two QPs, one from d0 and one loopback on d1, FAA the same
// word of d1 concurrently, with no CPU thread: an HCA device must lose nothing.
func twoQPControl(d0, d1 *verbs.Device) uint64 {
	qa, qb := connect(d0, d1)
	defer qa.Close()
	defer qb.Close()
	qc, qd := connect(d1, d1)
	defer qc.Close()
	defer qd.Close()
	la := mustArena(d0, 4096)
	defer la.Close()
	remote := mustArena(d1, 4096)
	defer remote.Close()
	r := remote.Remote()
	var lost uint64
	for trial := 0; trial < *trials; trial++ {
		atomic.StoreUint64(remote.Word(64), 0)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for k, q := range []*verbs.QP{qa, qc} {
			local, off := la, uint64(0)
			if k == 1 {
				local, off = remote, 512 // d1's own arena serves as the local buffer
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < *ops/2; i++ {
					if _, err := q.FAA(local, off, r, 64, 1); err != nil {
						errs[k] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				fatal("two-QP control: %v", err)
			}
		}
		lost += uint64(2*(*ops/2)) - atomic.LoadUint64(remote.Word(64))
	}
	return lost
}

// runPerftest runs ib_read_lat, ib_write_lat and ib_atomic_lat with the server
// on dev1 and the client on dev0, over GID index 0, and prints their tables.
func runPerftest() {
	fmt.Printf("\n== perftest between %s and %s (EMULATOR SPEED: functional only, NOT performance data)\n", *dev0Name, *dev1Name)
	for i, tool := range []string{"ib_read_lat", "ib_write_lat", "ib_atomic_lat"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Printf("  %s: not installed, skipped\n", tool)
			continue
		}
		args := []string{"-x", "0", "-n", "200", "-F", "-p", fmt.Sprint(18515 + i)}
		if tool != "ib_atomic_lat" {
			args = append(args, "-s", "8")
		}
		out, _, err := perftestPair(tool, args)
		if err != nil {
			fmt.Printf("  %s: %v\n", tool, err)
			continue
		}
		printed := false
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) > 0 && (f[0] == "#bytes" || (len(f) >= 5 && isNumber(f[0]))) {
				fmt.Printf("  %-13s %s\n", tool, strings.TrimSpace(l))
				printed = true
			}
		}
		if !printed {
			fmt.Printf("  %s: no table in output:\n%s", tool, indent(out))
		}
	}
}

// perftestPair runs a perftest tool's server on dev1 and its client on dev0
// with args, within 60 s, retrying the client while the server is not yet
// listening. It returns the client's output and the wall time from the
// server's start to the end of both.
func perftestPair(tool string, args []string) ([]byte, time.Duration, error) {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil, 0, fmt.Errorf("not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	srv := exec.CommandContext(ctx, path, append([]string{"-d", *dev1Name}, args...)...)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return nil, 0, fmt.Errorf("server did not start: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	var out []byte
	for try := 0; try < 20; try++ {
		cli := exec.CommandContext(ctx, path, append([]string{"-d", *dev0Name}, append(args, "127.0.0.1")...)...)
		out, err = cli.CombinedOutput()
		if err == nil || ctx.Err() != nil || !bytes.Contains(out, []byte("Couldn't connect")) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	serr := srv.Wait()
	wall := time.Since(start)
	if err != nil || serr != nil {
		return out, wall, fmt.Errorf("failed (client %v, server %v); output:\n%s%s", err, serr, indent(out), indent(srvOut.Bytes()))
	}
	return out, wall, nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func indent(b []byte) string {
	var sb strings.Builder
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		sb.WriteString("    | " + l + "\n")
	}
	return sb.String()
}

// pin locks the calling goroutine to its OS thread and that thread to CPU cpu
// (modulo the CPUs there are), so that the RDMA side and the CPU threads of an
// experiment run in parallel rather than taking turns on one CPU. It returns
// the undo. Affinity is best effort: an error leaves the thread unpinned.
func pin(cpu int) func() {
	runtime.LockOSThread()
	var all, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil || all.Count() < 2 {
		return runtime.UnlockOSThread
	}
	var ids []int
	for i := 0; i < 1024 && len(ids) < all.Count(); i++ {
		if all.IsSet(i) {
			ids = append(ids, i)
		}
	}
	one.Set(ids[cpu%len(ids)])
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return runtime.UnlockOSThread
	}
	return func() {
		unix.SchedSetaffinity(0, &all)
		runtime.UnlockOSThread()
	}
}

type atomicityResults struct{ lostFAA, lostCAS losses }

// runAtomicity runs the atomicity experiments and their controls.
func runAtomicity(d0, d1 *verbs.Device, kernel string) atomicityResults {
	fmt.Printf("\n== atomicity: %s's RDMA ops on a word of %s's memory, raced by a CPU thread on that word\n", d0.Name(), d1.Name())
	fmt.Printf("   (%d trials x %d RDMA ops; counts are emulator artefacts, only existence carries over)\n", *trials, *ops)
	is61 := strings.HasPrefix(kernel, "6.1.") || strings.HasPrefix(kernel, "6.1-")
	hcaTarget := d1.AtomicCap() == verbs.AtomicHCA
	var a atomicityResults
	a.lostFAA = experiment(d0, d1, "RDMA FAA vs CPU atomic add", verbs.OpFAA, hcaTarget)
	a.lostCAS = experiment(d0, d1, "failing RDMA CAS vs CPU atomic add", verbs.OpCAS, hcaTarget && is61)
	lostRead := experiment(d0, d1, "control: RDMA READ vs CPU atomic add", verbs.OpRead, false)
	check(lostRead.total == 0, "control: READs never lose a CPU increment (lost %d)", lostRead.total)
	lostTwo := twoQPControl(d0, d1)
	check(lostTwo == 0, "control: FAAs from two QPs (cross-device and loopback) lose nothing (lost %d)", lostTwo)

	return a
}

// summary prints the atomicity experiments' summary lines and makes the
// checks that depend on the device and the kernel (-strict).
func (a atomicityResults) summary(d1 *verbs.Device, kernel string) {
	is61 := strings.HasPrefix(kernel, "6.1.") || strings.HasPrefix(kernel, "6.1-")
	hcaTarget := d1.AtomicCap() == verbs.AtomicHCA
	fmt.Printf("lost CPU updates vs RDMA FAA: %s\n", a.lostFAA)
	fmt.Printf("failed-CAS write-back (lost CPU updates vs failing RDMA CAS): %s\n", a.lostCAS)
	if d1.AtomicCap() == verbs.AtomicGlob {
		check(a.lostFAA.total == 0 && a.lostCAS.total == 0, "atomic_cap GLOB: no CPU update may be lost")
	}
	if hcaTarget && *strict {
		check(a.lostFAA.trialsWithLoss > 0, "atomic_cap HCA: lost CPU updates observed against FAA")
	}
	var want string
	switch {
	case is61:
		want = "expected on this kernel (6.1 rxe stores the old value back)"
		if *strict {
			check(a.lostCAS.trialsWithLoss > 0, "6.1: failed-CAS write-back observed")
		}
	case strings.HasPrefix(kernel, "6.12"):
		want = "not expected on this kernel (6.12 rxe stores only on a match)"
		if *strict {
			check(a.lostCAS.total == 0, "6.12: no failed-CAS write-back")
		}
	default:
		want = "no expectation for this kernel"
	}
	fmt.Printf("failed-CAS write-back: observed=%v, %s\n", a.lostCAS.trialsWithLoss > 0, want)
}
