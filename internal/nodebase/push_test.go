package nodebase

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// TestPushRealImages makes (or takes from the machine's cache) the real Debian root
// filesystems and pushes them to an in-process registry; then it reads the index back
// and checks that each image's config names its platform and that its /usr/bin/node is
// an ELF file for that platform's machine.
func TestPushRealImages(t *testing.T) {
	_, err := exec.LookPath("mmdebstrap")
	testenv.Require(t, err == nil, "mmdebstrap is not installed", testenv.SetupHint)
	_, err = exec.LookPath("arch-test")
	testenv.Require(t, err == nil, "arch-test is not installed (mmdebstrap needs it for arm64)", testenv.SetupHint)
	testenv.Require(t, os.Geteuid() == 0, "mmdebstrap's root mode needs root", "run the tests as root")
	testenv.Require(t, exec.Command("arch-test", "arm64").Run() == nil, "this machine cannot run arm64 binaries: QEMU is not registered in binfmt_misc", testenv.SetupHint)
	testenv.LockBinfmt(t, false)

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/multiarch/node:18"

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := Config{}.Push(ctx, ref)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	for _, im := range res.Images {
		t.Logf("%s: cached=%t mmdebstrap=%s layer=%s", platforms.Format(im.Platform), im.Cached, im.Duration, im.Layer)
	}

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("read back %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != len(DefaultPlatforms) {
		t.Fatalf("index %s has %d manifests, want %d", ref, len(im.Manifests), len(DefaultPlatforms))
	}
	wantMachine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for i, d := range im.Manifests {
		want := DefaultPlatforms[i]
		if d.Platform == nil || d.Platform.OS != want.OS || d.Platform.Architecture != want.Architecture {
			t.Errorf("manifest %d platform = %v, want %s", i, d.Platform, platforms.Format(want))
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
		if cf.OS != want.OS || cf.Architecture != want.Architecture {
			t.Errorf("%s: config says %s/%s", platforms.Format(want), cf.OS, cf.Architecture)
		}
		m, err := nodeMachine(res.Images[i].Layer)
		if err != nil {
			t.Errorf("%s: %v", platforms.Format(want), err)
			continue
		}
		if m != wantMachine[want.Architecture] {
			t.Errorf("%s: usr/bin/node is built for %v, want %v", platforms.Format(want), m, wantMachine[want.Architecture])
		}
	}
}

// nodeMachine returns the ELF machine of usr/bin/node in the gzip layer at path.
func nodeMachine(path string) (elf.Machine, error) {
	l, err := layerReader(path)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	tr := tar.NewReader(l)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return 0, errors.New(path + " has no usr/bin/node")
		}
		if err != nil {
			return 0, err
		}
		if h.Name != "usr/bin/node" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return 0, err
		}
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		return f.Machine, nil
	}
}

func layerReader(path string) (io.ReadCloser, error) {
	img := Image{Layer: path, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
	i, err := Config{}.image(img)
	if err != nil {
		return nil, err
	}
	ls, err := i.Layers()
	if err != nil {
		return nil, err
	}
	return ls[0].Uncompressed()
}

// TestRootfsCancel starts a real mmdebstrap and cancels it: Rootfs must return the
// context's error promptly and leave nothing in the cache folder, so the next run
// starts clean instead of taking a truncated layer for a cached one.
func TestRootfsCancel(t *testing.T) {
	_, err := exec.LookPath("mmdebstrap")
	testenv.Require(t, err == nil, "mmdebstrap is not installed", testenv.SetupHint)
	testenv.Require(t, os.Geteuid() == 0, "mmdebstrap's root mode needs root", "run the tests as root")

	dir := t.TempDir()
	c := Config{CacheDir: dir}
	tmp := t.TempDir() // mmdebstrap's own temporary root goes here
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.Rootfs(ctx, ocispec.Platform{OS: "linux", Architecture: "amd64"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Rootfs after cancellation = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("Rootfs took %s to return after its context ended", d)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	if len(leftovers) != 0 {
		t.Errorf("cancelled Rootfs left files in the cache: %v", leftovers)
	}
	// mmdebstrap got the chance to clean up: no mounts, no temporary root left behind.
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), tmp) {
		t.Errorf("cancelled mmdebstrap left mounts under %s", tmp)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "mmdebstrap.*")); len(left) != 0 {
		t.Errorf("cancelled mmdebstrap left its temporary root: %v", left)
	}
}
