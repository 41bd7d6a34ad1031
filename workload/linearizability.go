package workload

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/rdmasim/rdmasim/traces"
)

// LinVerdict is the outcome of a linearizability check.
type LinVerdict string

// The verdicts: the history is linearizable, it is not, or the check could not
// tell (it timed out, or the history is malformed).
const (
	LinOK      LinVerdict = "ok"
	LinIllegal LinVerdict = "illegal"
	LinUnknown LinVerdict = "unknown"
)

// Defaults of LinOptions.
const (
	// DefaultLinMaxOps bounds the operations checked per partition: porcupine's
	// memory grows with the square of a partition's length (a single partition of
	// 100k operations needs gigabytes).
	DefaultLinMaxOps = 50_000
	// DefaultLinTimeout bounds the time of one check.
	DefaultLinTimeout = 10 * time.Second
)

// LinOptions tunes CheckLinearizability.
type LinOptions struct {
	// MaxOps bounds the operations checked per partition (≤ 0: DefaultLinMaxOps).
	// A longer partition is truncated to its first MaxOps operations by call time,
	// and the result says Truncated. An operation kept that returned at or after
	// the call of the first operation dropped is checked as pending (see
	// CheckLinearizability): a dropped operation may have been linearized before
	// it, so its own effect and output are no longer trusted. This keeps
	// truncation sound: it never turns a linearizable history into an illegal one.
	MaxOps int
	// Timeout bounds the check (≤ 0: DefaultLinTimeout). A check that runs out of
	// time gives LinUnknown.
	Timeout time.Duration
	// Names are the threads' names, indexed by thread id, for descriptions of
	// operations (Execution.Names); a thread without one is "t<id>".
	Names []string
}

// LinResult is the outcome of CheckLinearizability.
type LinResult struct {
	Verdict   LinVerdict
	Ops       int  // operations checked (after truncation)
	Truncated bool // some partition was longer than MaxOps
	// Reason explains an illegal verdict (which operations could not be
	// linearized, and why) or an unknown one ("timeout after …", or what is wrong
	// with a malformed history); empty when the verdict is ok.
	Reason string

	vis *linVisual // what WriteHTML needs; nil when there is nothing to visualise
}

// linVisual is porcupine's model and linearization info of one check. The mutex
// serialises WriteHTML: porcupine's visualisation sorts the info in place.
type linVisual struct {
	mu    sync.Mutex
	model porcupine.Model
	info  porcupine.LinearizationInfo
	title string
}

// Spec is the sequential specification of an object: its initial state and
// what every operation does to it. A history is linearizable when its
// operations can be put in an order, each at a point between its call and its
// return, in which every operation is legal.
type Spec struct {
	// Name says what the object is, for the history page ("lock-protected
	// register", "counter").
	Name string
	// Init returns the initial state.
	Init func() any
	// Step reports whether op is legal in state, and the state after it. An
	// operation that never returned (op.Pending(): the execution stopped first)
	// comes without a result (op.HasResult is false): Step must accept it
	// whatever it would have returned. Where a pending operation is illegal,
	// the check takes it as one that never took effect.
	Step func(state any, op *Op) (bool, any)
	// Equal compares states (nil: ==, for comparable states).
	Equal func(a, b any) bool
	// DescribeState describes a state in messages; name names a thread.
	// Nil: fmt's %v.
	DescribeState func(state any, name func(thread int) string) string
}

// CheckLinearizability checks, with porcupine, that a history (in call order,
// as Run.History records it) is linearizable under spec.
//
// Operations that never returned (Return 0: the execution stopped first) are
// pending. Porcupine needs a return time for every operation, so a pending
// operation gets one after every other event of the history, and it either takes
// effect (when it is legal at the point where it is linearized) or not at all:
// the call was made, and whether its effect happened before the execution
// stopped is unknown. A release that never returned can thus explain another
// thread's later acquire; an acquire that never returned explains nothing and
// breaks nothing.
//
// A history longer than o.MaxOps is truncated (see LinOptions.MaxOps). A
// malformed history (an operation without a name, a negative thread id, a return
// before its call) gives LinUnknown with the problem as the reason. An empty
// history is ok.
func CheckLinearizability(h []Op, spec *Spec, o LinOptions) LinResult {
	maxOps, timeout := o.MaxOps, o.Timeout
	if maxOps <= 0 {
		maxOps = DefaultLinMaxOps
	}
	if timeout <= 0 {
		timeout = DefaultLinTimeout
	}
	if len(h) == 0 {
		return LinResult{Verdict: LinOK}
	}
	if spec == nil || spec.Init == nil || spec.Step == nil {
		return LinResult{Verdict: LinUnknown, Reason: "no sequential specification (Spec with Init and Step) to check the history against"}
	}
	// Validate, and find the end of the history: pending operations return after it.
	var end int64
	for i, op := range h {
		switch {
		case op.Name == "":
			return LinResult{Verdict: LinUnknown, Reason: fmt.Sprintf("malformed history: operation %d has no name", i)}
		case op.Thread < 0:
			return LinResult{Verdict: LinUnknown, Reason: fmt.Sprintf("malformed history: operation %d has thread %d", i, op.Thread)}
		case op.Return != 0 && op.Return < op.Call:
			return LinResult{Verdict: LinUnknown, Reason: fmt.Sprintf("malformed history: operation %d returns at %d, before its call at %d", i, op.Return, op.Call)}
		}
		end = max(end, op.Call, op.Return)
	}
	end++

	ops := make([]porcupine.Operation, 0, len(h))
	for _, op := range h {
		ret := op.Return
		var meta any
		if op.Pending() {
			op.HasResult, op.Result = false, 0
			ret, meta = end, "never returned: may or may not have taken effect"
		}
		ops = append(ops, porcupine.Operation{ClientId: op.Thread, Input: op, Call: op.Call, Return: ret, Metadata: meta})
	}

	var res LinResult
	slices.SortStableFunc(ops, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	if len(ops) > maxOps {
		res.Truncated = true
		cut := ops[maxOps].Call
		ops = ops[:maxOps]
		for j := range ops {
			if op := ops[j].Input.(Op); !op.Pending() && ops[j].Return >= cut {
				ops[j].Metadata = fmt.Sprintf("returned at %d, after the truncation point (%d): checked as pending", ops[j].Return, cut)
				op.Return, op.HasResult, op.Result = 0, false, 0
				ops[j].Input, ops[j].Return = op, end
			}
		}
	}
	res.Ops = len(ops)

	names := o.Names
	model := linModel(spec, names)
	verdict, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	res.vis = &linVisual{model: model, info: info, title: spec.Name}
	switch verdict {
	case porcupine.Ok:
		res.Verdict = LinOK
	case porcupine.Illegal:
		res.Verdict = LinIllegal
		res.Reason = explainIllegal(spec, names, ops, info.PartialLinearizations())
	default:
		res.Verdict = LinUnknown
		res.Reason = fmt.Sprintf("timeout after %v (%d operations)", timeout, res.Ops)
	}
	return res
}

// WriteHTML writes porcupine's visualisation of the checked history (and of its
// linearization, or of the longest partial linearizations when it is illegal) to
// path, as a self-contained HTML file. It writes a temporary file in the same
// directory and renames it, so path is either absent, or the old file, or the
// whole new one. It is an error to call it on a result with nothing to visualise
// (an empty or malformed history).
//
// The page opens with rdmasim's header: what object the history is of, the
// caller's context (the algorithm, configuration and replay file, say), the
// verdict and, when the history is illegal, the operations that could not be
// linearized and why.
func (r LinResult) WriteHTML(path, context string) error {
	if r.vis == nil {
		return errors.New("linearizability: no checked history to visualise")
	}
	var page bytes.Buffer
	bw := bufio.NewWriter(&page)
	if err := r.vis.visualize(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return traces.WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(r.withHeader(page.Bytes(), context))
		return err
	})
}

// withHeader puts rdmasim's title and header into porcupine's page.
func (r LinResult) withHeader(page []byte, context string) []byte {
	title := "rdmasim: history of a " + r.vis.title
	verdict := "linearizable"
	switch r.Verdict {
	case LinIllegal:
		verdict = "not linearizable: " + r.Reason
	case LinUnknown:
		verdict = "unknown: " + r.Reason
	}
	var h strings.Builder
	fmt.Fprintf(&h, `<div style="font-family:sans-serif;margin:12px 16px;padding:10px 14px;border-left:4px solid %s;background:#f6f6f6">`,
		map[bool]string{true: "#c0392b", false: "#2e7d32"}[r.Verdict == LinIllegal])
	fmt.Fprintf(&h, "<h2 style=\"margin:0 0 6px 0\">%s</h2>", html.EscapeString(title))
	if context != "" {
		fmt.Fprintf(&h, "<div>%s</div>", html.EscapeString(context))
	}
	fmt.Fprintf(&h, "<div><b>Verdict:</b> %s</div>", html.EscapeString(verdict))
	if r.Truncated {
		fmt.Fprintf(&h, "<div>Only the first %d operations were checked (the history was truncated).</div>", r.Ops)
	}
	h.WriteString("<div style=\"color:#555;font-size:90%\">Below: porcupine's drawing of the history, one row per thread; each bar is an operation from its call to its return.</div></div>")
	out := string(page)
	if i := strings.Index(out, "<title>"); i >= 0 {
		if j := strings.Index(out[i:], "</title>"); j >= 0 {
			out = out[:i] + "<title>" + html.EscapeString(title) + out[i+j:]
		}
	}
	if i := strings.Index(out, "<body"); i >= 0 {
		if j := strings.Index(out[i:], ">"); j >= 0 {
			k := i + j + 1
			return []byte(out[:k] + h.String() + out[k:])
		}
	}
	return []byte(h.String() + out)
}

func (v *linVisual) visualize(w *bufio.Writer) (err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("linearizability: visualisation failed: %v", p)
		}
	}()
	return porcupine.Visualize(v.model, v.info, w)
}

// linStep is the model's transition: spec's, except that a pending operation
// that is illegal is taken as one that never took effect.
func linStep(spec *Spec, state any, op *Op) (bool, any) {
	ok, next := spec.Step(state, op)
	if !ok && op.Pending() {
		return true, state
	}
	return ok, next
}

// linModel is porcupine's model of spec; names name the threads in
// descriptions.
func linModel(spec *Spec, names []string) porcupine.Model {
	equal := spec.Equal
	if equal == nil {
		equal = func(a, b any) bool { return a == b }
	}
	return porcupine.Model{
		Init: spec.Init,
		Step: func(state, input, output any) (bool, any) {
			op := input.(Op)
			return linStep(spec, state, &op)
		},
		Equal: equal,
		DescribeOperation: func(input, output any) string {
			op := input.(Op)
			return linDescribe(names, &op)
		},
		DescribeState: func(state any) string { return describeState(spec, names, state) },
		DescribeOperationMetadata: func(info any) string {
			s, _ := info.(string)
			return s
		},
	}
}

func describeState(spec *Spec, names []string, state any) string {
	if spec.DescribeState != nil {
		return spec.DescribeState(state, func(id int) string { return linName(names, id) })
	}
	return fmt.Sprintf("%v", state)
}

func linName(names []string, thread int) string {
	if thread >= 0 && thread < len(names) && names[thread] != "" {
		return names[thread]
	}
	return fmt.Sprintf("t%d", thread)
}

// linDescribe describes an operation: "n0/t0 acquire", "n1/t0 read → 3",
// "n1/t0 write 4", "n0/t0 release (pending)".
func linDescribe(names []string, op *Op) string {
	return linName(names, op.Thread) + " " + op.Describe()
}

// explainIllegal describes why the history is not linearizable: its longest
// linearizable prefix, the state after it, and why none of the operations that
// must come next (those called before the earliest return among the rest) can
// follow it.
func explainIllegal(spec *Spec, names []string, ops []porcupine.Operation, partials [][][]int) string {
	if len(partials) == 0 {
		return "not linearizable (porcupine found no linearization)"
	}
	// The longest partial linearization; porcupine gives them in no particular
	// order, so break ties by the ids, for a reason that does not change from
	// one run to the next.
	var best []int
	for _, l := range partials[0] {
		if len(l) > len(best) || len(l) == len(best) && slices.Compare(l, best) < 0 {
			best = l
		}
	}
	state := spec.Init()
	done := make([]bool, len(ops))
	for _, id := range best {
		op := ops[id].Input.(Op)
		_, state = linStep(spec, state, &op)
		done[id] = true
	}
	firstReturn := int64(-1)
	for id, op := range ops {
		if !done[id] && (firstReturn < 0 || op.Return < firstReturn) {
			firstReturn = op.Return
		}
	}
	var why []string
	for id, pop := range ops {
		if done[id] || pop.Call > firstReturn {
			continue
		}
		op := pop.Input.(Op)
		if ok, _ := linStep(spec, state, &op); ok {
			// This candidate can follow: the search was cut short (a timeout),
			// so its longest prefix explains nothing.
			why = nil
			break
		}
		why = append(why, fmt.Sprintf("%s %s", linDescribe(names, &op), linSpan(pop)))
	}
	if len(why) == 0 {
		return "not linearizable (porcupine found no linearization)"
	}
	if len(why) > 3 {
		why = append(why[:3], fmt.Sprintf("%d more", len(why)-3))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "at most %d of %d operations linearize", len(best), len(ops))
	if len(best) > 0 {
		last := ops[best[len(best)-1]]
		op := last.Input.(Op)
		fmt.Fprintf(&b, " (the last: %s %s)", linDescribe(names, &op), linSpan(last))
	}
	fmt.Fprintf(&b, "; then, in state %s, none of the operations due next is legal: %s",
		describeState(spec, names, state), strings.Join(why, "; "))
	return b.String()
}

// linSpan is an operation's interval on the history's clock, "@3–4"; a pending
// operation's return time is made up, so it is "@3–…".
func linSpan(op porcupine.Operation) string {
	if op.Input.(Op).Pending() {
		return fmt.Sprintf("@%d–…", op.Call)
	}
	return fmt.Sprintf("@%d–%d", op.Call, op.Return)
}
