package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// TestCIEndToEnd runs the program against the real environment (buildkitd, QEMU for
// arm64, a registry) twice, as the workflow would: on a push to the default branch,
// which tags, and on a pull request, which pushes by digest and tags nothing.
func TestCIEndToEnd(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch\n",
		"smoke.yaml": `commandTests:
  - name: built and runs on the same machine
    command: sh
    args: ["-c", 'test "$(cat /arch)" = "$(uname -m)" && echo "ok $(uname -m)"']
    expectedOutput: ['^ok (x86_64|aarch64)\n$']
fileTests:
  - path: /arch
    expectedContents: ['^(x86_64|aarch64)\n$']
`,
	}
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo := e.Registry + "/ci/app"
	args := []string{
		"-context", dir, "-smoke", filepath.Join(dir, "smoke.yaml"), "-build-arg", "BASE=" + e.Base,
		"-node", "shared=" + e.Addr, "-repository", repo,
		"-cache-from", "type=registry,ref=" + e.Registry + "/ci/cache:buildcache",
		"-cache-to", "type=registry,ref=" + e.Registry + "/ci/cache:buildcache,mode=max",
	}

	t.Run("push", func(t *testing.T) {
		out, summary := actions(t, "push", "refs/heads/main", sha, onMain)
		metaFile := filepath.Join(t.TempDir(), "metadata.json")
		var stdout, stderr bytes.Buffer
		if err := run(ctx, append(args, "-metadata-file", metaFile), os.Getenv, &stdout, &stderr); err != nil {
			t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		got := readOutputs(t, out)
		if got["tagged"] != "true" || got["smoke-passed"] != "true" || !strings.HasPrefix(got["digest"], "sha256:") {
			t.Fatalf("outputs %q: want tagged, smoke passed, a digest", got)
		}
		for _, tag := range []string{"main", "sha-0123456", "latest"} {
			if d := head(t, repo+":"+tag); d != got["digest"] {
				t.Errorf("tag %s points at %q, want the index %s", tag, d, got["digest"])
			}
		}
		if got["tags"] != repo+":main\n"+repo+":sha-0123456\n"+repo+":latest" {
			t.Errorf("tags output %q", got["tags"])
		}
		for _, p := range []string{"linux-amd64", "linux-arm64"} {
			if d := got["digest-"+p]; !strings.HasPrefix(d, "sha256:") || head(t, repo+"@"+d) != d {
				t.Errorf("digest-%s = %q: want an image in %s", p, d, repo)
			}
		}
		// -cache-to reached BuildKit: the registry cache was exported (one ref per
		// platform, derived from the one given).
		cacheRepo, err := name.NewRepository(e.Registry + "/ci/cache")
		if err != nil {
			t.Fatal(err)
		}
		cacheTags, err := remote.List(cacheRepo, remote.WithContext(ctx))
		if err != nil || len(cacheTags) != 2 || !strings.HasPrefix(cacheTags[0], "buildcache") || !strings.HasPrefix(cacheTags[1], "buildcache") {
			t.Errorf("cache repository %s: tags %q, err %v: want the build cache exported, one buildcache* ref per platform", cacheRepo, cacheTags, err)
		}
		b, err := os.ReadFile(metaFile)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		if err := json.Unmarshal(b, &meta); err != nil || meta["containerimage.digest"] != got["digest"] {
			t.Errorf("metadata file %s (%v): want containerimage.digest %s", b, err, got["digest"])
		}
		md, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"| linux/amd64 | `" + got["digest-linux-amd64"] + "` | shared | native |", "| linux/arm64 |", "emulated (QEMU)", "✅ passed", "**Published**"} {
			if !strings.Contains(string(md), want) {
				t.Errorf("step summary lacks %q:\n%s", want, md)
			}
		}
	})

	t.Run("pull_request", func(t *testing.T) {
		out, summary := actions(t, "pull_request", "refs/pull/7/merge", sha, onPR)
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, os.Getenv, &stdout, &stderr); err != nil {
			t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		got := readOutputs(t, out)
		if got["tagged"] != "false" || got["tags"] != "" || got["smoke-passed"] != "true" {
			t.Errorf("outputs %q: want built, smoke-tested, not tagged", got)
		}
		if d := got["digest"]; !strings.HasPrefix(d, "sha256:") || head(t, repo+"@"+d) != d {
			t.Errorf("digest %q: want the index pushed by digest", d)
		}
		for _, tag := range []string{"pr-7", "sha-fedcba9"} {
			ref, err := name.NewTag(repo + ":" + tag)
			if err != nil {
				t.Fatal(err)
			}
			_, err = remote.Head(ref, remote.WithContext(ctx))
			var te *transport.Error
			if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
				t.Errorf("tag %s: err = %v, want 404: a pull request must not tag", ref, err)
			}
		}
		md, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(md), "**Pull request**: index `"+repo+"@"+got["digest"]+"` pushed by digest, not tagged") {
			t.Errorf("step summary:\n%s", md)
		}
	})
}

// head returns the digest ref points at in the registry, failing the test when it
// cannot be read.
func head(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Errorf("HEAD %s: %v", ref, err)
		return ""
	}
	return d.Digest.String()
}
