package nicmodel

import (
	"fmt"
	"strconv"
	"strings"
)

// Ordering is how the requests of one QP are ordered against each other
// (docs/ordering.md, rules 1 and 5).
type Ordering uint8

const (
	// OrderStrict (the default, strict PCIe ordering): to the same bytes,
	// write-after-write and read-after-write order is kept across the requests
	// of a QP, and the WRITEs of different messages land in posting order
	// whatever their addresses. Write-after-read is not kept.
	OrderStrict Ordering = iota
	// OrderRelaxed (IBV_ACCESS_RELAXED_ORDERING): WRITEs of different messages
	// may land in any order, to the same bytes too; read-after-write to the
	// same bytes is still kept. A message's words land in any order even with
	// ascending placement.
	OrderRelaxed
	// OrderUnordered: no order between the requests of a QP at all, beyond
	// fences and completions.
	OrderUnordered
)

// FenceStrength is what a fenced request waits for (rule 2).
type FenceStrength uint8

const (
	// FenceClassic (IBV_SEND_FENCE, the default): a fenced request waits until
	// the earlier READs and atomics of its QP have completed.
	FenceClassic FenceStrength = iota
	// FenceStrong: a fenced request waits for every earlier request of its QP.
	FenceStrong
)

// Placement is the order in which one message's words reach memory (rule 3).
type Placement uint8

const (
	// PlaceAny (the default): in any order; a multi-word READ is not a snapshot.
	PlaceAny Placement = iota
	// PlaceAscending: in ascending address order, word by word (the words a
	// WRITE places, the words a READ reads and lands), under strict ordering
	// only: relaxed ordering drops it.
	PlaceAscending
)

// CPUModel is the memory model of the host CPUs.
type CPUModel uint8

const (
	// CPUSC (the default): every CPU operation is one atomic event on memory,
	// in program order: sequential consistency.
	CPUSC CPUModel = iota
	// CPUTSO: x86-TSO. Every thread has a FIFO store buffer: a store enters it
	// at once and reaches memory later, in a step of its own; the thread's own
	// loads read its newest buffered store to the word first. CPU
	// read-modify-writes (CAS, Swap, FAA) and Fence wait until the buffer has
	// drained, so they are full fences; posting a verb is ordered after the
	// thread's earlier stores (the doorbell is a store too), so the NIC never
	// sees a request before the stores that precede its post.
	CPUTSO
)

// Knob describes one of the model's knobs as Set and Get name it.
type Knob struct {
	Name   string
	Values []string // the accepted values, the default first; nil: a number
	Rule   string   // the rule of docs/ordering.md it implements
	Doc    string
}

// Knobs lists every knob, in the order KnobString prints them.
var Knobs = []Knob{
	{"scope", []string{"hca", "glob"}, "8", "atomicity scope of NIC atomics: hca (a read then a write, atomic only against other NIC atomics) or glob (one event, atomic against everything)"},
	{"nic-writes", []string{"interleave", "excluded"}, "8", "whether a plain NIC write may land between the read and the write of a NIC atomic on its address (interleave) or waits for the atomic (excluded)"},
	{"cas-writeback", []string{"off", "on"}, "8", "a failed NIC CAS writes back the value it read"},
	{"ordering", []string{"strict", "relaxed", "unordered"}, "1, 5", "order between the requests of one QP: strict (WAW and RAW to the same bytes, WRITEs of different messages land in order), relaxed (no write-after-write order), unordered (no read-after-write order either); atomics keep strict order"},
	{"fence", []string{"classic", "strong"}, "2", "a fenced request waits for the earlier READs and atomics of its QP (classic) or for every earlier request (strong)"},
	{"placement", []string{"any", "ascending"}, "3", "order of one message's words: any, or ascending addresses (under strict ordering only)"},
	{"cpu", []string{"sc", "tso"}, "-", "host CPU memory model: sc, or x86-TSO with a store buffer per thread"},
	{"arbitration", []string{"fifo", "any"}, "-", "order in which a NIC serves atomics waiting for one address"},
	{"lanes", nil, "6", "QPs per (thread, target node); 1 by default"},
}

// Set sets the knob name to value.
func (c *Config) Set(name, value string) error {
	bad := func() error {
		for _, k := range Knobs {
			if k.Name == name {
				if k.Values == nil {
					return fmt.Errorf("knob %s: %q is not a number ≥ 1", name, value)
				}
				return fmt.Errorf("knob %s: unknown value %q (want %s)", name, value, strings.Join(k.Values, " or "))
			}
		}
		names := make([]string, len(Knobs))
		for i, k := range Knobs {
			names[i] = k.Name
		}
		return fmt.Errorf("unknown knob %q (knobs: %s)", name, strings.Join(names, ", "))
	}
	idx := -1
	for _, k := range Knobs {
		if k.Name == name {
			for i, v := range k.Values {
				if v == value {
					idx = i
				}
			}
		}
	}
	switch name {
	case "lanes":
		l, err := strconv.Atoi(value)
		if err != nil || l < 1 || l > MaxLanes {
			return fmt.Errorf("knob lanes: %q: want 1 … %d", value, MaxLanes)
		}
		c.Lanes = l
		return nil
	}
	if idx < 0 {
		return bad()
	}
	switch name {
	case "scope":
		c.Scope = Scope(idx)
	case "nic-writes":
		c.NICWritesExcluded = idx == 1
	case "cas-writeback":
		c.FailedCASWritesBack = idx == 1
	case "ordering":
		c.Ordering = Ordering(idx)
	case "fence":
		c.Fence = FenceStrength(idx)
	case "placement":
		c.Placement = Placement(idx)
	case "cpu":
		c.CPU = CPUModel(idx)
	case "arbitration":
		c.Arbitration = Arbitration(idx)
	}
	return nil
}

// Get returns the value of the knob name ("" for an unknown knob).
func (c Config) Get(name string) string {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	var i int
	switch name {
	case "scope":
		i = int(c.Scope)
	case "nic-writes":
		i = b(c.NICWritesExcluded)
	case "cas-writeback":
		i = b(c.FailedCASWritesBack)
	case "ordering":
		i = int(c.Ordering)
	case "fence":
		i = int(c.Fence)
	case "placement":
		i = int(c.Placement)
	case "cpu":
		i = int(c.CPU)
	case "arbitration":
		i = int(c.Arbitration)
	case "lanes":
		return strconv.Itoa(c.lanes())
	default:
		return ""
	}
	for _, k := range Knobs {
		if k.Name == name && i < len(k.Values) {
			return k.Values[i]
		}
	}
	return "?"
}

// KnobString lists the knobs that differ from their defaults as
// "name=value" separated by spaces, in the order of Knobs; "defaults" when none
// does. The arbitration and lanes knobs are left out.
func (c Config) KnobString() string {
	var parts []string
	for _, k := range Knobs {
		if k.Values == nil || k.Name == "arbitration" {
			continue
		}
		if v := c.Get(k.Name); v != k.Values[0] {
			parts = append(parts, k.Name+"="+v)
		}
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, " ")
}

// ParseKnobs applies "name=value" settings, separated by spaces or commas, to
// c. "defaults" (or "") sets nothing.
func (c *Config) ParseKnobs(s string) error {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		if f == "defaults" {
			continue
		}
		name, value, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("knob setting %q: want name=value", f)
		}
		if err := c.Set(name, value); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) lanes() int {
	if c.Lanes < 1 {
		return 1
	}
	return c.Lanes
}
