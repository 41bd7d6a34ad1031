package hwrun

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rdmasim/rdmasim/workload"
)

// The bootstrap protocol between a coordinator (hw run) and the node processes
// (hw node --join) over TCP. Both sides first send the greeting line
// bootMagic, which names the protocol and its version, and check the other's;
// then every message is one frame: a 4-byte big-endian length (at most
// maxFrame) and one gob-encoded message.
//
// A session: every node connects and says hello (its node id). Then, for every
// run: the coordinator sends the order (the configuration and the workload's
// description, opaque to hwrun); every node sets up its memory and sends its
// part of an exchange round (what its peers need: a shared file's name, or QP
// numbers, GIDs, rkeys and addresses); the coordinator broadcasts the table of
// all parts (verbs takes two rounds); every node sends ready; the coordinator
// sends start (a barrier); the nodes run their threads, sending progress
// heartbeats, then done with their records and events; the coordinator sends
// finish, and every node sends its memory and releases its resources. The
// session ends with bye, or abort (with the reason) after any failure.
const bootMagic = "rdmasim-hw-bootstrap/1\n"

// maxFrame bounds one message (a run's event log included).
const maxFrame = 512 << 20

// heartbeat is how often a running node reports its progress.
const heartbeat = 100 * time.Millisecond

// The kinds of message.
const (
	msgHello    = "hello"    // node → coordinator: Node
	msgOrder    = "order"    // coordinator → node: Order
	msgExchange = "exchange" // node → coordinator: Blob (one round)
	msgTable    = "table"    // coordinator → node: Table (every node's Blob)
	msgReady    = "ready"    // node → coordinator: Layout
	msgStart    = "start"    // coordinator → node
	msgProgress = "progress" // node → coordinator: Progress
	msgStop     = "stop"     // coordinator → node: the run is hung, stop the threads
	msgDone     = "done"     // node → coordinator: Report
	msgFinish   = "finish"   // coordinator → node
	msgMemory   = "memory"   // node → coordinator: Memory
	msgError    = "error"    // node → coordinator: Err
	msgAbort    = "abort"    // coordinator → node: Err
	msgBye      = "bye"      // coordinator → node
)

// message is every message of the protocol; Kind says which fields count.
type message struct {
	Kind     string
	Node     int
	Err      string
	Order    *order
	Blob     []byte
	Table    [][]byte
	Layout   []uint64
	Progress int64
	Report   *nodeReport
	Memory   []uint64
}

// order is one run, as the coordinator hands it to every node.
type order struct {
	Session string // names the run's shared files
	Run     int
	Config  Config
	Spec    []byte // the workload, as the caller's Build understands it
	ShmDir  string
}

// nodeReport is what a node's threads did in one run.
type nodeReport struct {
	Ops      []OpRecord
	Events   [][]markEvent // by thread of the node, in the node's thread order
	Threads  []int         // the node's thread ids, for Events
	Failure  *workload.Finding
	Hung     bool
	Setup    time.Duration
	DataPath time.Duration
	Scope    string
}

// conn is one end of a bootstrap connection.
type conn struct {
	c    net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex
	peer string // for messages: "node 2", or the remote address
}

// greet sends the greeting and checks the peer's within timeout.
func greet(c net.Conn, timeout time.Duration, peer string) (*conn, error) {
	cn := &conn{c: c, r: bufio.NewReader(c), peer: peer}
	c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, bootMagic); err != nil {
		return nil, fmt.Errorf("%s: sending the greeting: %v", peer, err)
	}
	// Byte by byte: a peer that sends something else is told apart at its
	// first wrong byte, not after a timeout.
	var got []byte
	var err error
	for len(got) < len(bootMagic) {
		var b byte
		if b, err = cn.r.ReadByte(); err != nil {
			break
		}
		got = append(got, b)
		if b != bootMagic[len(got)-1] {
			// read the rest of a line, to show it
			for len(got) < 64 && b != '\n' {
				c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if b, err = cn.r.ReadByte(); err != nil {
					break
				}
				got = append(got, b)
			}
			err = nil
			break
		}
	}
	switch {
	case len(got) > 0 && !strings.HasPrefix(bootMagic, string(got)):
		if strings.HasPrefix(string(got), "rdmasim-hw-bootstrap/") {
			return nil, fmt.Errorf("%s speaks another version of the bootstrap protocol (%q, this side %q): use the same rdmasim binary everywhere",
				peer, strings.TrimSpace(string(got)), strings.TrimSpace(bootMagic))
		}
		return nil, fmt.Errorf("%s is not an rdmasim hw peer: its first bytes were %q", peer, got)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%s closed the connection before greeting (is it an rdmasim hw peer?)", peer)
	case err != nil:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("%s sent no greeting within %v (is it an rdmasim hw peer?)", peer, timeout)
		}
		return nil, fmt.Errorf("%s: reading the greeting: %v", peer, err)
	}
	return cn, nil
}

func (cn *conn) send(m *message) error {
	var b bytes.Buffer
	b.Write(make([]byte, 4))
	if err := gob.NewEncoder(&b).Encode(m); err != nil {
		return fmt.Errorf("encoding a %s message for %s: %v", m.Kind, cn.peer, err)
	}
	if b.Len()-4 > maxFrame {
		return fmt.Errorf("a %s message for %s is %d bytes, over the limit of %d", m.Kind, cn.peer, b.Len()-4, maxFrame)
	}
	binary.BigEndian.PutUint32(b.Bytes(), uint32(b.Len()-4))
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := cn.c.Write(b.Bytes())
	if err != nil {
		return fmt.Errorf("sending a %s message to %s: %v", m.Kind, cn.peer, err)
	}
	return nil
}

// recv reads one message (no deadline: the callers time out themselves).
func (cn *conn) recv() (*message, error) { return cn.recvMax(maxFrame) }

// helloMax bounds the first message of a peer not yet known to be a node.
const helloMax = 64 << 10

// recvMax reads one message of at most limit bytes.
func (cn *conn) recvMax(limit uint32) (*message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(cn.r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > limit {
		return nil, fmt.Errorf("a frame of %d bytes (the limit is %d): not the bootstrap protocol", n, limit)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(cn.r, buf); err != nil {
		return nil, err
	}
	m := &message{}
	if err := gob.NewDecoder(bytes.NewReader(buf)).Decode(m); err != nil {
		return nil, fmt.Errorf("a frame that does not decode: %v", err)
	}
	if m.Kind == "" {
		return nil, errors.New("a message without a kind")
	}
	return m, nil
}

func (cn *conn) close() { cn.c.Close() }

// nodeList is "node 1", "nodes 1, 3".
func nodeList(nodes []int) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = strconv.Itoa(n)
	}
	if len(nodes) == 1 {
		return "node " + s[0]
	}
	return "nodes " + strings.Join(s, ", ")
}

// connErr words a broken connection to a peer.
func connErr(peer string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%s went away (its connection closed)", peer)
	}
	return fmt.Errorf("%s: %v", peer, err)
}
