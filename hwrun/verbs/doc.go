// Package verbs is a small Go binding of libibverbs: open a device, register an
// mmap'ed arena, create and connect reliable-connected queue pairs, and post
// signaled RDMA READ, WRITE, compare-and-swap and fetch-and-add work requests.
//
// It is the real-verbs groundwork for running rdmasim's algorithms on real
// memory and real NICs (or Soft-RoCE, see hwrun/guest). The binding needs cgo
// and libibverbs: build with -tags rdma (Debian: libibverbs-dev). Without the
// tag the package still builds, and every constructor returns an error saying
// verbs support was not compiled in.
//
// Memory that a NIC reads or writes is never Go-heap memory: an Arena is an
// anonymous mmap, registered whole as one memory region.
//
// The two sides of a connection exchange an Endpoint (QP number, PSN, LID and
// GID) and a Remote (address and rkey of a registered arena) by whatever channel
// they have; in one process, by passing the values.
package verbs

import (
	"errors"
	"fmt"
)

// ErrNotCompiled is returned by every constructor of a build without verbs
// support.
var ErrNotCompiled = errors.New("verbs: support was not compiled in (build with -tags rdma and cgo, with libibverbs-dev installed)")

// AtomicCap is a device's atomicity guarantee for RDMA atomics
// (ibv_device_attr.atomic_cap).
type AtomicCap int

const (
	// AtomicNone: the device does not support atomic operations.
	AtomicNone AtomicCap = iota
	// AtomicHCA: atomics are atomic only against other atomics of this device,
	// not against the host CPU.
	AtomicHCA
	// AtomicGlob: atomics are atomic against the CPU and other devices too.
	AtomicGlob
)

func (c AtomicCap) String() string {
	switch c {
	case AtomicNone:
		return "NONE"
	case AtomicHCA:
		return "HCA"
	case AtomicGlob:
		return "GLOB"
	}
	return fmt.Sprintf("AtomicCap(%d)", int(c))
}

// GID is a 128-bit global identifier (an IPv6 address for RoCE).
type GID [16]byte

func (g GID) String() string {
	s := ""
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			s += ":"
		}
		s += fmt.Sprintf("%02x%02x", g[i], g[i+1])
	}
	return s
}

// Endpoint is what the peer of a queue pair needs to connect to it.
type Endpoint struct {
	QPN uint32 // queue pair number
	PSN uint32 // initial packet sequence number
	LID uint16 // port LID (0 on RoCE)
	GID GID    // port GID at the device's GID index
}

// Remote names a registered memory region of a peer: what a one-sided verb
// needs to address it.
type Remote struct {
	Addr uint64 // virtual address of the region's first byte
	RKey uint32 // remote key
	Size uint64 // length in bytes
}

// Op is the kind of a work request.
type Op int

const (
	OpRead Op = iota
	OpWrite
	OpCAS
	OpFAA
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "READ"
	case OpWrite:
		return "WRITE"
	case OpCAS:
		return "CAS"
	case OpFAA:
		return "FAA"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Completion is one polled work completion.
type Completion struct {
	WRID   uint64
	Status int    // 0 is success (IBV_WC_SUCCESS)
	Err    string // the status as text when it is not success
}

// OK reports whether the work request succeeded.
func (c Completion) OK() bool { return c.Status == 0 }
