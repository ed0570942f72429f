package smoke

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/platforms"
)

// WriteJUnit writes r as JUnit XML, which CI systems show: one testsuite per platform,
// one testcase per check (classname "smoke.<platform>.<kind>"); a failed expectation is
// a <failure>, a check that could not run an <error>, and command output goes to
// <system-out>.
func (r *Report) WriteJUnit(w io.Writer) error {
	type problem struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *problem `xml:"failure,omitempty"`
		Error     *problem `xml:"error,omitempty"`
		SystemOut string   `xml:"system-out,omitempty"`
	}
	type testsuite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	type testsuites struct {
		XMLName  xml.Name    `xml:"testsuites"`
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Time     string      `xml:"time,attr"`
		Suites   []testsuite `xml:"testsuite"`
	}
	all := testsuites{Name: "smoke", Time: xmlSeconds(r.Duration)}
	for _, t := range r.Targets {
		p := platforms.Format(t.Platform)
		s := testsuite{Name: "smoke " + p + " " + t.Ref, Time: xmlSeconds(t.Duration)}
		if t.Error != "" && len(t.Results) == 0 {
			s.Cases = append(s.Cases, testcase{Name: "image", Classname: "smoke." + p, Error: &problem{Message: t.Error, Text: t.Error}})
			s.Errors++
		}
		for _, res := range t.Results {
			c := testcase{Name: res.Name, Classname: "smoke." + p + "." + string(res.Kind), Time: xmlSeconds(res.Duration), SystemOut: res.Output}
			switch {
			case res.Error != "":
				c.Error = &problem{Message: oneLine(res.Error, 200), Text: res.Error}
				s.Errors++
			case !res.Passed:
				c.Failure = &problem{Message: oneLine(res.reason(), 200), Text: strings.Join(res.Failures, "\n")}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		all.Tests, all.Failures, all.Errors = all.Tests+s.Tests, all.Failures+s.Failures, all.Errors+s.Errors
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("smoke: write JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func xmlSeconds(d Duration) string {
	return fmt.Sprintf("%.3f", time.Duration(d).Seconds())
}
