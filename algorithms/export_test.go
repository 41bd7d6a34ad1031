package algorithms

// NewShiftLockThreshold builds ShiftLock with another MODE_CHANGE_THRESHOLD, so
// that a small run reaches the hand-off to readers (ModeChanged).
var NewShiftLockThreshold = newShiftLockThreshold
