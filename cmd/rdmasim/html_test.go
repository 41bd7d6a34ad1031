package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// htmlReplay checks spin-naive and replays its counterexample with --html; it
// returns the replay file, the page's path and the number of events.
func htmlReplay(t *testing.T, dir string) (string, string, int) {
	t.Helper()
	out, stderr, code := rdmasim(t, "check", "--alg", "spin-naive", "--out", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, stderr)
	}
	var rows []struct {
		Replay string
		Length int
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].Replay == "" {
		t.Fatalf("check: want one row with a replay file (%v):\n%s", err, out)
	}
	page := filepath.Join(dir, "x.html")
	out, stderr, code = rdmasim(t, "replay", rows[0].Replay, "--html", page)
	if code != 0 {
		t.Fatalf("replay --html: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.HasSuffix(out, "wrote "+page+"\n") {
		t.Errorf("replay --html does not end with %q:\n%s", "wrote "+page, out)
	}
	return rows[0].Replay, page, rows[0].Length
}

func TestReplayHTML(t *testing.T) {
	dir := t.TempDir()
	replay, page, length := htmlReplay(t, dir)
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{"spin-naive: mutual exclusion", "violation: <b>mutual exclusion</b>", "2n threads=[1 2] home=0 acq=2 hca",
		"NIC n0", "n0/t0", "n1/t1", "nic-atomic-read", "cs-enter", "choice ", "&#x2605; decisive</span>", "tr id=\"e"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(s, `<div class="ev `); n != length {
		t.Errorf("page shows %d events, the counterexample has %d", n, length)
	}

	// What went wrong in one sentence, the command that reproduces it, the
	// lock-history page next to the replay file (linked relative to the page),
	// a memory value per event that touched a word, and the RCAS's read and
	// write joined by a bracket with the host's CAS inside it.
	history := strings.TrimSuffix(filepath.Base(replay), ".json") + ".history.html"
	if _, err := os.Stat(filepath.Join(dir, history)); err != nil {
		t.Fatalf("check wrote no lock history next to the replay: %v", err)
	}
	for _, want := range []string{
		`<p class="summary" id="summary">Two threads held the lock at once: n1/t1 entered its critical section while n0/t0 held it.</p>`,
		`<code class="cmd" id="replay-command">rdmasim replay ` + replay + `</code>`,
		`<a class="history" href="` + history + `">`,
		`<th class="mem">`, `<td class="mem"><div class="memval changed" data-addr="n0:0x48"><span class="mw">lock</span> = <b class="v">1</b>`,
		`<span class="bar start" data-span="1"`, `<span class="bar end" data-span="1"`, `data-inspan="1"`,
		`<span class="half-tag">1st half</span>`, `<span class="half-tag">2nd half</span>`,
		`lands inside n1/t1&#39;s RCAS on lock`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(s, `<td class="mem">`); n != length {
		t.Errorf("%d memory cells, want one per row (%d)", n, length)
	}
	// A page in a subdirectory links the history by a relative path; a replay
	// file with no history next to it gets no link.
	sub := filepath.Join(dir, "sub", "p.html")
	if out, stderr, code := rdmasim(t, "replay", replay, "--html", sub); code != 0 {
		t.Fatalf("replay --html sub/p.html: exit %d\n%s%s", code, out, stderr)
	}
	if got, _ := os.ReadFile(sub); !strings.Contains(string(got), `<a class="history" href="../`+history+`">`) {
		t.Errorf("the page in sub/ does not link ../%s", history)
	}
	lone := filepath.Join(t.TempDir(), "lone.json")
	if raw, err := os.ReadFile(replay); err != nil || os.WriteFile(lone, raw, 0o644) != nil {
		t.Fatalf("copying the replay file: %v", err)
	}
	lonePage := filepath.Join(filepath.Dir(lone), "lone.html")
	if out, stderr, code := rdmasim(t, "replay", lone, "--html", lonePage); code != 0 {
		t.Fatalf("replay lone.json --html: exit %d\n%s%s", code, out, stderr)
	}
	if got, _ := os.ReadFile(lonePage); strings.Contains(string(got), `class="history"`) || !strings.Contains(string(got), "rdmasim replay "+lone) {
		t.Errorf("the page of a replay file without a history links one, or lacks its replay command")
	}

	// Flags before the file, the same page; no temporary file left behind.
	other := filepath.Join(dir, "y.html")
	if out, stderr, code := rdmasim(t, "replay", "--html", other, replay); code != 0 {
		t.Fatalf("replay --html PATH FILE: exit %d\n%s%s", code, out, stderr)
	}
	if again, _ := os.ReadFile(other); !bytes.Equal(again, data) {
		t.Errorf("two pages of one replay differ")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}

	// Without --html, no page; a page that cannot be written: exit 2, one line.
	if out, _, _ := rdmasim(t, "replay", replay); strings.Contains(out, "\nwrote ") {
		t.Errorf("replay without --html wrote something:\n%s", out)
	}
	out, stderr, code := rdmasim(t, "replay", replay, "--html", filepath.Join(replay, "z.html"))
	if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 || !strings.Contains(stderr, "--html") || strings.Contains(out, "\nwrote ") {
		t.Errorf("unwritable page: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"replay", replay, replay}, {"replay", "--html"}, {"replay", replay, "--html", ""}} {
		if _, stderr, code := rdmasim(t, args...); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// chromium finds a Chromium binary. Without one the browser test is skipped,
// except in CI (CI set), which must install it.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (neither /usr/bin/chromium nor chromium or chromium-browser in PATH); CI must install it (.ci/run does)")
	}
	t.Skip("chromium is not installed (neither /usr/bin/chromium nor chromium or chromium-browser in PATH): skipping the browser test of the HTML page (apt-get install chromium to run it)")
	return ""
}

// runChromium runs headless Chromium on page with extra flags, with a timeout.
func runChromium(t *testing.T, bin, page string, extra ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	args = append(args, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chromium %v: timed out after 60 s\n%s", extra, errb.String())
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	return out.String(), errb.String()
}

// TestReplayHTMLInChromium opens the page in headless Chromium: its script runs
// without error, the DOM holds every event, and the page renders to a
// screenshot that is not blank.
func TestReplayHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	_, page, length := htmlReplay(t, dir)
	page, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}

	dom, stderr := runChromium(t, bin, page, "--dump-dom", "--enable-logging=stderr", "--v=0")
	if strings.Contains(stderr, "Uncaught") {
		t.Errorf("the page's script failed:\n%s", stderr)
	}
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Errorf("the page's script did not run to the end (no data-ready=\"1\" on body):\n%.2000s", dom)
	}
	for i := 1; i <= length; i++ {
		if !strings.Contains(dom, `id="e`+strconv.Itoa(i)+`"`) {
			t.Errorf("the DOM lacks event %d", i)
		}
	}
	if n := strings.Count(dom, `class="ev `); n != length {
		t.Errorf("the DOM shows %d events, want %d", n, length)
	}
	for _, want := range []string{"mutual exclusion", "NIC n0", "cs-enter", "nic-atomic-read",
		`id="summary"`, "Two threads held the lock at once", `id="replay-command"`, `class="history"`,
		`class="bar start"`, `class="bar end"`, `class="memval`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}

	shot := filepath.Join(dir, "shot.png")
	runChromium(t, bin, page, "--screenshot="+shot, "--window-size=1400,900")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() <= 5<<10 {
		t.Fatalf("screenshot of %d bytes, want more than 5 KB", fi.Size())
	}
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	colors := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colors) < 3 {
		t.Errorf("the screenshot looks blank: %d colours sampled", len(colors))
	}
	t.Logf("screenshot %s: %dx%d, %d colours sampled", shot, b.Dx(), b.Dy(), len(colors))
}
