package rdma

// Op names the operations of the programming model, as they appear in traces.
type Op uint8

// The operations. CPU operations first, then verbs, then the calls that touch no
// memory.
const (
	OpNone Op = iota
	OpLoad
	OpStore
	OpCAS
	OpSwap
	OpFAA
	OpFence
	OpRRead
	OpRReadN
	OpRWrite
	OpRCAS
	OpRFAA
	OpPause
	OpAlloc
	// OpPoll and OpWait come last so that the numbers of the others stay as
	// they were.
	OpPoll // Async.Poll: take the next completion of a QP
	OpWait // Async.Wait: block until a posted request completes
)

var opNames = [...]string{"none", "Load", "Store", "CAS", "Swap", "FAA", "Fence",
	"RRead", "RReadN", "RWrite", "RCAS", "RFAA", "Pause", "Alloc", "Poll", "Wait"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "Op(?)"
}

// IsCPU reports whether o is a CPU operation (restricted to the thread's node).
func (o Op) IsCPU() bool { return o >= OpLoad && o <= OpFence }

// IsVerb reports whether o is a one-sided verb.
func (o Op) IsVerb() bool { return o >= OpRRead && o <= OpRFAA }

// IsAtomic reports whether o is a read-modify-write (CPU or NIC).
func (o Op) IsAtomic() bool {
	return o == OpCAS || o == OpSwap || o == OpFAA || o == OpRCAS || o == OpRFAA
}

// ParseOp returns the Op with the given name.
func ParseOp(s string) (Op, bool) {
	for i, n := range opNames {
		if n == s && i != 0 {
			return Op(i), true
		}
	}
	return OpNone, false
}
