//go:build !rdma

package verbs

import "time"

// Device is an open RDMA device. In this build it cannot be opened.
type Device struct{}

// Arena is registered memory. In this build there is none.
type Arena struct{}

// QP is a reliable-connected queue pair. In this build there is none.
type QP struct{}

// Supported reports whether verbs support was compiled in.
func Supported() bool { return false }

// DeviceNames returns ErrNotCompiled.
func DeviceNames() ([]string, error) { return nil, ErrNotCompiled }

// Open returns ErrNotCompiled.
func Open(name string) (*Device, error) { return nil, ErrNotCompiled }

func (d *Device) Name() string                               { return "" }
func (d *Device) AtomicCap() AtomicCap                       { return AtomicNone }
func (d *Device) GID() GID                                   { return GID{} }
func (d *Device) Close() error                               { return ErrNotCompiled }
func (d *Device) NewArena(size int) (*Arena, error)          { return nil, ErrNotCompiled }
func (d *Device) NewQP(depth int) (*QP, error)               { return nil, ErrNotCompiled }
func (a *Arena) Bytes() []byte                               { return nil }
func (a *Arena) Word(off uint64) *uint64                     { return nil }
func (a *Arena) Remote() Remote                              { return Remote{} }
func (a *Arena) Close() error                                { return ErrNotCompiled }
func (q *QP) Endpoint() Endpoint                             { return Endpoint{} }
func (q *QP) Connect(peer Endpoint) error                    { return ErrNotCompiled }
func (q *QP) Poll(max int) ([]Completion, error)             { return nil, ErrNotCompiled }
func (q *QP) Wait(timeout time.Duration) (Completion, error) { return Completion{}, ErrNotCompiled }
func (q *QP) Close() error                                   { return ErrNotCompiled }

func (q *QP) Post(op Op, wrid uint64, local *Arena, loff uint64, n uint32, r Remote, roff uint64, cmpAdd, swap uint64) error {
	return ErrNotCompiled
}
func (q *QP) Read(local *Arena, loff uint64, n uint32, r Remote, roff uint64) error {
	return ErrNotCompiled
}
func (q *QP) Write(local *Arena, loff uint64, n uint32, r Remote, roff uint64) error {
	return ErrNotCompiled
}
func (q *QP) CAS(local *Arena, loff uint64, r Remote, roff uint64, old, new uint64) (uint64, error) {
	return 0, ErrNotCompiled
}
func (q *QP) FAA(local *Arena, loff uint64, r Remote, roff uint64, delta uint64) (uint64, error) {
	return 0, ErrNotCompiled
}
