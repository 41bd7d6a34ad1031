package checker

// HistoryKind names an operation in a lock history.
type HistoryKind uint8

// The operations recorded: the lock's acquire and release, and, inside the
// critical section, the read and the write of the protected register (the
// workload's counter).
const (
	OpAcquire HistoryKind = iota + 1
	OpRelease
	OpRead
	OpWrite
)

func (k HistoryKind) String() string {
	switch k {
	case OpAcquire:
		return "acquire"
	case OpRelease:
		return "release"
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	}
	return "?"
}

// HistoryOp is one operation of a history: who, what, the value read or written
// (register operations), and its call and return times on the execution's logical
// clock (every call and return gets the next tick, so times are distinct and
// increasing in execution order). An operation that never returned (the execution
// stopped first) has Return 0.
type HistoryOp struct {
	Thread       int
	Kind         HistoryKind
	Value        uint64
	Call, Return int64
}

// History is the lock history of one execution, in call order.
type History struct {
	Ops []HistoryOp
	// Lock names the lock the history belongs to (one per workload today); a
	// linearizability check partitions by it.
	Lock string
}

// recorder appends to a history as the workload runs.
type recorder struct {
	h     *History
	clock int64
}

// call opens an operation and returns its index.
func (r *recorder) call(thread int, k HistoryKind, v uint64) int {
	if r == nil {
		return -1
	}
	r.clock++
	r.h.Ops = append(r.h.Ops, HistoryOp{Thread: thread, Kind: k, Value: v, Call: r.clock})
	return len(r.h.Ops) - 1
}

// ret closes operation i, setting its value when the operation produced one.
func (r *recorder) ret(i int, v uint64, setValue bool) {
	if r == nil || i < 0 {
		return
	}
	r.clock++
	r.h.Ops[i].Return = r.clock
	if setValue {
		r.h.Ops[i].Value = v
	}
}
