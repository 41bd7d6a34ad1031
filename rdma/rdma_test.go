package rdma

import "testing"

func TestPtrRoundTrip(t *testing.T) {
	for _, c := range []struct {
		node int
		off  uint64
	}{{0, 0}, {0, 64}, {1, 0x1000}, {MaxNode, 1<<48 - 8}} {
		p := MakePtr(c.node, c.off)
		if p.Node() != c.node || p.Offset() != c.off {
			t.Errorf("MakePtr(%d, %#x) = %v: node %d offset %#x", c.node, c.off, p, p.Node(), p.Offset())
		}
		// Every valid Ptr, one to node 0 included, has a non-zero node field:
		// stored in a word it is never a small number, and never nil.
		if p.IsNil() || uint64(p)>>48 == 0 {
			t.Errorf("MakePtr(%d, %#x) = %#x: no node field", c.node, c.off, uint64(p))
		}
		if q := Ptr(uint64(p)); q != p || q.String() != p.String() {
			t.Errorf("MakePtr(%d, %#x) does not survive a round trip through a word", c.node, c.off)
		}
	}
	if got := MakePtr(0, 0x50).String(); got != "n0:0x50" {
		t.Errorf("MakePtr(0, 0x50).String() = %q, want n0:0x50", got)
	}
	if v := uint64(MakePtr(0, 0x50)); v == 0x50 {
		t.Errorf("a pointer to node 0 is stored as its offset, %d", v)
	}
	if p := Ptr(0x50); p.Node() != -1 || p.Offset() != 0x50 || p.IsNil() || p.String() != "ptr?(0x50)" {
		t.Errorf("Ptr(0x50), no node field: node %d, offset %#x, nil %v, %q", p.Node(), p.Offset(), p.IsNil(), p)
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
