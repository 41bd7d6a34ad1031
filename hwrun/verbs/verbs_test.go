package verbs

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestStub checks that a build without verbs support says so.
func TestStub(t *testing.T) {
	if Supported() {
		t.Skip("verbs support compiled in")
	}
	if _, err := Open("rxe0"); !errors.Is(err, ErrNotCompiled) {
		t.Fatalf("Open without support: %v, want ErrNotCompiled", err)
	}
	if _, err := DeviceNames(); !errors.Is(err, ErrNotCompiled) {
		t.Fatalf("DeviceNames without support: %v, want ErrNotCompiled", err)
	}
}

// TestLoopback does a WRITE, READ, CAS and FAA through two connected QPs on
// the first device, when there is one (in the guest of hwrun/guest/run.sh:
// go test -c -tags rdma, then run the binary there).
func TestLoopback(t *testing.T) {
	if !Supported() {
		t.Skip("verbs support not compiled in")
	}
	names, err := DeviceNames()
	if err != nil || len(names) == 0 {
		t.Skipf("no RDMA device (%v)", err)
	}
	d, err := Open(names[0])
	if err != nil {
		t.Skipf("cannot open %s: %v", names[0], err)
	}
	defer d.Close()
	a, err := d.NewArena(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	qa, err := d.NewQP(4)
	if err != nil {
		t.Fatal(err)
	}
	defer qa.Close()
	qb, err := d.NewQP(4)
	if err != nil {
		t.Fatal(err)
	}
	defer qb.Close()
	if err := qa.Connect(qb.Endpoint()); err != nil {
		t.Fatal(err)
	}
	if err := qb.Connect(qa.Endpoint()); err != nil {
		t.Fatal(err)
	}
	r := a.Remote()
	atomic.StoreUint64(a.Word(0), 42)
	if err := qa.Write(a, 0, 8, r, 8); err != nil || atomic.LoadUint64(a.Word(8)) != 42 {
		t.Fatalf("WRITE: word %d, err %v", atomic.LoadUint64(a.Word(8)), err)
	}
	if err := qa.Read(a, 16, 8, r, 8); err != nil || atomic.LoadUint64(a.Word(16)) != 42 {
		t.Fatalf("READ: %d, err %v", atomic.LoadUint64(a.Word(16)), err)
	}
	if old, err := qa.CAS(a, 24, r, 8, 42, 43); err != nil || old != 42 || atomic.LoadUint64(a.Word(8)) != 43 {
		t.Fatalf("CAS: old %d, word %d, err %v", old, atomic.LoadUint64(a.Word(8)), err)
	}
	if old, err := qa.FAA(a, 24, r, 8, 2); err != nil || old != 43 || atomic.LoadUint64(a.Word(8)) != 45 {
		t.Fatalf("FAA: old %d, word %d, err %v", old, atomic.LoadUint64(a.Word(8)), err)
	}
}
