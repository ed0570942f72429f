package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// TestVendor runs app/scripts/vendor.js (the deps stage's `npm ci`) with the machine's
// Node.js against fake global modules: it must keep only the target architecture's
// compiled bindings, and refuse, naming the folder and the fix, when the stage has none
// for the target (the deps stage running on the wrong platform).
func TestVendor(t *testing.T) {
	node, err := exec.LookPath("node")
	testenv.Require(t, err == nil, "node (Node.js) is not installed on this machine", testenv.SetupHint)
	script, err := filepath.Abs("app/scripts/vendor.js")
	if err != nil {
		t.Fatal(err)
	}
	hostArch := strings.TrimSpace(output(t, node, "-p", "process.arch"))

	for _, tc := range []struct {
		name     string
		bindings []string // folders under <global>/sqlite3/lib/binding; nil: a pure JavaScript module
		args     []string
		want     []string // bindings left in node_modules/sqlite3/lib/binding
		wantErr  []string // substrings of stderr when vendor.js must fail
	}{
		{name: "target arm64", bindings: []string{"napi-v3-linux-glibc-x64", "napi-v6-linux-glibc-x64", "napi-v6-linux-glibc-arm64"},
			args: []string{"--arch", "arm64"}, want: []string{"napi-v6-linux-glibc-arm64"}},
		{name: "target amd64 is Node's x64", bindings: []string{"napi-v3-linux-glibc-x64", "napi-v6-linux-glibc-x64", "napi-v6-linux-glibc-arm64"},
			args: []string{"--arch", "amd64"}, want: []string{"napi-v3-linux-glibc-x64", "napi-v6-linux-glibc-x64"}},
		{name: "no --arch: the stage's own architecture", bindings: []string{"napi-v6-linux-glibc-" + hostArch, "napi-v6-linux-glibc-s390x"},
			want: []string{"napi-v6-linux-glibc-" + hostArch}},
		{name: "no binding for the target", bindings: []string{"napi-v3-linux-glibc-x64", "napi-v6-linux-glibc-x64"},
			args: []string{"--arch", "arm64"}, wantErr: []string{"no compiled binding for arm64 in ", "lib/binding (it has napi-v3-linux-glibc-x64, napi-v6-linux-glibc-x64)", "no --platform=$BUILDPLATFORM"}},
		{name: "unknown architecture", bindings: []string{"napi-v6-linux-glibc-x64"},
			args: []string{"--arch", "sparc"}, wantErr: []string{"--arch sparc: unknown architecture"}},
		{name: "pure JavaScript module", args: []string{"--arch", "arm64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			global, work := t.TempDir(), t.TempDir()
			mod := filepath.Join(global, "sqlite3")
			write(t, filepath.Join(mod, "package.json"), `{"name":"sqlite3","version":"5.1.5"}`)
			write(t, filepath.Join(mod, "lib", "sqlite3.js"), "module.exports = {};\n")
			for _, b := range tc.bindings {
				write(t, filepath.Join(mod, "lib", "binding", b, "node_sqlite3.node"), "\x7fELF")
			}
			pkg, _ := json.Marshal(map[string]any{"name": "svc", "dependencies": map[string]string{"sqlite3": "5.1.5"}})
			write(t, filepath.Join(work, "package.json"), string(pkg))

			cmd := exec.Command(node, append([]string{script}, tc.args...)...)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "NODE_PATH="+global)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("vendor.js %v succeeded, want it to fail with %q", tc.args, tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(stderr.String(), w) {
						t.Errorf("vendor.js stderr %q lacks %q", stderr.String(), w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("vendor.js %v: %v\n%s", tc.args, err, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(work, "node_modules", "sqlite3", "lib", "sqlite3.js")); err != nil {
				t.Errorf("module not copied into node_modules: %v", err)
			}
			got := []string{}
			ents, _ := os.ReadDir(filepath.Join(work, "node_modules", "sqlite3", "lib", "binding"))
			for _, e := range ents {
				got = append(got, e.Name())
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("bindings kept = %q, want %q", got, want)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}
