// Package nicmodel simulates host memory and the RDMA NICs in front of it: it
// decomposes every operation into the memory events real hardware performs, and
// implements sim.Model.
//
// # Events
//
//	CPU Load/Store/CAS/Swap/FAA    one atomic event on the thread's own node
//	NIC READ / WRITE of one word   one event at the target (8-byte words never tear)
//	NIC READ of n words            n events, one per word, in any order: not a snapshot
//	NIC CAS / FAA, scope hca       nic-atomic-read, then nic-atomic-write
//	NIC CAS / FAA, scope glob      one event
//
// Under scope hca (IBV_ATOMIC_HCA, the default and what mlx4/mlx5 advertise) the
// read half of a NIC atomic takes a per-address NIC atomic lock that the write half
// releases. Only other NIC atomics on that address wait for it; CPU operations and
// NIC WRITEs do not (unless NICWritesExcluded), so a host CPU's CAS or store, or
// another QP's WRITE, can land between the NIC's read and its write. That is the
// atomicity gap the naive locks fall into.
//
// A blocking verb (rdma.Verbs) is posted fenced on lane 0 of the thread's QP to
// the target and waited for: its events are the steps above, and the thread
// resumes after the last one (or, if requests it posted earlier on that QP are
// still in flight, when the last of them completes). It is a work request like a
// posted one and goes through the same machine; three things differ, each to keep
// the number of steps down: its events are steps of the thread (not of agents),
// a READ's fetch hands the value to the thread at once (no local buffer to land
// in), and its completion is no step of its own.
//
// # Posted verbs
//
// A posted verb (rdma.Async) is a work request on one of the thread's QPs. Its
// events run concurrently with the thread, each word of the message as a chain
// of its own:
//
//	WRITE from a buffer   per word: the NIC reads the local source word, then the word lands at the target
//	WRITE of a value      the word lands at the target (inline: the value was copied at the post)
//	READ into a buffer    per word: the NIC reads the target word, then the response lands in the local buffer
//	CAS / FAA             as above (hca: read half, write half); the old value comes with the completion
//	completion            after all of the request's data, and after every earlier request of its QP has completed
//
// For a partial-order reduction every chain is an agent of its own (sim.Model's
// Owner), and a QP's completion queue is a pseudo-word that completions write
// and Poll reads.
//
// # Ordering rules
//
// An event of a request is held back by the earlier, not yet finished requests
// of its QP (the rules of docs/ordering.md; knobs in parentheses):
//
//   - rule 1: a read of the target waits for earlier writes of the same word
//     (not under ordering=unordered); write-after-read is not ordered;
//   - rule 5: a word of a WRITE lands after every word of earlier WRITEs
//     (not under ordering=relaxed or unordered), and READ responses land in
//     posting order too; orders that involve an atomic are always kept;
//   - rule 2: a fenced request waits until the earlier READs and atomics are
//     done (fence=strong: every earlier request); completions come in posting
//     order;
//   - rule 3: a message's words go in any order (placement=ascending: in
//     ascending order, under strict ordering only);
//   - rule 6: requests of different QPs are not ordered;
//   - rule 7: a WRITE's source is read by the NIC after the post, so it can see
//     stores made after it;
//   - rule 8: scope, nic-writes, cas-writeback as above.
//
// # CPU memory model
//
// By default every CPU operation is one atomic event (sequential
// consistency). With cpu=tso each thread has a FIFO store buffer: a store
// enters it at once, and drains to memory later in a step of its own (an agent
// of its own for the reduction; the option is a write of the word). The
// thread's loads read its newest buffered store to the word first; its CAS,
// Swap, FAA and Fence wait until the buffer is empty; the NIC reads memory,
// never a store buffer, and does not see a request before the stores that
// precede its post have drained (the doorbell is a store).
//
// # Knobs
//
// Config holds them; Knobs lists their names and values as Config.Set and
// Config.ParseKnobs take them ("scope=glob ordering=relaxed cpu=tso"), which is
// also how litmus files name them.
//
// # Misuse
//
// A CPU operation on another node's memory, an unaligned, nil or unallocated
// address, a READ of 0 or more than MaxReadWords words, a post whose target is
// not on its QP's node or whose local buffer is not on the thread's node, a
// lane beyond Config.Lanes, or a Wait for a request the thread never posted is
// refused by Issue with an error naming the operation and the word; the engine
// reports it as the finding "misuse".
package nicmodel
