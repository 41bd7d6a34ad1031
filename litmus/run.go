package litmus

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/rdmasim/rdmasim"
	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
	"github.com/rdmasim/rdmasim/sim"
)

// DefaultMaxExecutions bounds the executions of one exploration; a test that
// needs more is reported as not explored completely.
const DefaultMaxExecutions = 2_000_000

// DefaultStepBound bounds the steps of one execution.
const DefaultStepBound = 20_000

// Options tunes a run.
type Options struct {
	// NoPOR explores every interleaving, without partial-order reduction.
	NoPOR bool
	// MaxExecutions bounds the executions per expectation (0:
	// DefaultMaxExecutions).
	MaxExecutions int
	// StepBound bounds the steps per execution (0: DefaultStepBound).
	StepBound int
}

// Outcome is one reachable final state.
type Outcome struct {
	State string // registers, then locations: "r1=1 r2=0 | x=1 y=1"
	Count int    // executions that end in it
	Match bool   // it satisfies the test's outcome condition
}

// Result is the exploration of one test under one expectation's knobs.
type Result struct {
	Test   *Test
	Expect Expect
	Config nicmodel.Config // the model's configuration explored
	// Outcomes are the reachable final states, sorted by State.
	Outcomes []Outcome
	// Findings are the distinct problems of executions that did not end
	// normally (deadlock, step bound, misuse), sorted. A well-formed test has
	// none.
	Findings   []string
	Executions int
	Pruned     int // executions cut short by the reduction as redundant
	Complete   bool
	// Observed is Allowed when an execution reached the outcome; Forbidden
	// when none did and the exploration was complete.
	Observed Verdict
	Known    bool // Observed is meaningful: allowed, or complete
}

// OK reports whether the run confirms the expectation: explored completely
// (or the outcome was reached), no finding, and the verdict expected.
func (r *Result) OK() bool {
	return r.Known && len(r.Findings) == 0 && r.Observed == r.Expect.Verdict
}

// ObservedString is the observed verdict, or "unknown" (exploration stopped
// at its limit without reaching the outcome), or "error" (an execution broke).
func (r *Result) ObservedString() string {
	switch {
	case len(r.Findings) > 0:
		return "error"
	case !r.Known:
		return "unknown"
	}
	return r.Observed.String()
}

// Config returns the model configuration of an expectation: its knobs, the
// test's nodes and lanes, and atomics arbitrated in any order (exhaustive
// exploration needs no FIFO arrival steps: every order is explored anyway).
func (t *Test) Config(e Expect) nicmodel.Config {
	c := e.Config
	c.Nodes = len(t.Nodes)
	c.Lanes = max(c.Lanes, t.Lanes)
	c.Arbitration = nicmodel.ArbitrateAny
	return c
}

// Run explores every execution of t under e's knobs.
func Run(t *Test, e Expect, o Options) (Result, error) {
	cfg := t.Config(e)
	res := Result{Test: t, Expect: e, Config: cfg}
	nic, err := nicmodel.New(cfg)
	if err != nil {
		return res, fmt.Errorf("%s: %v", t.Name, err)
	}
	maxExec := o.MaxExecutions
	if maxExec <= 0 {
		maxExec = DefaultMaxExecutions
	}
	bound := o.StepBound
	if bound <= 0 {
		bound = DefaultStepBound
	}
	specs := make([]sim.ThreadSpec, len(t.Threads))
	for i, th := range t.Threads {
		specs[i] = sim.ThreadSpec{Node: th.Node, Name: th.Name}
	}
	d := sim.NewDFS(sim.DFSOptions{POR: !o.NoPOR, Preemptions: -1, MaxExecutions: maxExec})
	outcomes := map[string]*Outcome{}
	findings := map[string]bool{}
	var scratch sim.Scratch
	locs := make([]rdma.Ptr, len(t.Locs))
	for d.Next() {
		nic.Reset()
		for i, l := range t.Locs {
			p, err := nic.AllocLabeled(l.Node, l.Words, l.Name)
			if err != nil {
				return res, fmt.Errorf("%s: %v", t.Name, err)
			}
			locs[i] = p
			for w, v := range l.Init {
				if err := nic.Init(p.Add(w), v); err != nil {
					return res, err
				}
			}
		}
		regs := make([]uint64, len(t.Regs))
		eng := sim.New(nic, sim.Config{StepBound: bound, Scratch: &scratch}, specs, t.body(locs, regs))
		ex := eng.Run(d)
		d.Done(ex)
		if ex.Abandoned {
			continue
		}
		if ex.Finding != nil {
			findings[ex.Finding.String()] = true
			continue
		}
		state := t.state(nic, locs, regs)
		oc := outcomes[state]
		if oc == nil {
			oc = &Outcome{State: state, Match: t.Outcome.eval(nic, locs, regs)}
			outcomes[state] = oc
		}
		oc.Count++
	}
	if err := d.Err(); err != nil {
		return res, fmt.Errorf("%s: %v", t.Name, err)
	}
	res.Executions, res.Pruned, res.Complete = d.Executions(), d.Pruned(), d.Complete()
	for _, k := range slices.Sorted(maps.Keys(outcomes)) {
		oc := outcomes[k]
		res.Outcomes = append(res.Outcomes, *oc)
		if oc.Match {
			res.Observed = Allowed
		}
	}
	res.Findings = slices.Sorted(maps.Keys(findings))
	res.Known = res.Complete || res.Observed == Allowed
	return res, nil
}

// RunAll runs every expectation of every test, in order.
func RunAll(tests []*Test, o Options) ([]Result, error) {
	var out []Result
	for _, t := range tests {
		for _, e := range t.Expects {
			r, err := Run(t, e, o)
			if err != nil {
				return out, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// body returns the code of every thread of t, over the locations' words and
// one execution's registers.
func (t *Test) body(locs []rdma.Ptr, regs []uint64) func(*sim.Thread) {
	return func(st *sim.Thread) {
		th := &t.Threads[st.ID()]
		var posted []rdma.Req // not yet waited for
		val := func(o Operand) uint64 {
			if o.Reg >= 0 {
				return regs[o.Reg]
			}
			return o.Val
		}
		set := func(r int, v uint64) {
			if r >= 0 {
				regs[r] = v
			}
		}
		ptr := func(r Ref) rdma.Ptr { return locs[r.Loc].Add(r.Word) }
		for i := range th.Instrs {
			in := &th.Instrs[i]
			x := ptr(in.X)
			var flags rdma.Flags
			if in.Fenced {
				flags = rdma.Fenced
			}
			var req rdma.Req
			switch in.Op {
			case OpLoad:
				set(in.Dst, st.Load(x))
			case OpStore:
				st.Store(x, val(in.Vals[0]))
			case OpCAS:
				set(in.Dst, st.CAS(x, val(in.Vals[0]), val(in.Vals[1])))
			case OpSwap:
				set(in.Dst, st.Swap(x, val(in.Vals[0])))
			case OpFAA:
				set(in.Dst, st.FAA(x, val(in.Vals[0])))
			case OpFence:
				st.Fence()
			case OpPut:
				if in.Inline {
					req = st.PostWriteValue(in.qp(t), x, val(in.Vals[0]), flags)
				} else {
					req = st.PostWrite(in.qp(t), x, ptr(in.Buf), in.Words, flags)
				}
			case OpGet:
				req = st.PostRead(in.qp(t), ptr(in.Buf), x, in.Words, flags)
			case OpRCAS:
				req = st.PostCAS(in.qp(t), x, val(in.Vals[0]), val(in.Vals[1]), flags)
			case OpRFAA:
				req = st.PostFAA(in.qp(t), x, val(in.Vals[0]), flags)
			case OpWait:
				if in.Handle < 0 {
					for _, r := range posted {
						st.Wait(r)
					}
					posted = posted[:0]
					break
				}
				r := rdma.Req(regs[in.Handle])
				set(in.Dst, st.Wait(r))
				posted = slices.DeleteFunc(posted, func(q rdma.Req) bool { return q == r })
			case OpPoll:
				for {
					r, ok := st.Poll(in.qp(t))
					if ok {
						set(in.Dst, uint64(r))
						break
					}
					st.Pause()
				}
			case OpRRead:
				set(in.Dst, st.RRead(x))
			case OpRWrite:
				st.RWrite(x, val(in.Vals[0]))
			case OpAwait:
				local := t.Locs[in.X.Loc].Node == th.Node
				want := val(in.Vals[0])
				for {
					var v uint64
					if local {
						v = st.Load(x)
					} else {
						v = st.RRead(x)
					}
					if (v != want) == in.Neq {
						break
					}
					st.Pause()
				}
			}
			if req != 0 {
				set(in.Dst, uint64(req))
				posted = append(posted, req)
			}
		}
	}
}

// state renders a final state: the registers, then every location.
func (t *Test) state(nic *nicmodel.NIC, locs []rdma.Ptr, regs []uint64) string {
	var b strings.Builder
	for i, r := range t.Regs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", r.Name, regs[i])
	}
	if len(t.Regs) > 0 {
		b.WriteString(" |")
	}
	for i, l := range t.Locs {
		if i > 0 || len(t.Regs) > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l.Name)
		b.WriteByte('=')
		if l.Words == 1 {
			b.WriteString(strconv.FormatUint(nic.Peek(locs[i]), 10))
			continue
		}
		b.WriteByte('[')
		for w := range l.Words {
			if w > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(nic.Peek(locs[i].Add(w)), 10))
		}
		b.WriteByte(']')
	}
	return b.String()
}

func (c Cond) eval(nic *nicmodel.NIC, locs []rdma.Ptr, regs []uint64) bool {
	term := func(x Term) uint64 {
		switch x.Kind {
		case 'r':
			return regs[x.Reg]
		case 'l':
			return nic.Peek(locs[x.Ref.Loc].Add(x.Ref.Word))
		}
		return x.Val
	}
	for _, conj := range c {
		ok := true
		for _, a := range conj {
			if (term(a.L) == term(a.R)) == a.Neq {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Suite returns the built-in suite, testdata/litmus/*.litmus of the
// repository, embedded in the binary; in file name order (L3 before L3-poll).
func Suite() ([]*Test, error) {
	return loadFS(rdmasim.LitmusSuite, "testdata/litmus")
}

func loadFS(fsys fs.FS, dir string) ([]*Test, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.litmus"))
	if err != nil {
		return nil, err
	}
	// L3 before L3-poll: compare the names without the extension.
	slices.SortFunc(names, func(a, b string) int {
		return strings.Compare(strings.TrimSuffix(a, ".litmus"), strings.TrimSuffix(b, ".litmus"))
	})
	var tests []*Test
	for _, n := range names {
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		t, err := Parse(n, src)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// Load parses litmus files from disk, in the order given.
func Load(files ...string) ([]*Test, error) {
	var tests []*Test
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		t, err := Parse(f, src)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}
