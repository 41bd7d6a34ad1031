package traces

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/rdma"
)

// samplePage is a small handmade counterexample: a CPU CAS on node 0, an RDMA
// CAS from node 1 split by node 0's NIC, a WRITE to node 1's NIC, a park and a
// wake, and a label that tries to inject a script.
func samplePage() Page {
	lock := rdma.MakePtr(0, 0x48)
	evil := rdma.MakePtr(1, 0x40)
	return Page{
		Title:     "spin-naive: mutual exclusion",
		Algorithm: "spin-naive",
		Config:    "2n threads=[1 2] home=0 acq=2 hca",
		Property:  "mutual exclusion",
		Message:   "n1/t0 enters the critical section while n0/t0 holds the lock",
		Names:     []string{"n0/t0", "n1/t0", "n1/t1"},
		Events: []Event{
			{Step: 1, Thread: 1, Kind: NICAtomicRead, Op: rdma.OpRCAS, Addr: lock, Label: "lock", Read: 0, HasRead: true},
			{Step: 2, Thread: 0, Kind: CPU, Op: rdma.OpCAS, Addr: lock, Label: "lock", Read: 0, HasRead: true, Wrote: 1, HasWrite: true},
			{Step: 2, Thread: 0, Kind: Mark, Note: "cs-enter"},
			{Step: 3, Thread: 2, Kind: NICWrite, Op: rdma.OpRWrite, Addr: evil, Label: "<script>alert(1)</script>", Wrote: uint64(rdma.MakePtr(1, 0x50)), HasWrite: true},
			{Step: 4, Thread: 2, Kind: Park, Note: "until n0:0x48 /*lock*/ changes"},
			{Step: 5, Thread: 2, Kind: Wake, Addr: lock, Label: "lock", Note: "a word it read changed"},
			{Step: 6, Thread: 1, Kind: NICAtomicWrite, Op: rdma.OpRCAS, Addr: lock, Label: "lock", Wrote: 1, HasWrite: true},
			{Step: 6, Thread: 1, Kind: Mark, Note: "cs-enter, while n0/t0 holds the lock"},
		},
		Choices:       []string{"choice 3 of 3", "choice 1 of 2", "", "choice 2 of 3", "", "", "choice 2 of 2", ""},
		Decisive:      1,
		Nodes:         2,
		ReplayCommand: "rdmasim replay 'dir with space/r.json'",
		HistoryHTML:   "r.history.html",
	}
}

func writePage(t *testing.T, p Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// row returns the HTML of row n (from 1) and the lane (from 0) its event is in.
func row(t *testing.T, page string, n int) (string, int) {
	t.Helper()
	start := strings.Index(page, `<tr id="e`+strconv.Itoa(n)+`"`)
	if start < 0 {
		t.Fatalf("no row %d", n)
	}
	r := page[start:]
	r = r[:strings.Index(r, "</tr>")]
	ev := strings.Index(r, `<div class="ev `)
	if ev < 0 {
		t.Fatalf("row %d has no event:\n%s", n, r)
	}
	// The first two <td> are the row number and the gutter of NIC atomics' brackets.
	return r, strings.Count(r[:ev], `<td class="cell`) - 1
}

func TestWriteHTML(t *testing.T) {
	p := samplePage()
	page := writePage(t, p)

	// The lanes: each node's threads, then its NIC.
	var lanes []string
	for rest := page; ; {
		i := strings.Index(rest, `<span class="lane-name">`)
		if i < 0 {
			break
		}
		rest = rest[i+len(`<span class="lane-name">`):]
		lanes = append(lanes, rest[:strings.Index(rest, "<")])
	}
	if want := []string{"n0/t0", "NIC n0", "n1/t0", "n1/t1", "NIC n1"}; strings.Join(lanes, ",") != strings.Join(want, ",") {
		t.Errorf("lanes %q, want %q", lanes, want)
	}
	laneOf := map[string]int{}
	for i, l := range lanes {
		laneOf[l] = i
	}

	// Every event, in its lane, with what it did; the row's title is its text line.
	var text bytes.Buffer
	Render(&text, p.Names, p.Events)
	lines := strings.Split(strings.TrimRight(text.String(), "\n"), "\n")
	for i, ev := range p.Events {
		r, lane := row(t, page, i+1)
		want := p.Names[ev.Thread]
		if ev.Kind.isNIC() {
			want = "NIC n" + strconv.Itoa(ev.Addr.Node())
			if !strings.Contains(r, `<span class="issuer">`+p.Names[ev.Thread]+`</span>`) {
				t.Errorf("event %d: NIC event not tagged with its thread:\n%s", i+1, r)
			}
		}
		if lane != laneOf[want] {
			t.Errorf("event %d in lane %d, want %d (%s)", i+1, lane, laneOf[want], want)
		}
		var parts []string
		if ev.Op != rdma.OpNone {
			parts = append(parts, ev.Op.String())
		}
		if ev.Addr != 0 {
			parts = append(parts, ev.Addr.String(), html.EscapeString(ev.Label))
		}
		if ev.HasRead {
			parts = append(parts, "read <b>"+value(ev.Read)+"</b>")
		}
		if ev.HasWrite {
			parts = append(parts, "wrote <b>"+value(ev.Wrote)+"</b>")
		}
		parts = append(parts, html.EscapeString(ev.Note), ev.Kind.String(), p.Choices[i])
		for _, s := range parts {
			if !strings.Contains(r, s) {
				t.Errorf("event %d lacks %q:\n%s", i+1, s, r)
			}
		}
		title := html.EscapeString(strings.TrimSpace(lines[i]))
		if !strings.Contains(r, `title="`+title+`"`) {
			t.Errorf("event %d: row title is not %q:\n%s", i+1, title, r)
		}
		if p.Choices[i] == "" && strings.Contains(r, "choice ") {
			t.Errorf("event %d shows a choice it does not have:\n%s", i+1, r)
		}
	}
	if n := strings.Count(page, `<div class="ev `); n != len(p.Events) {
		t.Errorf("%d events on the page, want %d", n, len(p.Events))
	}
	if r, _ := row(t, page, 3); !strings.Contains(r, `class="ev mark enter"`) {
		t.Errorf("cs-enter is not shown as a mark:\n%s", r)
	}
	if r, _ := row(t, page, 5); !strings.Contains(r, `class="ev sleep"`) {
		t.Errorf("the park is not shown as one:\n%s", r)
	}

	// The banner, the violation and the decisive decision.
	for _, s := range []string{"<title>spin-naive: mutual exclusion</title>", "violation: <b>mutual exclusion</b>",
		"n1/t0 enters the critical section while n0/t0 holds the lock", "<b>spin-naive</b>",
		"<code>2n threads=[1 2] home=0 acq=2 hca</code>", "the scheduling decision that made the difference (event 2)",
		"4 scheduling decisions"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if r, _ := row(t, page, len(p.Events)); !strings.Contains(r, `class="row violation"`) || !strings.Contains(r, "&#x2716; violation</span>") {
		t.Errorf("the last event is not marked as the violation:\n%s", r)
	}
	if r, _ := row(t, page, 2); !strings.Contains(r, `class="row decisive"`) || !strings.Contains(r, "decisive</span>") {
		t.Errorf("event 2 is not marked as the decisive one:\n%s", r)
	}
	if n := strings.Count(page, "row decisive"); n != 1 {
		t.Errorf("%d decisive rows, want 1", n)
	}
	if n := strings.Count(page, "row violation"); n != 1 {
		t.Errorf("%d violating rows, want 1", n)
	}

	// One plain sentence says what went wrong; the command that reproduces the
	// trace and the link to the lock history are shown.
	for _, s := range []string{
		`<p class="summary" id="summary">Two threads held the lock at once: n1/t0 entered its critical section while n0/t0 held it.</p>`,
		`<code class="cmd" id="replay-command">rdmasim replay &#39;dir with space/r.json&#39;</code>`,
		`<a class="history" href="r.history.html">`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}

	// The memory column: the touched word's value after each event. Event 1
	// reads the lock before anything wrote it: it held what was read.
	for n, want := range map[int]string{
		1: `<td class="mem"><div class="memval" data-addr="n0:0x48"><span class="mw">lock</span> = <b class="v">0</b></div></td>`,
		2: `<td class="mem"><div class="memval changed" data-addr="n0:0x48"><span class="mw">lock</span> = <b class="v">1</b> <span class="was">was 0</span></div></td>`,
		3: `<td class="mem"></td>`,
		4: `<td class="mem"><div class="memval changed" data-addr="n1:0x40"><span class="mw">&lt;script&gt;alert(1)&lt;/script&gt;</span> = <b class="v">n1:0x50</b></div></td>`,
		7: `<td class="mem"><div class="memval" data-addr="n0:0x48"><span class="mw">lock</span> = <b class="v">1</b> <span class="mnote">rewritten with the value it had</span></div></td>`,
	} {
		if r, _ := row(t, page, n); !strings.Contains(r, want) {
			t.Errorf("row %d: memory column lacks %q:\n%s", n, want, r)
		}
	}
	if n := strings.Count(page, `<td class="mem">`); n != len(p.Events) {
		t.Errorf("%d memory cells, want one per event (%d)", n, len(p.Events))
	}

	// The two halves of the RCAS (events 1 and 7) are joined: a bracket opens
	// at the read, runs through the rows between, in the gutter and in NIC n0's
	// lane, and closes at the write; the rows between are inside it, and the
	// CPU CAS on the same word says it lands inside the RCAS.
	for n := 1; n <= 7; n++ {
		part := "mid"
		switch n {
		case 1:
			part = "start"
		case 7:
			part = "end"
		}
		r, _ := row(t, page, n)
		bar := `<span class="bar ` + part + `" data-span="1"`
		if c := strings.Count(r, bar); c != 2 {
			t.Errorf("row %d: %d pieces %q of the RCAS's bracket, want 2 (gutter and NIC lane):\n%s", n, c, bar, r)
		}
		if inside := strings.Contains(r, `data-inspan="1"`); inside != (n > 1 && n < 7) {
			t.Errorf("row %d: inside the span %v, want %v", n, inside, !inside)
		}
	}
	if r, _ := row(t, page, 8); strings.Contains(r, `class="bar`) {
		t.Errorf("row 8, after the RCAS, has a piece of its bracket:\n%s", r)
	}
	if r, _ := row(t, page, 1); !strings.Contains(r, `<span class="half-tag">1st half</span>`) || !strings.Contains(r, "its write is event 7") {
		t.Errorf("the RCAS's read is not marked as its first half:\n%s", r)
	}
	if r, _ := row(t, page, 7); !strings.Contains(r, `<span class="half-tag">2nd half</span>`) || !strings.Contains(r, "its read was event 1") {
		t.Errorf("the RCAS's write is not marked as its second half:\n%s", r)
	}
	if r, _ := row(t, page, 2); !strings.Contains(r, `<div class="inside">&#x26A0; lands inside n1/t0&#39;s RCAS on lock (events 1–7)</div>`) {
		t.Errorf("the CPU CAS between the halves is not marked as inside the RCAS:\n%s", r)
	}
	if r, _ := row(t, page, 4); strings.Contains(r, `class="inside"`) {
		t.Errorf("an event on another word is marked as inside the RCAS:\n%s", r)
	}

	// Escaped, self-contained, deterministic.
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the label is not escaped")
	}
	for _, s := range []string{"http:", "https:", "src=", "<link", "@import", "url(", "//cdn"} {
		if strings.Contains(page, s) {
			t.Errorf("page refers to an external resource: %q", s)
		}
	}
	if !strings.Contains(page, `setAttribute("data-ready", "1")`) {
		t.Errorf("the script does not mark the page ready")
	}
	if again := writePage(t, samplePage()); again != page {
		t.Errorf("two pages of one input differ")
	}
}

func TestWriteHTMLNoChoicesNoDecisive(t *testing.T) {
	p := samplePage()
	p.Choices, p.Decisive = nil, -1
	p.ReplayCommand, p.HistoryHTML = "", ""
	p.Names = nil // threads named t0, t1, …; NICs after them
	page := writePage(t, p)
	for _, s := range []string{"(not determined for this trace)", `<span class="lane-name">t2</span>`, `<span class="lane-name">NIC n1</span>`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range []string{"row decisive", "choice 1 of", "scheduling decisions", "reproduce:", "lock history", `class="history"`} {
		if strings.Contains(page, s) {
			t.Errorf("page shows %q", s)
		}
	}
	if _, lane := row(t, page, 2); lane != 0 {
		t.Errorf("t0's event in lane %d", lane)
	}
	if _, lane := row(t, page, 1); lane != 3 {
		t.Errorf("NIC n0's event in lane %d, want 3 (after the three threads)", lane)
	}
	// An empty trace is a page too.
	if page := writePage(t, Page{Decisive: -1}); !strings.Contains(page, "0 events") {
		t.Errorf("empty page:\n%s", page)
	}
}

func TestWriteHTMLRejects(t *testing.T) {
	for name, mod := range map[string]func(*Page){
		"choices":  func(p *Page) { p.Choices = p.Choices[1:] },
		"decisive": func(p *Page) { p.Decisive = len(p.Events) },
		"negative": func(p *Page) { p.Decisive = -2 },
	} {
		p := samplePage()
		mod(&p)
		var b bytes.Buffer
		if err := WriteHTML(&b, p); err == nil || b.Len() > 0 {
			t.Errorf("%s: err %v, %d bytes written", name, err, b.Len())
		}
	}
}

func TestPageSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "page.html")
	if err := samplePage().Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != writePage(t, samplePage()) {
		t.Errorf("saved page differs from WriteHTML's")
	}
	bad := samplePage()
	bad.Decisive = 99
	if err := bad.Save(filepath.Join(dir, "sub", "bad.html")); err == nil {
		t.Errorf("an invalid page was saved")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 || entries[0].Name() != "page.html" {
		t.Errorf("files left behind: %v", entries)
	}
}

func TestWriteHTMLHistoryLinkSanitized(t *testing.T) {
	p := samplePage()
	p.HistoryHTML = "javascript:alert(1)"
	if page := writePage(t, p); strings.Contains(page, "javascript:") {
		t.Errorf("an unsafe history link is on the page")
	}
}

// An atomic whose write the trace does not reach is an open span to the end;
// a later atomic of the same thread on the same word is a span of its own;
// overlapping atomics get gutter slots of their own.
func TestAtomicSpans(t *testing.T) {
	a, b := rdma.MakePtr(0, 0x40), rdma.MakePtr(0, 0x48)
	evs := []Event{
		{Thread: 1, Kind: NICAtomicRead, Op: rdma.OpRCAS, Addr: a, HasRead: true},
		{Thread: 2, Kind: NICAtomicRead, Op: rdma.OpRFAA, Addr: b, HasRead: true},
		{Thread: 1, Kind: NICAtomicWrite, Op: rdma.OpRCAS, Addr: a, HasWrite: true, Wrote: 1},
		{Thread: 2, Kind: NICAtomicWrite, Op: rdma.OpRFAA, Addr: b, HasWrite: true, Wrote: 1},
		{Thread: 1, Kind: NICAtomicRead, Op: rdma.OpRCAS, Addr: a, HasRead: true, Read: 1},
		{Thread: 0, Kind: CPU, Op: rdma.OpStore, Addr: a, HasWrite: true},
	}
	got := atomicSpans(evs)
	want := []atomicSpan{
		{From: 0, To: 2, Thread: 1, Addr: a, Op: rdma.OpRCAS, Slot: 0},
		{From: 1, To: 3, Thread: 2, Addr: b, Op: rdma.OpRFAA, Slot: 1},
		{From: 4, To: -1, Thread: 1, Addr: a, Op: rdma.OpRCAS, Slot: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("spans %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("span %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	page := writePage(t, Page{Names: []string{"n0/t0", "n1/t0", "n1/t1"}, Events: evs, Decisive: -1})
	if r, _ := row(t, page, 6); !strings.Contains(r, `<span class="bar open" data-span="3"`) || !strings.Contains(r, "lands inside n1/t0&#39;s RCAS") {
		t.Errorf("the open span does not reach the last row:\n%s", r)
	}
}

func TestMemoryColumnStoreBuffer(t *testing.T) {
	x := rdma.MakePtr(0, 0x40)
	mem := map[rdma.Ptr]uint64{}
	for i, c := range []struct {
		ev                Event
		value, was, note  string
		changed, hasValue bool
	}{
		{Event{Kind: CPU, Op: rdma.OpStore, Addr: x, Wrote: 5, HasWrite: true, Note: "into its store buffer"}, "", "", "store buffered, memory unchanged", false, false},
		{Event{Kind: CPU, Op: rdma.OpLoad, Addr: x, Read: 5, HasRead: true, Note: "from its store buffer"}, "", "", "read from the store buffer", false, false},
		{Event{Kind: NICRead, Op: rdma.OpRRead, Addr: x, Read: 0, HasRead: true}, "0", "", "", false, true},
		{Event{Kind: CPU, Op: rdma.OpStore, Addr: x, Wrote: 5, HasWrite: true, Note: "drains from its store buffer"}, "5", "0", "", true, true},
		{Event{Kind: CPU, Op: rdma.OpLoad, Addr: x, Read: 5, HasRead: true}, "5", "", "", false, true},
	} {
		m := memAfter(mem, c.ev, 1)
		if m == nil || m.Value != c.value || m.Was != c.was || m.Note != c.note || m.Changed != c.changed {
			t.Errorf("event %d: %+v, want value %q was %q note %q changed %v", i+1, m, c.value, c.was, c.note, c.changed)
		}
	}
	if m := memAfter(mem, Event{Kind: Mark, Note: "cs-enter"}, 1); m != nil {
		t.Errorf("a mark has a memory value: %+v", m)
	}
}

func TestSummary(t *testing.T) {
	for _, c := range []struct{ property, message, want string }{
		{"mutual exclusion", "n1/t1 enters the critical section while n0/t0 holds the lock",
			"Two threads held the lock at once: n1/t1 entered its critical section while n0/t0 held it."},
		{"mutual exclusion", "something else", "Two threads held the lock at once: something else."},
		{"lost update", "the counter ends at 3 after 4 critical sections",
			"An update made in a critical section was lost: the counter ends at 3 after 4 critical sections."},
		{"linearizability", "the lock history is not linearizable: two holders", "No correct lock could have produced this history: two holders."},
		{"deadlock", "", "The threads got stuck: none of them can move."},
		{"new property", "it broke", `The property "new property" broke: it broke.`},
		{"", "something happened", "Something happened."},
		{"", "", ""},
	} {
		if got := Summary(c.property, c.message); got != c.want {
			t.Errorf("Summary(%q, %q) = %q, want %q", c.property, c.message, got, c.want)
		}
	}
}
