package nicmodel_test

import (
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// exploreCfg enumerates every schedule (the odometer of nic_test.go) on a model
// with the given knobs.
func exploreCfg(t *testing.T, knobs string, nodes int, f func(nic *nicmodel.NIC, c sim.Chooser) string) map[string]int {
	t.Helper()
	cfg := nicmodel.Config{Nodes: nodes, Arbitration: nicmodel.ArbitrateAny}
	if err := cfg.ParseKnobs(knobs); err != nil {
		t.Fatal(err)
	}
	out, _ := explore(t, 200_000, func(c sim.Chooser) string {
		nic, err := nicmodel.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return f(nic, c)
	})
	return out
}

// TestBlockingVerbAfterPosted: a blocking verb is posted fenced behind the
// thread's posted requests on the same QP and completes only after them; a
// blocking READ of a word a posted WRITE writes sees the write (rule 1).
func TestBlockingVerbAfterPosted(t *testing.T) {
	for _, knobs := range []string{"defaults", "ordering=relaxed"} {
		got := exploreCfg(t, knobs, 2, func(nic *nicmodel.NIC, c sim.Chooser) string {
			x, y := alloc(t, nic, 1, 1, "x"), alloc(t, nic, 1, 1, "y")
			var r, done uint64
			res := run(nic, []int{0}, sim.Config{}, c, func(th *sim.Thread) {
				th.PostWriteValue(rdma.QPTo(1), x, 1, 0)
				th.PostWriteValue(rdma.QPTo(1), y, 1, 0)
				r = th.RRead(x)
				done = nic.Peek(y) // the blocking READ returned: every earlier request completed
			})
			return "r=" + itoa(r) + " y=" + itoa(done) + noFinding(res)
		})
		checkSet(t, knobs, got, "r=1 y=1")
	}
}

// TestPostedAtomicAndPoll: a posted FAA's old value comes back with Wait;
// Poll returns completions in posting order, each once.
func TestPostedAtomicAndPoll(t *testing.T) {
	got := exploreCfg(t, "defaults", 2, func(nic *nicmodel.NIC, c sim.Chooser) string {
		x := alloc(t, nic, 1, 1, "x")
		var s []string
		res := run(nic, []int{0}, sim.Config{}, c, func(th *sim.Thread) {
			q := rdma.QPTo(1)
			h1 := th.PostFAA(q, x, 5, 0)
			h2 := th.PostCAS(q, x, 5, 7, 0)
			s = append(s, "old2="+itoa(th.Wait(h2)), "old1="+itoa(th.Wait(h1)))
			for range 3 {
				r, ok := th.Poll(q)
				s = append(s, "poll="+itoa(uint64(r))+map[bool]string{true: "", false: "(none)"}[ok])
			}
		})
		return strings.Join(s, " ") + " x=" + itoa(nic.Peek(x)) + noFinding(res)
	})
	checkSet(t, "atomics", got, "old2=5 old1=0 poll=1 poll=2 poll=0(none) x=7")
}

// TestTSOFenceAndView: under TSO a store is invisible to others until it
// drains, the thread reads its own, and Fence waits for the drain.
func TestTSOFenceAndView(t *testing.T) {
	got := exploreCfg(t, "cpu=tso", 1, func(nic *nicmodel.NIC, c sim.Chooser) string {
		x := alloc(t, nic, 0, 1, "x")
		var own, other, after uint64
		res := run(nic, []int{0, 0}, sim.Config{}, c, func(th *sim.Thread) {
			if th.ID() == 0 {
				th.Store(x, 1)
				own = th.Load(x)
				th.Fence()
				after = nic.Peek(x)
				return
			}
			other = th.Load(x)
		})
		return "own=" + itoa(own) + " other=" + itoa(other) + " after=" + itoa(after) + noFinding(res)
	})
	checkSet(t, "tso", got, "own=1 other=0 after=1", "own=1 other=1 after=1")
}

// TestPostMisuse: posts and waits the model refuses.
func TestPostMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		body func(th *sim.Thread, local, remote rdma.Ptr)
		want string
	}{
		{"lane", func(th *sim.Thread, l, r rdma.Ptr) { th.PostWriteValue(rdma.QP{Node: 1, Lane: 1}, r, 1, 0) }, "lane 1 does not exist"},
		{"target node", func(th *sim.Thread, l, r rdma.Ptr) { th.PostWriteValue(rdma.QPTo(0), r, 1, 0) }, "not on the QP's node"},
		{"buffer node", func(th *sim.Thread, l, r rdma.Ptr) { th.PostRead(rdma.QPTo(1), r, r, 1, 0) }, "not on the thread's node"},
		{"words", func(th *sim.Thread, l, r rdma.Ptr) { th.PostWrite(rdma.QPTo(1), r, l, 0, 0) }, "0 words"},
		{"wait", func(th *sim.Thread, l, r rdma.Ptr) { th.Wait(3) }, "posted no such request"},
		{"poll", func(th *sim.Thread, l, r rdma.Ptr) { th.Poll(rdma.QPTo(5)) }, "node 5 does not exist"},
	} {
		nic := newNICAny(t, 2)
		l, r := alloc(t, nic, 0, 1, "l"), alloc(t, nic, 1, 1, "r")
		res := run(nic, []int{0}, sim.Config{}, sim.NewRandom(1), func(th *sim.Thread) { c.body(th, l, r) })
		if res.Finding == nil || res.Finding.Property != "misuse" || !strings.Contains(res.Finding.Message, c.want) {
			t.Errorf("%s: finding %v, want misuse %q", c.name, res.Finding, c.want)
		}
	}
}

func TestKnobs(t *testing.T) {
	var c nicmodel.Config
	if c.KnobString() != "defaults" {
		t.Errorf("zero config: %q", c.KnobString())
	}
	if err := c.ParseKnobs("scope=glob, cpu=tso ordering=unordered fence=strong placement=ascending nic-writes=excluded cas-writeback=on lanes=3"); err != nil {
		t.Fatal(err)
	}
	want := "scope=glob nic-writes=excluded cas-writeback=on ordering=unordered fence=strong placement=ascending cpu=tso"
	if got := c.KnobString(); got != want {
		t.Errorf("KnobString = %q, want %q", got, want)
	}
	if c.Lanes != 3 || c.Get("lanes") != "3" || c.Get("nope") != "" {
		t.Errorf("lanes %d %q", c.Lanes, c.Get("lanes"))
	}
	for _, k := range nicmodel.Knobs {
		var d nicmodel.Config
		for _, v := range k.Values {
			if err := d.Set(k.Name, v); err != nil || d.Get(k.Name) != v {
				t.Errorf("Set(%s, %s): %v, Get %q", k.Name, v, err, d.Get(k.Name))
			}
		}
	}
	for _, bad := range []string{"scope", "scope=wide", "colour=red", "lanes=0", "lanes=x"} {
		var d nicmodel.Config
		if err := d.ParseKnobs(bad); err == nil {
			t.Errorf("ParseKnobs(%q) accepted", bad)
		}
	}
	if _, err := nicmodel.New(nicmodel.Config{Nodes: 1, Lanes: nicmodel.MaxLanes + 1}); err == nil {
		t.Error("New accepted too many lanes")
	}
}

// TestDescribe names every kind of option without panicking.
func TestDescribe(t *testing.T) {
	cfg := nicmodel.Config{Nodes: 2, CPU: nicmodel.CPUTSO}
	nic, _ := nicmodel.New(cfg)
	x, l := alloc(t, nic, 1, 2, "x"), alloc(t, nic, 0, 2, "l")
	seen := map[string]bool{}
	res := run(nic, []int{0}, sim.Config{}, describer{nic, seen}, func(th *sim.Thread) {
		th.Store(l, 1)
		q := rdma.QPTo(1)
		th.PostWrite(q, x, l, 2, 0)
		th.PostRead(q, l, x, 2, 0)
		th.PostCAS(q, x, 0, 1, rdma.Fenced)
		th.Poll(q)
		th.Wait(3)
	})
	if res.Finding != nil {
		t.Fatal(res.Finding)
	}
	for _, want := range []string{"drains from the store buffer", "NIC reads the source", "(lands)", "(NIC reads)", "(completion)", "(arrives at the NIC)", "Poll"} {
		found := false
		for s := range seen {
			found = found || strings.Contains(s, want)
		}
		if !found {
			t.Errorf("no description with %q in %v", want, seen)
		}
	}
}

type describer struct {
	nic  *nicmodel.NIC
	seen map[string]bool
}

func (d describer) Choose(opts []sim.Option) int {
	for _, o := range opts {
		d.seen[d.nic.Describe(o, []string{"n0/t0"})] = true
	}
	return 0
}

func itoa(v uint64) string {
	const digits = "0123456789"
	if v < 10 {
		return digits[v : v+1]
	}
	return itoa(v/10) + digits[v%10:v%10+1]
}
