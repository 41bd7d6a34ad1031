package rdma

// Carrier is implemented by runtimes that search states (the simulator's
// stateful search): see Carry.
type Carrier interface {
	Carry(vals ...uint64)
}

// Carry marks the top of an iteration of a retry loop that does not Pause,
// such as a swap emulated by READ then CAS until the CAS succeeds, and names
// what the loop carries from one iteration into the next: vals. It promises
// that, if every operation since the thread's previous Carry only read (a
// failed CAS reads), the thread's state here is its state at the first Carry
// of the loop plus vals, and nothing else it read in between.
//
// A stateful search then treats every arrival at the same loop with the same
// vals as one state, as it does for a spin iteration ending in Pause (which
// carries nothing); without Carry, every failed attempt is state of its own
// and the states multiply with the retries. The search checks the promise
// where it can: the same loop and vals followed by two different operations
// stop it with an error. Runtimes that do not search states ignore Carry.
func Carry(t Thread, vals ...uint64) {
	if c, ok := t.(Carrier); ok {
		c.Carry(vals...)
	}
}

// Forgetter is implemented by runtimes that search states (the simulator's
// stateful search): see Forget.
type Forgetter interface {
	Forget(site string, keep ...uint64)
}

// Forget promises that from this call on, what the thread does depends on
// what its operations returned since its round began (workload.Thread.Round:
// for a lock, since the workload's Acquire) only through keep: the values the
// code goes on to use. site names the call (two calls in one algorithm need
// two names). A lock calls it where a value it read has been used for the
// last time, such as MCS after it linked itself behind its predecessor: from
// then on, which descriptor that was does not matter.
//
// A stateful search then treats every arrival at the same site, in the same
// round, with the same keep as one state, which is what an explicit-state
// checker gets from dead-variable elimination. The search checks the promise
// where it can: the same site and keep followed by two different operations
// stop it with an error. Runtimes that do not search states ignore Forget.
func Forget(t Thread, site string, keep ...uint64) {
	if f, ok := t.(Forgetter); ok {
		f.Forget(site, keep...)
	}
}
