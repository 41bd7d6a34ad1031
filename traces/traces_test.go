package traces

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/rdma"
)

func sample() *Replay {
	return &Replay{Format: ReplayFormat, Version: ReplayVersion, Property: "mutual exclusion",
		Message: "n1/t0 enters the critical section while n0/t0 holds the lock", Algorithm: "spin-naive",
		Config: json.RawMessage(`{"nodes":2}`), Strategy: "random", CampaignSeed: 1, Seed: 99, Schedule: 3,
		Steps: 3, Length: 5, Decisions: []Decision{{1, 3, "n1/t0 RCAS"}, {0, 2, ""}}}
}

func TestReplayRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "r.json")
	if err := sample().Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if !bytes.Equal(gb, wb) {
		t.Errorf("round trip:\n%s\nwant\n%s", gb, wb)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "\n    {\"pick\":1,\"of\":3,\"event\":\"n1/t0 RCAS\"},\n") {
		t.Errorf("decisions are not one per line:\n%s", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestDecodeRejects(t *testing.T) {
	var good bytes.Buffer
	sample().Encode(&good)
	g := good.String()
	for name, c := range map[string]struct{ in, want string }{
		"empty":     {"", "ends early"},
		"truncated": {g[:len(g)/2], "ends early"},
		"syntax":    {"{\n\"format\": ,}", "line 2"},
		"format":    {strings.Replace(g, ReplayFormat, "x", 1), "format"},
		"version":   {strings.Replace(g, `"version": 1`, `"version": 2`, 1), "version 2"},
		"unknown":   {strings.Replace(g, `"format"`, `"extra": 1, "format"`, 1), "unknown field"},
		"trailing":  {g + "{}", "after the JSON"},
		"pick":      {strings.Replace(g, `"pick":1,"of":3`, `"pick":3,"of":3`, 1), "decision 1"},
		"of":        {strings.Replace(g, `"pick":0,"of":2`, `"pick":0,"of":1`, 1), "decision 2"},
		"no alg":    {strings.Replace(g, `"spin-naive"`, `""`, 1), "no algorithm"},
		"no config": {strings.Replace(g, `"config": {`+"\n"+`    "nodes": 2`+"\n"+`  },`, ``, 1), "no config"},
		"not obj":   {"[1,2]", "not a replay"},
	} {
		_, err := Decode(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", name, err, c.want)
		}
	}
	if _, err := Decode(strings.NewReader(g)); err != nil {
		t.Errorf("the good file: %v", err)
	}
}

// FuzzDecode: no input makes Decode panic, and whatever it accepts encodes and
// decodes to the same replay.
func FuzzDecode(f *testing.F) {
	var good bytes.Buffer
	sample().Encode(&good)
	f.Add(good.Bytes())
	f.Add([]byte(`{"format":"rdmasim-replay","version":1,"algorithm":"a","config":{},"decisions":[]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := r.Encode(&b); err != nil {
			t.Fatalf("accepted, but does not encode: %v", err)
		}
		if _, err := Decode(&b); err != nil {
			t.Fatalf("accepted, encoded, then refused: %v\n%s", err, b.Bytes())
		}
	})
}

func TestRender(t *testing.T) {
	names := []string{"n0/t0", "n1/t0"}
	evs := []Event{
		{Thread: 1, Kind: NICAtomicRead, Op: rdma.OpRCAS, Addr: rdma.MakePtr(0, 0x48), Label: "lock", Read: 0, HasRead: true},
		{Thread: 0, Kind: CPU, Op: rdma.OpCAS, Addr: rdma.MakePtr(0, 0x48), Label: "lock", Read: 0, HasRead: true, Wrote: 1, HasWrite: true},
		{Thread: 0, Kind: Mark, Note: "cs-enter"},
		{Thread: 1, Kind: NICWrite, Op: rdma.OpRWrite, Addr: rdma.MakePtr(0, 0x50), Wrote: uint64(rdma.MakePtr(1, 0x40)), HasWrite: true},
		{Thread: 1, Kind: NICAtomicWrite, Op: rdma.OpRCAS, Addr: rdma.MakePtr(0, 0x48), Label: "lock", Note: "failed, no write"},
	}
	var b bytes.Buffer
	if err := Render(&b, names, evs); err != nil {
		t.Fatal(err)
	}
	want := `   1  n1/t0   nic-atomic-read  RCAS   n0:0x48 /*lock*/ read 0
   2  n0/t0   cpu              CAS    n0:0x48 /*lock*/ read 0 wrote 1
   3  n0/t0   mark             cs-enter
   4  n1/t0   nic-write        RWrite n0:0x50 wrote n1:0x40
   5  n1/t0   nic-atomic-write RCAS   n0:0x48 /*lock*/  failed, no write
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func ExampleRender() {
	Render(os.Stdout, []string{"n0/t0"}, []Event{
		{Thread: 0, Kind: CPU, Op: rdma.OpSwap, Addr: rdma.MakePtr(0, 0x40), Label: "tail", Read: 0, HasRead: true, Wrote: uint64(rdma.MakePtr(0, 0x58)), HasWrite: true},
		{Thread: 0, Kind: CPU, Op: rdma.OpFAA, Addr: rdma.MakePtr(0, 0x48), Label: "next", Read: 0x58, HasRead: true, Wrote: 0x59, HasWrite: true},
	})
	// Output:
	//    1  n0/t0   cpu              Swap   n0:0x40 /*tail*/ read 0 wrote n0:0x58
	//    2  n0/t0   cpu              FAA    n0:0x48 /*next*/ read 88 wrote 89
}

// A word is shown as a pointer when it decodes as one: a pointer to node 0 is
// n0:0x50, never the number 80.
func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		v     uint64
		nodes int
		want  string
	}{
		{0, 2, "0"},
		{80, 2, "80"},
		{uint64(rdma.MakePtr(0, 0x50)), 2, "n0:0x50"},
		{uint64(rdma.MakePtr(0, 0x50)), 0, "n0:0x50"},
		{uint64(rdma.MakePtr(1, 0x48)), 2, "n1:0x48"},
		{uint64(rdma.MakePtr(2, 0x48)), 2, fmt.Sprint(3<<48 | 0x48)}, // node 2 of a run of two
		{uint64(rdma.MakePtr(2, 0x48)), 0, "n2:0x48"},                // nodes not known
		{uint64(rdma.MakePtr(0, 0x4c)), 2, fmt.Sprint(1<<48 | 0x4c)}, // not aligned
		{^uint64(0), 0, "18446744073709551615"},                      // -1
		{uint64(rdma.MakePtr(rdma.MaxNode, 0x40)), 0, "n65534:0x40"},
	} {
		if got := FormatValue(c.v, c.nodes); got != c.want {
			t.Errorf("FormatValue(%#x, %d) = %q, want %q", c.v, c.nodes, got, c.want)
		}
	}
	ev := Event{Thread: 0, Kind: CPU, Op: rdma.OpStore, Addr: rdma.MakePtr(1, 0x40), Wrote: uint64(rdma.MakePtr(0, 0x50)), HasWrite: true}
	if got := ev.Format(nil); !strings.HasSuffix(got, "wrote n0:0x50") {
		t.Errorf("a pointer to node 0 is formatted %q", got)
	}
}
