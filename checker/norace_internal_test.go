//go:build !race

package checker

// underRace: the race detector is on (it slows the engine about tenfold).
const underRace = false
