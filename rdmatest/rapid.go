package rdmatest

import (
	"fmt"

	"pgregory.net/rapid"

	"github.com/rdmasim/rdmasim/sim"
)

// RapidChooser returns a Chooser that draws every interleaving choice from t,
// for a property over schedules checked with rapid:
//
//	rapid.Check(t, func(t *rapid.T) {
//		ex, err := checker.Execute(cfg, checker.Lock(newLock), rdmatest.RapidChooser(t), false)
//		if err != nil {
//			t.Fatal(err)
//		}
//		if ex.Finding != nil {
//			t.Fatal(ex.Finding)
//		}
//	})
//
// A failing schedule is then shrunk, saved under testdata/rapid/<TestName>/ and
// replayed first on later runs by rapid's own machinery. Each choice is one draw
// labelled "choice of <n>" (n options enabled); rapid shrinks draws toward 0, the
// lowest-numbered thread's first enabled step.
func RapidChooser(t *rapid.T) sim.Chooser {
	return &rapidChooser{t: t}
}

type rapidChooser struct {
	t    *rapid.T
	gens map[int]rapidGen // by number of options
}

type rapidGen struct {
	gen   *rapid.Generator[int]
	label string
}

// Choose implements sim.Chooser.
func (c *rapidChooser) Choose(options []sim.Option) int {
	n := len(options)
	if n < 2 {
		return 0 // the engine asks only with two or more; nothing to draw
	}
	g, ok := c.gens[n]
	if !ok {
		if c.gens == nil {
			c.gens = make(map[int]rapidGen)
		}
		g = rapidGen{gen: rapid.IntRange(0, n-1), label: fmt.Sprintf("choice of %d", n)}
		c.gens[n] = g
	}
	return g.gen.Draw(c.t, g.label)
}
