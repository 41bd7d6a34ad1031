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
// NIC WRITEs do not, so a host CPU's CAS or store, or another QP's WRITE, can land
// between the NIC's read and its write. That is the atomicity gap the naive locks
// fall into. When the lock is free, any waiting atomic may take it next.
//
// A verb's events are the only steps it takes: posting a verb and receiving its
// completion touch no shared memory, so they are not separate choices. The
// initiating thread resumes right after the verb's last event.
//
// # Knobs
//
//   - Scope: hca (default) or glob.
//   - FailedCASWritesBack: a failed NIC CAS writes back the value it read, which
//     can undo a store that landed between its halves (default off).
//
// # Misuse
//
// A CPU operation on another node's memory, an unaligned, nil or unallocated
// address, or a READ of 0 or more than MaxReadWords words is refused by Issue
// with an error naming the operation and the word; the engine reports it as the
// finding "misuse".
package nicmodel
