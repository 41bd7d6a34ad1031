package checker

import (
	"github.com/rdmasim/rdmasim/sim"
	"github.com/rdmasim/rdmasim/workload"
)

// DecisiveDecision finds the decision that made the difference in a violating
// execution: the latest decision k such that choosing any other enabled option
// there, and then going on as the recorded decisions say (leniently, with the
// lowest thread first once they run out), avoids the property. It returns k, or
// -1 when no single decision changes the outcome. It runs at most one execution
// per alternative option of each decision.
func DecisiveDecision(cfg Config, wl workload.Workload, decisions []sim.Decision, property string) (int, error) {
	w, err := newRunner(cfg, wl)
	if err != nil {
		return -1, err
	}
	alt := make([]sim.Decision, len(decisions))
	for k := len(decisions) - 1; k >= 0; k-- {
		for pick := range decisions[k].Of {
			if pick == decisions[k].Pick {
				continue
			}
			copy(alt, decisions)
			alt[k].Pick = pick
			ex, err := w.execute(&lenient{decisions: alt}, false, nil)
			if err != nil {
				return -1, err
			}
			if ex.Finding == nil || ex.Finding.Property != property {
				return k, nil
			}
		}
	}
	return -1, nil
}
