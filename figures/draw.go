package figures

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/rdmasim/rdmasim/bench"
	"github.com/rdmasim/rdmasim/traces"
)

// PNGDPI is the resolution of the PNG files.
const PNGDPI = 120

// save draws a figure of w × h twice, as <prefix>.svg and <prefix>.png,
// each written atomically.
func save(prefix string, w, h vg.Length, paint func(dc draw.Canvas)) error {
	svg := vgsvg.New(w, h)
	paint(draw.New(svg))
	if err := traces.WriteFile(prefix+".svg", func(out io.Writer) error {
		_, err := svg.WriteTo(out)
		return err
	}); err != nil {
		return err
	}
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(PNGDPI), vgimg.UseBackgroundColor(color.White))
	paint(draw.New(img))
	return traces.WriteFile(prefix+".png", func(out io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(out)
		return err
	})
}

// palette gives each lock its colour: the locks in sorted order take the
// palette's colours in turn, so a lock has the same colour in every panel
// of a figure.
type palette map[string]color.Color

func newPalette(names []string) palette {
	p := palette{}
	for i, n := range sorted(names) {
		p[n] = lockColors[i%len(lockColors)]
	}
	return p
}

// lockColors are twelve colours told apart in print and by most colour-blind
// readers: the first eight are Okabe and Ito's palette (its black as a grey,
// its yellow darkened to read on white).
var lockColors = []color.Color{
	color.RGBA{0xd5, 0x5e, 0x00, 0xff}, // vermillion
	color.RGBA{0x00, 0x72, 0xb2, 0xff}, // blue
	color.RGBA{0x00, 0x9e, 0x73, 0xff}, // bluish green
	color.RGBA{0xcc, 0x79, 0xa7, 0xff}, // reddish purple
	color.RGBA{0xe6, 0x9f, 0x00, 0xff}, // orange
	color.RGBA{0x56, 0xb4, 0xe9, 0xff}, // sky blue
	color.RGBA{0x80, 0x80, 0x80, 0xff}, // grey
	color.RGBA{0xb8, 0xa9, 0x00, 0xff}, // dark yellow
	color.RGBA{0x5d, 0x3a, 0x9b, 0xff}, // purple
	color.RGBA{0x8c, 0x51, 0x0a, 0xff}, // brown
	color.RGBA{0x1b, 0x1b, 0x1b, 0xff}, // near black
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, // green
}

// sorted returns the distinct values of s, sorted.
func sorted[T int | float64 | string](s []T) []T {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func distinct[T int | float64 | string](rows []bench.Row, f func(bench.Row) T) []T {
	var out []T
	for _, r := range rows {
		out = append(out, f(r))
	}
	return sorted(out)
}

// curve is one line of a panel: its points, sorted by x.
type curve struct {
	xy plotter.XYs
}

// curves groups rows into lines by line(r), x(r) and y(r) giving each point;
// two rows with the same line and x are an error (the figure would hide one).
func curves(rows []bench.Row, line func(bench.Row) string, x, y func(bench.Row) float64) (map[string]*curve, error) {
	out := map[string]*curve{}
	seen := map[string]bench.Point{}
	for _, r := range rows {
		name := line(r)
		at := fmt.Sprintf("%s@%v", name, x(r))
		if prev, ok := seen[at]; ok {
			return nil, fmt.Errorf("two rows for one point of the figure: %s and %s (filter the rows first)", prev, r.Point)
		}
		seen[at] = r.Point
		c := out[name]
		if c == nil {
			c = &curve{}
			out[name] = c
		}
		c.xy = append(c.xy, plotter.XY{X: x(r), Y: y(r)})
	}
	for _, c := range out {
		sort.SliceStable(c.xy, func(i, j int) bool { return c.xy[i].X < c.xy[j].X })
	}
	return out, nil
}

// addLine draws xy with colour c and dash pattern dashes, with a dot at each
// point.
func addLine(p *plot.Plot, xy plotter.XYs, c color.Color, dashes []vg.Length) error {
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	l.Color, l.Dashes, l.Width = c, dashes, vg.Points(1.2)
	s.Color, s.Shape, s.Radius = c, draw.CircleGlyph{}, vg.Points(1.8)
	p.Add(l, s)
	return nil
}

// mops is the throughput of r in millions of operations per second.
func mops(r bench.Row) float64 { return r.Measurement.Throughput / 1e6 }

// newPlot is a plot with the common look: a light grid, y from 0 unless
// told otherwise.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
	return p
}

// legendEntry is one line of a legend: a name, a colour, a dash pattern.
type legendEntry struct {
	name   string
	color  color.Color
	dashes []vg.Length
}

// drawLegend draws entries stacked from the top left of c.
func drawLegend(c draw.Canvas, title string, entries []legendEntry) {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = vg.Points(10)
	if title != "" {
		l.Add(title)
	}
	for _, e := range entries {
		ls := draw.LineStyle{Color: e.color, Width: vg.Points(1.5), Dashes: e.dashes}
		line := &plotter.Line{LineStyle: ls}
		l.Add(e.name, line)
	}
	l.Draw(c)
}

// grid draws plots in a grid of tiles, aligned, with a legend column on
// the right of legendWidth, and saves the figure.
func drawGrid(prefix string, plots [][]*plot.Plot, tileW, tileH, legendWidth vg.Length, legend func(draw.Canvas)) error {
	rows, cols := len(plots), len(plots[0])
	w := tileW*vg.Length(cols) + legendWidth
	h := tileH * vg.Length(rows)
	return save(prefix, w, h, func(dc draw.Canvas) {
		left := dc
		left.Max.X = dc.Max.X - legendWidth
		t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 3, PadY: vg.Millimeter * 3,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(plots, t, left)
		for j := range plots {
			for i := range plots[j] {
				if plots[j][i] != nil {
					plots[j][i].Draw(canvases[j][i])
				}
			}
		}
		right := dc
		right.Min.X = dc.Max.X - legendWidth + vg.Millimeter*2
		right.Max.Y = dc.Max.Y - vg.Millimeter*8
		legend(right)
	})
}

// ecdfLine returns the steps of the empirical CDF of sample, from 0.
func ecdfLine(xs, ys []float64) plotter.XYs {
	out := plotter.XYs{{X: xs[0], Y: 0}}
	for i := range xs {
		out = append(out, plotter.XY{X: xs[i], Y: ys[i]})
	}
	return out
}

// positive keeps the values > 0 (a log axis cannot show the others) and
// says how many were dropped.
func positive(s []float64) ([]float64, int) {
	var out []float64
	for _, v := range s {
		if v > 0 && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out, len(s) - len(out)
}
