package hwrun

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rdmasim/rdmasim/rdma"
)

// Memory is the registered memory of a run: one mmap'ed region per node
// (never Go-heap memory: a verbs backend registers it with the NIC), words
// allocated with labels, and the run's shape, so that it serves as the
// workload's Setup.
type Memory struct {
	mapped  bool       // the regions are this Memory's own mappings (Close unmaps them)
	own     int        // the node whose words Init writes (-1: every node's)
	regions [][]byte   // nil: a node whose memory is in another process (verbs)
	sizes   []uint64   // by node: bytes
	words   [][]uint64 // the regions as words
	next    []uint64   // by node: the next free byte offset
	allocs  []alloc
	nodes   int
	home    int
	threads []rdma.ThreadInfo
	ops     int
	err     error
}

type alloc struct {
	start, end rdma.Ptr // [start, end)
	label      string
}

// NewMemory maps words words of memory for each of nodes nodes.
func NewMemory(nodes, words int) (*Memory, error) {
	if nodes < 1 || nodes > rdma.MaxNode+1 {
		return nil, fmt.Errorf("memory: %d nodes: want 1 … %d", nodes, rdma.MaxNode+1)
	}
	if words < rdma.ReservedBytes/rdma.WordBytes+1 {
		return nil, fmt.Errorf("memory: %d words per node: too few", words)
	}
	m := &Memory{nodes: nodes, next: make([]uint64, nodes), mapped: true, own: -1}
	for n := range nodes {
		b, err := unix.Mmap(-1, 0, words*rdma.WordBytes, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("memory: mapping %d words for node %d: %v", words, n, err)
		}
		m.regions = append(m.regions, b)
		m.sizes = append(m.sizes, uint64(len(b)))
		m.words = append(m.words, unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), words))
		m.next[n] = rdma.ReservedBytes
	}
	return m, nil
}

// memoryOver lays a Memory over regions mapped by someone else (a verbs
// backend's registered arenas), one per node.
func memoryOver(regions [][]byte) (*Memory, error) {
	return memoryOf(regions, nil, -1)
}

// memoryOf lays a Memory over regions, one per node; a nil region is a node
// whose memory lives in another process (its words are allocated, not
// mapped: sizes gives its size). Init writes only node own's words (-1: every
// node's); the other processes initialise theirs.
func memoryOf(regions [][]byte, sizes []uint64, own int) (*Memory, error) {
	m := &Memory{nodes: len(regions), next: make([]uint64, len(regions)), own: own}
	for n, b := range regions {
		size := uint64(len(b))
		if b == nil && n < len(sizes) {
			size = sizes[n]
		}
		if size < rdma.ReservedBytes+rdma.WordBytes || size%rdma.WordBytes != 0 {
			return nil, fmt.Errorf("memory: node %d's region of %d bytes is too small or not whole words", n, size)
		}
		m.regions = append(m.regions, b)
		m.sizes = append(m.sizes, size)
		var w []uint64
		if b != nil {
			w = unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/rdma.WordBytes)
		}
		m.words = append(m.words, w)
		m.next[n] = rdma.ReservedBytes
	}
	return m, nil
}

// Close unmaps the memory it mapped. The Memory must not be used afterwards.
func (m *Memory) Close() error {
	if !m.mapped {
		m.regions, m.words = nil, nil
		return nil
	}
	var errs []error
	for _, b := range m.regions {
		if b == nil {
			continue
		}
		if err := unix.Munmap(b); err != nil {
			errs = append(errs, err)
		}
	}
	m.regions, m.words = nil, nil
	return errors.Join(errs...)
}

// Nodes implements rdma.Setup.
func (m *Memory) Nodes() int { return m.nodes }

// Home implements rdma.Setup.
func (m *Memory) Home() int { return m.home }

// Threads implements rdma.Setup.
func (m *Memory) Threads() []rdma.ThreadInfo { return slices.Clone(m.threads) }

// OpsPerThread implements workload.Setup.
func (m *Memory) OpsPerThread() int { return m.ops }

// Alloc implements rdma.Setup: words zeroed words on node, named label.
func (m *Memory) Alloc(node, words int, label string) rdma.Ptr {
	if node < 0 || node >= m.nodes || words < 1 {
		m.fail(fmt.Errorf("Alloc(%d, %d, %q): no such node, or no words", node, words, label))
		return 0
	}
	off := m.next[node]
	end := off + uint64(words*rdma.WordBytes)
	if end > m.sizes[node] {
		m.fail(fmt.Errorf("Alloc(%d, %d, %q): node %d's %d bytes are used up", node, words, label, node, m.sizes[node]))
		return 0
	}
	m.next[node] = end
	p := rdma.MakePtr(node, off)
	m.allocs = append(m.allocs, alloc{start: p, end: rdma.MakePtr(node, end), label: label})
	return p
}

// Init implements rdma.Setup.
func (m *Memory) Init(p rdma.Ptr, v uint64) {
	if m.own >= 0 && p.Node() != m.own && m.allocated(p) {
		return // another process's word: its owner initialises it
	}
	if w := m.word(p); w != nil {
		atomic.StoreUint64(w, v)
	} else {
		m.fail(fmt.Errorf("Init(%s): not an allocated word", p))
	}
}

func (m *Memory) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// word returns the word at p, or nil when p is not an allocated, aligned word
// of memory mapped here.
func (m *Memory) word(p rdma.Ptr) *uint64 {
	if !m.allocated(p) || m.words[p.Node()] == nil {
		return nil
	}
	return &m.words[p.Node()][p.Offset()/rdma.WordBytes]
}

// allocated reports whether p is an allocated, aligned word.
func (m *Memory) allocated(p rdma.Ptr) bool {
	n, off := p.Node(), p.Offset()
	return n >= 0 && n < m.nodes && off%rdma.WordBytes == 0 && off >= rdma.ReservedBytes && off < m.next[n]
}

// reserved returns word i of node n's reserved bytes (the shared NIC lock and
// mark counter of a run with one process per node), nil when not mapped here.
func (m *Memory) reserved(n, i int) *uint64 {
	if n < 0 || n >= m.nodes || m.words[n] == nil || i >= rdma.ReservedBytes/rdma.WordBytes {
		return nil
	}
	return &m.words[n][i]
}

// Peek reads the word at p (0 if it is not one).
func (m *Memory) Peek(p rdma.Ptr) uint64 {
	if w := m.word(p); w != nil {
		return atomic.LoadUint64(w)
	}
	return 0
}

// Label names the word p, as traces do (rdma.WordLabel).
func (m *Memory) Label(p rdma.Ptr) string {
	for _, a := range m.allocs {
		if a.start.Node() != p.Node() || p.Offset() < a.start.Offset() || p.Offset() >= a.end.Offset() {
			continue
		}
		i := int(p.Offset()-a.start.Offset()) / rdma.WordBytes
		return rdma.WordLabel(a.label, int(a.end.Offset()-a.start.Offset())/rdma.WordBytes, i)
	}
	return ""
}
