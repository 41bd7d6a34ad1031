package traces

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReplayFormat and ReplayVersion identify a replay file.
const (
	ReplayFormat  = "rdmasim-replay"
	ReplayVersion = 1
)

// MaxReplayBytes bounds the size of a replay file read back.
const MaxReplayBytes = 64 << 20

// Decision is one recorded choice: option Pick of Of enabled options. Event
// describes the chosen option for a reader; replay ignores it.
type Decision struct {
	Pick  int    `json:"pick"`
	Of    int    `json:"of"`
	Event string `json:"event,omitempty"`
}

// Replay is a saved execution: what broke, the configuration that ran, and every
// decision the scheduler made. Configuration and algorithm options are kept as the
// JSON their owners (the checker, the algorithm registry) define.
type Replay struct {
	Format       string          `json:"format"`
	Version      int             `json:"version"`
	Property     string          `json:"property"`
	Message      string          `json:"message"`
	Algorithm    string          `json:"algorithm"`
	Options      json.RawMessage `json:"options,omitempty"`
	Config       json.RawMessage `json:"config"`
	Strategy     string          `json:"strategy,omitempty"`
	CampaignSeed uint64          `json:"campaign_seed"` // the --seed of the campaign
	Schedule     int             `json:"schedule"`      // index of the schedule in its campaign
	Seed         uint64          `json:"seed"`          // the chooser seed of that schedule
	Steps        int             `json:"steps"`
	Length       int             `json:"length"` // events in the recorded trace
	Decisions    []Decision      `json:"decisions"`
}

// Encode writes r as indented JSON, one decision per line.
func (r *Replay) Encode(w io.Writer) error {
	head := *r
	head.Decisions = nil
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	// Splice the decisions in by hand: one per line reads far better than
	// MarshalIndent's four lines per decision.
	b = bytes.TrimSuffix(b, []byte("\n}"))
	b = bytes.TrimSuffix(b, []byte(",\n  \"decisions\": null"))
	var buf bytes.Buffer
	buf.Write(b)
	buf.WriteString(",\n  \"decisions\": [")
	for i, d := range r.Decisions {
		line, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		buf.Write(line)
	}
	buf.WriteString("\n  ]\n}\n")
	_, err = w.Write(buf.Bytes())
	return err
}

// Save writes r to path atomically: to a temporary file in the same directory,
// then renamed, so a crash never leaves half a file behind.
func (r *Replay) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return WriteFile(path, r.Encode)
}

// Decode reads a replay file and checks its shape: format, version, and that every
// decision is a valid choice.
func Decode(rd io.Reader) (*Replay, error) {
	data, err := io.ReadAll(io.LimitReader(rd, MaxReplayBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxReplayBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxReplayBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Replay
	if err := dec.Decode(&r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			return nil, fmt.Errorf("not valid JSON (line %d): %v", line, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("not valid JSON: the file ends early (truncated?)")
		}
		return nil, fmt.Errorf("not a replay file: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not a replay file: data after the JSON object")
	}
	switch {
	case r.Format != ReplayFormat:
		return nil, fmt.Errorf("not a replay file: format is %q, want %q", r.Format, ReplayFormat)
	case r.Version != ReplayVersion:
		return nil, fmt.Errorf("replay file version %d is not supported (this rdmasim reads version %d)", r.Version, ReplayVersion)
	case r.Algorithm == "":
		return nil, fmt.Errorf("replay file names no algorithm")
	case len(r.Config) == 0:
		return nil, fmt.Errorf("replay file has no config")
	}
	for i, d := range r.Decisions {
		if d.Of < 2 || d.Pick < 0 || d.Pick >= d.Of {
			return nil, fmt.Errorf("decision %d is invalid: pick %d of %d", i+1, d.Pick, d.Of)
		}
	}
	return &r, nil
}

// Load reads and decodes a replay file.
func Load(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return r, nil
}
