package rdma

// Doorway is implemented by threads that measure fairness (the checker's). A lock
// whose acquire has a doorway — the step after which waiting threads are served
// in order, such as an MCS thread's swap into the queue's tail — announces it by
// calling PassDoorway(t); bypass (how many critical sections of others a thread
// waits through) is then counted from there instead of from the call to
// Acquire, since no lock can stop others from passing a thread that has not yet
// reached its doorway.
type Doorway interface {
	Doorway()
}

// PassDoorway tells t's runtime, if it measures fairness, that t has passed its
// lock's doorway. Elsewhere it does nothing.
func PassDoorway(t Thread) {
	if d, ok := t.(Doorway); ok {
		d.Doorway()
	}
}
