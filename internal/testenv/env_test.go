package testenv_test

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/tonistiigi/fsutil"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestEnvironment proves the environment end to end with nothing but the BuildKit
// client: one two-platform Dockerfile build pushed to the in-process registry, whose
// arm64 image really ran its RUN step under QEMU.
func TestEnvironment(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir := t.TempDir()
	dockerfile := "FROM " + e.Base + "\nRUN uname -m > /arch\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	target := e.Registry + "/testenv/arch"
	resp, err := e.Client.Solve(ctx, nil, client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: map[string]string{"platform": "linux/amd64,linux/arm64", "no-cache": ""},
		LocalMounts:   map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports: []client.ExportEntry{{
			Type:  client.ExporterImage,
			Attrs: map[string]string{"name": target, "push": "true", "push-by-digest": "true"},
		}},
	}, nil)
	if err != nil {
		t.Fatalf("solve: %v", err)
	}
	dgst := resp.ExporterResponse[exptypes.ExporterImageDigestKey]
	if dgst == "" {
		t.Fatalf("no %s in the exporter response: %v", exptypes.ExporterImageDigestKey, resp.ExporterResponse)
	}

	ref, err := name.ParseReference(target+"@"+dgst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pushed index %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}
	seen := map[string]bool{}
	for _, d := range im.Manifests {
		if d.Platform == nil || want[d.Platform.Architecture] == "" {
			t.Errorf("unexpected index entry %s with platform %v", d.Digest, d.Platform)
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != d.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("%s: config says %s/%s, index says %s", d.Digest, cf.OS, cf.Architecture, d.Platform.Architecture)
		}
		got := readFile(t, mutate.Extract(img), "arch")
		if strings.TrimSpace(got) != want[d.Platform.Architecture] {
			t.Errorf("%s image: /arch = %q, want %q (RUN did not execute for that architecture)", d.Platform.Architecture, got, want[d.Platform.Architecture])
		}
		seen[d.Platform.Architecture] = true
	}
	if len(seen) != len(want) {
		t.Errorf("index has platforms %v, want amd64 and arm64", seen)
	}
}

func readFile(t *testing.T, rc io.ReadCloser, path string) string {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("/%s not in the image: %v", path, err)
		}
		if strings.TrimPrefix(h.Name, "/") == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}
