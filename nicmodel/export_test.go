package nicmodel

import "github.com/rdmasim/rdmasim/rdma"

// SetFullTimedScan turns the lower-bound pruning of timed mode off or on.
func SetFullTimedScan(full bool) { fullTimedScan = full }

func SetDebugTimed(b bool) { debugTimed = b }

// StillDueChecked is how many times StillDue vouched under the debug check.
func StillDueChecked() int { return stillDueChecked }

func ResetStillDueChecked() { stillDueChecked = 0 }

// MemHashIsFresh reports whether the memory hash kept at every write equals
// the one computed from memory.
func MemHashIsFresh(n *NIC) bool {
	var h uint64
	for i := range n.nodes {
		for j, v := range n.nodes[i].mem {
			h ^= wordHash(rdma.MakePtr(i, uint64(j*rdma.WordBytes)), v)
		}
	}
	return h == n.memHash
}
