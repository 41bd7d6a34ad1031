package traces

import (
	"fmt"
	"runtime"
	"strings"
)

// PanicSite names where a thread's code panicked: the innermost frame of the
// panicking stack outside the Go runtime and rdmasim's own machinery (the
// engine, the workload wrapper, the hardware runner), as "file:line
// (function)". Call it from the deferred function that recovers, while the
// panicking frames are still on the stack.
func PanicSite() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !machinery(f.Function) && f.File != "" {
			return fmt.Sprintf("%s:%d (%s)", f.File, f.Line, f.Function)
		}
		if !more {
			return "an unknown place"
		}
	}
}

func machinery(fn string) bool {
	for _, p := range []string{"runtime.", "iter.", "github.com/rdmasim/rdmasim/sim.",
		"github.com/rdmasim/rdmasim/workload.", "github.com/rdmasim/rdmasim/hwrun.", "github.com/rdmasim/rdmasim/traces."} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}
