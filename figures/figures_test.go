package figures

import (
	"bytes"
	"encoding/xml"
	"image"
	_ "image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdmasim/rdmasim/bench"
)

// synth makes the rows of a grid with made-up throughputs and per-thread
// means.
func synth(g bench.Grid) []bench.Row {
	var rows []bench.Row
	for i, p := range g.Points() {
		base := map[string]float64{"alock": 3, "spin": 1, "mcs": 2}[p.Lock]
		tp := base * 1e6 * math.Sqrt(float64(p.Threads*p.Nodes)) * p.Local * (1 + float64(p.LocalBudget)/40 + float64(p.RemoteBudget)/100) * float64(max(p.Lanes, 1))
		m := bench.Measurement{Ops: int(tp / 100), Throughput: tp}
		for n := range p.Nodes {
			for t := range p.Threads {
				m.ThreadMeans = append(m.ThreadMeans, bench.ThreadMean{Node: n, Thread: t, Mean: 1000 * base * (1 + float64((n*7+t*3)%11)), Ops: 10})
			}
		}
		rows = append(rows, bench.Row{Index: i, Point: p, Measurement: m})
	}
	return rows
}

// checkFiles checks that prefix.svg is well-formed XML with an <svg> root
// and prefix.png decodes, and returns the SVG.
func checkFiles(t *testing.T, prefix string) []byte {
	t.Helper()
	svg, err := os.ReadFile(prefix + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s.svg is not XML: %v", prefix, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s.svg: root element %q", prefix, root)
	}
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil || format != "png" {
		t.Fatalf("%s.png: %v (%s)", prefix, err, format)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
		t.Errorf("%s.png: %v", prefix, b)
	}
	return svg
}

func TestFigures(t *testing.T) {
	dir := t.TempDir()
	grid := synth(bench.Grid{Locks: []string{"alock", "spin", "mcs"}, Nodes: []int{2, 4}, Keys: []int{20, 100},
		Locals: []float64{1, 0.9}, Threads: []int{2, 4, 8}, Duration: 1})
	ecdf := synth(bench.Grid{Locks: []string{"alock", "spin"}, Nodes: []int{4}, Keys: []int{20, 100},
		Locals: []float64{1, 0.9}, Threads: []int{4}, Duration: 1})
	budget := synth(bench.Grid{Locks: []string{"alock"}, Nodes: []int{4}, Threads: []int{4}, Keys: []int{20},
		LocalBudgets: []int{1, 5, 10, 20}, RemoteBudgets: []int{5, 20}, Locals: []float64{0.9}, Duration: 1})
	loop := synth(bench.Grid{Locks: []string{"alock", "spin", "mcs"}, Nodes: []int{1}, Threads: []int{2, 4, 8, 16}, Duration: 1})
	qps := synth(bench.Grid{Locks: []string{"alock", "mcs"}, Nodes: []int{2}, Threads: []int{4}, Lanes: []int{1, 2, 4}, Duration: 1})
	for _, f := range []struct {
		name string
		draw func(prefix string) error
	}{
		{"grid", func(p string) error { return ThroughputGrid(grid, p) }},
		{"ecdf", func(p string) error { return LatencyECDF(ecdf, 4, 4, p) }},
		{"budget", func(p string) error { return BudgetStudy(budget, p) }},
		{"loopback", func(p string) error { return Loopback(loop, p) }},
		{"qps", func(p string) error { return QPs(qps, p) }},
		{"compare", func(p string) error {
			a, b := make([]float64, 200), make([]float64, 150)
			for i := range a {
				a[i] = 1000 + float64(i*i%997)
			}
			for i := range b {
				b[i] = 1200 + float64(i*i%1009)
			}
			return ECDFCompare(a, b, "hardware", "simulator", "alock, 2 nodes", p)
		}},
	} {
		prefix := filepath.Join(dir, f.name)
		if err := f.draw(prefix); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		svg := checkFiles(t, prefix)
		// The same rows give the same SVG bytes.
		if err := f.draw(prefix + "-again"); err != nil {
			t.Fatal(err)
		}
		again, _ := os.ReadFile(prefix + "-again.svg")
		if !bytes.Equal(svg, again) {
			t.Errorf("%s: the SVG differs between two drawings of the same rows", f.name)
		}
		if os.Getenv("FIGURES_KEEP") != "" {
			os.Rename(prefix+".svg", filepath.Join(os.Getenv("FIGURES_KEEP"), f.name+".svg"))
			os.Rename(prefix+".png", filepath.Join(os.Getenv("FIGURES_KEEP"), f.name+".png"))
		}
	}
	// The panel titles and the legend are in the grid's SVG.
	svg, _ := os.ReadFile(filepath.Join(dir, "grid-again.svg"))
	for _, want := range []string{"2 nodes, 20 keys", "4 nodes, 100 keys", "p_local 0.9", "mcs"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("grid SVG has no %q", want)
		}
	}
}

func TestFigureErrors(t *testing.T) {
	dir := t.TempDir()
	rows := synth(bench.Grid{Locks: []string{"alock"}, Nodes: []int{2}, Threads: []int{2}, Seeds: []int64{1, 2}, Duration: 1})
	if err := ThroughputGrid(rows, filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "two rows for one point") {
		t.Errorf("duplicate rows: %v", err)
	}
	if err := ThroughputGrid(nil, filepath.Join(dir, "x")); err == nil {
		t.Error("no rows: no error")
	}
	rows[0].Measurement.ThreadMeans = nil
	if err := LatencyECDF(rows[:1], 2, 2, filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "no per-thread means") {
		t.Errorf("no thread means: %v", err)
	}
	if err := LatencyECDF(rows, 20, 8, filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "no rows of 20 nodes × 8 threads") {
		t.Errorf("no rows: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.svg")); err == nil {
		t.Error("a failed figure left a file")
	}
}
