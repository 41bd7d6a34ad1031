package rdma

import (
	"fmt"
	"strings"
)

// WordBytes is the size of a memory word. Every address is a multiple of it.
const WordBytes = 8

// ReservedBytes at the start of every node's memory are never allocated, so that
// the zero Ptr is never a valid word.
const ReservedBytes = 64

// Ptr names one word of registered memory: a node id and a 48-bit byte offset,
// packed into one uint64 so that it can itself be stored in a word (an MCS queue
// stores Ptrs to its nodes' descriptors).
//
// The top 16 bits hold node+1 and the low 48 bits the offset, so every valid Ptr
// has a non-zero node field, a pointer to node 0 included: a word holding a Ptr
// never looks like a small number (n0:0x50 is 0x0001_0000_0000_0050, not 80),
// and the zero Ptr, nil, is no word of any node. Build Ptrs with [MakePtr] and
// take them apart with [Ptr.Node] and [Ptr.Offset]; converting a Ptr to a uint64
// and back (to store it in a word) keeps it intact.
type Ptr uint64

const (
	offsetBits = 48
	offsetMask = 1<<offsetBits - 1
)

// MaxNode is the largest node id a Ptr can name.
const MaxNode = 1<<(64-offsetBits) - 2

// MakePtr returns the Ptr of the word at byte offset off on node, 0 … MaxNode
// (offsets are taken modulo 2^48).
func MakePtr(node int, off uint64) Ptr {
	return Ptr(uint64(node+1)<<offsetBits | off&offsetMask)
}

// Node is the id of the node that holds the word: -1 for nil, and for any value
// whose node field is 0, which no MakePtr returns.
func (p Ptr) Node() int { return int(uint64(p)>>offsetBits) - 1 }

// Offset is the byte offset of the word in its node's memory.
func (p Ptr) Offset() uint64 { return uint64(p) & offsetMask }

// Add returns the Ptr words words further on the same node.
func (p Ptr) Add(words int) Ptr { return p + Ptr(words*WordBytes) }

// IsNil reports whether p is the zero Ptr.
func (p Ptr) IsNil() bool { return p == 0 }

// String formats p as n<node>:0x<offset>, the form traces use; nil for the
// zero Ptr, and ptr?(0x<bits>) for a value with no node field.
func (p Ptr) String() string {
	if p == 0 {
		return "nil"
	}
	if p.Node() < 0 {
		return fmt.Sprintf("ptr?(%#x)", uint64(p))
	}
	return fmt.Sprintf("n%d:%#x", p.Node(), p.Offset())
}

// CPU is what a thread's host CPU does to memory on its own node. Every call is
// one atomic step; stores are visible to the NIC and other threads at once.
type CPU interface {
	// Load returns the word at p.
	Load(p Ptr) uint64
	// Store writes v to p.
	Store(p Ptr, v uint64)
	// CAS writes new to p if p holds old, and returns the value p held before.
	CAS(p Ptr, old, new uint64) uint64
	// Swap writes v to p and returns the value p held before (x86 XCHG).
	Swap(p Ptr, v uint64) uint64
	// FAA adds delta to p and returns the value p held before.
	FAA(p Ptr, delta uint64) uint64
	// Fence orders the thread's earlier memory operations before its later ones.
	Fence()
}

// Verbs are the one-sided RDMA operations a thread posts to any node, its own
// included (loopback). Each call blocks until the verb completes.
type Verbs interface {
	// RRead returns the word at p, read by p's NIC.
	RRead(p Ptr) uint64
	// RReadN reads len(dst) consecutive words starting at p in one READ. The words
	// are read one by one, in no particular order: the result is not a snapshot.
	RReadN(p Ptr, dst []uint64)
	// RWrite writes v to p through p's NIC.
	RWrite(p Ptr, v uint64)
	// RCAS is an RDMA compare-and-swap executed by p's NIC: it writes new if p
	// holds old, and returns the value p held before.
	RCAS(p Ptr, old, new uint64) uint64
	// RFAA is an RDMA fetch-and-add executed by p's NIC; it returns the value p
	// held before.
	RFAA(p Ptr, delta uint64) uint64
}

// Thread is what an algorithm's code is handed: one thread on one node.
type Thread interface {
	CPU
	Verbs
	// ID is the thread's index among all threads of the run, from 0.
	ID() int
	// Node is the id of the node the thread runs on.
	Node() int
	// Pause ends one iteration of a spin loop (see the package doc).
	Pause()
	// Alloc returns words fresh zeroed words of registered memory on the thread's
	// own node.
	Alloc(words int) Ptr
}

// ThreadInfo describes a thread to an algorithm before the run starts.
type ThreadInfo struct {
	ID   int // index among all threads, from 0
	Node int // the node it runs on
	// Local is the workload's classification of the thread: true when it is
	// treated as running on the lock's home node. Algorithms that take a
	// different path for local threads (ALock) must follow it; it is normally
	// Node == home, and tests mis-classify threads on purpose.
	Local bool
}

// Setup is what an algorithm's constructor gets before any thread runs: the shape
// of the run and memory to lay out its lock words and per-thread descriptors.
type Setup interface {
	// Nodes is the number of nodes, ids 0 … Nodes()-1.
	Nodes() int
	// Home is the node that holds the lock.
	Home() int
	// Threads describes every thread of the run, indexed by ID.
	Threads() []ThreadInfo
	// Alloc returns words zeroed words on node. The label names them in traces:
	// one name for the block (words are shown as label[i]), or one name per word,
	// comma-separated ("r_tail,l_tail,victim").
	Alloc(node, words int, label string) Ptr
	// Init writes the initial value of a word, before the run starts.
	Init(p Ptr, v uint64)
}

// Lock is a mutual-exclusion lock written against this programming model. One
// Lock value serves every thread of a run; per-thread state is laid out by the
// constructor (indexed by Thread.ID) or allocated by the thread itself.
type Lock interface {
	Acquire(t Thread)
	Release(t Thread)
}

// QP names one of a thread's reliable-connected queue pairs: its connection to
// the target node Node, lane Lane of it. Every thread has its own QPs: by
// default one per target node (lane 0); a model configured with more lanes gives
// it several, and an algorithm picks one explicitly. The blocking [Verbs] always
// use lane 0 of the target's node.
type QP struct {
	Node int // the target node
	Lane int // 0 … lanes-1
}

// String formats q as qp(n<node>,<lane>).
func (q QP) String() string { return fmt.Sprintf("qp(n%d,%d)", q.Node, q.Lane) }

// QPTo returns lane 0 of the thread's QP to node: where the blocking verbs go.
func QPTo(node int) QP { return QP{Node: node} }

// Req is a handle on a posted work request, returned by the Post calls of
// [Async]. Handles are numbered per thread from 1; 0 is no request.
type Req uint64

// Flags modify a posted request.
type Flags uint8

const (
	// Fenced is IBV_SEND_FENCE: the request waits until the earlier READs and
	// atomics of its QP have completed (under the model's "strong" fence: every
	// earlier request of the QP).
	Fenced Flags = 1 << iota
)

// Async posts one-sided verbs without waiting for them: each Post call puts a
// work request on a QP and returns at once with a handle, the way ibv_post_send
// does. The NIC executes the request later, as a sequence of memory events
// ordered only as the model's ordering rules say (see nicmodel's package doc and
// docs/ordering.md). A request's data is guaranteed visible only once its completion is
// seen: by Wait, or by Poll returning it.
//
// Local buffers are words of the thread's own node: the source of a WRITE (read
// by the NIC some time after the post, so it can see stores made after it) and
// the destination of a READ (written by the NIC when the response arrives).
type Async interface {
	// PostRead posts a READ of words consecutive words at src (on qp.Node)
	// into the local buffer dst.
	PostRead(qp QP, dst, src Ptr, words int, f Flags) Req
	// PostWrite posts a WRITE of words consecutive words from the local buffer
	// src to dst (on qp.Node).
	PostWrite(qp QP, dst, src Ptr, words int, f Flags) Req
	// PostWriteValue posts a WRITE of the one word v to dst (inline data: the
	// value is copied at the post, IBV_SEND_INLINE).
	PostWriteValue(qp QP, dst Ptr, v uint64, f Flags) Req
	// PostCAS posts an RDMA compare-and-swap on p; Wait returns the value p held.
	PostCAS(qp QP, p Ptr, old, new uint64, f Flags) Req
	// PostFAA posts an RDMA fetch-and-add on p; Wait returns the value p held.
	PostFAA(qp QP, p Ptr, delta uint64, f Flags) Req
	// Poll takes the next completion of qp, if there is one. Completions come
	// in posting order, each once. Polling is a step: a loop that polls until a
	// completion shows up must Pause every iteration.
	Poll(qp QP) (Req, bool)
	// Wait blocks until r has completed and returns its result: the value an
	// atomic read, 0 for READ and WRITE. It does not take r's completion from
	// the QP: Poll still returns it.
	Wait(r Req) uint64
}

// AsyncThread is a Thread that can also post verbs asynchronously. The
// simulator's threads are; an algorithm that needs the asynchronous verbs takes
// one (or type-asserts its Thread).
type AsyncThread interface {
	Thread
	Async
}

// WordLabel names word i of an allocation of words words labelled label, as
// traces show it: the label itself for one word; the i-th name of a
// comma-separated label with one name per word ("r_tail,l_tail,victim"); else
// label[i]. An empty label names nothing.
func WordLabel(label string, words, i int) string {
	switch {
	case label == "":
		return ""
	case words == 1:
		return label
	}
	if names := strings.Split(label, ","); len(names) == words {
		return names[i]
	}
	return fmt.Sprintf("%s[%d]", label, i)
}
