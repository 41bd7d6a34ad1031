package nicmodel

// SetFullTimedScan turns the lower-bound pruning of timed mode off or on.
func SetFullTimedScan(full bool) { fullTimedScan = full }

func SetDebugTimed(b bool) { debugTimed = b }

// StillDueChecked is how many times StillDue vouched under the debug check.
func StillDueChecked() int { return stillDueChecked }

func ResetStillDueChecked() { stillDueChecked = 0 }
