package main

import "github.com/rdmasim/rdmasim/bench"

// simRunner returns the Runner of timed mode for the timing profile named
// ("" the default, cx3; a .json file is read): rdmasim bench and rdmasim
// figures run every point of their sweeps with it. Tests replace it with a
// fake.
var simRunner = bench.SimRunner
