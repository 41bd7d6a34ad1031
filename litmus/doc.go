// Package litmus reads litmus tests of the simulated NIC's ordering semantics,
// explores every execution of each under the knob settings it names, and
// compares the verdicts with the expected ones. The built-in suite is
// testdata/litmus (docs/ordering.md's L1–L16, variants, and CPU tests that separate
// x86-TSO from sequential consistency); `rdmasim litmus` runs it.
//
// # Terms
//
//   - An outcome is a condition on the final state: registers (what a thread's
//     instructions returned) and the final values of locations.
//   - An outcome is allowed under a knob setting if some execution ends in a
//     state that satisfies it, forbidden if none does. "Every execution" is
//     every interleaving of the threads' CPU steps, the store buffers' drains
//     and the NIC events of the verbs, explored by sim's DFS with source-DPOR
//     (TestReductionIsExact checks the reduction against plain enumeration).
//
// # File format
//
// A litmus file is lines of text; # starts a comment, indentation is free.
//
//	test L4                          the test's id, first
//	title two WRITEs on one QP land in order
//	nodes A B                        node names, ids 0, 1, … in this order
//	word x@B                         a word on node B, 0 at the start
//	word y@B = 1                     … with an initial value
//	array d@B 8 = 1                  8 words d[0] … d[7], all 1 (or one value per word)
//	thread A@A                       a thread named A on node A; its instructions follow
//	  put x 1
//	  put y 1
//	thread B@B
//	  r1 = load y
//	  r2 = load x
//	outcome r1 == 1 && r2 == 0       comparisons with == and !=, joined by && and || (&& first)
//	expect forbidden                 the verdict under the default knobs
//	expect allowed ordering=relaxed  … and under other knob settings, one line each
//
// Instructions (X a location or X[i]; V a number or a register the thread set
// before; h a register that holds a request handle):
//
//	r = load X              CPU load (X on the thread's node)
//	store X V               CPU store
//	r = cas X V V           CPU compare-and-swap (old, new); r = swap X V; r = faa X V
//	fence                   CPU fence (drains the store buffer under TSO)
//	[h =] put X SRC [N]     posted WRITE of N words (default 1) to X from the local buffer SRC,
//	                        or of the value SRC (a number or register: inline, one word)
//	[h =] get BUF X [N]     posted READ of N words at X into the local buffer BUF
//	[h =] rcas X V V        posted NIC compare-and-swap; [h =] rfaa X V: fetch-and-add
//	                        posted verbs take options qp=L (lane L, default 0) and fenced
//	r = wait h | wait h     block until h completes; r is an atomic's old value (0 otherwise)
//	wait                    block until every request of the thread not yet waited for completes
//	[h =] poll NODE [qp=L]  poll the QP to NODE until a completion comes; h is its request
//	r = rread X             blocking RDMA READ; rwrite X V: blocking RDMA WRITE
//	await X == V | await X != V
//	                        spin until the condition holds: CPU loads if X is on the
//	                        thread's node, blocking RDMA READs otherwise; a Pause per turn
//
// A register belongs to the thread that first sets it; names are unique in a
// test, so that the outcome can name them. The knobs of an expect line are
// those of nicmodel.Knobs (scope, nic-writes, cas-writeback, ordering, fence,
// placement, cpu, lanes); lanes default to what the program uses.
//
// Parse rejects a malformed file with an *Error naming the line and the reason.
// Limits: MaxBytes, MaxNodes, MaxThreads, MaxInstrs per thread, MaxWords per
// array, MaxLocations, MaxExpectations; exploration stops after
// Options.MaxExecutions (the verdict is then "unknown" unless the outcome was
// reached).
package litmus
