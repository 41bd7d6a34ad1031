package checker_test

import (
	"slices"
	"testing"
	"time"

	"github.com/rdmasim/rdmasim/algorithms"
	"github.com/rdmasim/rdmasim/checker"
	"github.com/rdmasim/rdmasim/rdma"
)

// BenchmarkStepsALock2x2 measures simulated steps per second on alock, 2 nodes ×
// 2 threads, 2 acquires each, random schedules: the engine's raw speed
// (setup of each execution included).
func BenchmarkStepsALock2x2(b *testing.B) {
	benchSteps(b, "alock", twoByTwo(2))
}

// BenchmarkStepsSpin2x2 is the same on the loopback spinlock, for comparison.
func BenchmarkStepsSpin2x2(b *testing.B) {
	benchSteps(b, "spin", twoByTwo(2))
}

func benchSteps(b *testing.B, name string, cfg checker.Config) {
	a, _ := algorithms.Lookup(name)
	lock := func(s rdmaSetup) (rdmaLock, error) { return a.New(s, algorithms.Options{}) }
	const batch = 100
	var steps int64
	seed := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := checker.Campaign{Config: cfg, Workload: checker.Lock(lock), Strategy: checker.StrategyRandom, Schedules: batch, Seed: seed, Workers: 1}.Run()
		if err != nil || rep.Shortest != nil {
			b.Fatal(err, rep.Shortest)
		}
		steps += rep.Steps
		seed++
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
	b.ReportMetric(float64(steps)/float64(b.N*batch), "steps/exec")
}

// BenchmarkSchedulesALock1Host2Remote measures schedules per second on alock, 1
// host + 2 remote threads, 1 acquire each, through the campaign loop.
func BenchmarkSchedulesALock1Host2Remote(b *testing.B) {
	a, _ := algorithms.Lookup("alock")
	lock := func(s rdmaSetup) (rdmaLock, error) { return a.New(s, algorithms.Options{}) }
	for _, c := range []struct {
		strategy string
		workers  int
	}{{checker.StrategyRandom, 1}, {checker.StrategyPCT, 1}, {checker.StrategyRandom, 0}} {
		name := c.strategy
		if c.workers == 0 {
			name += "-all-cores"
		}
		b.Run(name, func(b *testing.B) {
			const batch = 1000
			for b.Loop() {
				rep, err := checker.Campaign{Config: hostPlusTwoRemote(1), Workload: checker.Lock(lock), Strategy: c.strategy, Schedules: batch, Seed: 1, Workers: c.workers}.Run()
				if err != nil || rep.Shortest != nil {
					b.Fatal(err, rep.Shortest)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "schedules/s")
		})
	}
}

// BenchmarkFirstViolation measures, for each naive lock on the default
// configuration, the time and the schedules to the first violation, median over
// 20 seeds.
func BenchmarkFirstViolation(b *testing.B) {
	for _, a := range algorithms.All() {
		if a.ExpectSafe {
			continue
		}
		lock := func(s rdmaSetup) (rdmaLock, error) { return a.New(s, algorithms.Options{}) }
		for _, strategy := range []string{checker.StrategyRandom, checker.StrategyPCT} {
			b.Run(a.Name+"/"+strategy, func(b *testing.B) {
				var secs, scheds []float64
				for b.Loop() {
					secs, scheds = secs[:0], scheds[:0]
					for seed := range uint64(20) {
						start := time.Now()
						rep, err := checker.Campaign{Config: checker.DefaultConfig(), Workload: checker.Lock(lock), Strategy: strategy,
							Schedules: 1_000_000, Seed: seed, Workers: 1}.Run()
						if err != nil || rep.Shortest == nil {
							b.Fatal(err, "no violation")
						}
						secs = append(secs, time.Since(start).Seconds())
						scheds = append(scheds, float64(rep.Schedules))
					}
				}
				b.ReportMetric(median(secs)*1e6, "µs-median")
				b.ReportMetric(median(scheds), "schedules-median")
			})
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

type (
	rdmaSetup = rdma.Setup
	rdmaLock  = rdma.Lock
)

// BenchmarkDFSALock1Host2Remote explores alock (budgets 1), 1 host + 2 remote
// threads, 1 acquire each, to completion with partial-order reduction: the time
// per op is the time to "complete".
func BenchmarkDFSALock1Host2Remote(b *testing.B) {
	benchDFS(b, "alock", hostPlusTwoRemote(1))
}

// BenchmarkDFSMCS1Host2Remote is the same for mcs.
func BenchmarkDFSMCS1Host2Remote(b *testing.B) {
	benchDFS(b, "mcs", hostPlusTwoRemote(1))
}

func benchDFS(b *testing.B, name string, cfg checker.Config) {
	a, _ := algorithms.Lookup(name)
	lock := func(s rdmaSetup) (rdmaLock, error) {
		return a.New(s, algorithms.Options{BudgetLocal: 1, BudgetRemote: 1})
	}
	var execs int
	for b.Loop() {
		rep, err := checker.Exploration{Config: cfg, Workload: checker.Lock(lock), Preemptions: -1}.Run()
		if err != nil || !rep.Complete || rep.Shortest != nil {
			b.Fatal(err, rep.Complete, rep.Shortest)
		}
		execs += rep.Executions + rep.Pruned
	}
	b.ReportMetric(float64(execs)/b.Elapsed().Seconds(), "executions/s")
	b.ReportMetric(float64(execs)/float64(b.N), "executions")
}

// BenchmarkShortestCounterexample: iterative deepening (preemptions, then
// length) to the shortest counterexample of each naive lock, 1 host + 2 remote
// threads, 1 acquire each.
func BenchmarkShortestCounterexample(b *testing.B) {
	for _, name := range []string{"spin-naive", "mcs-naive", "ticket-naive"} {
		a, _ := algorithms.Lookup(name)
		lock := func(s rdmaSetup) (rdmaLock, error) { return a.New(s, algorithms.Options{}) }
		b.Run(name, func(b *testing.B) {
			var d checker.Deepening
			for b.Loop() {
				var err error
				d, err = checker.ShortestCounterexample(hostPlusTwoRemote(1), checker.Lock(lock), 5, 1_000_000)
				if err != nil || d.Shortest == nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(d.Shortest.Execution.Trace)), "events")
			b.ReportMetric(float64(d.Preemptions), "preemptions")
		})
	}
}
