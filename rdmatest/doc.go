// Package rdmatest checks an RDMA object from a user's own go test, in a few
// lines, in the spirit of Loom's model(|| …) and porcupine's Model: the
// object's constructor, what each thread does, and the sequential
// specification its history must be linearizable to.
//
//	func TestMyCounter(t *testing.T) {
//		rdmatest.Check(t, workload.Object[*Counter]{
//			New: NewCounter,
//			Thread: func(t *workload.Thread, c *Counter, ops int) {
//				for range ops {
//					t.Do("inc", func() uint64 { return c.Inc(t) })
//				}
//			},
//			Spec: workload.CounterSpec(),
//		}, checker.DefaultConfig())
//	}
//
// A lock is checked with CheckLock(t, newLock, cfg). Every strategy of the
// command line is available (Strategy("random"), "pct", "dfs"), linearizability
// is on with checker.DefaultConfig, and ExpectViolation names any property of
// workload.Properties, so a known-broken object keeps the checker honest.
//
// A failure prints the shortest counterexample, saves its replay file under
// testdata/rdmasim/<TestName>/ and prints the one command that replays exactly
// it (RDMASIM_REPLAY=FILE go test -run TestName .); every later run of the
// test replays its saved failures before exploring anew, as rapid does.
// RapidChooser lets rapid draw the schedule.
//
// This package imports testing and rapid; the rdmasim binary does not link it.
package rdmatest
