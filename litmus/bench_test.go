package litmus_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/litmus"
)

// BenchmarkSuite explores the whole built-in suite exhaustively under every
// knob setting of its expect lines, as `rdmasim litmus` does.
func BenchmarkSuite(b *testing.B) {
	tests, err := litmus.Suite()
	if err != nil {
		b.Fatal(err)
	}
	settings, executions := 0, 0
	for b.Loop() {
		results, err := litmus.RunAll(tests, litmus.Options{})
		if err != nil {
			b.Fatal(err)
		}
		settings, executions = len(results), 0
		for i := range results {
			executions += results[i].Executions + results[i].Pruned
			if !results[i].OK() {
				b.Fatalf("%s under %s: %s", results[i].Test.Name, results[i].Expect.Knobs, results[i].ObservedString())
			}
		}
	}
	b.ReportMetric(float64(settings), "settings")
	b.ReportMetric(float64(executions), "executions/op")
}
