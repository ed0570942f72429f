package deploycheck

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes r for people: the verdict, the pinned reference, then each problem.
func (r *Report) WriteText(w io.Writer) error {
	verdict := "OK to deploy"
	if !r.OK() {
		verdict = "NOT DEPLOYABLE"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", verdict, r.Ref)
	if r.Pinned != "" {
		fmt.Fprintf(&b, "  pinned:    %s\n", r.Pinned)
	}
	fmt.Fprintf(&b, "  platforms: %s\n", strings.Join(r.Platforms, ", "))
	fmt.Fprintf(&b, "  fleet:     %s\n", strings.Join(r.Fleet, ", "))
	if len(r.Scanned) > 0 {
		fmt.Fprintf(&b, "  scanned:   %s\n", strings.Join(r.Scanned, ", "))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "    %s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
