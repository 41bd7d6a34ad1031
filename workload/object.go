package workload

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/rdmasim/rdmasim/rdma"
)

// Object is a workload over an object of the user's: any data structure built
// on rdma (a counter, a register, a queue, a lock table). New lays it out in
// registered memory before the threads start; Thread is what one thread does to
// it, marking each operation with t.Call and t.Return (or t.Do); Spec is the
// sequential specification its history must be linearizable to.
//
//	workload.Object[*Counter]{
//		New:    NewCounter,
//		Thread: func(t *workload.Thread, c *Counter, ops int) {
//			for range ops {
//				t.Do("inc", func() uint64 { return c.Inc(t) })
//			}
//		},
//		Spec: workload.CounterSpec(),
//	}
type Object[T any] struct {
	// New builds the object: it allocates and initialises its words through s.
	New func(s Setup) (T, error)
	// Thread is one thread's work on the object; ops is Setup.OpsPerThread.
	Thread func(t *Thread, obj T, ops int)
	// Spec is the object's sequential specification; nil: no linearizability
	// check (only the backend's properties: deadlock, misuse, panic, …).
	Spec *Spec
	// Final, if set, checks the object's memory once every thread finished.
	Final func(obj T, peek func(p rdma.Ptr) uint64) *Finding
	// Monitors, if set, makes monitors of the user's own for one execution
	// (see Monitor).
	Monitors func(obj T) []Monitor
}

// Build implements Workload.
func (o Object[T]) Build(s Setup) (*Program, error) {
	if o.New == nil || o.Thread == nil {
		return nil, errors.New("object workload: New and Thread must both be set")
	}
	obj, err := o.New(s)
	if err != nil {
		return nil, fmt.Errorf("building the object: %v", err)
	}
	if v := reflect.ValueOf(&obj).Elem(); v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer || v.Kind() == reflect.Map {
		if v.IsNil() {
			return nil, errors.New("building the object: New returned a nil object and no error")
		}
	}
	ops := s.OpsPerThread()
	p := &Program{Thread: func(t *Thread) { o.Thread(t, obj, ops) }, Spec: o.Spec}
	if o.Final != nil {
		p.Final = func(peek func(rdma.Ptr) uint64) *Finding { return o.Final(obj, peek) }
	}
	if o.Monitors != nil {
		p.Monitors = o.Monitors(obj)
	}
	return p, nil
}

// CounterSpec is a counter, 0 initially: "inc" adds 1 and returns the value
// before (like a fetch-and-add of 1), "add" adds its argument and returns the
// value before, "get" returns the value.
func CounterSpec() *Spec {
	return &Spec{
		Name: "counter",
		Init: func() any { return uint64(0) },
		Step: func(state any, op *Op) (bool, any) {
			v := state.(uint64)
			switch op.Name {
			case "inc":
				return !op.HasResult || op.Result == v, v + 1
			case "add":
				return !op.HasResult || op.Result == v, v + op.Arg
			case "get":
				return !op.HasResult || op.Result == v, v
			}
			return false, v
		},
		DescribeState: func(state any, _ func(int) string) string { return fmt.Sprintf("counter = %d", state.(uint64)) },
	}
}

// RegisterSpec is a register, 0 initially: "write" stores its argument, "read"
// returns the value.
func RegisterSpec() *Spec {
	return &Spec{
		Name: "register",
		Init: func() any { return uint64(0) },
		Step: func(state any, op *Op) (bool, any) {
			v := state.(uint64)
			switch op.Name {
			case "write":
				return true, op.Arg
			case "read":
				return !op.HasResult || op.Result == v, v
			}
			return false, v
		},
		DescribeState: func(state any, _ func(int) string) string { return fmt.Sprintf("register = %d", state.(uint64)) },
	}
}

// QueueSpec is a FIFO queue of non-zero values, empty initially: "enq" appends
// its argument, "deq" removes and returns the oldest value, or 0 when the queue
// is empty.
func QueueSpec() *Spec {
	type queue string // the values, comma-separated: comparable, so == works
	return &Spec{
		Name: "queue",
		Init: func() any { return queue("") },
		Step: func(state any, op *Op) (bool, any) {
			q := state.(queue)
			var vals []string
			if q != "" {
				vals = strings.Split(string(q), ",")
			}
			switch op.Name {
			case "enq":
				return true, queue(strings.Join(append(vals, fmt.Sprint(op.Arg)), ","))
			case "deq":
				if len(vals) == 0 {
					return !op.HasResult || op.Result == 0, q
				}
				head := vals[0]
				if op.HasResult && fmt.Sprint(op.Result) != head {
					return false, q
				}
				return true, queue(strings.Join(slices.Clone(vals[1:]), ","))
			}
			return false, q
		},
		DescribeState: func(state any, _ func(int) string) string { return fmt.Sprintf("queue [%s]", string(state.(queue))) },
	}
}
