package litmus_test

import (
	"slices"
	"testing"

	"github.com/rdmasim/rdmasim/litmus"
)

func states(r litmus.Result) []string {
	var s []string
	for _, o := range r.Outcomes {
		s = append(s, o.State)
	}
	return s
}

// TestReductionIsExact cross-checks the partial-order reduction on the suite:
// for every test and knob setting that plain DFS can enumerate within its
// limit, DFS with source-DPOR must reach exactly the same final states.
func TestReductionIsExact(t *testing.T) {
	tests, err := litmus.Suite()
	if err != nil {
		t.Fatal(err)
	}
	limit := 200_000
	if testing.Short() {
		limit = 20_000
	}
	compared := 0
	for _, lt := range tests {
		for _, e := range lt.Expects {
			full, err := litmus.Run(lt, e, litmus.Options{NoPOR: true, MaxExecutions: limit})
			if err != nil {
				t.Fatal(err)
			}
			if !full.Complete {
				t.Logf("%s under %s: more than %d interleavings, not compared", lt.Name, e.Knobs, limit)
				continue
			}
			red, err := litmus.Run(lt, e, litmus.Options{})
			if err != nil {
				t.Fatal(err)
			}
			compared++
			if !slices.Equal(states(full), states(red)) || !slices.Equal(full.Findings, red.Findings) {
				t.Errorf("%s under %s: DFS reaches %d states %q (findings %q), DPOR %d states %q (findings %q)",
					lt.Name, e.Knobs, len(full.Outcomes), states(full), full.Findings, len(red.Outcomes), states(red), red.Findings)
			}
			t.Logf("%-10s %-36s states %3d  interleavings %7d  reduced %5d (+%d pruned)", lt.Name, e.Knobs, len(full.Outcomes), full.Executions, red.Executions, red.Pruned)
		}
	}
	// Smaller versions of the tests too big to enumerate without reduction.
	for _, src := range []string{smallL9, smallL16, spinTSO} {
		lt, err := litmus.Parse("inline", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lt.Expects {
			full, err := litmus.Run(lt, e, litmus.Options{NoPOR: true, MaxExecutions: 2_000_000})
			if err != nil {
				t.Fatal(err)
			}
			red, err := litmus.Run(lt, e, litmus.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !full.Complete || !red.Complete {
				t.Fatalf("%s under %s: not explored completely", lt.Name, e.Knobs)
			}
			compared++
			if !slices.Equal(states(full), states(red)) || !slices.Equal(full.Findings, red.Findings) {
				t.Errorf("%s under %s: DFS reaches %d states %q (findings %q), DPOR %d states %q (findings %q)",
					lt.Name, e.Knobs, len(full.Outcomes), states(full), full.Findings, len(red.Outcomes), states(red), red.Findings)
			}
			if !red.OK() {
				t.Errorf("%s under %s: expected %s, observed %s %q", lt.Name, e.Knobs, e.Verdict, red.ObservedString(), red.Findings)
			}
			t.Logf("%-10s %-36s states %3d  interleavings %7d  reduced %5d (+%d pruned)", lt.Name, e.Knobs, len(full.Outcomes), full.Executions, red.Executions, red.Pruned)
		}
	}
	if compared < 40 {
		t.Errorf("only %d test settings compared", compared)
	}
}

const smallL9 = `
test L9-small
nodes A B
array s@A 3 = 1
array d@B 3
thread A@A
  put d s 3
thread B@B
  await d[2] != 0
  r0 = load d[0]
  r1 = load d[1]
outcome r0 == 0 || r1 == 0
expect allowed
expect forbidden placement=ascending
expect allowed ordering=relaxed placement=ascending
expect allowed nic-writes=excluded cpu=tso
`

const smallL16 = `
test L16-small
nodes A
array s@A 2 = 7
array d@A 2
word e@A
thread A@A
  put d s 2
  put e 1
  h = poll A
  r = load e
outcome h == 1 && r == 0
expect allowed
expect allowed ordering=unordered
`

// spinTSO: spinning, with parking, while stores drain from store buffers; one
// thread spins on a remote word with blocking READs.
const spinTSO = `
test spin-tso
nodes A B
word x@A
word y@A
thread T0@A
  store x 1
  a = load y
thread T1@A
  store y 1
  await x != 0
  b = load y
thread T2@B
  await x != 0
  c = rread y
outcome a == 0 && c == 0
expect allowed
expect allowed cpu=tso
`
