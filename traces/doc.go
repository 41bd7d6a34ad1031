// Package traces holds what an execution leaves behind: its events, rendered as a
// text timeline, and replay files that bring a counterexample back.
//
// An [Event] is one line of a trace: a CPU operation, one NIC event of a verb
// (nic-read, nic-write, nic-atomic-read, nic-atomic-write), a critical-section
// marker, or a thread parking and waking. [Render] numbers them:
//
//	1  n1/t1   nic-atomic-read  RCAS   n0:0x48 /*lock*/ read 0
//	2  n0/t0   cpu              CAS    n0:0x48 /*lock*/ read 0 wrote 1
//	3  n0/t0   mark             cs-enter
//	4  n1/t1   nic-atomic-write RCAS   n0:0x48 /*lock*/ wrote 1
//
// Values read and written are shown as pointers (n0:0x50) when they decode as
// one, else as numbers: see [FormatValue]. [WriteHTML] draws the same events
// as a page.
//
// A [Replay] file is versioned JSON: what failed, the algorithm and
// configuration that ran (as their owners encode them), and one decision per line
// with the event it chose, for a reader. Files are written through a temporary
// name and renamed, so no half-written file is ever left behind, and [Decode]
// rejects anything malformed with the reason.
package traces
