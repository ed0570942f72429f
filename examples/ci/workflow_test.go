package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestWorkflow keeps workflow.yml and the program in step: the workflow installs this
// package, passes only flags the program defines, and reads only outputs it writes.
func TestWorkflow(t *testing.T) {
	b, err := os.ReadFile("workflow.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string `json:"id"`
				Run  string `json:"run"`
				Uses string `json:"uses"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("workflow.yml: %v", err)
	}
	var all, invocation string
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			all += s.Run + "\n"
			if s.ID == "image" {
				invocation = s.Run
			}
		}
	}
	if !strings.Contains(all, `go install "github.com/multiarch-sdk/multiarch/examples/ci@`) {
		t.Errorf("workflow.yml does not install this program:\n%s", all)
	}

	_, cmd, ok := strings.Cut(invocation, `"$RUNNER_TEMP/bin/ci"`)
	if !ok {
		t.Fatalf("step image does not run the program:\n%s", invocation)
	}
	cmd = strings.ReplaceAll(cmd, "\\\n", " ")
	var args []string
	for _, f := range strings.Fields(cmd) {
		if f == "$dry" {
			f = "-dry-run"
		}
		args = append(args, strings.Trim(f, `"`))
	}
	var c config
	var f rawFlags
	fs := newFlagSet(&c, &f, func(string) string { return "" })
	fs.SetOutput(new(strings.Builder))
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		t.Fatalf("the workflow's flags %q: %v (left over: %q)", args, err, fs.Args())
	}
	if f.repo == "" || f.buildkitd == "" || len(f.cacheFrom) != 1 || len(f.cacheTo) != 1 || f.smokeFile == "" || c.MetadataFile == "" {
		t.Errorf("the workflow's flags %q: want -repository, -buildkitd, a registry cache, -smoke and -metadata-file", args)
	}

	kv, err := outputs(&config{}, published())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range kv {
		names = append(names, p[0])
	}
	for _, m := range regexp.MustCompile(`steps\.image\.outputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(names, m[1]) {
			t.Errorf("workflow.yml reads output %q; the program writes %q", m[1], names)
		}
	}
}
