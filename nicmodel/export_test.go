package nicmodel

// SetFullTimedScan turns the lower-bound pruning of timed mode off or on.
func SetFullTimedScan(full bool) { fullTimedScan = full }

func SetDebugTimed(b bool) { debugTimed = b }
