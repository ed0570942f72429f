package smoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/containerd/platforms"
)

// ErrFailed is wrapped by Report.Err when a test failed or could not run.
var ErrFailed = errors.New("smoke test failed")

// Kind is the kind of check a Result is about.
type Kind string

const (
	KindCommand  Kind = "command"
	KindFile     Kind = "file"
	KindMetadata Kind = "metadata"
	KindScan     Kind = "scan"
)

// Report is what Run found, per target in the order they were given.
type Report struct {
	Targets  []TargetReport `json:"targets"`
	Duration Duration       `json:"duration"`
}

// TargetReport is the result of a suite against one platform image.
type TargetReport struct {
	Target
	// Digest is the reference Run tested, pinned to the platform image's digest.
	Digest string `json:"digest,omitempty"`
	// Error is set when the image could not be tested at all (not found, platform
	// missing from the index); every result then carries it too.
	Error    string    `json:"error,omitempty"`
	Results  []Result  `json:"results"`
	Findings []Finding `json:"findings,omitempty"`
	Duration Duration  `json:"duration"`
}

// Result is the outcome of one check against one platform image.
type Result struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Passed is set when the check ran and every expectation held.
	Passed bool `json:"passed"`
	// Failures lists the expectations that did not hold.
	Failures []string `json:"failures,omitempty"`
	// Error is set when the check could not run (the failure is not the image's).
	Error string `json:"error,omitempty"`
	// ExitCode is a command's exit status.
	ExitCode *int `json:"exitCode,omitempty"`
	// Output is an excerpt of a command's stdout and stderr.
	Output   string   `json:"output,omitempty"`
	Duration Duration `json:"duration"`
}

// Passed reports whether every check of every target passed.
func (r *Report) Passed() bool { return r.Err() == nil }

// Counts returns how many results there are, and how many did not pass. A target that
// could not be tested and has no results (a suite without checks) counts as one failed
// check, as WriteText and WriteJUnit show it.
func (r *Report) Counts() (total, failed int) {
	for _, t := range r.Targets {
		if t.Error != "" && len(t.Results) == 0 {
			total++
			failed++
		}
		for _, res := range t.Results {
			total++
			if !res.Passed {
				failed++
			}
		}
	}
	return total, failed
}

// Err returns nil when every check passed, or an error wrapping ErrFailed that names
// each failed check and its platform.
func (r *Report) Err() error {
	var bad []string
	for _, t := range r.Targets {
		p := platforms.Format(t.Platform)
		if t.Error != "" && len(t.Results) == 0 {
			bad = append(bad, fmt.Sprintf("%s: %s", p, t.Error))
		}
		for _, res := range t.Results {
			if !res.Passed {
				bad = append(bad, fmt.Sprintf("%s: %s %q: %s", p, res.Kind, res.Name, res.reason()))
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	total, failed := r.Counts()
	return fmt.Errorf("%w: %d of %d checks did not pass:\n  %s", ErrFailed, failed, total, strings.Join(bad, "\n  "))
}

func (res Result) reason() string {
	if res.Error != "" {
		return res.Error
	}
	return strings.Join(res.Failures, "; ")
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// excerpt keeps the end of s (where errors usually are), at most n bytes, starting on a
// whole UTF-8 character.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return "…" + s[i:]
}
