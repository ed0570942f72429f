package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/debarch"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// PushBusybox makes one image per platform from Debian's busybox-static package for
// that architecture (found in debDir, as `apt-get download busybox-static:<arch>` names
// it) and pushes them to ref as one OCI image index. Each image has /bin/busybox, every
// applet as a link beside it (so /bin/sh and /bin/uname exist), /tmp, and a config whose
// os/architecture/variant is its platform. ref's registry must be plain HTTP (loopback).
func PushBusybox(ctx context.Context, ref string, debDir string, plats ...string) error {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return fmt.Errorf("base image reference %q: %w", ref, err)
	}
	var applets []string
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, s := range plats {
		p, err := platforms.Parse(s)
		if err != nil {
			return err
		}
		p = platforms.Normalize(p)
		bb, err := busyboxFromDeb(debDir, p)
		if err != nil {
			return err
		}
		if applets == nil {
			if applets, err = listApplets(debDir); err != nil {
				return err
			}
		}
		img, err := busyboxImage(bb, applets, p)
		if err != nil {
			return fmt.Errorf("busybox image for %s: %w", platforms.Format(p), err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}},
		})
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push base image %s: %w", ref, err)
	}
	return nil
}

func debFor(debDir string, p ocispec.Platform) (string, error) {
	arch, err := debarch.Of(p)
	if err != nil {
		return "", err
	}
	m, _ := filepath.Glob(filepath.Join(debDir, "busybox-static_*_"+arch+".deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("no busybox-static package for %s (Debian arch %s) in %s", platforms.Format(p), arch, debDir)
	}
	return m[len(m)-1], nil
}

// busyboxFromDeb returns the bytes of /bin/busybox from the package for p.
func busyboxFromDeb(debDir string, p ocispec.Platform) ([]byte, error) {
	deb, err := debFor(debDir, p)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", deb, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%s has no bin/busybox: %w", deb, err)
		}
		if strings.TrimPrefix(h.Name, "./") == "bin/busybox" {
			return io.ReadAll(tr)
		}
	}
}

// listApplets asks the host-native busybox which applets it has.
func listApplets(debDir string) ([]string, error) {
	host := platforms.Normalize(platforms.MustParse("linux/" + runtime.GOARCH))
	bb, err := busyboxFromDeb(debDir, host)
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets needs the host's own busybox-static: %w", err)
	}
	f, err := os.CreateTemp("", "busybox")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(bb); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		return nil, err
	}
	out, err := exec.Command(f.Name(), "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	return applets, nil
}

func busyboxImage(bb []byte, applets []string, p ocispec.Platform) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"root/", 0o700}, {"tmp/", 0o1777}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name, Mode: d.mode}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bb); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}); err != nil {
			return nil, err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len(passwd))}); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, passwd); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	return registrytest.Image(p, v1.Config{Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sh"}}, layer)
}
