package calibrate

import (
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
)

func TestEvaluateCX3(t *testing.T) {
	p, err := nicmodel.BuiltinProfile("cx3")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Evaluate(p, CX3)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("%-4s %-50s %8.2f %8.2f %+6.1f%%", r.ID, r.What, r.Value, r.Simulated, 100*r.Error)
	}
}

// TestFitRecovers: targets simulated from a known profile, fitted from a
// perturbed one, give back the known parameters (to within the whole
// nanoseconds times are kept in).
func TestFitRecovers(t *testing.T) {
	truth, err := nicmodel.BuiltinProfile("cx3")
	if err != nil {
		t.Fatal(err)
	}
	// Four targets that the three parameters move (a few seconds of fitting).
	var some []Target
	for _, tg := range CX3 {
		switch tg.ID {
		case "C1", "C3", "C4", "C10":
			some = append(some, tg)
		}
	}
	rows, err := Evaluate(truth, some)
	if err != nil {
		t.Fatal(err)
	}
	var targets []Target
	for _, r := range rows {
		tg := r.Target
		tg.Value = r.Simulated
		targets = append(targets, tg)
	}
	start := *truth
	// Two parameters the targets tell apart (the wire and the poll cost
	// would not be: the latencies see only their sum).
	start.Wire *= 2
	start.Atomic *= 1.3
	fitted, got, evals, err := Fit(&start, targets, []string{"wire_ns", "atomic_ns"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Error > 0.01 || r.Error < -0.01 {
			t.Errorf("%s: %.1f%% off after fitting", r.ID, 100*r.Error)
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"wire", fitted.Wire, truth.Wire}, {"atomic", fitted.Atomic, truth.Atomic}} {
		if d := c.got - c.want; d > 2 || d < -2 {
			t.Errorf("%s: fitted %.1f ns, true %.1f", c.name, c.got, c.want)
		}
	}
	t.Logf("%d profiles simulated", evals)
}
