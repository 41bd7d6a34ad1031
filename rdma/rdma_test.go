package rdma

import "testing"

func TestPtrRoundTrip(t *testing.T) {
	for _, c := range []struct {
		node int
		off  uint64
	}{{0, 64}, {1, 0x1000}, {65535, 1<<48 - 8}} {
		p := MakePtr(c.node, c.off)
		if p.Node() != c.node || p.Offset() != c.off {
			t.Errorf("MakePtr(%d, %#x) = %v: node %d offset %#x", c.node, c.off, p, p.Node(), p.Offset())
		}
	}
	if got := MakePtr(1, 0x40).Add(2).String(); got != "n1:0x50" {
		t.Errorf("Add(2).String() = %q, want n1:0x50", got)
	}
	if !Ptr(0).IsNil() || Ptr(0).String() != "nil" {
		t.Error("zero Ptr is not nil")
	}
}

func TestOpNames(t *testing.T) {
	for o := OpLoad; o <= OpAlloc; o++ {
		got, ok := ParseOp(o.String())
		if !ok || got != o {
			t.Errorf("ParseOp(%q) = %v, %v", o.String(), got, ok)
		}
	}
	if OpLoad.IsVerb() || !OpLoad.IsCPU() || !OpRCAS.IsVerb() || OpPause.IsCPU() {
		t.Error("IsCPU/IsVerb classification wrong")
	}
}
