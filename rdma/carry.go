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
