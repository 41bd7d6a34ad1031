package algorithms

import (
	"fmt"

	"github.com/rdmasim/rdmasim/rdma"
)

// DecLock (2025): "DecLock - Efficient, Scalable, and Fair Locking for
// Disaggregated Memory". Followed: github.com/dracit7/declock, lock/dmlock:
// lm.h (the lock header lmeta, its LMETA/LQ_HEAD/LQ_SIZE/EXCL_CNT layout, the
// queue entry lqe and VERSION, the aql layout: header then queue, adjacent),
// lm.cc (dmlock_setup_lm: header 0, every entry's ver all ones), remote.cc
// (remote_rw_lock, remote_rw_unlock, FILL_LQE, FETCH_LQE, NOTIFY_WAITERS,
// wake_waiter, remote_wait_for_lock, acquire_mutex_of_lock, release_mutex),
// cohort.h/cohort.cc (cohort_lock, cohort_acquire, cohort_release,
// cohort_after_grant) and lc.cc (dmlock_acquire, dmlock_release,
// dmlock_wait_for_grant, dmlock_check_grant); the exclusive side, with
// USE_COHORT and the NO_TIMESTAMP build (common.h), whose local hand-over policy
// is the grant count of cohort_set_grant_cnt.
//
// Two levels. The CQL lock on the home is one header word [rst:1, excl_cnt:6,
// lq_size:6, lq_head:24, rst_cnt above] followed by a ring of MAX_QUEUE_SIZE =
// 32 queue entries (aql). An acquirer FAAs LMETA(1,0,1) into the header (size+1,
// excl_cnt+1); an old size of 0 grants the lock, else it WRITEs its entry
// {op, mid, tid, ver = VERSION(head+size)} into slot (head+size) mod 32 and
// waits for a grant notification. A releaser FAAs LMETA(-1,0,-2) (excl_cnt-1,
// size-1 and, by the carries, head+1) batched with a READ of the first
// LQ_CAPACITY slots; with an old size > 1 it takes the entry at head+1 (from the
// prefetch if its version is current, else READing that slot until it is:
// FETCH_LQE) and notifies that waiter. In front of it, each compute node has a
// cohort lock (cohort_lock: a ticket mutex in/out, state, grant_cnt,
// holder_cnt, a FIFO of waiters), CPU operations only: the first thread of a
// free cohort takes the CQL lock (CHT_GRANTED, state PENDING); later ones queue
// locally (CHT_SUSPENDED). The releasing holder hands the lock to its first
// local waiter (GRANTED) while grant_cnt < MAX_GRANT_CNT, else releases the CQL
// lock and tells that waiter to reacquire it (REACQUIRE_REMOTE_LOCK); with no
// local waiter it frees the cohort and releases the CQL lock under the mutex.
//
// Memory: "aql" (1 + 32 words) on the home; on every node that runs threads
// "cohort.n<node>" = [mtx_in, mtx_out, state, grant_cnt, holder_cnt, wq_head,
// wq_tail, wq[threads on the node]]; per thread desc.t<ID> = [lock_state,
// grant, qbuf[LQ_CAPACITY]] on its node (qbuf: the release's prefetch buffer).
//
// Approximations (the model has no SEND/RECV, no clocks, no failures):
//   - The grant notification, a two-sided RDMA SEND to the waiter's core
//     (NOTIFY_WAITERS) that the waiter's own polling loop turns into
//     granted_locks[tid][lock] (wake_waiter), is an RDMA WRITE of 1 into the
//     waiter's grant word; the waiter spins on it with CPU loads and clears it
//     (granted_locks.erase). The message's lock, rst_cnt and timestamp fields
//     carry nothing here: one lock, no resets, no timestamps.
//   - Lock reset (remote_lock_reset, digest_reset_notifications, check_reset),
//     which broadcasts SENDs to every core and is entered on queue overflow,
//     stale versions, MAX_FETCH_COUNT retries and coordinator timeouts, is left
//     out. The conditions that would enter it panic instead; none can arise here:
//     the cohort keeps at most one entry per node in the queue, and the
//     constructor refuses more nodes than LQ_CAPACITY-1 allows. FETCH_LQE
//     therefore retries for ever (with Pause) rather than resetting after
//     MAX_FETCH_COUNT.
//   - LQ_CAPACITY, the configurable queue capacity (an environment setting;
//     default MAX_QUEUE_SIZE), is nodes+1, the smallest that never overflows,
//     so that the release prefetch READs few words; the ring stays 32 slots.
//   - NO_TIMESTAMP: timestamps need clocks. The local hand-over is decided by
//     grant_cnt < MAX_GRANT_CNT, with MAX_GRANT_CNT = declockMaxGrant = 2, not
//     the 4 of dmlock_setup_cn, so that small runs reach the bound (as hocl).
//   - A 32-bit lqe is one word [op:1, mid:6, tid:8, ver:19]; mid is the thread's
//     node and tid its ID. The cohort's std::list of waiters is a ring of
//     thread IDs+1; its lock_obj hash map is one cohort per node (one lock).
//   - Exclusive mode only (the checker's workload asks for nothing else): the
//     shared paths of cohort_acquire/cohort_after_grant and the reader scan of
//     remote_rw_unlock are not modelled.
//   - A thread that cannot post asynchronous verbs uses a blocking RFAA then
//     RReadN instead of the FAA+READ batch.
type declock struct {
	hdr, queue rdma.Ptr
	lqCap      int        // LQ_CAPACITY
	cohort     []rdma.Ptr // by node; 0 for nodes without threads
	wqCap      []uint64   // by node: ring size of the cohort's waiter queue
	node       []int      // by thread ID
	desc       []rdma.Ptr // by thread ID: [lock_state, grant, qbuf…]
	qbuf       []rdma.Ptr // by thread ID: desc+2
	maxGrant   uint64
}

const (
	declockCapBits   = 5 // CAPACITY_BITS with USE_COHORT
	declockQueueSize = 1 << declockCapBits
	declockHeadBits  = 24
	declockSizeBits  = declockCapBits + 1
	declockExcntBits = declockCapBits + 1
	declockVerBits   = declockHeadBits - declockCapBits
	declockVerMask   = 1<<declockVerBits - 1
	declockMaxGrant  = 2

	// Cohort block words.
	chtIn, chtOut, chtState, chtGrant, chtHolders, chtHead, chtTail, chtWQ = 0, 1, 2, 3, 4, 5, 6, 7
	// cohort states (cohort.h)
	chtFree, chtPending = 0, 4
	// lock_state (cohort_lock_state)
	lsWaitCohort, lsWaitRemote, lsGranted, lsReacquire = 0, 1, 2, 3
	// desc words
	declockState, declockGrantWord = 0, 1
)

func declockField(v uint64, shift, bits int) uint64 { return v >> shift & (1<<bits - 1) }

func declockSize(m uint64) uint64 { return declockField(m, declockExcntBits+1, declockSizeBits) }
func declockHead(m uint64) uint64 {
	return declockField(m, declockSizeBits+declockExcntBits+1, declockHeadBits)
}

// declockMeta is LMETA(excl_cnt, head, size): each field masked to its width.
func declockMeta(excl, head, size uint64) uint64 {
	return (excl&(1<<declockExcntBits-1))<<1 |
		(head&(1<<declockHeadBits-1))<<(declockSizeBits+declockExcntBits+1) |
		(size&(1<<declockSizeBits-1))<<(declockExcntBits+1)
}

func declockVersion(idx uint64) uint64 { return idx / declockQueueSize & declockVerMask }

// declockLQE packs an exclusive entry: op 1, mid, tid, ver.
func declockLQE(mid, tid int, ver uint64) uint64 {
	return 1 | uint64(mid)<<1 | uint64(tid)<<7 | ver<<15
}

func lqeTid(e uint64) int    { return int(e >> 7 & 0xff) }
func lqeVer(e uint64) uint64 { return e >> 15 & declockVerMask }

func newDecLock(s rdma.Setup, _ Options) (rdma.Lock, error) {
	if err := checkSetup(s); err != nil {
		return nil, fmt.Errorf("declock: %w", err)
	}
	threads := s.Threads()
	if len(threads) > 256 {
		return nil, fmt.Errorf("declock: %d threads: the entry's tid field has 8 bits", len(threads))
	}
	if s.Nodes() > 31 {
		return nil, fmt.Errorf("declock: %d nodes: at most 31 fit the 32-entry queue without a reset", s.Nodes())
	}
	l := &declock{lqCap: s.Nodes() + 1, maxGrant: declockMaxGrant}
	l.hdr = s.Alloc(s.Home(), 1+declockQueueSize, "aql")
	l.queue = l.hdr.Add(1)
	for i := range declockQueueSize {
		s.Init(l.queue.Add(i), uint64(declockVerMask)<<15)
	}
	perNode := make([]int, s.Nodes())
	for _, info := range threads {
		perNode[info.Node]++
		l.node = append(l.node, info.Node)
	}
	l.cohort = make([]rdma.Ptr, s.Nodes())
	l.wqCap = make([]uint64, s.Nodes())
	for n, c := range perNode {
		if c > 0 {
			l.cohort[n] = s.Alloc(n, chtWQ+c, fmt.Sprintf("cohort.n%d", n))
			l.wqCap[n] = uint64(c)
		}
	}
	l.desc = allocDescs(s, 2+l.lqCap)
	for _, d := range l.desc {
		l.qbuf = append(l.qbuf, d.Add(2))
	}
	return l, nil
}

// mutexAcquire and mutexRelease are acquire_mutex_of_lock and release_mutex: a
// ticket lock of two 16-bit counters (one word each here), CPU atomics.
func (l *declock) mutexAcquire(t rdma.Thread, c rdma.Ptr) {
	ticket := t.FAA(c.Add(chtIn), 1) & 0xffff
	for t.Load(c.Add(chtOut))&0xffff != ticket {
		t.Pause()
	}
}

func (l *declock) mutexRelease(t rdma.Thread, c rdma.Ptr) { t.FAA(c.Add(chtOut), 1) }

func (l *declock) Acquire(t rdma.Thread) {
	id := t.ID()
	state := l.desc[id].Add(declockState)
	// dmlock_acquire
	t.Store(state, lsWaitCohort)
	granted := l.cohortAcquire(t)
	rdma.PassDoorway(t)
	if granted { // CHT_GRANTED
		if l.remoteLock(t) {
			return // cohort_after_grant: nothing to do for an exclusive request without timestamps
		}
	}
	// dmlock_wait_for_grant / dmlock_check_grant
	for {
		switch t.Load(state) {
		case lsGranted:
			return
		case lsReacquire:
			if l.remoteLock(t) {
				return
			}
			t.Store(state, lsWaitRemote)
		case lsWaitRemote:
			l.remoteWait(t)
			return
		default: // WAIT_COHORT_LOCK: remote_check_resets has nothing to digest
			t.Pause()
		}
	}
}

func (l *declock) Release(t rdma.Thread) { l.cohortRelease(t) }

// cohortAcquire is cohort_acquire for an exclusive request: true is
// CHT_GRANTED, false CHT_SUSPENDED.
func (l *declock) cohortAcquire(t rdma.Thread) bool {
	n := l.node[t.ID()]
	c := l.cohort[n]
	l.mutexAcquire(t, c)
	if t.Load(c.Add(chtState)) == chtFree {
		t.Store(c.Add(chtState), chtPending)
		t.Store(c.Add(chtHolders), 1)
		t.Store(c.Add(chtGrant), 1)
		t.Store(l.desc[t.ID()].Add(declockState), lsWaitRemote)
		l.mutexRelease(t, c)
		return true
	}
	// suspend_request: append to the waiters.
	tail := t.Load(c.Add(chtTail))
	t.Store(c.Add(chtWQ+int(tail%l.wqCap[n])), uint64(t.ID()+1))
	t.Store(c.Add(chtTail), tail+1)
	l.mutexRelease(t, c)
	return false
}

// cohortRelease is cohort_release for an exclusive holder.
func (l *declock) cohortRelease(t rdma.Thread) {
	n := l.node[t.ID()]
	c := l.cohort[n]
	l.mutexAcquire(t, c)
	if h := t.Load(c.Add(chtHolders)); h > 1 { // shared holders only
		t.Store(c.Add(chtHolders), h-1)
		l.mutexRelease(t, c)
		return
	}
	head, tail := t.Load(c.Add(chtHead)), t.Load(c.Add(chtTail))
	if head == tail {
		t.Store(c.Add(chtState), chtFree)
		l.remoteUnlock(t)
		l.mutexRelease(t, c)
		return
	}
	waiter := int(t.Load(c.Add(chtWQ+int(head%l.wqCap[n])))) - 1
	g := t.Load(c.Add(chtGrant))
	localGrant := g < l.maxGrant
	t.Store(c.Add(chtGrant), g+1)
	if localGrant {
		t.Store(l.desc[waiter].Add(declockState), lsGranted)
		t.Store(c.Add(chtHead), head+1)
		l.mutexRelease(t, c)
		return
	}
	t.Store(c.Add(chtState), chtPending)
	t.Store(c.Add(chtGrant), 1)
	t.Store(c.Add(chtHead), head+1)
	l.mutexRelease(t, c)
	l.remoteUnlock(t)
	t.Store(l.desc[waiter].Add(declockState), lsReacquire)
}

// remoteLock is remote_rw_lock(LOCK_EXCL): true when the lock is granted at
// once; otherwise the thread's entry is in the queue (FILL_LQE).
func (l *declock) remoteLock(t rdma.Thread) bool {
	old := t.RFAA(l.hdr, declockMeta(1, 0, 1))
	if old&1 != 0 {
		panic("declock: lock reset during acquire (reset is not modelled)")
	}
	size := declockSize(old)
	if size >= uint64(l.lqCap) {
		panic("declock: lock queue overflow (reset is not modelled)")
	}
	if size == 0 {
		return true
	}
	idx := declockHead(old) + size
	t.RWrite(l.queue.Add(int(idx%declockQueueSize)), declockLQE(t.Node(), t.ID(), declockVersion(idx)))
	return false
}

// remoteWait is remote_wait_for_lock: wait for the grant notification.
func (l *declock) remoteWait(t rdma.Thread) {
	g := l.desc[t.ID()].Add(declockGrantWord)
	for t.Load(g) == 0 {
		t.Pause()
	}
	t.Store(g, 0)
}

// remoteUnlock is remote_rw_unlock(LOCK_EXCL).
func (l *declock) remoteUnlock(t rdma.Thread) {
	delta := declockMeta(^uint64(0), 0, ^uint64(1)) // LMETA(-1, 0, -2)
	id := t.ID()
	var old uint64
	var prefetch func(slot int) uint64
	if a, ok := asyncOf(t); ok {
		qp := rdma.QPTo(l.hdr.Node())
		faa := a.PostFAA(qp, l.hdr, delta, 0)
		rd := a.PostRead(qp, l.qbuf[id], l.queue, l.lqCap, 0)
		a.Wait(rd)
		old = a.Wait(faa)
		prefetch = func(slot int) uint64 { return t.Load(l.qbuf[id].Add(slot)) }
	} else {
		old = t.RFAA(l.hdr, delta)
		buf := make([]uint64, l.lqCap)
		t.RReadN(l.queue, buf)
		prefetch = func(slot int) uint64 { return buf[slot] }
	}
	if old&1 != 0 {
		panic("declock: lock reset during release (reset is not modelled)")
	}
	if declockSize(old) <= 1 {
		return
	}
	head := declockHead(old) + 1
	slot := int(head % declockQueueSize)
	entry := uint64(declockVerMask) << 15 // not prefetched: invalid
	if slot < l.lqCap {
		entry = prefetch(slot)
	}
	if lqeVer(entry) != declockVersion(head) {
		entry = l.fetchLQE(t, head)
	}
	// Exclusive holder, exclusive waiter: NOTIFY_WAITERS(…, head, 1, …).
	w := lqeTid(entry)
	if w >= len(l.desc) {
		panic(fmt.Sprintf("declock: queue entry names thread %d", w))
	}
	t.RWrite(l.desc[w].Add(declockGrantWord), 1)
}

// fetchLQE is FETCH_LQE: READ the slot of idx until its version is idx's.
func (l *declock) fetchLQE(t rdma.Thread, idx uint64) uint64 {
	want := declockVersion(idx)
	for {
		e := t.RRead(l.queue.Add(int(idx % declockQueueSize)))
		v := lqeVer(e)
		if v == declockVerMask-1 || (v != declockVerMask && v > want) {
			panic("declock: stale queue entry (reset is not modelled)")
		}
		if v == want {
			return e
		}
		t.Pause()
	}
}
