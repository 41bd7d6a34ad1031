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
