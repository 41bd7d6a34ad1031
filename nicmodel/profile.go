package nicmodel

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"reflect"
	"strings"
)

// Profile is a timing profile: what every step of an operation costs in timed
// mode, in nanoseconds. It is data (a JSON file, see docs/timed.md); the
// built-in profiles are listed by Profiles.
//
// How an operation spends its time, with t the thread's time when it issues it:
//
//   - A CPU load, store or atomic is due at t + CPUOp, or t + CPUContended if
//     the cache line must move: another agent (a thread, or a NIC) wrote the
//     word last, or it is written now and another agent used it last.
//   - A verb costs the thread Post to hand the work request to the NIC, which
//     sees it Doorbell later (the doorbell's MMIO write and the NIC's DMA read
//     of the request: latency, not CPU time). The
//     requester NIC takes it when its pipeline is free and holds the pipeline
//     Tx (its message rate); a QP context not in the NIC's cache of QPCache
//     contexts costs QPMiss more. The request crosses the wire (Wire, or
//     Loopback to the NIC's own node), and the responder NIC holds its pipeline
//     Rx (plus QPMiss on a context miss there).
//   - Then the events at the target: a READ's fetch, a WRITE's placement, an
//     atomic's read — each DMA holding the node's PCIe link PCIe. An atomic
//     waits for the NIC's atomic unit, which it holds for Atomic; its write
//     follows its read after AtomicWindow (the address stays locked in
//     between).
//   - Back: a READ's data returns after PCIeRead + Wire and lands locally after
//     PCIeWrite; a WRITE's or an atomic's acknowledgement after Wire. The
//     requester NIC then needs Response to put the completion in the CQ, and
//     the thread Poll to notice it (a blocking verb returns then).
//   - A posted source buffer is read by the requester NIC PCIeRead after it
//     takes the request; a WRITE lands PCIeWrite after its responder is done.
//   - A QP keeps at most MaxOutstanding requests in flight; later ones wait
//     for a completion before the NIC takes them.
//
// Queues form by themselves: pipelines, the atomic unit and the PCIe links
// serve one request at a time, so contention shows as waiting.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`

	CPUOp        float64 `json:"cpu_op_ns"`
	CPUContended float64 `json:"cpu_contended_ns"`
	Post         float64 `json:"post_ns"`
	Doorbell     float64 `json:"doorbell_ns"`
	Poll         float64 `json:"poll_ns"`

	Tx        float64 `json:"tx_ns"`
	Rx        float64 `json:"rx_ns"`
	Wire      float64 `json:"wire_ns"`
	Loopback  float64 `json:"loopback_ns"`
	PCIeRead  float64 `json:"pcie_read_ns"`
	PCIeWrite float64 `json:"pcie_write_ns"`
	PCIe      float64 `json:"pcie_ns"`
	Response  float64 `json:"response_ns"`

	Atomic       float64 `json:"atomic_ns"`
	AtomicWindow float64 `json:"atomic_window_ns"`

	QPCache        int     `json:"qp_cache"`
	QPMiss         float64 `json:"qp_miss_ns"`
	MaxOutstanding int     `json:"max_outstanding"`

	// Fitted names the parameters calibration fitted (their JSON names); the
	// others were set by hand, as Notes say.
	Fitted []string `json:"fitted,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

//go:embed profiles/*.json
var profileFiles embed.FS

// Profiles lists the names of the built-in profiles.
func Profiles() []string {
	ents, _ := profileFiles.ReadDir("profiles")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	return names
}

// DefaultProfile is the profile timed mode uses unless told otherwise.
const DefaultProfile = "cx3"

// BuiltinProfile returns the built-in profile of that name.
func BuiltinProfile(name string) (*Profile, error) {
	data, err := profileFiles.ReadFile(path.Join("profiles", name+".json"))
	if err != nil {
		return nil, fmt.Errorf("timing profile %q: no such built-in profile (built in: %s; or give a .json file)", name, strings.Join(Profiles(), ", "))
	}
	p, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("timing profile %s: %v", name, err)
	}
	return p, nil
}

// ParseProfile parses and validates a profile file's contents. Unknown fields
// are an error (a misspelt parameter would otherwise silently be 0).
func ParseProfile(data []byte) (*Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate reports the first parameter out of range.
func (p *Profile) Validate() error {
	for _, f := range p.params() {
		v := *f.v
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return fmt.Errorf("%s = %v: want a number of nanoseconds", f.name, v)
		case v < 0 || v > 1e9:
			return fmt.Errorf("%s = %v ns: want 0 … 1e9", f.name, v)
		}
	}
	switch {
	case p.CPUOp < 1:
		return fmt.Errorf("cpu_op_ns = %v: want ≥ 1 (every step must take time)", p.CPUOp)
	case p.QPCache < 0:
		return fmt.Errorf("qp_cache = %d: want ≥ 0 (0: unbounded)", p.QPCache)
	case p.MaxOutstanding < 0:
		return fmt.Errorf("max_outstanding = %d: want ≥ 0 (0: unbounded)", p.MaxOutstanding)
	}
	for _, name := range p.Fitted {
		if p.Param(name) == nil {
			return fmt.Errorf("fitted: no parameter %q", name)
		}
	}
	return nil
}

type param struct {
	name string
	v    *float64
}

// params lists the nanosecond parameters with their JSON names.
func (p *Profile) params() []param {
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	var out []param
	for i := range t.NumField() {
		if t.Field(i).Type.Kind() != reflect.Float64 {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, param{name, v.Field(i).Addr().Interface().(*float64)})
	}
	return out
}

// ParamNames lists the names of the nanosecond parameters, as in the file.
func ParamNames() []string {
	var p Profile
	var names []string
	for _, f := range p.params() {
		names = append(names, f.name)
	}
	return names
}

// Param returns a pointer to the nanosecond parameter of that JSON name, or
// nil.
func (p *Profile) Param(name string) *float64 {
	for _, f := range p.params() {
		if f.name == name {
			return f.v
		}
	}
	return nil
}

// JSON is the profile as a file holds it.
func (p *Profile) JSON() []byte {
	b, _ := json.MarshalIndent(p, "", "  ")
	return append(b, '\n')
}
