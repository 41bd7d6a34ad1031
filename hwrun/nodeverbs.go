package hwrun

import (
	"errors"

	"github.com/rdmasim/rdmasim/workload"
)

func (n *nodeProc) setupVerbs(nr *nodeRun, o *order, w workload.Workload, words int, cleanup *[]func()) error {
	return errors.New("verbs: not yet")
}
