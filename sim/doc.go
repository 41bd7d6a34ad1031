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
// Config.KeepSpinning turns parking off: every iteration is steps like any
// other code. The engine still marks a thread idle where it would have parked
// it (until a write changes a word the iteration read, or the thread writes),
// and every live thread idle with no agent's step enabled is the same
// deadlock. A stateful search runs this way (below): parking is bookkeeping of
// the path (who parked, who woke early, what an iteration read), and with it
// in the state the states multiplied; without it, an iteration that changed
// nothing simply leads back to a state already seen.
//
// # State caching
//
// [StateEngine] drives an engine one step at a time for a stateful search
// (checker.StateSearch), which visits every reachable state once. A state is
// identified by a 64-bit fingerprint of:
//
//   - the model's state (memory, the progress of each operation in flight, the
//     NIC atomic locks held: nicmodel.NIC.StateHash);
//   - per thread: the operation it waits in (kind, word, operands) and a hash
//     of its history: what every operation it completed asked for and
//     returned, with spin iterations and rounds cut out (below).
//
// A StateEngine never parks (Config.KeepSpinning), so no spin-reduction state
// is part of a state. Whether a thread is idle is bookkeeping of the path,
// not of the state (a thread that arrived at its spin loop by another path
// has not run an iteration yet), so the search decides deadlock from the
// state itself: it runs every live thread that is not idle alone, one after
// another, until its iteration changes nothing (idle) or it writes, finishes
// or cannot step alone; if all become idle the state is a deadlock, reported
// with the decisions of those runs, which replay it. What one thread does
// alone depends only on its own state and the model's, so the answer is
// remembered by those, and a thread whose next operation would change memory
// is not run at all.
//
// Plain Go lock code keeps its state in the coroutine's locals, which cannot be
// copied; so the engine equates a thread's state with its history: the results
// its operations returned. What a thread's code does after a given sequence of
// results (its position) is the same every time, so it is learnt once: the
// first time a thread reaches a position its code runs, and the engine keeps
// the operation it issued and the changes it made on the way outside simulated
// memory (the workload's monitor updates, which package workload hands to
// Thread.Effect, and Carry, Forget, Round and Fail). Every later arrival at the
// position replays those without running the code. So restoring a saved state
// (StateEngine.Restore) runs no code at all: it puts each thread back at its
// position. A coroutine is needed only when a thread reaches a position not
// seen before; if the coroutine is elsewhere then, it is restarted and fed the
// position's results without the model. In a search of a queue lock with five
// threads, about one transition in 300 runs code. This is exact under these
// conditions, which a lock meant for the simulator meets:
//
//  1. Determinism: a thread's code is a deterministic function of what its
//     operations return (no clocks, no randomness, no goroutines).
//
//  2. No shared Go state: threads communicate through simulated memory only;
//     Go state a lock keeps per thread outside the coroutine is written by that
//     thread only, from what its operations returned (the program is built once
//     per search and kept across restores). Changes to state outside simulated
//     memory that must happen at every arrival at a position (monitors) go
//     through Thread.Effect.
//
//  3. The Pause contract (package rdma): a spin iteration ending in Pause that
//     changed no memory (loads, READs, failed CASes, writes of the value the
//     word already held) carries no state into the next. So the thread's
//     state after such a Pause is its state where the iteration began: once
//     the thread issues its next operation, the engine looks back to the
//     previous Pause for the one place the thread issued that same operation
//     (kind, word, operands) with nothing after it that changed memory, and
//     names the history from there on after the history at that place. With
//     no such place, or more than one, the history is cut at a later Pause of
//     the same run of iterations back to the first one's.
//
//  4. Rounds: a workload calls Thread.Round(key) at the top of each repetition
//     of its operations (workload.LockCounter does: key = the repetition's
//     index, or 0 when it repeats forever), promising that the thread's state
//     there depends on nothing but key. Every arrival at one key is one state:
//     the history becomes a marker of (thread, key). This keeps earlier
//     rounds' results out of the states, and makes an endless workload's
//     states finite.
//
//  5. Retry loops: a CAS retry loop without Pause (a swap emulated by READ
//     then CAS until it succeeds) carries the value a failed CAS returned
//     into the next attempt. A loop that calls rdma.Carry(t, vals...) at the
//     top of each iteration promises that this is all it carries: while only
//     reads happen between two Carry calls, the history is equated with (the
//     history at the loop's first Carry, vals). Without Carry such a thread's
//     history grows with every failure, so the states multiply with the
//     retries, and an endless workload's states never repeat.
//
//  6. Dead values: rdma.Forget(t, site, keep...) promises that what the thread
//     read since its round began is used from here on only through keep; the
//     history is then named after (the round point, site, keep).
//
// How the history will be cut next (where a run of Pauses began, whether a
// retry loop is under way) changes no step of the program, only how later
// states are named; it is part of a state's fingerprint all the same, so that
// two states with one fingerprint name their successors alike and the counts
// do not depend on the order of the search (workers, shards). What only
// checks the cuts (the operation a cut must be followed by) is not.
//
// Violations are detected at run time where they show, whenever the code runs:
// a replay whose thread asks for another operation than it did (conditions 1
// and 2) is an error; after
// a cut (3 and 4), the operation a thread issues next must be the one it issued
// after the point it was equated with; and the engine remembers, for every
// history it hashed, the operation the thread issued after it: the same
// history followed by two different operations (along two paths) proves the
// thread's state is not a function of its history, and the search stops with an
// error naming the thread and both operations. What these checks cannot see is a
// dropped difference that never changes which operation comes next (it then
// changes nothing the search observes either) or whose effect lies only in
// paths pruned before it showed.
//
// The step functions of StateEngine are the untimed path of Engine.Run written
// out a second time (Run is untouched); a change to one is a change to both.
//
// # Strategies
//
// [Random] picks uniformly. [PCT] is probabilistic concurrency testing
// (Burckhardt et al., ASPLOS'10): random thread priorities, depth-1 random
// priority change points. [Replay] follows a recorded decision list and reports
// where an execution diverges from it.
package sim
