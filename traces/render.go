package traces

import (
	"fmt"
	"io"
)

// Render writes a text timeline: one numbered line per event, threads named by
// names (indexed by thread id).
//
//	1  n1/t1   nic-atomic-read  RCAS   n0:0x48 /*lock*/ read 0
//	2  n0/t0   cpu              CAS    n0:0x48 /*lock*/ read 0 wrote 1
func Render(w io.Writer, names []string, events []Event) error {
	for i, ev := range events {
		if _, err := fmt.Fprintf(w, "%4d  %s\n", i+1, ev.Format(names)); err != nil {
			return err
		}
	}
	return nil
}
