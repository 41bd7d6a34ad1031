package checker_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
)

// TestDecLock: DecLock's exclusive side (cohort lock per node in front of the
// queue-notify lock on the home) is safe on the small configurations under
// random and PCT schedules, and DFS explores 1 acquire of 1 host + 2 remote
// threads completely.
func TestDecLock(t *testing.T) {
	checkSafeLock(t, lockOf(t, "declock", algorithms.Options{}), []checker.Config{hostPlusTwoRemote(2), twoByTwo(2)}, scale(10_000), 7)
}
