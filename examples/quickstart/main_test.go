package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// TestQuickstart runs the README's main job as it is, with its defaults: its own
// in-process registry, its own buildkitd, QEMU for arm64.
func TestQuickstart(t *testing.T) {
	testenv.Preflight(t)
	bk, err := testenv.BuildkitdPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	jsonFile := filepath.Join(t.TempDir(), "result.json")
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-buildkitd", bk, "-json", jsonFile}, &stdout, &stderr); err != nil {
		t.Fatalf("quickstart: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`linux/amd64\s+sha256:[0-9a-f]{12}\s+local\s+native\s+\S+\s+\d+/2\s+passed`,
		`linux/arm64\s+sha256:[0-9a-f]{12}\s+local\s+emulated\s+\S+\s+\d+/2\s+passed`,
		`tagged 127\.0\.0\.1:\d+/quickstart/hello:latest`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("summary does not match %s:\n%s", re, out)
		}
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var res multiarch.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Index == nil || len(res.Images) != 2 || !res.Smoke.Passed() {
		t.Errorf("result JSON: %s", b)
	}
}

func TestQuickstartRejectsBadPlatform(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-platforms", "linux/amd64,linux/nonsense/x/y", "-node", "unix:///nonexistent.sock"}, &stdout, &stderr)
	if err == nil || !regexp.MustCompile(`nonsense`).MatchString(err.Error()) {
		t.Errorf("err = %v, want the bad platform named", err)
	}
}

// TestWriteJSONFile: the -json file holds the result, and a file that cannot be
// written is an error naming the flag, never silently skipped.
func TestWriteJSONFile(t *testing.T) {
	dir := t.TempDir()
	want := &multiarch.Result{Images: []multiarch.ImageResult{{Platform: "linux/arm64", Digest: "sha256:" + strings.Repeat("a", 64)}}}
	good := filepath.Join(dir, "result.json")
	if err := writeJSONFile(good, want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var got multiarch.Result
	if err := json.Unmarshal(b, &got); err != nil || len(got.Images) != 1 || got.Images[0].Digest != want.Images[0].Digest {
		t.Errorf("read back %s: %+v, %v", b, got, err)
	}
	bad := filepath.Join(dir, "missing", "result.json")
	if err := writeJSONFile(bad, want); err == nil || !strings.Contains(err.Error(), "-json") {
		t.Errorf("writeJSONFile(%s) = %v, want an error naming -json", bad, err)
	}
}
