package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// progressClock is the clock of progress lines (tests replace it).
var progressClock = time.Now

// Default progress intervals: on a terminal the line is rewritten in place; on
// anything else (a log, a pipe, a file) a whole line is printed now and then.
const (
	progressTerminal = 200 * time.Millisecond
	progressLog      = 5 * time.Second
)

// progressMeter prints the progress of long runs on standard error.
type progressMeter struct {
	w     io.Writer
	tty   bool
	every time.Duration // 0: progressTerminal or progressLog
	now   func() time.Time
}

// progressLine is the progress of one algorithm.
type progressLine struct {
	m           *progressMeter
	name        string
	start, last time.Time
	shown       bool
	unit        string // of the rate: "states" gives "N states/s" ("": "N/s")
}

// start begins the progress of one algorithm; a nil meter shows nothing.
func (m *progressMeter) start(name string) *progressLine {
	if m == nil {
		return nil
	}
	t := m.now()
	return &progressLine{m: m, name: name, start: t, last: t}
}

// update shows the progress when the interval has passed since it was last
// shown: done units of total (0: unknown), findings so far, and what text
// says. The rate and, when total is known, the time left follow.
func (p *progressLine) update(done, total, findings int, text func() string) {
	if p == nil {
		return
	}
	every := p.m.every
	if every <= 0 {
		every = progressLog
		if p.m.tty {
			every = progressTerminal
		}
	}
	now := p.m.now()
	if now.Sub(p.last) < every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	line := p.name + ": " + text()
	if s := elapsed.Seconds(); s > 0 {
		rate := float64(done) / s
		if p.unit != "" {
			line += fmt.Sprintf(", %.0f %s/s", rate, p.unit)
		} else {
			line += fmt.Sprintf(", %.0f/s", rate)
		}
		if total > 0 && rate > 0 && done < total {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			line += ", ETA " + roundDuration(eta).String()
		}
	}
	line += ", " + roundDuration(elapsed).String() + " elapsed"
	if p.m.tty {
		fmt.Fprintf(p.m.w, "\r\033[K%s", line)
		p.shown = true
	} else {
		fmt.Fprintf(p.m.w, "rdmasim: check: %s\n", line)
	}
}

// done clears the line on a terminal.
func (p *progressLine) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.m.w, "\r\033[K")
	}
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// notifyStop returns a channel closed at the first SIGINT or SIGTERM, and a
// function that stops listening. After the first signal the default action is
// back: a second Ctrl-C ends the process at once. Tests replace it.
var notifyStop = func() (<-chan struct{}, func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	stop := make(chan struct{})
	quit := make(chan struct{})
	go func() {
		select {
		case <-sig:
			signal.Stop(sig)
			close(stop)
		case <-quit:
		}
	}()
	return stop, func() {
		signal.Stop(sig)
		close(quit)
	}
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
