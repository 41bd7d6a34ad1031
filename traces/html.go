package traces

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rdmasim/rdmasim/rdma"
)

// Page is a counterexample to be shown as one self-contained HTML page: one lane
// per thread and one per NIC, one row per event, the violation and the decisive
// scheduling decision highlighted. See [WriteHTML].
type Page struct {
	Title     string // e.g. "spin-naive: mutual exclusion"; the page's title
	Algorithm string
	Config    string // the configuration, as the check table shows it
	// Property and Message are the finding the last event shows.
	Property, Message string
	Names             []string // thread names, indexed by thread id ("n0/t0")
	Events            []Event
	// Choices is optional: for each event, "choice 2 of 3" if the event was
	// the one a scheduling decision picked, else "". Nil, or as long as Events.
	Choices []string
	// Decisive is the index into Events of the event the decisive scheduling
	// decision chose, -1 if it is not known.
	Decisive int
	// Nodes is the number of nodes of the run, 0 if not known: a value read or
	// written is shown as a pointer only if it points into one of them (see
	// [FormatValue]).
	Nodes int
	// ReplayCommand, if set, is the command that reproduces the trace
	// ("rdmasim replay FILE"); the page shows it to be copied.
	ReplayCommand string
	// HistoryHTML, if set, is a link (relative to the page) to the lock-history
	// page of the same execution.
	HistoryHTML string
}

// isNIC reports whether an event of kind k is done by the NIC of the node it
// touches rather than by the thread's CPU: nic-read, nic-write,
// nic-atomic-read, nic-atomic-write, nic-atomic, and any later nic-* kind.
func (k Kind) isNIC() bool {
	return strings.HasPrefix(k.String(), "nic-")
}

// WriteHTML writes p as one self-contained HTML page: inline CSS and a few lines
// of inline JavaScript, nothing fetched from anywhere. Every event goes to the
// lane of its thread, except NIC events, which go to the lane of the NIC of the
// node they touch, tagged with the thread that posted the verb. Rows are numbered
// as [Render] numbers the text trace. The output depends only on p.
func WriteHTML(w io.Writer, p Page) error {
	v, err := p.view()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// Save writes the page to path atomically: to a temporary file in the same
// directory, then renamed, so no half-written page is ever left behind.
func (p Page) Save(path string) error {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, p); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return WriteFile(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// The page as the template sees it.
type pageView struct {
	Title, Algorithm, Config, Property, Message string
	Summary                                     string // one plain sentence: what went wrong
	ReplayCommand                               string
	HistoryHTML                                 string
	Lanes                                       []laneView
	Rows                                        []rowView
	Events, Decisions                           int
	Decisive                                    int // row number, 0 if none
	Spans                                       int // NIC atomics drawn as a span
	Gutter                                      template.CSS
	Text                                        string
	Style                                       template.CSS
	Script                                      template.JS
}

type laneView struct {
	Name, Sub string
	NIC       bool
	Color     template.CSS // custom properties for the lane's thread colour
}

type rowView struct {
	N                   int
	Line                string // the text-trace line
	Violation, Decisive bool
	Choice              string    // "choice k of n", if a decision picked the event
	Bars                []barView // the NIC atomics whose span covers the row
	InSpan              bool      // strictly inside the span of a NIC atomic
	Tint                template.CSS
	Cells               []cellView // one per lane
	Mem                 *memView   // the touched word after the event, if it has one
}

// barView is one row's piece of the bracket that joins the two halves of a NIC
// atomic.
type barView struct {
	Span  int          // the span's number, from 1
	Slot  int          // its column in the gutter, for overlapping spans
	Part  string       // "start", "mid", "end", or "open" (no write before the trace ends)
	Color template.CSS // the issuing thread's colour
	Style template.CSS // the bar's position in the gutter
	Title string       // what the span is, for a tooltip
}

// memView is the value of the word an event touched, in memory, after it.
type memView struct {
	Word    string // the word's label, or its address
	Addr    string
	Value   string // "" when not known
	Was     string // the value before, when the event changed a known value
	Changed bool   // the event wrote memory
	Note    string // "store buffered", "memory unchanged", …
}

type cellView struct {
	NIC  bool       // the cell is in a NIC's lane
	Ev   *eventView // nil but in the event's lane
	Bars []barView  // in a NIC lane: the connector of a NIC atomic executed there
}

type eventView struct {
	Kind, Class       string
	Color             template.CSS
	Issuer            string // the thread, on a NIC lane
	Op, Addr, Label   string
	Read, Wrote       string // "" when the event did not read or write
	HasRead, HasWrite bool
	Note              string
	Violation         bool
	Decisive          bool
	// Half is set on the two halves of a NIC atomic: "1st half", "2nd half".
	Half     string
	HalfNote string // "the write follows at event 4", "read at event 1"
	Span     int    // the span's number, 0 if none
	// Inside names the NIC atomic whose two halves this event falls between
	// on the same word: the event breaks its atomicity.
	Inside string
}

// atomicSpan is one NIC atomic drawn as a span: its read half at row From, its
// write half at row To (-1 if the trace ends before it).
type atomicSpan struct {
	From, To, Thread int
	Addr             rdma.Ptr
	Op               rdma.Op
	Slot             int
}

func (p Page) view() (*pageView, error) {
	if p.Choices != nil && len(p.Choices) != len(p.Events) {
		return nil, fmt.Errorf("page: %d choices for %d events", len(p.Choices), len(p.Events))
	}
	if p.Decisive < -1 || p.Decisive >= len(p.Events) {
		return nil, fmt.Errorf("page: decisive event %d is not one of the %d events", p.Decisive, len(p.Events))
	}
	v := &pageView{Title: p.Title, Algorithm: p.Algorithm, Config: p.Config, Property: p.Property,
		Message: p.Message, Events: len(p.Events), Decisive: p.Decisive + 1,
		Summary: Summary(p.Property, p.Message), ReplayCommand: p.ReplayCommand, HistoryHTML: p.HistoryHTML,
		Style: template.CSS(pageCSS), Script: template.JS(pageJS)}
	if v.Title == "" {
		v.Title = "rdmasim counterexample"
	}
	for _, c := range p.Choices {
		if c != "" {
			v.Decisions++
		}
	}
	name := func(id int) string {
		if id >= 0 && id < len(p.Names) {
			return p.Names[id]
		}
		return fmt.Sprintf("t%d", id)
	}

	// Lanes: every named thread, every thread that has an event, and the NIC of
	// every node a NIC event touches. When thread names say their node
	// ("n1/t0"), each node's threads are followed by its NIC.
	threads := make([]int, len(p.Names))
	for i := range threads {
		threads[i] = i
	}
	var nics []int
	for _, ev := range p.Events {
		if ev.Kind.isNIC() {
			if n := ev.Addr.Node(); !slices.Contains(nics, n) {
				nics = append(nics, n)
			}
		} else if !slices.Contains(threads, ev.Thread) {
			threads = append(threads, ev.Thread)
		}
	}
	slices.Sort(threads)
	slices.Sort(nics)
	type laneKey struct {
		nic bool
		id  int // thread id or node
	}
	var order []laneKey
	nodeOf := make(map[int]int, len(threads))
	byNode := true
	for _, t := range threads {
		var n int
		var rest string
		if k, _ := fmt.Sscanf(name(t), "n%d/%s", &n, &rest); k != 2 {
			byNode = false
			break
		}
		nodeOf[t] = n
	}
	if byNode {
		nodes := slices.Clone(nics)
		for _, t := range threads {
			if !slices.Contains(nodes, nodeOf[t]) {
				nodes = append(nodes, nodeOf[t])
			}
		}
		slices.Sort(nodes)
		for _, n := range nodes {
			for _, t := range threads {
				if nodeOf[t] == n {
					order = append(order, laneKey{false, t})
				}
			}
			if slices.Contains(nics, n) {
				order = append(order, laneKey{true, n})
			}
		}
	} else {
		for _, t := range threads {
			order = append(order, laneKey{false, t})
		}
		for _, n := range nics {
			order = append(order, laneKey{true, n})
		}
	}
	laneOf := make(map[laneKey]int, len(order))
	for i, k := range order {
		laneOf[k] = i
		if k.nic {
			v.Lanes = append(v.Lanes, laneView{Name: fmt.Sprintf("NIC n%d", k.id), Sub: fmt.Sprintf("verbs executed on node %d", k.id), NIC: true})
		} else {
			v.Lanes = append(v.Lanes, laneView{Name: name(k.id), Sub: fmt.Sprintf("thread %d", k.id), Color: threadColor(k.id)})
		}
	}

	spans := atomicSpans(p.Events)
	v.Spans = len(spans)
	slots := 0
	for _, sp := range spans {
		slots = max(slots, sp.Slot+1)
	}
	// The gutter between the row numbers and the lanes holds the brackets.
	v.Gutter = template.CSS(fmt.Sprintf("width:%dpx", 6+10*slots))
	if slots == 0 {
		v.Gutter = "width:0"
	}
	halves := make(map[int]int, 2*len(spans)) // row → span index, for both halves
	for k, sp := range spans {
		halves[sp.From] = k
		if sp.To >= 0 {
			halves[sp.To] = k
		}
	}

	mem := make(map[rdma.Ptr]uint64) // the words' values in memory, as far as the trace tells
	var text strings.Builder
	for i, ev := range p.Events {
		line := fmt.Sprintf("%4d  %s", i+1, ev.format(p.Names, p.Nodes))
		text.WriteString(line)
		text.WriteByte('\n')
		e := &eventView{Kind: ev.Kind.String(), Color: threadColor(ev.Thread), Note: ev.Note,
			Violation: i == len(p.Events)-1, Decisive: i == p.Decisive}
		switch {
		case ev.Kind == CPU:
			e.Class = "cpu"
		case ev.Kind.isNIC():
			e.Class = "nic"
			e.Issuer = name(ev.Thread)
		case ev.Kind == Mark:
			e.Class = "mark"
			switch {
			case strings.HasPrefix(ev.Note, "cs-enter"):
				e.Class += " enter"
			case strings.HasPrefix(ev.Note, "cs-exit"):
				e.Class += " exit"
			}
		case ev.Kind == Park || ev.Kind == Wake:
			e.Class = "sleep"
		default:
			e.Class = "other"
		}
		if ev.Op != rdma.OpNone {
			e.Op = ev.Op.String()
		}
		if ev.Addr != 0 {
			e.Addr = ev.Addr.String()
			e.Label = ev.Label
		}
		if ev.HasRead {
			e.HasRead, e.Read = true, FormatValue(ev.Read, p.Nodes)
		}
		if ev.HasWrite {
			e.HasWrite, e.Wrote = true, FormatValue(ev.Wrote, p.Nodes)
		}
		key := laneKey{false, ev.Thread}
		if ev.Kind.isNIC() {
			key = laneKey{true, ev.Addr.Node()}
		}
		row := rowView{N: i + 1, Line: strings.TrimSpace(line), Violation: e.Violation, Decisive: e.Decisive,
			Cells: make([]cellView, len(v.Lanes))}
		if p.Choices != nil {
			row.Choice = p.Choices[i]
		}
		for i, l := range v.Lanes {
			row.Cells[i].NIC = l.NIC
		}

		// The spans of NIC atomics that cover the row: a bracket in the gutter,
		// a connector in the lane of the NIC, a tint on the rows in between.
		for k, sp := range spans {
			end := sp.To
			if end < 0 {
				end = len(p.Events) - 1
			}
			if i < sp.From || i > end {
				continue
			}
			what := fmt.Sprintf("%s's %s on %s", name(sp.Thread), sp.Op, wordName(sp.Addr, p.Events[sp.From].Label))
			b := barView{Span: k + 1, Slot: sp.Slot, Part: "mid", Color: threadColor(sp.Thread),
				Style: template.CSS(fmt.Sprintf("left:%dpx", 3+10*sp.Slot))}
			switch {
			case i == sp.From:
				b.Part = "start"
			case i == sp.To:
				b.Part = "end"
			case sp.To < 0 && i == end:
				b.Part = "open"
			}
			if sp.To >= 0 {
				b.Title = fmt.Sprintf("events %d–%d: the NIC's read and write of %s; everything between them lands inside it", sp.From+1, sp.To+1, what)
			} else {
				b.Title = fmt.Sprintf("from event %d: the NIC's read of %s; its write had not happened when the trace ends", sp.From+1, what)
			}
			row.Bars = append(row.Bars, b)
			if nic, ok := laneOf[laneKey{true, sp.Addr.Node()}]; ok {
				row.Cells[nic].Bars = append(row.Cells[nic].Bars, b)
			}
			if i != sp.From && i != sp.To && !row.InSpan {
				row.InSpan, row.Tint = true, threadColor(sp.Thread)
				if ev.Addr == sp.Addr && (ev.HasRead || ev.HasWrite) {
					e.Inside = fmt.Sprintf("lands inside %s (events %d–%d)", what, sp.From+1, end+1)
				}
			}
		}
		if k, ok := halves[i]; ok {
			sp := spans[k]
			e.Span = k + 1
			if i == sp.From {
				e.Half = "1st half"
				if sp.To >= 0 {
					e.HalfNote = fmt.Sprintf("the NIC's read; its write is event %d", sp.To+1)
				} else {
					e.HalfNote = "its write had not happened when the trace ends"
				}
			} else {
				e.Half = "2nd half"
				e.HalfNote = fmt.Sprintf("the NIC's write; its read was event %d", sp.From+1)
			}
		}
		row.Mem = memAfter(mem, ev, p.Nodes)
		row.Cells[laneOf[key]].Ev = e
		v.Rows = append(v.Rows, row)
	}
	v.Text = text.String()
	return v, nil
}

// atomicSpans pairs the two halves of every NIC atomic: a nic-atomic-read
// and the next nic-atomic-write of the same thread, word and operation. Each
// span gets the first gutter slot no span overlapping it has.
func atomicSpans(events []Event) []atomicSpan {
	var spans []atomicSpan
	for i, ev := range events {
		if ev.Kind != NICAtomicRead {
			continue
		}
		sp := atomicSpan{From: i, To: -1, Thread: ev.Thread, Addr: ev.Addr, Op: ev.Op}
		for j := i + 1; j < len(events); j++ {
			w := events[j]
			if w.Thread != ev.Thread || w.Addr != ev.Addr || w.Op != ev.Op {
				continue
			}
			if w.Kind == NICAtomicWrite {
				sp.To = j
			}
			if w.Kind == NICAtomicWrite || w.Kind == NICAtomicRead {
				break
			}
		}
		spans = append(spans, sp)
	}
	last := func(sp atomicSpan) int {
		if sp.To < 0 {
			return len(events) - 1
		}
		return sp.To
	}
	for k := range spans {
		used := map[int]bool{}
		for _, o := range spans[:k] {
			if last(o) >= spans[k].From {
				used[o.Slot] = true
			}
		}
		for used[spans[k].Slot] {
			spans[k].Slot++
		}
	}
	return spans
}

// memAfter tracks memory through the trace: it applies ev to mem and returns
// the value of the word ev touched after it, or nil if ev touched no word's
// value. A word is known from its first read or write in the trace (a word
// never written before holds the value read). Stores into a TSO store buffer
// and loads from one leave memory as it was.
func memAfter(mem map[rdma.Ptr]uint64, ev Event, nodes int) *memView {
	if ev.Addr == 0 || !(ev.HasRead || ev.HasWrite) {
		return nil
	}
	m := &memView{Word: wordName(ev.Addr, ev.Label), Addr: ev.Addr.String()}
	old, known := mem[ev.Addr]
	switch {
	case strings.HasPrefix(ev.Note, "into its store buffer"):
		m.Note = "store buffered, memory unchanged"
	case strings.HasPrefix(ev.Note, "from its store buffer"):
		m.Note = "read from the store buffer"
	case ev.HasWrite:
		mem[ev.Addr] = ev.Wrote
		m.Changed = !known || old != ev.Wrote
		if known && old != ev.Wrote {
			m.Was = FormatValue(old, nodes)
		} else if known {
			m.Note = "rewritten with the value it had"
		}
	case !known:
		mem[ev.Addr] = ev.Read
	}
	if v, ok := mem[ev.Addr]; ok {
		m.Value = FormatValue(v, nodes)
	} else if m.Note == "" {
		m.Note = "not known"
	}
	return m
}

// wordName names a word by its label, else by its address.
func wordName(p rdma.Ptr, label string) string {
	if label != "" {
		return label
	}
	return p.String()
}

// Summary says in one plain sentence what went wrong, from the property broken
// and the finding's message.
func Summary(property, message string) string {
	message = strings.TrimSpace(message)
	if m := mutexMessage.FindStringSubmatch(message); property == "mutual exclusion" && m != nil {
		return fmt.Sprintf("Two threads held the lock at once: %s entered its critical section while %s held it.", m[1], m[2])
	}
	lead, ok := summaryLeads[property]
	switch {
	case property == "" && message == "":
		return ""
	case property == "":
		return sentence(message)
	case !ok:
		lead = fmt.Sprintf("The property %q broke", property)
	}
	if property == "linearizability" {
		message = strings.TrimPrefix(message, "the lock history is not linearizable: ")
	}
	if message == "" {
		return lead + "."
	}
	return sentence(lead + ": " + message)
}

var mutexMessage = regexp.MustCompile(`^(\S+) enters the critical section while (\S+) holds the lock$`)

// summaryLeads open the sentence of each property the checker reports.
var summaryLeads = map[string]string{
	"mutual exclusion": "Two threads held the lock at once",
	"lost update":      "An update made in a critical section was lost",
	"deadlock":         "The threads got stuck: none of them can move",
	"step bound":       "The run never finished",
	"starvation":       "A thread never got the lock",
	"bypass bound":     "A waiting thread was overtaken too many times",
	"linearizability":  "No correct lock could have produced this history",
	"misuse":           "The algorithm broke a rule of the programming model",
	"panic":            "The algorithm's code crashed",
}

// sentence capitalizes s and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

// threadColor gives thread id its colour, as CSS custom properties: the same
// thread has the same colour on every page. The first eight hues are far apart
// and avoid bright red and amber, which mark the violation and the decisive
// decision (hue 25 at this lightness is a dark brown).
func threadColor(id int) template.CSS {
	hues := [...]int{212, 140, 290, 25, 180, 330, 250, 90}
	h := (id * 47) % 360
	if id >= 0 && id < len(hues) {
		h = hues[id]
	} else if h < 0 {
		h += 360
	}
	return template.CSS(fmt.Sprintf("--c:hsl(%d 60%% 38%%);--bg:hsl(%d 70%% 96%%)", h, h))
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rdmasim">
<title>{{.Title}}</title>
<style>{{.Style}}</style>
</head>
<body>
<header class="banner">
<div class="verdict">{{if .Property}}&#x2716; violation: <b>{{.Property}}</b>{{else}}counterexample{{end}}</div>
{{with .Summary}}<p class="summary" id="summary">{{.}}</p>{{end}}
{{with .Message}}<div class="message">finding: {{.}}</div>{{end}}
<div class="meta">{{with .Algorithm}}algorithm <b>{{.}}</b> &middot; {{end}}{{with .Config}}configuration <code>{{.}}</code> &middot; {{end}}{{.Events}} events{{if .Events}} (<a href="#e{{.Events}}">jump to the last</a>){{end}}{{if .Decisions}} &middot; {{.Decisions}} scheduling decisions{{end}}</div>
{{if or .ReplayCommand .HistoryHTML}}<div class="meta links">{{with .ReplayCommand}}reproduce: <code class="cmd" id="replay-command">{{.}}</code>{{end}}{{if and .ReplayCommand .HistoryHTML}} &middot; {{end}}{{with .HistoryHTML}}<a class="history" href="{{.}}">lock history (acquire/release intervals) &rarr;</a>{{end}}</div>{{end}}
</header>
<section class="legend" aria-label="legend">
<span class="item"><span class="sw sw-violation"></span>violation: where the property broke (the last event)</span>
<span class="item"><span class="sw sw-decisive"></span>&#x2605; decisive: the scheduling decision that made the difference{{if .Decisive}} (event {{.Decisive}}){{else}} (not determined for this trace){{end}}</span>
<span class="item"><span class="chip">choice k of n</span>a scheduling decision picked this event: option k of the n steps enabled there</span>
<span class="item"><span class="sw sw-cpu"></span>CPU operation, in its thread's lane</span>
<span class="item"><span class="sw sw-nic"></span>NIC event: in the lane of the NIC that executes it, tagged with the thread that posted the verb</span>
{{if .Spans}}<span class="item"><span class="sw sw-span"></span>one NIC atomic: its read and its write joined by a bracket; rows inside it happened between the two halves</span>
{{end}}<span class="item"><span class="sw sw-mark"></span>critical section entered / left</span>
<span class="item"><span class="sw sw-sleep"></span>thread parks / wakes</span>
<span class="item"><span class="memsw">x = 1</span>memory after the event: the value of the word it touched</span>
<span class="item hint">Hover a row for its text-trace line. Click an event (or Tab to it and press Enter) to highlight every event on the same word; Esc clears.</span>
<span class="item status" id="status" aria-live="polite"></span>
</section>
<main>
<table class="trace">
<colgroup><col class="num"><col class="gutter" style="{{.Gutter}}">{{range .Lanes}}<col>{{end}}<col class="memcol"></colgroup>
<thead><tr><th class="num">#</th><th class="gutter" aria-hidden="true"></th>{{range .Lanes}}<th class="{{if .NIC}}lane-nic{{else}}lane-thread{{end}}"{{with .Color}} style="{{.}}"{{end}}><span class="lane-name">{{.Name}}</span><span class="lane-sub">{{.Sub}}</span></th>{{end}}<th class="mem"><span class="mem-name">memory after</span><span class="lane-sub">the word the event touched</span></th></tr></thead>
<tbody>
{{range .Rows}}<tr id="e{{.N}}" class="row{{if .Violation}} violation{{end}}{{if .Decisive}} decisive{{end}}" title="{{.Line}}"{{if .InSpan}} data-inspan="1"{{end}}{{with .Tint}} style="{{.}}"{{end}}><td class="num"><span class="n">{{if .Decisive}}&#x2605; {{end}}{{.N}}</span>{{with .Choice}}<span class="chip">{{.}}</span>{{end}}</td><td class="gutter">{{range .Bars}}{{template "bar" .}}{{end}}</td>{{range .Cells}}<td class="cell{{if .NIC}} nic{{end}}{{if .Bars}} spanned{{end}}">{{range .Bars}}{{template "bar" .}}{{end}}{{with .Ev}}{{template "event" .}}{{end}}</td>{{end}}<td class="mem">{{with .Mem}}{{template "mem" .}}{{end}}</td></tr>
{{end}}</tbody>
</table>
</main>
<details class="text">
<summary>Text trace</summary>
<pre>{{.Text}}</pre>
</details>
<script>{{.Script}}</script>
</body>
</html>
{{define "bar"}}<span class="bar {{.Part}}" data-span="{{.Span}}" style="{{.Color}};{{.Style}}" title="{{.Title}}"></span>{{end}}
{{define "mem"}}<div class="memval{{if .Changed}} changed{{end}}" data-addr="{{.Addr}}"><span class="mw">{{.Word}}</span>{{with .Value}} = <b class="v">{{.}}</b>{{end}}{{with .Was}} <span class="was">was {{.}}</span>{{end}}{{with .Note}} <span class="mnote">{{.}}</span>{{end}}</div>{{end}}
{{define "event"}}<div class="ev {{.Class}}{{if .Span}} half{{end}}" style="{{.Color}}"{{with .Addr}} data-addr="{{.}}"{{end}}{{with .Span}} data-span="{{.}}"{{end}} tabindex="0">
<div class="top"><span class="kind">{{.Kind}}</span>{{with .Issuer}}<span class="issuer">{{.}}</span>{{end}}{{with .Half}}<span class="half-tag">{{.}}</span>{{end}}{{if .Violation}}<span class="tag tag-violation">&#x2716; violation</span>{{end}}{{if .Decisive}}<span class="tag tag-decisive">&#x2605; decisive</span>{{end}}</div>
{{if or .Op .Addr .HasRead .HasWrite}}<div class="what">{{with .Op}}<b class="op">{{.}}</b>{{end}}{{with .Addr}}<span class="addr">{{.}}</span>{{end}}{{with .Label}}<span class="label">{{.}}</span>{{end}}{{if .HasRead}}<span class="rd">read <b>{{.Read}}</b></span>{{end}}{{if .HasWrite}}<span class="wr">wrote <b>{{.Wrote}}</b></span>{{end}}</div>{{end}}
{{with .Note}}<div class="note">{{.}}</div>{{end}}
{{with .HalfNote}}<div class="halfnote">{{.}}</div>{{end}}
{{with .Inside}}<div class="inside">&#x26A0; {{.}}</div>{{end}}
</div>{{end}}
`))

const pageCSS = `
:root { --red:#c62828; --red-bg:#fdecea; --amber:#d99a00; --amber-bg:#fff6d6; --line:#d7dbe0; --muted:#5f6b7a; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2430; background: #f6f7f9; }
code, .addr, .op, .kind, .chip, pre, .num { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.banner { background: var(--red); color: #fff; padding: 12px 18px; }
.banner .verdict { font-size: 20px; }
.banner .summary { font-size: 17px; font-weight: 600; margin: 6px 0 2px; max-width: 70em; }
.banner .message { font-size: 13px; margin-top: 2px; opacity: .9; }
.banner code.cmd { user-select: all; font-size: 13px; }
.banner .links { margin-top: 4px; }
.banner .meta { margin-top: 6px; opacity: .92; }
.banner a { color: #fff; }
.banner code { background: rgba(255,255,255,.16); padding: 1px 5px; border-radius: 3px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 8px 18px; background: #fff; border-bottom: 1px solid var(--line); color: var(--muted); }
.legend .item { display: inline-flex; align-items: center; gap: 6px; }
.legend .hint { flex-basis: 100%; }
.legend .status { color: #1d2430; font-weight: 600; }
.sw { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 1px solid #9aa3ad; }
.sw-violation { background: var(--red-bg); border: 2px solid var(--red); }
.sw-decisive { background: var(--amber-bg); border: 2px solid var(--amber); }
.sw-cpu { background: #fff; border: 1px solid #9aa3ad; border-left: 4px solid #3b6fb6; }
.sw-nic { background: repeating-linear-gradient(135deg, #fff 0 3px, #eef1f4 3px 6px); border: 1px dashed #3b6fb6; border-left: 4px solid #3b6fb6; }
.sw-span { width: 9px; border: 0; border-radius: 0; border-left: 4px solid #3b6fb6; border-top: 3px solid #3b6fb6; border-bottom: 3px solid #3b6fb6; }
.memsw { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 11px; color: #1d2430; background: #fff; border: 1px solid #b8c2cc; border-radius: 3px; padding: 0 4px; }
.sw-mark { background: #e3f4e6; border: 1px solid #2e7d32; }
.sw-sleep { background: #f0f1f3; border: 1px dotted #9aa3ad; }
main { padding: 0 10px 12px; }
table.trace { width: 100%; border-collapse: separate; border-spacing: 0; table-layout: fixed; }
col.num { width: 7.5em; }
col.memcol { width: 15em; }
th.gutter, td.gutter { padding: 0; border-left: 0; position: relative; }
th.mem { color: #39424d; border-top: 4px solid #9aa3ad; }
td.mem { padding: 6px 8px 2px; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; overflow-wrap: anywhere; }
.memval .mw { color: #7a4b00; font-style: italic; }
.memval .v { font-weight: 700; padding: 0 3px; border-radius: 3px; }
.memval.changed .v { color: #fff; background: #a83232; }
.memval .was, .memval .mnote { color: var(--muted); font-size: 11px; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.memval.same { outline: 3px solid #1565c0; outline-offset: 1px; }
td.cell.spanned { position: relative; padding-left: 18px; }
.bar { position: absolute; top: 0; bottom: 0; width: 4px; background: var(--c); pointer-events: auto; }
.bar.start { top: 15px; width: 14px; background: none; border-left: 4px solid var(--c); border-top: 3px solid var(--c); border-top-left-radius: 5px; }
.bar.end { bottom: auto; height: 18px; width: 14px; background: none; border-left: 4px solid var(--c); border-bottom: 3px solid var(--c); border-bottom-left-radius: 5px; }
.bar.open { background: repeating-linear-gradient(to bottom, var(--c) 0 5px, transparent 5px 9px); }
td.gutter .bar.start, td.gutter .bar.end { width: 8px; }
th { position: sticky; top: 0; z-index: 2; background: #fff; text-align: left; padding: 6px 8px; border-bottom: 2px solid var(--line); }
th.lane-thread { border-top: 4px solid var(--c); color: var(--c); }
th.lane-nic { border-top: 4px solid #6b7785; background: #eef1f4; color: #39424d; }
.lane-name, .mem-name { display: block; font-size: 14px; font-weight: 700; }
.lane-sub { display: block; font-size: 11px; font-weight: 400; color: var(--muted); }
th.num { color: var(--muted); font-weight: 400; }
td { padding: 2px 6px; vertical-align: top; border-left: 1px solid var(--line); }
td.num { border-left: 0; text-align: right; color: var(--muted); padding: 6px 8px 2px 0; white-space: nowrap; }
td.num .n { display: block; font-size: 13px; }
td.num .chip { display: inline-block; margin-top: 2px; }
td.cell.nic { background-color: #f1f3f6; }
tr[data-inspan] td { background-color: var(--bg); }
tr.violation td { background-color: var(--red-bg); }
tr.violation td.num { color: var(--red); font-weight: 700; }
tr.decisive td { background-color: var(--amber-bg); }
tr.decisive td.num { color: #8a6100; font-weight: 700; }
tr.row:hover td { background-color: #eaf1fb; }
.ev { position: relative; background: var(--bg); border: 1px solid #c9ced6; border-left: 4px solid var(--c); border-radius: 4px; padding: 3px 7px 4px; margin: 2px 0; cursor: pointer; overflow-wrap: anywhere; }
.ev.nic { background: repeating-linear-gradient(135deg, #fff 0 6px, #f3f5f8 6px 12px); border-style: dashed; border-left-style: solid; }
.ev.mark { background: #e3f4e6; border-color: #8cc596; border-left-color: var(--c); }
.ev.mark .note { font-weight: 700; color: #1b5e20; }
.ev.mark.exit { background: #eef5ef; }
.ev.mark.exit .note { font-weight: 600; color: #2e6b33; }
.ev.sleep { background: #f0f1f3; border-style: dotted; color: var(--muted); font-style: italic; }
.ev .top { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 6px; }
.kind { font-size: 11px; color: var(--muted); }
.issuer { font-size: 11px; font-weight: 700; color: #fff; background: var(--c); border-radius: 8px; padding: 0 6px; }
.issuer::before { content: "from "; font-weight: 400; }
.chip { font-size: 10.5px; color: #34495e; background: #fff; border: 1px solid #b8c2cc; border-radius: 8px; padding: 0 5px; }
.tag { font-size: 11px; font-weight: 700; border-radius: 3px; padding: 0 5px; }
.tag-violation { color: #fff; background: var(--red); }
.tag-decisive { color: #4a3400; background: #ffd34d; }
.what { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 6px; margin-top: 1px; }
.what .rd, .what .wr { margin-left: 4px; }
.what .rd + .wr { margin-left: 0; }
.op { color: #111; }
.addr { color: #1d2430; }
.label { color: #7a4b00; font-style: italic; }
.label::before { content: "/*"; opacity: .5; font-style: normal; }
.label::after { content: "*/"; opacity: .5; font-style: normal; }
.rd { color: #1f5fa8; }
.wr { color: #a83232; }
.note { color: #3a4450; }
.half-tag { font-size: 10.5px; font-weight: 700; color: var(--c); background: #fff; border: 1.5px solid var(--c); border-radius: 8px; padding: 0 5px; }
.halfnote { font-size: 11px; color: var(--muted); }
.inside { margin-top: 2px; font-weight: 700; color: #8a1c1c; background: #fff0f0; border: 1px solid #e3a3a3; border-radius: 3px; padding: 1px 5px; }
tr.violation .ev { border: 2px solid var(--red); border-left: 6px solid var(--red); box-shadow: 0 0 0 3px rgba(198,40,40,.15); }
tr.violation .ev .note { color: var(--red); }
tr.decisive .ev { border: 2px solid var(--amber); border-left: 6px solid var(--amber); box-shadow: 0 0 0 3px rgba(217,154,0,.2); }
.ev.same { outline: 3px solid #1565c0; outline-offset: 1px; }
.ev:focus-visible { outline: 3px solid #1565c0; outline-offset: 1px; }
details.text { margin: 0 18px 18px; }
details.text summary { cursor: pointer; color: var(--muted); }
details.text pre { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 8px; overflow-x: auto; }
`

// pageJS highlights every event on the clicked event's word (and the word's
// values in the memory column), and marks the
// page as ready (data-ready="1" on body) once it has run.
const pageJS = `(function () {
  "use strict";
  var current = null;
  var status = document.getElementById("status");
  var events = document.querySelectorAll(".ev[data-addr]");
  var cells = document.querySelectorAll(".memval[data-addr]");
  function select(addr) {
    current = (addr && addr !== current) ? addr : null;
    var n = 0, label = "";
    for (var i = 0; i < events.length; i++) {
      var on = current !== null && events[i].getAttribute("data-addr") === current;
      events[i].classList.toggle("same", on);
      if (on) {
        n++;
        var l = events[i].querySelector(".label");
        if (l && !label) { label = " /*" + l.textContent + "*/"; }
      }
    }
    for (var j = 0; j < cells.length; j++) {
      cells[j].classList.toggle("same", current !== null && cells[j].getAttribute("data-addr") === current);
    }
    status.textContent = current === null ? "" : current + label + ": " + n + (n === 1 ? " event" : " events") + " on this word";
  }
  document.addEventListener("click", function (e) {
    var ev = e.target.closest ? e.target.closest(".ev[data-addr]") : null;
    if (ev) { select(ev.getAttribute("data-addr")); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { select(null); return; }
    var a = document.activeElement;
    if ((e.key === "Enter" || e.key === " ") && a && a.classList && a.classList.contains("ev") && a.hasAttribute("data-addr")) {
      e.preventDefault();
      select(a.getAttribute("data-addr"));
    }
  });
  document.body.setAttribute("data-ready", "1");
})();
`
