package smoke_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/multiarch-sdk/multiarch/smoke"
)

const suiteYAML = `
commandTests:
  - name: arch
    command: uname
    args: ["-m"]
    envVars:
      - {key: LANG, value: C}
    expectedOutput: ["^(x86_64|aarch64)$"]
    excludedError: ["warning"]
    exitCode: 0
    timeout: 30s
fileTests:
  - path: /etc/os-release
    expectedContents: ["ID=debian"]
  - path: /root/.ssh
    shouldExist: false
  - path: /usr/bin/node
    permissions: -rwxr-xr-x
    uid: 0
    gid: 0
metadataTest:
  envVars:
    - {key: NODE_ENV, value: production}
    - {key: PATH, value: "/usr/local/bin", isRegex: true}
  labels:
    - {key: org.opencontainers.image.source, value: "https://example.com/app"}
  exposedPorts: ["8080"]
  entrypoint: ["node"]
  cmd: []
  workdir: /app
  user: node
scan:
  ignore: ["/usr/lib/gcc-cross/*"]
`

func TestParse(t *testing.T) {
	got, err := smoke.Parse([]byte(suiteYAML))
	if err != nil {
		t.Fatal(err)
	}
	no, zero := false, 0
	want := smoke.Test{
		Commands: []smoke.CommandTest{{
			Name: "arch", Command: "uname", Args: []string{"-m"}, Env: []smoke.EnvVar{{Key: "LANG", Value: "C"}},
			ExpectedOutput: []string{"^(x86_64|aarch64)$"}, ExcludedError: []string{"warning"},
			Timeout: smoke.Duration(30 * time.Second),
		}},
		Files: []smoke.FileTest{
			{Path: "/etc/os-release", ExpectedContents: []string{"ID=debian"}},
			{Path: "/root/.ssh", ShouldExist: &no},
			{Path: "/usr/bin/node", Permissions: "-rwxr-xr-x", UID: &zero, GID: &zero},
		},
		Metadata: &smoke.MetadataTest{
			Env:          []smoke.EnvVar{{Key: "NODE_ENV", Value: "production"}, {Key: "PATH", Value: "/usr/local/bin", IsRegex: true}},
			Labels:       []smoke.EnvVar{{Key: "org.opencontainers.image.source", Value: "https://example.com/app"}},
			ExposedPorts: []string{"8080"},
			Entrypoint:   &[]string{"node"},
			Cmd:          &[]string{},
			Workdir:      "/app",
			User:         "node",
		},
		Scan: &smoke.ScanOptions{Ignore: []string{"/usr/lib/gcc-cross/*"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse:\n got %+v\nwant %+v", got, want)
	}

	// The same suite as JSON, and written back as YAML, reads the same.
	js, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"timeout":"30s"`) {
		t.Errorf("JSON does not write the timeout as a duration string: %s", js)
	}
	y, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{js, y} {
		again, err := smoke.Parse(b)
		if err != nil {
			t.Fatalf("%v\n%s", err, b)
		}
		if !reflect.DeepEqual(again, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v\nfrom %s", again, want, b)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "smoke.yaml")
	if err := os.WriteFile(good, []byte(suiteYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := smoke.Load(good)
	if err != nil || len(s.Commands) != 1 || len(s.Files) != 3 {
		t.Fatalf("Load = %+v, %v", s, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"commandTests":[{"command":"x","expectedOutput":["[a-"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := smoke.Load(bad); !errors.Is(err, smoke.ErrInvalidTest) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load(bad) = %v, want ErrInvalidTest naming the file", err)
	}
	if _, err := smoke.Load(filepath.Join(dir, "absent.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want os.ErrNotExist", err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ name, doc, says string }{
		{"invalid regex", "commandTests: [{name: re, command: x, expectedOutput: ['(']}]", `command test 0 ("re"): invalid regular expression "("`},
		{"invalid excluded regex", "commandTests: [{command: x, excludedError: ['a**']}]", `invalid regular expression "a**"`},
		{"no command", "commandTests: [{name: empty}]", `command test 0 ("empty"): command is empty`},
		{"negative timeout", "commandTests: [{command: x, timeout: -1s}]", "timeout -1s is negative"},
		{"bad duration", "commandTests: [{command: x, timeout: soon}]", `duration "soon"`},
		{"relative path", "fileTests: [{path: etc/passwd}]", `path "etc/passwd" is not absolute`},
		{"bad content regex", "fileTests: [{path: /x, excludedContents: ['[']}]", `file test 0 ("/x"): invalid regular expression "["`},
		{"bad permissions", "fileTests: [{path: /x, permissions: '755'}]", `permissions "755"`},
		{"bad metadata regex", "metadataTest: {envVars: [{key: A, value: '(', isRegex: true}]}", "value of A: invalid regular expression"},
		{"bad ignore pattern", "scan: {ignore: ['[']}", `pattern "["`},
		{"unknown field", "commandTests: [{command: x, expectedOuptut: [y]}]", "expectedOuptut"},
		{"not YAML", "commandTests: [", "invalid smoke test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := smoke.Parse([]byte(tc.doc))
			if !errors.Is(err, smoke.ErrInvalidTest) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Parse = %v, want ErrInvalidTest saying %q", err, tc.says)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := smoke.Test{
		Commands: []smoke.CommandTest{{Command: "a", ExpectedOutput: []string{"("}}, {Command: ""}},
		Files:    []smoke.FileTest{{Path: "rel"}},
	}.Validate()
	for _, s := range []string{"command test 0", "command test 1", "file test 0"} {
		if !strings.Contains(fmtErr(err), s) {
			t.Errorf("Validate() = %v, does not name %s", err, s)
		}
	}
	if err := (smoke.Test{}).Validate(); err != nil {
		t.Errorf("zero Test: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
