package litmus

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/rdma"
)

// Limits of a litmus file: tests are small on purpose (exploration is
// exhaustive).
const (
	MaxBytes        = 64 << 10
	MaxNodes        = 8
	MaxThreads      = 8
	MaxInstrs       = 64 // per thread
	MaxWords        = nicmodel.MaxReadWords
	MaxLocations    = 64
	MaxExpectations = 32
)

// Verdict is whether a test's outcome is reachable.
type Verdict uint8

const (
	Forbidden Verdict = iota // no execution reaches the outcome
	Allowed                  // some execution does
)

func (v Verdict) String() string {
	if v == Allowed {
		return "allowed"
	}
	return "forbidden"
}

// Test is a parsed litmus file.
type Test struct {
	Name    string // the id on the test line, e.g. "L4"
	File    string // where it was read from
	Title   string
	Nodes   []string // node names; node i of the model is Nodes[i]
	Locs    []Loc
	Threads []Thread
	Regs    []Reg // every register, in order of first assignment
	Outcome Cond
	Expects []Expect
	Lanes   int // QPs the program uses per (thread, target node): its largest qp= plus 1
}

// Loc is a named location: one word, or an array of words, on one node.
type Loc struct {
	Name  string
	Node  int
	Words int
	Init  []uint64 // initial value of each word
	Line  int
}

// Reg is a thread's register: a value an instruction returned.
type Reg struct {
	Name   string
	Thread int
}

// Thread is one thread of the program: its node and its instructions.
type Thread struct {
	Name   string
	Node   int
	Instrs []Instr
	Line   int
}

// Op is an instruction's operation.
type Op uint8

// The instructions.
const (
	OpLoad   Op = iota + 1 // r = load X
	OpStore                // store X V
	OpCAS                  // r = cas X V V
	OpSwap                 // r = swap X V
	OpFAA                  // r = faa X V
	OpFence                // fence
	OpPut                  // [h =] put X SRC [N] [qp=L] [fenced]: posted WRITE
	OpGet                  // [h =] get DST X [N] [qp=L] [fenced]: posted READ
	OpRCAS                 // [h =] rcas X V V [qp=L] [fenced]: posted CAS
	OpRFAA                 // [h =] rfaa X V [qp=L] [fenced]: posted FAA
	OpWait                 // [r =] wait [h]
	OpPoll                 // [h =] poll NODE [qp=L]: until a completion
	OpRRead                // r = rread X: blocking READ
	OpRWrite               // rwrite X V: blocking WRITE
	OpAwait                // await X ==|!= V: spin
)

var opNames = map[string]Op{"load": OpLoad, "store": OpStore, "cas": OpCAS, "swap": OpSwap, "faa": OpFAA,
	"fence": OpFence, "put": OpPut, "get": OpGet, "rcas": OpRCAS, "rfaa": OpRFAA, "wait": OpWait,
	"poll": OpPoll, "rread": OpRRead, "rwrite": OpRWrite, "await": OpAwait}

// Ref names one word: a location and a word of it.
type Ref struct{ Loc, Word int }

// Operand is a value: a constant, or a register of the thread.
type Operand struct {
	Reg int // register index, or -1 for the constant
	Val uint64
}

// Instr is one instruction.
type Instr struct {
	Line   int
	Op     Op
	Dst    int // register assigned, -1 none
	X      Ref // the word operated on (the target of a verb; put: the destination; get: the source)
	Buf    Ref // put: source buffer; get: destination buffer
	Inline bool
	Words  int
	Vals   [2]Operand
	Lane   int
	Node   int  // poll: the QP's node
	Fenced bool // posted verbs
	Handle int  // wait: the handle register, -1 for every request not yet waited for
	Neq    bool // await: != (else ==)
}

// Cond is a condition on the final state: a disjunction of conjunctions.
type Cond [][]Atom

// Atom compares two terms.
type Atom struct {
	L, R Term
	Neq  bool
}

// Term is a register, a location's final value, or a constant.
type Term struct {
	Kind byte // 'r' register, 'l' location, 'c' constant
	Reg  int
	Ref  Ref
	Val  uint64
	Text string
}

// Expect is one expectation line: a verdict under a knob setting.
type Expect struct {
	Line    int
	Verdict Verdict
	Knobs   string          // as KnobString prints it ("defaults" for none)
	Config  nicmodel.Config // the knobs (Nodes and Lanes are filled in by the runner)
}

// Error is a problem with a litmus file, at a line (0: the file as a whole).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

type parser struct {
	t      *Test
	line   int
	regs   map[string]int
	handle map[int]bool // registers that hold request handles
	cur    int          // the thread being read, -1 before the first
	seenOK bool         // an outcome line was read
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{File: p.t.File, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a litmus file; file names it in errors. A problem is returned as
// an *Error with the line number and the reason.
func Parse(file string, src []byte) (*Test, error) {
	t := &Test{File: file, Lanes: 1}
	p := &parser{t: t, regs: map[string]int{}, handle: map[int]bool{}, cur: -1}
	if len(src) > MaxBytes {
		return nil, &Error{File: file, Msg: fmt.Sprintf("%d bytes: a litmus file has at most %d", len(src), MaxBytes)}
	}
	if !isText(src) {
		return nil, &Error{File: file, Msg: "not a text file (control characters or invalid UTF-8)"}
	}
	for i, raw := range strings.Split(string(src), "\n") {
		p.line = i + 1
		line := raw
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if t.Name == "" && f[0] != "test" {
			return nil, p.errf("the first line must be `test NAME`, not %q", f[0])
		}
		if err := p.directive(f, strings.TrimSpace(line)); err != nil {
			return nil, err
		}
	}
	p.line = 0
	switch {
	case t.Name == "":
		return nil, p.errf("empty: no `test NAME` line")
	case len(t.Nodes) == 0:
		return nil, p.errf("no `nodes` line")
	case len(t.Threads) == 0:
		return nil, p.errf("no thread")
	case !p.seenOK:
		return nil, p.errf("no `outcome` line")
	case len(t.Expects) == 0:
		return nil, p.errf("no `expect` line")
	}
	for _, th := range t.Threads {
		if len(th.Instrs) == 0 {
			p.line = th.Line
			return nil, p.errf("thread %s has no instruction", th.Name)
		}
	}
	return t, nil
}

func isText(b []byte) bool {
	s := string(b)
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

func (p *parser) directive(f []string, line string) error {
	t := p.t
	rest := strings.TrimSpace(strings.TrimPrefix(line, f[0]))
	switch f[0] {
	case "test":
		if t.Name != "" {
			return p.errf("a second `test` line (one test per file)")
		}
		if len(f) != 2 || !isName(f[1]) {
			return p.errf("want `test NAME` with a name of letters, digits, - and _")
		}
		t.Name = f[1]
		return nil
	case "title":
		if t.Title != "" {
			return p.errf("a second `title` line")
		}
		t.Title = rest
		return nil
	case "nodes":
		if len(t.Nodes) > 0 {
			return p.errf("a second `nodes` line")
		}
		if len(f) < 2 || len(f)-1 > MaxNodes {
			return p.errf("want `nodes NAME...` with 1 … %d nodes", MaxNodes)
		}
		for _, n := range f[1:] {
			if !isName(n) {
				return p.errf("bad node name %q", n)
			}
			if slices.Contains(t.Nodes, n) {
				return p.errf("node %s named twice", n)
			}
			t.Nodes = append(t.Nodes, n)
		}
		return nil
	}
	if len(t.Nodes) == 0 {
		return p.errf("`%s` before the `nodes` line", f[0])
	}
	switch f[0] {
	case "word", "array":
		if len(t.Threads) > 0 {
			return p.errf("locations are declared before the first thread")
		}
		return p.location(f)
	case "thread":
		if p.seenOK {
			return p.errf("a thread after the outcome")
		}
		if len(f) != 2 {
			return p.errf("want `thread NAME@NODE`")
		}
		name, node, err := p.at(f[1])
		if err != nil {
			return err
		}
		for _, th := range t.Threads {
			if th.Name == name {
				return p.errf("thread %s declared twice", name)
			}
		}
		if len(t.Threads) == MaxThreads {
			return p.errf("more than %d threads", MaxThreads)
		}
		t.Threads = append(t.Threads, Thread{Name: name, Node: node, Line: p.line})
		p.cur = len(t.Threads) - 1
		return nil
	case "outcome":
		if p.seenOK {
			return p.errf("a second `outcome` line")
		}
		if len(t.Threads) == 0 {
			return p.errf("the outcome comes after the threads")
		}
		c, err := p.cond(rest)
		if err != nil {
			return err
		}
		t.Outcome, p.seenOK = c, true
		p.cur = -1
		return nil
	case "expect":
		if !p.seenOK {
			return p.errf("`expect` before the `outcome` line")
		}
		return p.expect(f)
	}
	if p.cur < 0 {
		if _, ok := opNames[instrName(f)]; ok {
			return p.errf("instruction outside a thread")
		}
		return p.errf("unknown directive %q (want test, title, nodes, word, array, thread, outcome, expect, or an instruction inside a thread)", f[0])
	}
	return p.instr(f)
}

// instrName is the operation word of an instruction line.
func instrName(f []string) string {
	if len(f) >= 3 && f[1] == "=" {
		return f[2]
	}
	return f[0]
}

func isName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// at splits NAME@NODE.
func (p *parser) at(s string) (string, int, error) {
	name, node, ok := strings.Cut(s, "@")
	if !ok || !isName(name) {
		return "", 0, p.errf("want NAME@NODE, not %q", s)
	}
	i := slices.Index(p.t.Nodes, node)
	if i < 0 {
		return "", 0, p.errf("unknown node %q (nodes: %s)", node, strings.Join(p.t.Nodes, " "))
	}
	return name, i, nil
}

func parseValue(s string) (uint64, bool) {
	v, err := strconv.ParseUint(s, 0, 64)
	return v, err == nil
}

func (p *parser) location(f []string) error {
	t := p.t
	// word X@N [= V] | array X@N WORDS [= V...]
	nfix := 2
	if f[0] == "array" {
		nfix = 3
	}
	if len(f) < nfix {
		if f[0] == "array" {
			return p.errf("want `array NAME@NODE WORDS [= VALUE...]`")
		}
		return p.errf("want `word NAME@NODE [= VALUE]`")
	}
	name, node, err := p.at(f[1])
	if err != nil {
		return err
	}
	if p.locIndex(name) >= 0 {
		return p.errf("location %s declared twice", name)
	}
	if slices.Contains(t.Nodes, name) {
		return p.errf("location %s has a node's name", name)
	}
	if len(t.Locs) == MaxLocations {
		return p.errf("more than %d locations", MaxLocations)
	}
	words := 1
	if f[0] == "array" {
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 1 || n > MaxWords {
			return p.errf("array %s: %q words: want 1 … %d", name, f[2], MaxWords)
		}
		words = n
	}
	init := make([]uint64, words)
	if rest := f[nfix:]; len(rest) > 0 {
		if rest[0] != "=" || len(rest) < 2 {
			return p.errf("after the location, want `= VALUE`, not %q", strings.Join(rest, " "))
		}
		vals := rest[1:]
		if len(vals) != 1 && len(vals) != words {
			return p.errf("%s has %d words: give one initial value for all or one per word, not %d", name, words, len(vals))
		}
		for i := range init {
			v, ok := parseValue(vals[min(i, len(vals)-1)])
			if !ok {
				return p.errf("bad initial value %q", vals[min(i, len(vals)-1)])
			}
			init[i] = v
		}
	}
	t.Locs = append(t.Locs, Loc{Name: name, Node: node, Words: words, Init: init, Line: p.line})
	return nil
}

func (p *parser) locIndex(name string) int {
	return slices.IndexFunc(p.t.Locs, func(l Loc) bool { return l.Name == name })
}

// ref parses X or X[i].
func (p *parser) ref(s string) (Ref, error) {
	name, idx := s, 0
	if k := strings.IndexByte(s, '['); k >= 0 {
		if !strings.HasSuffix(s, "]") {
			return Ref{}, p.errf("bad location %q (want NAME or NAME[INDEX])", s)
		}
		n, err := strconv.Atoi(s[k+1 : len(s)-1])
		if err != nil || n < 0 {
			return Ref{}, p.errf("bad index in %q", s)
		}
		name, idx = s[:k], n
	}
	l := p.locIndex(name)
	if l < 0 {
		return Ref{}, p.errf("unknown location %q", name)
	}
	if idx >= p.t.Locs[l].Words {
		return Ref{}, p.errf("%s: %s has %d words", s, name, p.t.Locs[l].Words)
	}
	return Ref{Loc: l, Word: idx}, nil
}

func (p *parser) refNode(r Ref) int { return p.t.Locs[r.Loc].Node }

// operand parses a constant or a register of the current thread.
func (p *parser) operand(s string) (Operand, error) {
	if v, ok := parseValue(s); ok {
		return Operand{Reg: -1, Val: v}, nil
	}
	r, ok := p.regs[s]
	if !ok {
		return Operand{}, p.errf("%q is neither a number nor a register assigned before", s)
	}
	if p.t.Regs[r].Thread != p.cur {
		return Operand{}, p.errf("register %s belongs to thread %s", s, p.t.Threads[p.t.Regs[r].Thread].Name)
	}
	return Operand{Reg: r}, nil
}

func (p *parser) instr(f []string) error {
	t := p.t
	th := &t.Threads[p.cur]
	if len(th.Instrs) == MaxInstrs {
		return p.errf("thread %s has more than %d instructions", th.Name, MaxInstrs)
	}
	in := Instr{Line: p.line, Dst: -1, Handle: -1, Words: 1}
	dst := ""
	if len(f) >= 2 && f[1] == "=" {
		dst = f[0]
		f = f[2:]
		if len(f) == 0 {
			return p.errf("nothing after `%s =`", dst)
		}
	} else if strings.Contains(f[0], "=") && !strings.Contains(f[0], "==") {
		return p.errf("write an assignment with spaces: `REG = OP ...`")
	}
	op, ok := opNames[f[0]]
	if !ok {
		return p.errf("unknown instruction %q", f[0])
	}
	in.Op = op
	args := f[1:]
	// Options of posted verbs and poll: qp=L, fenced.
	var pos []string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "qp="):
			l, err := strconv.Atoi(a[3:])
			if err != nil || l < 0 || l >= nicmodel.MaxLanes {
				return p.errf("bad %q: want qp=0 … %d", a, nicmodel.MaxLanes-1)
			}
			in.Lane = l
		case a == "fenced":
			in.Fenced = true
		default:
			pos = append(pos, a)
		}
	}
	posted := op == OpPut || op == OpGet || op == OpRCAS || op == OpRFAA
	if (in.Lane != 0 || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "qp=") })) && !posted && op != OpPoll {
		return p.errf("qp= applies to posted verbs and poll only")
	}
	if in.Fenced && !posted {
		return p.errf("fenced applies to posted verbs only")
	}
	nargs := func(want ...int) error {
		if !slices.Contains(want, len(pos)) {
			return p.errf("%s takes %s operands, not %d", f[0], joinInts(want), len(pos))
		}
		return nil
	}
	local := func(r Ref, what string) error {
		if p.refNode(r) != th.Node {
			l := t.Locs[r.Loc]
			return p.errf("%s %s is on node %s; thread %s runs on node %s (a CPU reaches only its own node's memory)",
				what, l.Name, t.Nodes[l.Node], th.Name, t.Nodes[th.Node])
		}
		return nil
	}
	wantsDst, allowsDst := false, false
	var err error
	switch op {
	case OpLoad, OpStore, OpCAS, OpSwap, OpFAA:
		n := map[Op]int{OpLoad: 1, OpStore: 2, OpCAS: 3, OpSwap: 2, OpFAA: 2}[op]
		if err := nargs(n); err != nil {
			return err
		}
		if in.X, err = p.ref(pos[0]); err != nil {
			return err
		}
		if err := local(in.X, f[0]+" of"); err != nil {
			return err
		}
		for i, a := range pos[1:] {
			if in.Vals[i], err = p.operand(a); err != nil {
				return err
			}
		}
		wantsDst = op != OpStore
	case OpFence:
		if err := nargs(0); err != nil {
			return err
		}
	case OpPut, OpGet:
		if err := nargs(2, 3); err != nil {
			return err
		}
		remote, buf := pos[0], pos[1]
		if op == OpGet {
			remote, buf = pos[1], pos[0]
		}
		if in.X, err = p.ref(remote); err != nil {
			return err
		}
		if len(pos) == 3 {
			n, err := strconv.Atoi(pos[2])
			if err != nil || n < 1 || n > MaxWords {
				return p.errf("bad word count %q: want 1 … %d", pos[2], MaxWords)
			}
			in.Words = n
		}
		if op == OpPut {
			if v, err := p.operand(buf); err == nil && p.locIndex(buf) < 0 {
				if in.Words != 1 {
					return p.errf("an inline put writes one word")
				}
				in.Inline, in.Vals[0] = true, v
			} else if in.Buf, err = p.ref(buf); err != nil {
				return err
			}
		} else if in.Buf, err = p.ref(buf); err != nil {
			return err
		}
		if !in.Inline {
			if err := local(in.Buf, "buffer"); err != nil {
				return err
			}
			if in.Buf.Word+in.Words > t.Locs[in.Buf.Loc].Words {
				return p.errf("%d words from %s run past the end of %s", in.Words, buf, t.Locs[in.Buf.Loc].Name)
			}
		}
		if in.X.Word+in.Words > t.Locs[in.X.Loc].Words {
			return p.errf("%d words from %s run past the end of %s", in.Words, remote, t.Locs[in.X.Loc].Name)
		}
		allowsDst = true
	case OpRCAS, OpRFAA:
		n := 3
		if op == OpRFAA {
			n = 2
		}
		if err := nargs(n); err != nil {
			return err
		}
		if in.X, err = p.ref(pos[0]); err != nil {
			return err
		}
		for i, a := range pos[1:] {
			if in.Vals[i], err = p.operand(a); err != nil {
				return err
			}
		}
		allowsDst = true
	case OpWait:
		if err := nargs(0, 1); err != nil {
			return err
		}
		if len(pos) == 1 {
			r, ok := p.regs[pos[0]]
			if !ok || !p.handle[r] || t.Regs[r].Thread != p.cur {
				return p.errf("%q is not a request handle of thread %s (assign one with `h = put ...`)", pos[0], th.Name)
			}
			in.Handle = r
		} else if dst != "" {
			return p.errf("`wait` without a handle returns nothing: write `%s = wait HANDLE`", dst)
		}
		allowsDst = true
	case OpPoll:
		if err := nargs(1); err != nil {
			return err
		}
		n := slices.Index(t.Nodes, pos[0])
		if n < 0 {
			return p.errf("poll: unknown node %q", pos[0])
		}
		in.Node = n
		allowsDst = true
	case OpRRead, OpRWrite:
		n := 1
		if op == OpRWrite {
			n = 2
		}
		if err := nargs(n); err != nil {
			return err
		}
		if in.X, err = p.ref(pos[0]); err != nil {
			return err
		}
		if op == OpRWrite {
			if in.Vals[0], err = p.operand(pos[1]); err != nil {
				return err
			}
		}
		wantsDst = op == OpRRead
	case OpAwait:
		if err := nargs(3); err != nil {
			return err
		}
		if in.X, err = p.ref(pos[0]); err != nil {
			return err
		}
		switch pos[1] {
		case "==":
		case "!=":
			in.Neq = true
		default:
			return p.errf("await: want == or !=, not %q", pos[1])
		}
		if in.Vals[0], err = p.operand(pos[2]); err != nil {
			return err
		}
	}
	if posted || op == OpPoll {
		if in.Lane+1 > t.Lanes {
			t.Lanes = in.Lane + 1
		}
	}
	switch {
	case wantsDst && dst == "":
		return p.errf("%s returns a value: write `REG = %s ...`", f[0], f[0])
	case dst != "" && !wantsDst && !allowsDst:
		return p.errf("%s returns nothing to assign to %s", f[0], dst)
	}
	if dst != "" {
		if !isName(dst) || p.locIndex(dst) >= 0 || slices.Contains(t.Nodes, dst) {
			return p.errf("bad register name %q (a name that is not a location or a node)", dst)
		}
		r, ok := p.regs[dst]
		if ok && t.Regs[r].Thread != p.cur {
			return p.errf("register %s is already thread %s's", dst, t.Threads[t.Regs[r].Thread].Name)
		}
		if !ok {
			r = len(t.Regs)
			t.Regs = append(t.Regs, Reg{Name: dst, Thread: p.cur})
			p.regs[dst] = r
		}
		in.Dst = r
		p.handle[r] = posted
	}
	th.Instrs = append(th.Instrs, in)
	return nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, " or ")
}

func (p *parser) expect(f []string) error {
	t := p.t
	if len(f) < 2 {
		return p.errf("want `expect allowed|forbidden [KNOB=VALUE...]`")
	}
	var v Verdict
	switch f[1] {
	case "allowed":
		v = Allowed
	case "forbidden":
		v = Forbidden
	default:
		return p.errf("verdict %q: want allowed or forbidden", f[1])
	}
	var c nicmodel.Config
	if err := c.ParseKnobs(strings.Join(f[2:], " ")); err != nil {
		return p.errf("%v", err)
	}
	e := Expect{Line: p.line, Verdict: v, Config: c, Knobs: c.KnobString()}
	if c.Lanes != 0 {
		if c.Lanes < t.Lanes {
			return p.errf("lanes=%d, but the program uses qp=%d", c.Lanes, t.Lanes-1)
		}
		e.Knobs += " lanes=" + strconv.Itoa(c.Lanes)
	}
	for _, o := range t.Expects {
		if o.Knobs == e.Knobs {
			return p.errf("a second expectation under %s (line %d)", e.Knobs, o.Line)
		}
	}
	if len(t.Expects) == MaxExpectations {
		return p.errf("more than %d expectations", MaxExpectations)
	}
	t.Expects = append(t.Expects, e)
	return nil
}

// cond parses an outcome: atoms NAME ==|!= NAME-or-VALUE, joined by && and ||
// (&& binds tighter).
func (p *parser) cond(s string) (Cond, error) {
	toks, err := p.tokens(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, p.errf("empty outcome")
	}
	var c Cond
	var conj []Atom
	for i := 0; ; {
		if i+3 > len(toks) {
			return nil, p.errf("outcome: incomplete comparison at the end (want NAME == VALUE)")
		}
		l, err := p.term(toks[i])
		if err != nil {
			return nil, err
		}
		r, err := p.term(toks[i+2])
		if err != nil {
			return nil, err
		}
		a := Atom{L: l, R: r}
		switch toks[i+1] {
		case "==":
		case "!=":
			a.Neq = true
		default:
			return nil, p.errf("outcome: want == or != after %s, not %q", toks[i], toks[i+1])
		}
		if l.Kind == 'c' && r.Kind == 'c' {
			return nil, p.errf("outcome: %s %s %s compares two constants", toks[i], toks[i+1], toks[i+2])
		}
		conj = append(conj, a)
		i += 3
		if i == len(toks) {
			c = append(c, conj)
			return c, nil
		}
		switch toks[i] {
		case "&&":
		case "||":
			c = append(c, conj)
			conj = nil
		default:
			return nil, p.errf("outcome: want && or || after a comparison, not %q", toks[i])
		}
		i++
	}
}

func (p *parser) tokens(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="),
			strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"):
			out = append(out, s[i:i+2])
			i += 2
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t=!&|", s[j]) < 0 {
				j++
			}
			if j == i {
				return nil, p.errf("outcome: unexpected %q", s[i:i+1])
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out, nil
}

func (p *parser) term(s string) (Term, error) {
	if v, ok := parseValue(s); ok {
		return Term{Kind: 'c', Val: v, Text: s}, nil
	}
	if r, ok := p.regs[s]; ok {
		return Term{Kind: 'r', Reg: r, Text: s}, nil
	}
	name, _, _ := strings.Cut(s, "[")
	if p.locIndex(name) < 0 {
		return Term{}, p.errf("outcome: %q is not a register, a location or a number", s)
	}
	r, err := p.ref(s)
	if err != nil {
		return Term{}, err
	}
	return Term{Kind: 'l', Ref: r, Text: s}, nil
}

// String renders the condition as it would be written.
func (c Cond) String() string {
	var ors []string
	for _, conj := range c {
		var ands []string
		for _, a := range conj {
			op := "=="
			if a.Neq {
				op = "!="
			}
			ands = append(ands, a.L.Text+" "+op+" "+a.R.Text)
		}
		ors = append(ors, strings.Join(ands, " && "))
	}
	return strings.Join(ors, " || ")
}

// qp returns the QP an instruction posts on.
func (in *Instr) qp(t *Test) rdma.QP {
	if in.Op == OpPoll {
		return rdma.QP{Node: in.Node, Lane: in.Lane}
	}
	return rdma.QP{Node: t.Locs[in.X.Loc].Node, Lane: in.Lane}
}
