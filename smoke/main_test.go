package smoke_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

var binDir string // cross-compiled test programs, removed after the tests

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "smoke-bin"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := testenv.Main(m)
	os.RemoveAll(binDir)
	os.Exit(code)
}

var (
	binMu  sync.Mutex
	binOut = map[string][]byte{}
)

// goBinary cross-compiles a tiny Go program for linux/goarch (once per test binary) and
// returns its bytes: a real ELF executable of a known architecture.
func goBinary(t testing.TB, goarch string) []byte {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if b, ok := binOut[goarch]; ok {
		return b
	}
	src := filepath.Join(binDir, "hello.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(binDir, "hello-"+goarch)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, src)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build for %s: %v\n%s", goarch, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	binOut[goarch] = b
	return b
}

// file is one tar entry of a test layer.
type file struct {
	name string
	data []byte
	mode int64
	typ  byte   // default tar.TypeReg, or tar.TypeDir when name ends in "/"
	link string // symlink target
	uid  int
}

// layer makes an uncompressed layer holding files, in order.
func layer(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	return static.NewLayer(layerTar(t, files...), types.OCIUncompressedLayer)
}

// layerTar makes a tar of files, in order.
func layerTar(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Typeflag: f.typ, Linkname: f.link, Uid: f.uid}
		switch {
		case h.Typeflag != 0:
		case f.link != "":
			h.Typeflag = tar.TypeSymlink
		case f.name[len(f.name)-1] == '/':
			h.Typeflag = tar.TypeDir
		default:
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// image stacks layers (base first) into an image whose config says platform os/arch.
func image(t testing.TB, plat string, layers ...v1.Layer) v1.Image {
	t.Helper()
	p, err := v1.ParsePlatform(plat)
	if err != nil {
		t.Fatal(err)
	}
	img, err := registrytest.Image(ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}, v1.Config{}, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
