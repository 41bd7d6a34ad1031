package sim_test

import (
	"testing"

	"github.com/rdmasim/rdmasim/nicmodel"
	"github.com/rdmasim/rdmasim/sim"
)

// TestStateEngineRunsCodeOncePerPosition: a thread's code runs once from a
// position; coming back to it replays what the code did there (its next
// operation and its Effects) without running it, and a position not seen
// before runs the code again, from a coroutine fed the results that lead
// there.
func TestStateEngineRunsCodeOncePerPosition(t *testing.T) {
	nic, err := nicmodel.New(nicmodel.Config{Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, err := nic.AllocLabeled(0, 1, "x")
	if err != nil {
		t.Fatal(err)
	}
	effects := 0
	body := func(th *sim.Thread) {
		v := th.Load(x)
		th.Effect(func() { effects++ })
		th.Store(x, v+10)
	}
	se, err := sim.NewStateEngine(nic, sim.Config{}, []sim.ThreadSpec{{Node: 0, Name: "n0/t0"}}, body)
	if err != nil {
		t.Fatal(err)
	}
	defer se.Stop()
	se.Begin()
	var st sim.EngineState
	var ns nicmodel.Snapshot
	se.Save(&st)
	if err := nic.TakeSnapshot(&ns); err != nil {
		t.Fatal(err)
	}
	back := func() {
		t.Helper()
		se.Restore(&st)
		nic.RestoreSnapshot(&ns, se.PendingOp)
	}
	// ran checks where the code ran (Ran: from how many positions), how
	// often the effect took place, how many coroutines were restarted, and x.
	ran := func(what string, wantRan, wantEffects, wantRespawned int64, wantX uint64) {
		t.Helper()
		if se.Ran != wantRan || int64(effects) != wantEffects || se.Respawned != wantRespawned || nic.Peek(x) != wantX || se.Err() != nil {
			t.Fatalf("%s: ran from %d positions, effect %d times, %d restarts, x = %d, err %v; want %d, %d, %d, %d, nil",
				what, se.Ran, effects, se.Respawned, nic.Peek(x), se.Err(), wantRan, wantEffects, wantRespawned, wantX)
		}
	}
	ran("begun", 1, 0, 0, 0)
	for i := range int64(3) {
		se.Fire(se.Options()[0]) // the Load returns 0
		se.Fire(se.Options()[0]) // the Store of 10
		ran("a visit", 3, i+1, 0, 10)
		back()
	}
	// A result not seen before: the code runs again, from a coroutine
	// restarted (it had finished) and fed the results up to there.
	if err := nic.Init(x, 5); err != nil {
		t.Fatal(err)
	}
	se.Fire(se.Options()[0])
	ran("a new result", 4, 4, 1, 5)
	se.Fire(se.Options()[0])
	ran("its store", 5, 4, 1, 15)
	if se.Live() != 0 {
		t.Fatalf("%d threads live at the end", se.Live())
	}
	// Back, and the first path again, entirely from what was learnt.
	back()
	se.Fire(se.Options()[0])
	se.Fire(se.Options()[0])
	ran("the first path again", 5, 5, 1, 10)
}
