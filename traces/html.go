package traces

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
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
	f, err := os.CreateTemp(dir, ".page-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// The page as the template sees it.
type pageView struct {
	Title, Algorithm, Config, Property, Message string
	Lanes                                       []laneView
	Rows                                        []rowView
	Events, Decisions                           int
	Decisive                                    int // row number, 0 if none
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
	Choice              string     // "choice k of n", if a decision picked the event
	Cells               []cellView // one per lane
}

type cellView struct {
	NIC bool       // the cell is in a NIC's lane
	Ev  *eventView // nil but in the event's lane
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

	var text strings.Builder
	for i, ev := range p.Events {
		line := fmt.Sprintf("%4d  %s", i+1, ev.Format(p.Names))
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
			e.HasRead, e.Read = true, value(ev.Read)
		}
		if ev.HasWrite {
			e.HasWrite, e.Wrote = true, value(ev.Wrote)
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
		row.Cells[laneOf[key]].Ev = e
		v.Rows = append(v.Rows, row)
	}
	v.Text = text.String()
	return v, nil
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
{{with .Message}}<div class="message">{{.}}</div>{{end}}
<div class="meta">{{with .Algorithm}}algorithm <b>{{.}}</b> &middot; {{end}}{{with .Config}}configuration <code>{{.}}</code> &middot; {{end}}{{.Events}} events{{if .Events}} (<a href="#e{{.Events}}">jump to the last</a>){{end}}{{if .Decisions}} &middot; {{.Decisions}} scheduling decisions{{end}}</div>
</header>
<section class="legend" aria-label="legend">
<span class="item"><span class="sw sw-violation"></span>violation: where the property broke (the last event)</span>
<span class="item"><span class="sw sw-decisive"></span>&#x2605; decisive: the scheduling decision that made the difference{{if .Decisive}} (event {{.Decisive}}){{else}} (not determined for this trace){{end}}</span>
<span class="item"><span class="chip">choice k of n</span>a scheduling decision picked this event: option k of the n steps enabled there</span>
<span class="item"><span class="sw sw-cpu"></span>CPU operation, in its thread's lane</span>
<span class="item"><span class="sw sw-nic"></span>NIC event: in the lane of the NIC that executes it, tagged with the thread that posted the verb</span>
<span class="item"><span class="sw sw-mark"></span>critical section entered / left</span>
<span class="item"><span class="sw sw-sleep"></span>thread parks / wakes</span>
<span class="item hint">Hover a row for its text-trace line. Click an event (or Tab to it and press Enter) to highlight every event on the same word; Esc clears.</span>
<span class="item status" id="status" aria-live="polite"></span>
</section>
<main>
<table class="trace">
<colgroup><col class="num">{{range .Lanes}}<col>{{end}}</colgroup>
<thead><tr><th class="num">#</th>{{range .Lanes}}<th class="{{if .NIC}}lane-nic{{else}}lane-thread{{end}}"{{with .Color}} style="{{.}}"{{end}}><span class="lane-name">{{.Name}}</span><span class="lane-sub">{{.Sub}}</span></th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr id="e{{.N}}" class="row{{if .Violation}} violation{{end}}{{if .Decisive}} decisive{{end}}" title="{{.Line}}"><td class="num"><span class="n">{{if .Decisive}}&#x2605; {{end}}{{.N}}</span>{{with .Choice}}<span class="chip">{{.}}</span>{{end}}</td>{{range .Cells}}<td class="cell{{if .NIC}} nic{{end}}">{{with .Ev}}{{template "event" .}}{{end}}</td>{{end}}</tr>
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
{{define "event"}}<div class="ev {{.Class}}" style="{{.Color}}"{{with .Addr}} data-addr="{{.}}"{{end}} tabindex="0">
<div class="top"><span class="kind">{{.Kind}}</span>{{with .Issuer}}<span class="issuer">{{.}}</span>{{end}}{{if .Violation}}<span class="tag tag-violation">&#x2716; violation</span>{{end}}{{if .Decisive}}<span class="tag tag-decisive">&#x2605; decisive</span>{{end}}</div>
{{if or .Op .Addr .HasRead .HasWrite}}<div class="what">{{with .Op}}<b class="op">{{.}}</b>{{end}}{{with .Addr}}<span class="addr">{{.}}</span>{{end}}{{with .Label}}<span class="label">{{.}}</span>{{end}}{{if .HasRead}}<span class="rd">read <b>{{.Read}}</b></span>{{end}}{{if .HasWrite}}<span class="wr">wrote <b>{{.Wrote}}</b></span>{{end}}</div>{{end}}
{{with .Note}}<div class="note">{{.}}</div>{{end}}
</div>{{end}}
`))

const pageCSS = `
:root { --red:#c62828; --red-bg:#fdecea; --amber:#d99a00; --amber-bg:#fff6d6; --line:#d7dbe0; --muted:#5f6b7a; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2430; background: #f6f7f9; }
code, .addr, .op, .kind, .chip, pre, .num { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.banner { background: var(--red); color: #fff; padding: 12px 18px; }
.banner .verdict { font-size: 20px; }
.banner .message { font-size: 15px; margin-top: 2px; }
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
.sw-mark { background: #e3f4e6; border: 1px solid #2e7d32; }
.sw-sleep { background: #f0f1f3; border: 1px dotted #9aa3ad; }
main { padding: 0 10px 12px; }
table.trace { width: 100%; border-collapse: separate; border-spacing: 0; table-layout: fixed; }
col.num { width: 7.5em; }
th { position: sticky; top: 0; z-index: 2; background: #fff; text-align: left; padding: 6px 8px; border-bottom: 2px solid var(--line); }
th.lane-thread { border-top: 4px solid var(--c); color: var(--c); }
th.lane-nic { border-top: 4px solid #6b7785; background: #eef1f4; color: #39424d; }
.lane-name { display: block; font-size: 14px; font-weight: 700; }
.lane-sub { display: block; font-size: 11px; font-weight: 400; color: var(--muted); }
th.num { color: var(--muted); font-weight: 400; }
td { padding: 2px 6px; vertical-align: top; border-left: 1px solid var(--line); }
td.num { border-left: 0; text-align: right; color: var(--muted); padding: 6px 8px 2px 0; white-space: nowrap; }
td.num .n { display: block; font-size: 13px; }
td.num .chip { display: inline-block; margin-top: 2px; }
td.cell.nic { background-color: #f1f3f6; }
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
tr.violation .ev { border: 2px solid var(--red); border-left: 6px solid var(--red); box-shadow: 0 0 0 3px rgba(198,40,40,.15); }
tr.violation .ev .note { color: var(--red); }
tr.decisive .ev { border: 2px solid var(--amber); border-left: 6px solid var(--amber); box-shadow: 0 0 0 3px rgba(217,154,0,.2); }
.ev.same { outline: 3px solid #1565c0; outline-offset: 1px; }
.ev:focus-visible { outline: 3px solid #1565c0; outline-offset: 1px; }
details.text { margin: 0 18px 18px; }
details.text summary { cursor: pointer; color: var(--muted); }
details.text pre { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 8px; overflow-x: auto; }
`

// pageJS highlights every event on the clicked event's word, and marks the
// page as ready (data-ready="1" on body) once it has run.
const pageJS = `(function () {
  "use strict";
  var current = null;
  var status = document.getElementById("status");
  var events = document.querySelectorAll(".ev[data-addr]");
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
