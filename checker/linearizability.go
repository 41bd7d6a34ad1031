package checker

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
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
}

// CheckLinearizability checks, with porcupine, that a lock history is
// linearizable with respect to a lock-protected register: the lock is either free
// or held by one thread, and the register it protects (the workload's counter)
// holds a value, 0 initially. Sequentially:
//
//   - acquire(t) is legal iff the lock is free; the lock becomes held by t;
//   - release(t) is legal iff t holds the lock; the lock becomes free;
//   - read(t) returning v is legal iff t holds the lock and the register is v;
//   - write(t, v) is legal iff t holds the lock; the register becomes v.
//
// So the check catches both a broken lock (two critical sections that overlap in
// real time) and a lost update (a read that does not see the previous critical
// section's write), even when the lock operations alone look fine.
//
// Operations that never returned (Return 0: the execution stopped first) are
// pending. Porcupine needs a return time for every operation, so a pending
// operation gets one after every other event of the history, and the model lets
// it either take effect (when it is legal at the point where it is linearized) or
// not take effect at all (a pending read returns nothing to check): the call was
// made, and whether its effect happened before the execution stopped is unknown.
// A release that never returned can thus explain another thread's later acquire;
// an acquire that never returned explains nothing and breaks nothing.
//
// The history is partitioned per lock, and each partition is checked separately
// (see linPartition); today a history has one lock, History.Lock. A partition
// longer than o.MaxOps is truncated (see LinOptions.MaxOps). A malformed history
// (an operation of unknown kind, a negative thread id, a return before its call)
// gives LinUnknown with the problem as the reason. A nil or empty history is ok.
func CheckLinearizability(h *History, o LinOptions) LinResult {
	maxOps, timeout := o.MaxOps, o.Timeout
	if maxOps <= 0 {
		maxOps = DefaultLinMaxOps
	}
	if timeout <= 0 {
		timeout = DefaultLinTimeout
	}
	if h == nil || len(h.Ops) == 0 {
		return LinResult{Verdict: LinOK}
	}
	// Validate, and find the end of the history: pending operations return after it.
	var end int64
	for i, op := range h.Ops {
		switch {
		case op.Kind < OpAcquire || op.Kind > OpWrite:
			return LinResult{Verdict: LinUnknown, Reason: fmt.Sprintf("malformed history: operation %d has unknown kind %d", i, op.Kind)}
		case op.Thread < 0:
			return LinResult{Verdict: LinUnknown, Reason: fmt.Sprintf("malformed history: operation %d has thread %d", i, op.Thread)}
		case op.Return != 0 && op.Return < op.Call:
			return LinResult{Verdict: LinUnknown, Reason: fmt.Sprintf("malformed history: operation %d returns at %d, before its call at %d", i, op.Return, op.Call)}
		}
		end = max(end, op.Call, op.Return)
	}
	end++

	all := make([]porcupine.Operation, 0, len(h.Ops))
	for _, op := range h.Ops {
		in := linInput{Lock: h.Lock, Thread: op.Thread, Kind: op.Kind}
		// A future history with one lock per operation sets in.Lock from the
		// operation here; linPartition then checks each lock on its own.
		if op.Kind == OpWrite {
			in.Value = op.Value
		}
		var out linOutput
		var meta any
		ret := op.Return
		if ret == 0 {
			out.Pending, ret, meta = true, end, "never returned: may or may not have taken effect"
		} else if op.Kind == OpRead {
			out.Value = op.Value
		}
		all = append(all, porcupine.Operation{ClientId: op.Thread, Input: in, Output: out, Call: op.Call, Return: ret, Metadata: meta})
	}

	var res LinResult
	parts := linPartition(all)
	checked := make([]porcupine.Operation, 0, min(len(all), maxOps*len(parts)))
	for i, p := range parts {
		slices.SortStableFunc(p, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
		if len(p) > maxOps {
			res.Truncated = true
			cut := p[maxOps].Call
			p = p[:maxOps]
			for j := range p {
				if out := p[j].Output.(linOutput); !out.Pending && p[j].Return >= cut {
					p[j].Metadata = fmt.Sprintf("returned at %d, after the truncation point (%d): checked as pending", p[j].Return, cut)
					p[j].Output, p[j].Return = linOutput{Pending: true}, end
				}
			}
			parts[i] = p
		}
		checked = append(checked, p...)
	}
	res.Ops = len(checked)

	names := o.Names
	model := linModel(names)
	verdict, info := porcupine.CheckOperationsVerbose(model, checked, timeout)
	res.vis = &linVisual{model: model, info: info}
	switch verdict {
	case porcupine.Ok:
		res.Verdict = LinOK
	case porcupine.Illegal:
		res.Verdict = LinIllegal
		res.Reason = explainIllegal(names, parts, info.PartialLinearizations())
	default:
		res.Verdict = LinUnknown
		res.Reason = fmt.Sprintf("timeout after %v (%d operations in %d partition%s)", timeout, res.Ops, len(parts), linPlural(len(parts)))
	}
	return res
}

// WriteHTML writes porcupine's visualisation of the checked history (and of its
// linearization, or of the longest partial linearizations when it is illegal) to
// path, as a self-contained HTML file. It writes a temporary file in the same
// directory and renames it, so path is either absent, or the old file, or the
// whole new one. It is an error to call it on a result with nothing to visualise
// (an empty or malformed history).
func (r LinResult) WriteHTML(path string) (err error) {
	if r.vis == nil {
		return errors.New("linearizability: no checked history to visualise")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err = r.vis.visualize(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
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

// linInput is an operation as called: which lock, which thread, what, and the
// value written (writes).
type linInput struct {
	Lock   string
	Thread int
	Kind   HistoryKind
	Value  uint64
}

// linOutput is an operation's outcome: the value read (reads), or that it is
// pending (it never returned, or is checked as such after a truncation), when it
// may or may not have taken effect and returned nothing to check.
type linOutput struct {
	Value   uint64
	Pending bool
}

// linState is the state of the model: the lock's holder (linFree when free) and
// the register's value.
type linState struct {
	Holder int
	Reg    uint64
}

const linFree = -1

// linStep is the model's transition: whether the operation is legal in s, and
// the state after it. A pending operation is always legal: it takes effect when
// it would be legal, and otherwise did not take effect.
func linStep(s linState, in linInput, out linOutput) (bool, linState) {
	switch in.Kind {
	case OpAcquire:
		if s.Holder == linFree {
			s.Holder = in.Thread
			return true, s
		}
	case OpRelease:
		if s.Holder == in.Thread {
			s.Holder = linFree
			return true, s
		}
	case OpRead:
		if s.Holder == in.Thread && (out.Pending || s.Reg == out.Value) {
			return true, s
		}
	case OpWrite:
		if s.Holder == in.Thread {
			s.Reg = in.Value
			return true, s
		}
	}
	return out.Pending, s
}

// linWhyNot says why an operation is illegal in s ("" when it is legal).
func linWhyNot(names []string, s linState, in linInput, out linOutput) string {
	if ok, _ := linStep(s, in, out); ok {
		return ""
	}
	held := "the lock is free"
	if s.Holder != linFree {
		held = "the lock is held by " + linName(names, s.Holder)
	}
	switch {
	case in.Kind == OpAcquire || s.Holder != in.Thread:
		return held
	case in.Kind == OpRead:
		return fmt.Sprintf("the register holds %d", s.Reg)
	}
	return "illegal" // not reached: release and write are legal for the holder
}

// linModel is porcupine's model of a lock-protected register; names name the
// threads in descriptions.
func linModel(names []string) porcupine.Model {
	return porcupine.Model{
		Partition: linPartition,
		Init:      func() any { return linState{Holder: linFree} },
		Step: func(state, input, output any) (bool, any) {
			return linStep(state.(linState), input.(linInput), output.(linOutput))
		},
		Equal: func(a, b any) bool { return a.(linState) == b.(linState) },
		Hash: func(state any) uint64 {
			s := state.(linState)
			return uint64(s.Holder+1)*0x9e3779b97f4a7c15 ^ s.Reg*0xbf58476d1ce4e5b9
		},
		DescribeOperation: func(input, output any) string {
			return linDescribe(names, input.(linInput), output.(linOutput))
		},
		DescribeState: func(state any) string { return linDescribeState(names, state.(linState)) },
		DescribeOperationMetadata: func(info any) string {
			s, _ := info.(string)
			return s
		},
	}
}

// linPartition splits a history per lock (linInput.Lock), in order of first
// appearance, keeping the order of operations: the locks are independent
// objects, each with its own protected register, so the history is linearizable
// iff each partition is. Today every operation of a History has the same lock
// (History.Lock), so there is one partition.
func linPartition(ops []porcupine.Operation) [][]porcupine.Operation {
	var parts [][]porcupine.Operation
	index := map[string]int{}
	for _, op := range ops {
		lock := op.Input.(linInput).Lock
		i, ok := index[lock]
		if !ok {
			i = len(parts)
			index[lock] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], op)
	}
	return parts
}

func linName(names []string, thread int) string {
	if thread >= 0 && thread < len(names) && names[thread] != "" {
		return names[thread]
	}
	return fmt.Sprintf("t%d", thread)
}

// linDescribe describes an operation: "n0/t0 acquire", "n1/t0 read → 3",
// "n1/t0 write 4", "n0/t0 release (pending)".
func linDescribe(names []string, in linInput, out linOutput) string {
	s := linName(names, in.Thread) + " " + in.Kind.String()
	switch {
	case in.Kind == OpWrite:
		s += fmt.Sprintf(" %d", in.Value)
	case in.Kind == OpRead && !out.Pending:
		s += fmt.Sprintf(" → %d", out.Value)
	}
	if out.Pending {
		s += " (pending)"
	}
	return s
}

// linDescribeState describes a state: "free, register 0", "held by n0/t0,
// register 3".
func linDescribeState(names []string, s linState) string {
	if s.Holder == linFree {
		return fmt.Sprintf("free, register %d", s.Reg)
	}
	return fmt.Sprintf("held by %s, register %d", linName(names, s.Holder), s.Reg)
}

// explainIllegal describes why the history is not linearizable: for the first
// partition that porcupine could not linearize, its longest linearizable prefix,
// the state after it, and why none of the operations that must come next (those
// called before the earliest return among the rest) can follow it.
func explainIllegal(names []string, parts [][]porcupine.Operation, partials [][][]int) string {
	for p, ops := range parts {
		if p >= len(partials) {
			break
		}
		// The longest partial linearization; porcupine gives them in no particular
		// order, so break ties by the ids, for a reason that does not change from
		// one run to the next.
		var best []int
		for _, l := range partials[p] {
			if len(l) > len(best) || len(l) == len(best) && slices.Compare(l, best) < 0 {
				best = l
			}
		}
		if len(best) == len(ops) {
			continue // linearizable
		}
		state := linState{Holder: linFree}
		done := make([]bool, len(ops))
		for _, id := range best {
			_, state = linStep(state, ops[id].Input.(linInput), ops[id].Output.(linOutput))
			done[id] = true
		}
		firstReturn := int64(-1)
		for id, op := range ops {
			if !done[id] && (firstReturn < 0 || op.Return < firstReturn) {
				firstReturn = op.Return
			}
		}
		var why []string
		for id, op := range ops {
			if done[id] || op.Call > firstReturn {
				continue
			}
			in, out := op.Input.(linInput), op.Output.(linOutput)
			w := linWhyNot(names, state, in, out)
			if w == "" {
				// This candidate can follow: the search for this partition was cut
				// short (a timeout), so its longest prefix explains nothing.
				why = nil
				break
			}
			why = append(why, fmt.Sprintf("%s %s (%s)", linDescribe(names, in, out), linSpan(op), w))
		}
		if len(why) == 0 {
			continue
		}
		if len(why) > 3 {
			why = append(why[:3], fmt.Sprintf("%d more", len(why)-3))
		}
		var b strings.Builder
		if len(parts) > 1 {
			fmt.Fprintf(&b, "lock %q: ", ops[0].Input.(linInput).Lock)
		}
		fmt.Fprintf(&b, "at most %d of %d operations linearize", len(best), len(ops))
		if len(best) > 0 {
			last := ops[best[len(best)-1]]
			fmt.Fprintf(&b, " (the last: %s %s)", linDescribe(names, last.Input.(linInput), last.Output.(linOutput)), linSpan(last))
		}
		fmt.Fprintf(&b, "; then, in state %s, none of the operations due next can be: %s",
			linDescribeState(names, state), strings.Join(why, "; "))
		return b.String()
	}
	return "not linearizable (porcupine found no linearization)"
}

// linSpan is an operation's interval on the history's clock, "@3–4"; a pending
// operation's return time is made up, so it is "@3–…".
func linSpan(op porcupine.Operation) string {
	if op.Output.(linOutput).Pending {
		return fmt.Sprintf("@%d–…", op.Call)
	}
	return fmt.Sprintf("@%d–%d", op.Call, op.Return)
}

func linPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
