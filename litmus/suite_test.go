package litmus_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/litmus"
)

// TestSuite runs the built-in suite: every test under every knob setting of
// its expect lines must get its expected verdict.
func TestSuite(t *testing.T) {
	tests, err := litmus.Suite()
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range tests {
		for _, e := range lt.Expects {
			r, err := litmus.Run(lt, e, litmus.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-10s %-40s %-10s %-10s %8d exec %6d pruned", lt.Name, e.Knobs, e.Verdict, r.ObservedString(), r.Executions, r.Pruned)
			if !r.OK() {
				t.Errorf("%s:%d: %s under %s: expected %s, observed %s; findings %v; outcomes:", lt.File, e.Line, lt.Name, e.Knobs, e.Verdict, r.ObservedString(), r.Findings)
				for _, o := range r.Outcomes {
					t.Errorf("   %v %s (%d)", o.Match, o.State, o.Count)
				}
			}
		}
	}
}
