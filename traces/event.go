package traces

import (
	"fmt"
	"strings"

	"github.com/rdmasim/rdmasim/rdma"
)

// Kind says what an event did.
type Kind uint8

// The event kinds.
const (
	// CPU: a host CPU operation, one atomic step on the thread's own node.
	CPU Kind = iota + 1
	// NICRead: the target NIC reads one word for a READ.
	NICRead
	// NICWrite: the target NIC writes one word for a WRITE.
	NICWrite
	// NICAtomicRead: first half of a NIC atomic: the read (takes the NIC's atomic lock on the address).
	NICAtomicRead
	// NICAtomicWrite: second half of a NIC atomic: the write (releases the lock).
	NICAtomicWrite
	// NICAtomic: a NIC atomic done as one event (atomic scope glob).
	NICAtomic
	// Mark: a workload marker that touches no memory (critical-section entry and exit).
	Mark
	// Park: the thread's spin iteration read nothing new; it sleeps until a word it read changes.
	Park
	// Wake: a parked thread resumes.
	Wake
	// NICArrive: a NIC atomic reaches the target NIC's atomic unit and queues
	// for its address (FIFO arbitration).
	NICArrive
)

var kindNames = [...]string{"", "cpu", "nic-read", "nic-write", "nic-atomic-read", "nic-atomic-write", "nic-atomic", "mark", "park", "wake", "nic-arrive"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Event is one line of an execution trace.
type Event struct {
	Step   int      // global step number of the scheduling step this event belongs to
	Thread int      // thread id
	Kind   Kind     // what happened
	Op     rdma.Op  // the operation of the thread that caused it
	Addr   rdma.Ptr // the word touched (0 for marks)
	Label  string   // the name of the word, from its allocation
	Read   uint64   // the value read, if HasRead
	Wrote  uint64   // the value written, if HasWrite
	// HasRead and HasWrite say which of Read and Wrote are meaningful.
	HasRead, HasWrite bool
	Note              string // free text: "cs-enter", "failed", a finding
	// Time is the simulated time of the step, in ns, in a timed run; 0
	// otherwise.
	Time int64 `json:",omitempty"`
}

// Format renders the event as one trace line (without its number), naming the
// thread with names[Thread].
func (e Event) Format(names []string) string { return e.format(names, 0) }

// format is Format for a run of nodes nodes (0: not known).
func (e Event) format(names []string, nodes int) string {
	who := fmt.Sprintf("t%d", e.Thread)
	if e.Thread >= 0 && e.Thread < len(names) {
		who = names[e.Thread]
	}
	var b strings.Builder
	if e.Time > 0 {
		fmt.Fprintf(&b, "%9.3fµs ", float64(e.Time)/1000)
	}
	fmt.Fprintf(&b, "%-7s %-16s", who, e.Kind.String())
	if e.Op != rdma.OpNone {
		fmt.Fprintf(&b, " %-6s", e.Op)
	}
	if e.Addr != 0 {
		fmt.Fprintf(&b, " %s", e.Addr)
		if e.Label != "" {
			fmt.Fprintf(&b, " /*%s*/", e.Label)
		}
	}
	if e.HasRead {
		fmt.Fprintf(&b, " read %s", FormatValue(e.Read, nodes))
	}
	if e.HasWrite {
		fmt.Fprintf(&b, " wrote %s", FormatValue(e.Wrote, nodes))
	}
	if e.Note != "" {
		if e.Op != rdma.OpNone || e.Addr != 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, " %s", e.Note)
	}
	return strings.TrimRight(b.String(), " ")
}

// FormatValue formats a word read or written: as a pointer, n<node>:0x<offset>,
// when it decodes as one, else in decimal. A word decodes as a pointer when its
// node field is set (every [rdma.Ptr] but nil has one, a pointer to node 0
// included), the node is one of the run's nodes (0 … nodes-1; any node when
// nodes is 0, not known), and the offset is word-aligned.
func FormatValue(v uint64, nodes int) string {
	if p, ok := asPtr(v, nodes); ok {
		return p.String()
	}
	return fmt.Sprint(v)
}

// asPtr decodes v as a pointer, if it is one (see [FormatValue]).
func asPtr(v uint64, nodes int) (rdma.Ptr, bool) {
	p := rdma.Ptr(v)
	n := p.Node()
	if n < 0 || (nodes > 0 && n >= nodes) || p.Offset()%rdma.WordBytes != 0 {
		return 0, false
	}
	return p, true
}

// value formats a word when the run's nodes are not known.
func value(v uint64) string { return FormatValue(v, 0) }
