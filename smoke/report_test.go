package smoke_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/smoke"
)

func sampleReport() *smoke.Report {
	three := 3
	zero := 0
	ms := func(n int) smoke.Duration { return smoke.Duration(time.Duration(n) * time.Millisecond) }
	return &smoke.Report{Duration: ms(1500), Targets: []smoke.TargetReport{{
		Target:   smoke.Target{Platform: platforms.MustParse("linux/amd64"), Ref: "r.example/app:1"},
		Digest:   "r.example/app@sha256:aaaa",
		Duration: ms(700),
		Results: []smoke.Result{
			{Name: "uname -m", Kind: smoke.KindCommand, Passed: true, ExitCode: &zero, Output: "x86_64\n", Duration: ms(120)},
			{Name: "/etc/os-release", Kind: smoke.KindFile, Passed: true, Duration: ms(30)},
		},
	}, {
		Target:   smoke.Target{Platform: platforms.MustParse("linux/arm64"), Ref: "r.example/app:1"},
		Digest:   "r.example/app@sha256:bbbb",
		Duration: ms(1400),
		Results: []smoke.Result{
			{Name: "uname -m", Kind: smoke.KindCommand, Failures: []string{"exit code 3, want 0"}, ExitCode: &three, Output: "boom <&>\n", Duration: ms(300)},
			{Name: "ELF architecture", Kind: smoke.KindScan, Failures: []string{"/app/a.node: ET_DYN built for amd64"}, Duration: ms(50)},
		},
		Findings: []smoke.Finding{{Path: "/app/a.node", Layer: 1, Type: "ET_DYN", Arch: "amd64", Platform: "linux/arm64"}},
	}, {
		Target:  smoke.Target{Platform: platforms.MustParse("linux/s390x"), Ref: "r.example/app:1"},
		Error:   "platform not in the image index: r.example/app:1 has no linux/s390x image",
		Results: []smoke.Result{{Name: "uname -m", Kind: smoke.KindCommand, Error: "platform not in the image index"}},
	}}}
}

func TestReportJSON(t *testing.T) {
	rep := sampleReport()
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"duration": "1.5s"`, `"architecture": "arm64"`, `"findings": [`, `"exitCode": 3`} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("JSON lacks %s:\n%s", s, buf.String())
		}
	}
	var back smoke.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, rep) {
		t.Errorf("JSON round trip differs:\n got %+v\nwant %+v", back, *rep)
	}
}

func TestReportJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	type problem struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Cases    []struct {
				Name      string   `xml:"name,attr"`
				Classname string   `xml:"classname,attr"`
				Time      string   `xml:"time,attr"`
				Failure   *problem `xml:"failure"`
				Error     *problem `xml:"error"`
				SystemOut string   `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if doc.Tests != 5 || doc.Failures != 2 || doc.Errors != 1 || len(doc.Suites) != 3 {
		t.Fatalf("totals tests=%d failures=%d errors=%d suites=%d, want 5 2 1 3\n%s", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites), buf.String())
	}
	arm := doc.Suites[1]
	if arm.Name != "smoke linux/arm64 r.example/app:1" || arm.Failures != 2 {
		t.Errorf("arm64 suite = %s with %d failures", arm.Name, arm.Failures)
	}
	c := arm.Cases[0]
	if c.Classname != "smoke.linux/arm64.command" || c.Failure == nil || c.Failure.Message != "exit code 3, want 0" ||
		c.SystemOut != "boom <&>\n" || c.Time != "0.300" {
		t.Errorf("arm64 command case = %+v", c)
	}
	if e := doc.Suites[2].Cases[0].Error; e == nil || !strings.Contains(e.Message, "platform not in the image index") {
		t.Errorf("s390x case error = %+v", e)
	}
	if doc.Suites[0].Cases[0].Failure != nil || doc.Suites[0].Cases[0].Error != nil {
		t.Errorf("a passed case has a failure or error")
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	want := [][]string{
		{"PLATFORM", "KIND", "CHECK", "RESULT", "TIME"},
		{"linux/amd64", "command", "uname", "-m", "pass", "0.12s"},
		{"linux/amd64", "file", "/etc/os-release", "pass", "0.03s"},
		{"linux/arm64", "command", "uname", "-m", "FAIL", "0.30s"},
		{"linux/arm64", "scan", "ELF", "architecture", "FAIL", "0.05s"},
		{"linux/s390x", "command", "uname", "-m", "ERROR", "0.00s"},
		{"5", "checks,", "3", "failed,", "1.50s"},
	}
	if len(lines) != len(want)+3 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want)+3, buf.String())
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); !reflect.DeepEqual(got, w) {
			t.Errorf("line %d = %q, want fields %q", i, lines[i], w)
		}
	}
	if !strings.Contains(lines[len(lines)-1], `linux/s390x command "uname -m": platform not in the image index`) {
		t.Errorf("last detail line = %q", lines[len(lines)-1])
	}
}

func TestReportErr(t *testing.T) {
	rep := sampleReport()
	err := rep.Err()
	if !errors.Is(err, smoke.ErrFailed) || rep.Passed() {
		t.Fatalf("Err() = %v, want ErrFailed", err)
	}
	if total, failed := rep.Counts(); total != 5 || failed != 3 {
		t.Errorf("Counts() = %d, %d, want 5, 3", total, failed)
	}
	rep.Targets = rep.Targets[:1]
	if err := rep.Err(); err != nil || !rep.Passed() {
		t.Errorf("all passed, but Err() = %v", err)
	}
	// A target that could not be tested, with a suite of no checks, is one failed check.
	rep.Targets = append(rep.Targets, smoke.TargetReport{
		Target: smoke.Target{Platform: platforms.MustParse("linux/arm64"), Ref: "r.example/app:1"},
		Error:  "image not found: r.example/app:1",
	})
	if total, failed := rep.Counts(); total != 3 || failed != 1 {
		t.Errorf("Counts() = %d, %d, want 3, 1", total, failed)
	}
	if err := rep.Err(); !errors.Is(err, smoke.ErrFailed) || !strings.Contains(err.Error(), "1 of 3 checks did not pass") ||
		!strings.Contains(err.Error(), "linux/arm64: image not found") {
		t.Errorf("Err() = %v, want 1 of 3 checks failed, naming the missing image", err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "3 checks, 1 failed") {
		t.Errorf("WriteText = %v:\n%s\nwant 3 checks, 1 failed", err, text.String())
	}
}
