//go:build race

package checker_test

// raceEnabled shrinks the campaigns when the race detector slows every step ~10×.
const raceEnabled = true
