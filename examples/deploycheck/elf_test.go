package deploycheck_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/examples/deploycheck"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// crossCompile builds a tiny Go program for linux/goarch and returns the binary.
func crossCompile(t *testing.T, goarch string) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	testenv.Require(t, err == nil, "the go command", "install Go and put it on PATH")
	dir := t.TempDir()
	for n, body := range map[string]string{
		"go.mod":  "module hello\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goarch, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appImage is an OCI image for p whose one layer holds binary at /app/hello.
func appImage(t *testing.T, p ocispec.Platform, binary []byte) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "app/hello", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(binary))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(binary); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := registrytest.Image(ocispec.Platform{OS: p.OS, Architecture: p.Architecture}, v1.Config{Entrypoint: []string{"/app/hello"}}, layer)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushIndex writes an index of images (listed under their platforms) to reg as ref.
func pushIndex(t *testing.T, reg *registrytest.Registry, ref string, images map[string]v1.Image) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		pl := platforms.MustParse(p)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        images[p],
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: pl.OS, Architecture: pl.Architecture}},
		})
	}
	r, err := reg.Reference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}

// TestCheckBinaries: the configs are right, only the binary in the arm64 image is
// amd64 (a build stage run on $BUILDPLATFORM). The index and config checks pass; the
// scan refuses the rollout.
func TestCheckBinaries(t *testing.T) {
	amdBin, armBin := crossCompile(t, "amd64"), crossCompile(t, "arm64")
	reg := registrytest.New(t)
	good := map[string]v1.Image{"linux/amd64": appImage(t, amd64, amdBin), "linux/arm64": appImage(t, arm64, armBin)}
	bad := map[string]v1.Image{"linux/amd64": good["linux/amd64"], "linux/arm64": appImage(t, arm64, amdBin)}
	pushIndex(t, reg, "team/app:good", good)
	pushIndex(t, reg, "team/app:bad", bad)
	fleet := []ocispec.Platform{amd64, arm64}
	ctx := context.Background()

	rep, err := deploycheck.Check(ctx, reg.Host()+"/team/app:good", fleet, options(reg))
	if err != nil || len(rep.Scanned) != 2 || len(rep.Findings) != 0 {
		t.Fatalf("good index: err = %v, report %+v: want deployable, both platforms scanned", err, rep)
	}

	noScan := options(reg)
	noScan.NoScan = true
	if _, err := deploycheck.Check(ctx, reg.Host()+"/team/app:bad", fleet, noScan); err != nil {
		t.Fatalf("bad index without the scan: %v; want it to pass, the configs being right", err)
	}

	rep, err = deploycheck.Check(ctx, reg.Host()+"/team/app:bad", fleet, options(reg))
	var bm *deploycheck.BinaryMismatchError
	if !errors.Is(err, deploycheck.ErrNotDeployable) || !errors.As(err, &bm) {
		t.Fatalf("bad index: err = %v, want ErrNotDeployable and a BinaryMismatchError", err)
	}
	if platforms.Format(bm.Platform) != "linux/arm64" || len(bm.Findings) != 1 {
		t.Fatalf("mismatch %+v: want one finding in the linux/arm64 image", bm)
	}
	f := bm.Findings[0]
	if f.Path != "/app/hello" || f.Arch != "amd64" || f.Platform != "linux/arm64" {
		t.Errorf("finding %+v: want /app/hello built for amd64 in the linux/arm64 image", f)
	}
	if len(rep.Findings) != 1 || rep.OK() {
		t.Errorf("report %+v: want the finding and not OK", rep)
	}
}
