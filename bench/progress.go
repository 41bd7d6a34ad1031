package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress prints the progress of a sweep on w, the way rdmasim check does:
// on a terminal a bar with the points done, the total and the time left,
// redrawn in place (at most every 200ms); anywhere else (a log, a pipe) a
// whole line every 5 s. Its Update method is an Options.Progress.
type Progress struct {
	w        io.Writer
	tty      bool
	name     string // "rdmasim: bench" on a log line
	every    time.Duration
	now      func() time.Time
	start    time.Time
	last     time.Time
	shown    bool
	finished bool
}

// NewProgress returns a Progress printing on w, a terminal if tty. name
// starts each log line ("rdmasim: bench"). every overrides the interval (0:
// 200ms on a terminal, 5s otherwise); now is the clock (nil: time.Now).
func NewProgress(w io.Writer, tty bool, name string, every time.Duration, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}
	if every <= 0 {
		every = 5 * time.Second
		if tty {
			every = 200 * time.Millisecond
		}
	}
	t := now()
	return &Progress{w: w, tty: tty, name: name, every: every, now: now, start: t, last: t}
}

// Update shows done of total points and eta, when the interval has passed
// since it last showed (on a terminal, also at the last point).
func (p *Progress) Update(done, total int, eta time.Duration) {
	if p == nil {
		return
	}
	t := p.now()
	if t.Sub(p.last) < p.every && !(p.tty && done == total && done > 0) {
		return
	}
	p.last = t
	elapsed := roundDuration(t.Sub(p.start))
	text := fmt.Sprintf("%d/%d points", done, total)
	if eta > 0 && done < total {
		text += ", ETA " + roundDuration(eta).String()
	}
	text += ", " + elapsed.String() + " elapsed"
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %s\n", p.name, text)
		return
	}
	const width = 30
	fill := 0
	if total > 0 {
		fill = done * width / total
	}
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), text)
	p.shown = true
}

// Done clears the bar on a terminal.
func (p *Progress) Done() {
	if p != nil && p.shown && !p.finished {
		fmt.Fprint(p.w, "\r\033[K")
		p.finished = true
	}
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
