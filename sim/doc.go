// Package sim is the discrete-event engine that runs simulated threads and makes
// every interleaving choice through one interface, the [Chooser].
//
// Algorithms run unchanged as ordinary Go code: each simulated thread is a
// coroutine (iter.Pull), and every call it makes on its rdma.Thread yields to the
// engine, which hands the operation to a [Model] (the simulated NIC and host
// memory of package nicmodel). The engine is pure: no clocks, no global
// randomness, no goroutines of its own, no files. The same model, the same
// threads and the same decisions give the same execution, byte for byte.
//
// # Terms
//
//   - An option is one enabled step: a thread's next CPU operation, one pending NIC
//     event of a verb it posted (a multi-word READ offers one option per word not
//     yet read), or the early wake of a parked thread.
//   - A step is one fired option, or one Pause. The step bound counts steps.
//   - A decision is made whenever two or more options are enabled: the Chooser
//     picks one, and the engine records (pick, of). A list of decisions is a
//     complete, replayable description of an execution ([Replay]).
//
// # Spin reduction
//
// A thread calls Pause at the end of each spin-loop iteration. If the iteration
// changed no memory and every word it read still holds the value it read, running
// it again would do exactly the same, so the engine parks the thread until a write
// changes one of those words (a write of the same value wakes nobody). This keeps
// spin loops from making exploration infinite, and makes deadlock detection exact:
// no option enabled while some thread has not finished is a deadlock, never a
// timeout.
//
// Parking alone would lose executions in which a new iteration starts before a
// write and reads some words before it and some after (a multi-word READ is not a
// snapshot). So while an enabled option may write a word a parked thread read,
// that thread is offered an early wake; if the early iteration then sees nothing
// new, the thread may not wake early again until memory changes.
//
// # Strategies
//
// [Random] picks uniformly. [PCT] is probabilistic concurrency testing
// (Burckhardt et al., ASPLOS'10): random thread priorities, depth-1 random
// priority change points. [Replay] follows a recorded decision list and reports
// where an execution diverges from it.
package sim
