package main

import (
	"errors"

	"github.com/rdmasim/rdmasim/bench"
)

// simRunner returns the Runner of timed mode for the NIC latency profile
// named ("" its default): the function rdmasim bench and rdmasim figures run
// every point of their sweeps with (a point's Profile is the one given
// here). It is called once per profile before any point runs; an error (an
// unknown profile, say) is reported on one line with exit status 2. Tests
// replace it with a fake.
//
// This file holds only this hook, to be replaced by the timed simulation.
var simRunner = func(profile string) (bench.Runner, error) {
	return nil, errors.New("timed mode is not available yet")
}
