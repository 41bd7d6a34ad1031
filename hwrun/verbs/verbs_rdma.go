//go:build rdma

package verbs

/*
#cgo LDFLAGS: -libverbs
#include <infiniband/verbs.h>
#include <string.h>
#include <errno.h>

// ibv_query_port is a macro in recent headers: wrap it.
static int rs_query_port(struct ibv_context *c, uint8_t port, struct ibv_port_attr *a) {
	return ibv_query_port(c, port, a);
}

static struct ibv_qp *rs_create_qp(struct ibv_pd *pd, struct ibv_cq *cq, int depth) {
	struct ibv_qp_init_attr a;
	memset(&a, 0, sizeof a);
	a.send_cq = cq;
	a.recv_cq = cq;
	a.qp_type = IBV_QPT_RC;
	a.sq_sig_all = 1;
	a.cap.max_send_wr = depth;
	a.cap.max_recv_wr = 1;
	a.cap.max_send_sge = 1;
	a.cap.max_recv_sge = 1;
	return ibv_create_qp(pd, &a);
}

static int rs_to_init(struct ibv_qp *qp, uint8_t port) {
	struct ibv_qp_attr a;
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = port;
	a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
		IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int rs_to_rtr(struct ibv_qp *qp, uint8_t port, int mtu, uint32_t dqpn, uint32_t rpsn,
		uint16_t dlid, const void *dgid, uint8_t sgid_index, uint8_t rd_atomic) {
	struct ibv_qp_attr a;
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = (enum ibv_mtu)mtu;
	a.dest_qp_num = dqpn;
	a.rq_psn = rpsn;
	a.max_dest_rd_atomic = rd_atomic;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	memcpy(a.ah_attr.grh.dgid.raw, dgid, 16);
	a.ah_attr.grh.sgid_index = sgid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.dlid = dlid;
	a.ah_attr.port_num = port;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

static int rs_to_rts(struct ibv_qp *qp, uint32_t psn, uint8_t rd_atomic) {
	struct ibv_qp_attr a;
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = psn;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = rd_atomic;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC);
}

// rs_post posts one signaled work request with one scatter/gather entry.
static int rs_post(struct ibv_qp *qp, int op, uint64_t wrid, uint64_t laddr, uint32_t len,
		uint32_t lkey, uint64_t raddr, uint32_t rkey, uint64_t cmp_add, uint64_t swap) {
	struct ibv_sge sge;
	struct ibv_send_wr wr, *bad = NULL;
	memset(&wr, 0, sizeof wr);
	sge.addr = laddr;
	sge.length = len;
	sge.lkey = lkey;
	wr.wr_id = wrid;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.send_flags = IBV_SEND_SIGNALED;
	switch (op) {
	case 0: wr.opcode = IBV_WR_RDMA_READ; break;
	case 1: wr.opcode = IBV_WR_RDMA_WRITE; break;
	case 2: wr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP; break;
	case 3: wr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD; break;
	default: return EINVAL;
	}
	if (op <= 1) {
		wr.wr.rdma.remote_addr = raddr;
		wr.wr.rdma.rkey = rkey;
	} else {
		wr.wr.atomic.remote_addr = raddr;
		wr.wr.atomic.rkey = rkey;
		wr.wr.atomic.compare_add = cmp_add;
		wr.wr.atomic.swap = swap;
	}
	return ibv_post_send(qp, &wr, &bad);
}

// rs_poll polls up to n completions into the arrays; returns the count or < 0.
static int rs_poll(struct ibv_cq *cq, int n, uint64_t *wrid, int *status) {
	struct ibv_wc wc[16];
	int i, got;
	if (n > 16)
		n = 16;
	got = ibv_poll_cq(cq, n, wc);
	for (i = 0; i < got; i++) {
		wrid[i] = wc[i].wr_id;
		status[i] = wc[i].status;
	}
	return got;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	portNum  = 1 // the device's first port
	gidIndex = 0 // GID 0: on RoCE the IPv6 link-local GID (the one rxe-to-rxe traffic needs)
)

// Supported reports whether verbs support was compiled in.
func Supported() bool { return true }

// Device is an open RDMA device with one protection domain.
type Device struct {
	name     string
	ctx      *C.struct_ibv_context
	pd       *C.struct_ibv_pd
	atomic   AtomicCap
	rdAtomic uint8 // outstanding READs/atomics per QP, both directions
	mtu      C.int
	lid      uint16
	gid      GID
}

func errnoErr(what string, rc C.int, err error) error {
	if rc > 0 {
		return fmt.Errorf("verbs: %s: %w", what, syscall.Errno(rc))
	}
	if err != nil {
		return fmt.Errorf("verbs: %s: %w", what, err)
	}
	return fmt.Errorf("verbs: %s failed (%d)", what, int(rc))
}

// DeviceNames lists the RDMA devices of this machine.
func DeviceNames() ([]string, error) {
	var n C.int
	list, err := C.ibv_get_device_list(&n)
	if list == nil {
		return nil, errnoErr("ibv_get_device_list", 0, err)
	}
	defer C.ibv_free_device_list(list)
	devs := unsafe.Slice(list, int(n))
	names := make([]string, 0, len(devs))
	for _, d := range devs {
		names = append(names, C.GoString(C.ibv_get_device_name(d)))
	}
	return names, nil
}

// Open opens the device called name (rxe0, mlx5_0, …) and allocates a
// protection domain on it.
func Open(name string) (*Device, error) {
	var n C.int
	list, err := C.ibv_get_device_list(&n)
	if list == nil {
		return nil, errnoErr("ibv_get_device_list", 0, err)
	}
	defer C.ibv_free_device_list(list)
	var dev *C.struct_ibv_device
	var names []string
	for _, d := range unsafe.Slice(list, int(n)) {
		nm := C.GoString(C.ibv_get_device_name(d))
		names = append(names, nm)
		if nm == name {
			dev = d
		}
	}
	if dev == nil {
		return nil, fmt.Errorf("verbs: no device %q (have %v)", name, names)
	}
	d := &Device{name: name}
	d.ctx, err = C.ibv_open_device(dev)
	if d.ctx == nil {
		return nil, errnoErr("ibv_open_device "+name, 0, err)
	}
	fail := func(e error) (*Device, error) { d.Close(); return nil, e }
	var attr C.struct_ibv_device_attr
	if rc := C.ibv_query_device(d.ctx, &attr); rc != 0 {
		return fail(errnoErr("ibv_query_device", rc, nil))
	}
	d.atomic = AtomicCap(attr.atomic_cap)
	rd := min(int(attr.max_qp_rd_atom), int(attr.max_qp_init_rd_atom), 16)
	d.rdAtomic = uint8(max(rd, 1))
	var pa C.struct_ibv_port_attr
	if rc := C.rs_query_port(d.ctx, portNum, &pa); rc != 0 {
		return fail(errnoErr("ibv_query_port", rc, nil))
	}
	if pa.state != C.IBV_PORT_ACTIVE {
		return fail(fmt.Errorf("verbs: %s port %d is not active (state %d)", name, portNum, int(pa.state)))
	}
	d.mtu = C.int(pa.active_mtu)
	d.lid = uint16(pa.lid)
	var g C.union_ibv_gid
	if rc := C.ibv_query_gid(d.ctx, portNum, gidIndex, &g); rc != 0 {
		return fail(errnoErr("ibv_query_gid", rc, nil))
	}
	d.gid = *(*GID)(unsafe.Pointer(&g))
	d.pd, err = C.ibv_alloc_pd(d.ctx)
	if d.pd == nil {
		return fail(errnoErr("ibv_alloc_pd", 0, err))
	}
	return d, nil
}

// Name is the device's name.
func (d *Device) Name() string { return d.name }

// AtomicCap is the device's atomicity guarantee.
func (d *Device) AtomicCap() AtomicCap { return d.atomic }

// GID is the GID of port 1 at index 0.
func (d *Device) GID() GID { return d.gid }

// Close releases the protection domain and the device. Arenas and QPs must be
// closed first.
func (d *Device) Close() error {
	var errs []error
	if d.pd != nil {
		if rc := C.ibv_dealloc_pd(d.pd); rc != 0 {
			errs = append(errs, errnoErr("ibv_dealloc_pd", rc, nil))
		}
		d.pd = nil
	}
	if d.ctx != nil {
		if rc := C.ibv_close_device(d.ctx); rc != 0 {
			errs = append(errs, errnoErr("ibv_close_device", rc, nil))
		}
		d.ctx = nil
	}
	return errors.Join(errs...)
}

// Arena is an anonymous mmap registered with a device for local and remote
// read, write and atomic access.
type Arena struct {
	mem []byte
	mr  *C.struct_ibv_mr
}

// NewArena maps size bytes (rounded up to whole pages) and registers them.
func (d *Device) NewArena(size int) (*Arena, error) {
	if size <= 0 {
		return nil, fmt.Errorf("verbs: arena size %d", size)
	}
	pg := unix.Getpagesize()
	size = (size + pg - 1) / pg * pg
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("verbs: mmap %d bytes: %w", size, err)
	}
	access := C.int(C.IBV_ACCESS_LOCAL_WRITE | C.IBV_ACCESS_REMOTE_READ |
		C.IBV_ACCESS_REMOTE_WRITE | C.IBV_ACCESS_REMOTE_ATOMIC)
	// mem is mmap'ed, not Go memory: C may keep the pointer.
	mr, err := C.ibv_reg_mr(d.pd, unsafe.Pointer(&mem[0]), C.size_t(size), access)
	if mr == nil {
		unix.Munmap(mem)
		return nil, errnoErr(fmt.Sprintf("ibv_reg_mr (%d bytes)", size), 0, err)
	}
	return &Arena{mem: mem, mr: mr}, nil
}

// Bytes is the arena's memory. It stays valid until Close.
func (a *Arena) Bytes() []byte { return a.mem }

// Word is the 8-byte word at byte offset off, for sync/atomic or plain access.
func (a *Arena) Word(off uint64) *uint64 {
	if off%8 != 0 || off+8 > uint64(len(a.mem)) {
		panic(fmt.Sprintf("verbs: word offset %#x outside arena of %d bytes or unaligned", off, len(a.mem)))
	}
	return (*uint64)(unsafe.Pointer(&a.mem[off]))
}

func (a *Arena) addr() uint64 { return uint64(uintptr(unsafe.Pointer(&a.mem[0]))) }

// Remote is what a peer needs to address this arena.
func (a *Arena) Remote() Remote {
	return Remote{Addr: a.addr(), RKey: uint32(a.mr.rkey), Size: uint64(len(a.mem))}
}

// Close deregisters and unmaps the arena.
func (a *Arena) Close() error {
	var errs []error
	if a.mr != nil {
		if rc := C.ibv_dereg_mr(a.mr); rc != 0 {
			errs = append(errs, errnoErr("ibv_dereg_mr", rc, nil))
		}
		a.mr = nil
	}
	if a.mem != nil {
		if err := unix.Munmap(a.mem); err != nil {
			errs = append(errs, err)
		}
		a.mem = nil
	}
	return errors.Join(errs...)
}

// QP is a reliable-connected queue pair with its own completion queue. Every
// work request is signaled. A QP is used by one goroutine at a time.
type QP struct {
	dev   *Device
	cq    *C.struct_ibv_cq
	qp    *C.struct_ibv_qp
	psn   uint32
	depth int
	wrid  uint64
}

var psnSeed atomic.Uint32

// NewQP creates a QP (and its CQ) with room for depth outstanding requests.
func (d *Device) NewQP(depth int) (*QP, error) {
	if depth <= 0 {
		depth = 16
	}
	q := &QP{dev: d, depth: depth, psn: (psnSeed.Add(0x9e37) * 2654435761) & 0xffffff}
	var err error
	q.cq, err = C.ibv_create_cq(d.ctx, C.int(depth), nil, nil, 0)
	if q.cq == nil {
		return nil, errnoErr("ibv_create_cq", 0, err)
	}
	q.qp, err = C.rs_create_qp(d.pd, q.cq, C.int(depth))
	if q.qp == nil {
		q.Close()
		return nil, errnoErr("ibv_create_qp", 0, err)
	}
	if rc := C.rs_to_init(q.qp, portNum); rc != 0 {
		q.Close()
		return nil, errnoErr("modify QP to INIT", rc, nil)
	}
	return q, nil
}

// Endpoint is what the peer QP needs to connect to this one.
func (q *QP) Endpoint() Endpoint {
	return Endpoint{QPN: uint32(q.qp.qp_num), PSN: q.psn, LID: q.dev.lid, GID: q.dev.gid}
}

// Connect moves the QP to RTR and RTS towards peer. Both sides must connect.
func (q *QP) Connect(peer Endpoint) error {
	gid := peer.GID
	rc := C.rs_to_rtr(q.qp, portNum, q.dev.mtu, C.uint32_t(peer.QPN), C.uint32_t(peer.PSN),
		C.uint16_t(peer.LID), unsafe.Pointer(&gid[0]), gidIndex, C.uint8_t(q.dev.rdAtomic))
	if rc != 0 {
		return errnoErr("modify QP to RTR", rc, nil)
	}
	if rc := C.rs_to_rts(q.qp, C.uint32_t(q.psn), C.uint8_t(q.dev.rdAtomic)); rc != 0 {
		return errnoErr("modify QP to RTS", rc, nil)
	}
	return nil
}

// Post posts one signaled work request: n bytes between the local arena at
// loff and the remote region r at roff. CAS compares with cmpAdd and swaps in
// swap; FAA adds cmpAdd; both take n = 8 and write the old value to the local
// word. The request completes in a later Poll or Wait with the given wrid.
func (q *QP) Post(op Op, wrid uint64, local *Arena, loff uint64, n uint32, r Remote, roff uint64, cmpAdd, swap uint64) error {
	if op == OpCAS || op == OpFAA {
		if n != 8 || loff%8 != 0 || roff%8 != 0 {
			return fmt.Errorf("verbs: %v needs 8 aligned bytes", op)
		}
	}
	if loff+uint64(n) < loff || loff+uint64(n) > uint64(len(local.mem)) {
		return fmt.Errorf("verbs: local range [%#x,+%d) outside arena of %d bytes", loff, n, len(local.mem))
	}
	if err := checkRemote(r, roff, uint64(n)); err != nil {
		return err
	}
	rc := C.rs_post(q.qp, C.int(op), C.uint64_t(wrid), C.uint64_t(local.addr()+loff), C.uint32_t(n),
		C.uint32_t(local.mr.lkey), C.uint64_t(r.Addr+roff), C.uint32_t(r.RKey), C.uint64_t(cmpAdd), C.uint64_t(swap))
	if rc != 0 {
		return errnoErr("ibv_post_send "+op.String(), rc, nil)
	}
	return nil
}

// Poll returns up to max completions without waiting.
func (q *QP) Poll(max int) ([]Completion, error) {
	var wrid [16]C.uint64_t
	var status [16]C.int
	if max > 16 {
		max = 16
	}
	got := C.rs_poll(q.cq, C.int(max), &wrid[0], &status[0])
	if got < 0 {
		return nil, fmt.Errorf("verbs: ibv_poll_cq failed (%d)", int(got))
	}
	out := make([]Completion, int(got))
	for i := range out {
		out[i] = Completion{WRID: uint64(wrid[i]), Status: int(status[i])}
		if status[i] != 0 {
			out[i].Err = C.GoString(C.ibv_wc_status_str(uint32(status[i])))
		}
	}
	return out, nil
}

// Wait busy-polls for one completion, for at most timeout.
func (q *QP) Wait(timeout time.Duration) (Completion, error) {
	var wrid [1]C.uint64_t
	var status [1]C.int
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		got := C.rs_poll(q.cq, 1, &wrid[0], &status[0])
		if got < 0 {
			return Completion{}, fmt.Errorf("verbs: ibv_poll_cq failed (%d)", int(got))
		}
		if got == 1 {
			c := Completion{WRID: uint64(wrid[0]), Status: int(status[0])}
			if c.Status != 0 {
				c.Err = C.GoString(C.ibv_wc_status_str(uint32(status[0])))
				return c, fmt.Errorf("verbs: work request %d failed: %s", c.WRID, c.Err)
			}
			return c, nil
		}
		if i%256 == 255 {
			if time.Now().After(deadline) {
				return Completion{}, fmt.Errorf("verbs: no completion within %v", timeout)
			}
			runtime.Gosched()
		}
	}
}

// SyncTimeout bounds the blocking operations below.
var SyncTimeout = 10 * time.Second

func (q *QP) sync(op Op, local *Arena, loff uint64, n uint32, r Remote, roff uint64, cmpAdd, swap uint64) error {
	q.wrid++
	if err := q.Post(op, q.wrid, local, loff, n, r, roff, cmpAdd, swap); err != nil {
		return err
	}
	c, err := q.Wait(SyncTimeout)
	if err != nil {
		return err
	}
	if c.WRID != q.wrid {
		return fmt.Errorf("verbs: completion for request %d while waiting for %d", c.WRID, q.wrid)
	}
	return nil
}

// Read reads n bytes at roff of r into the local arena at loff, and waits.
func (q *QP) Read(local *Arena, loff uint64, n uint32, r Remote, roff uint64) error {
	return q.sync(OpRead, local, loff, n, r, roff, 0, 0)
}

// Write writes n bytes from the local arena at loff to roff of r, and waits.
func (q *QP) Write(local *Arena, loff uint64, n uint32, r Remote, roff uint64) error {
	return q.sync(OpWrite, local, loff, n, r, roff, 0, 0)
}

// CAS compares the remote word at roff with old and, if equal, stores new; it
// waits and returns the value the word held. The local word at loff receives
// the old value.
func (q *QP) CAS(local *Arena, loff uint64, r Remote, roff uint64, old, new uint64) (uint64, error) {
	if err := q.sync(OpCAS, local, loff, 8, r, roff, old, new); err != nil {
		return 0, err
	}
	return atomic.LoadUint64(local.Word(loff)), nil
}

// FAA adds delta to the remote word at roff, waits, and returns the value the
// word held. The local word at loff receives the old value.
func (q *QP) FAA(local *Arena, loff uint64, r Remote, roff uint64, delta uint64) (uint64, error) {
	if err := q.sync(OpFAA, local, loff, 8, r, roff, delta, 0); err != nil {
		return 0, err
	}
	return atomic.LoadUint64(local.Word(loff)), nil
}

// Close destroys the QP and its CQ.
func (q *QP) Close() error {
	var errs []error
	if q.qp != nil {
		if rc := C.ibv_destroy_qp(q.qp); rc != 0 {
			errs = append(errs, errnoErr("ibv_destroy_qp", rc, nil))
		}
		q.qp = nil
	}
	if q.cq != nil {
		if rc := C.ibv_destroy_cq(q.cq); rc != 0 {
			errs = append(errs, errnoErr("ibv_destroy_cq", rc, nil))
		}
		q.cq = nil
	}
	return errors.Join(errs...)
}

// checkRemote checks that n bytes at off lie inside r.
func checkRemote(r Remote, off uint64, n uint64) error {
	if off+n < off || off+n > r.Size {
		return fmt.Errorf("verbs: remote range [%#x,+%d) outside region of %d bytes", off, n, r.Size)
	}
	return nil
}
