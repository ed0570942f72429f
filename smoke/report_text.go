package smoke

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/containerd/platforms"
)

// WriteText writes a short table: one line per platform and check, then the failures.
//
//	PLATFORM     KIND     CHECK        RESULT  TIME
//	linux/amd64  command  uname -m     pass    0.12s
//	linux/arm64  command  uname -m     FAIL    0.31s
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLATFORM\tKIND\tCHECK\tRESULT\tTIME")
	var details []string
	for _, t := range r.Targets {
		p := platforms.Format(t.Platform)
		if t.Error != "" && len(t.Results) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\tERROR\t%s\n", p, seconds(t.Duration))
			details = append(details, fmt.Sprintf("%s: %s", p, t.Error))
		}
		for _, res := range t.Results {
			status := "pass"
			switch {
			case res.Error != "":
				status = "ERROR"
			case !res.Passed:
				status = "FAIL"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p, res.Kind, oneLine(res.Name, 40), status, seconds(res.Duration))
			if !res.Passed {
				details = append(details, fmt.Sprintf("%s %s %q: %s", p, res.Kind, res.Name, res.reason()))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	total, failed := r.Counts()
	fmt.Fprintf(w, "%d checks, %d failed, %s\n", total, failed, seconds(r.Duration))
	for _, d := range details {
		if _, err := fmt.Fprintf(w, "  %s\n", oneLine(d, 300)); err != nil {
			return err
		}
	}
	return nil
}

func seconds(d Duration) string {
	return fmt.Sprintf("%.2fs", time.Duration(d).Seconds())
}

// oneLine joins the lines of s and cuts it to about n bytes, on a whole UTF-8 character.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		i := n - 1
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "…"
	}
	return s
}
