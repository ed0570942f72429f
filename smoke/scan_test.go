package smoke_test

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/multiarch-sdk/multiarch/smoke"
)

func TestScanImage(t *testing.T) {
	amd64, arm64 := goBinary(t, "amd64"), goBinary(t, "arm64")
	arm, s390x := goBinary(t, "arm"), goBinary(t, "s390x")
	base := file{name: "etc/os-release", data: []byte("ID=test\n")}
	type want struct{ path, arch, typ string }
	for _, tc := range []struct {
		name     string
		platform string
		layers   [][]file
		ignore   []string
		objects  bool
		want     []want
	}{{
		name:     "amd64 binary in an arm64 image",
		platform: "linux/arm64",
		layers:   [][]file{{base, {name: "app/", mode: 0o755}, {name: "app/hello", data: amd64, mode: 0o755}}},
		want:     []want{{"/app/hello", "amd64", "ET_EXEC"}},
	}, {
		name:     "arm64 binary in an amd64 image",
		platform: "linux/amd64",
		layers:   [][]file{{base, {name: "./usr/bin/hello", data: arm64, mode: 0o755}}},
		want:     []want{{"/usr/bin/hello", "arm64", "ET_EXEC"}},
	}, {
		name:     "matching binaries only",
		platform: "linux/arm64",
		layers:   [][]file{{base, {name: "app/hello", data: arm64}}, {{name: "app/lib/x.so", data: arm64}}},
	}, {
		name:     "native addon of the wrong architecture in an upper layer",
		platform: "linux/arm64",
		layers: [][]file{
			{{name: "bin/sh", data: arm64}},
			{{name: "srv/node_modules/db/build/Release/db.node", data: amd64}},
		},
		want: []want{{"/srv/node_modules/db/build/Release/db.node", "amd64", "ET_EXEC"}},
	}, {
		name:     "32-bit arm binary in an arm64 image",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "bin/old", data: arm}}},
		want:     []want{{"/bin/old", "arm", "ET_EXEC"}},
	}, {
		name:     "arm/v7 image takes 32-bit arm",
		platform: "linux/arm/v7",
		layers:   [][]file{{{name: "bin/hello", data: arm}}},
	}, {
		name:     "big-endian s390x binary in a ppc64le image",
		platform: "linux/ppc64le",
		layers:   [][]file{{{name: "bin/hello", data: s390x}}},
		want:     []want{{"/bin/hello", "s390x", "ET_EXEC"}},
	}, {
		name:     "whiteout in a later layer removes the file",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: amd64}}, {{name: "app/.wh.hello"}}},
	}, {
		name:     "whiteout of a parent directory",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "opt/tool/bin/hello", data: amd64}}, {{name: "opt/.wh.tool"}}},
	}, {
		name:     "opaque directory hides what lower layers had in it",
		platform: "linux/arm64",
		layers: [][]file{
			{{name: "opt/tool/hello", data: amd64}, {name: "opt/keep", data: amd64}},
			{{name: "opt/tool/.wh..wh..opq"}, {name: "opt/tool/new", data: arm64}},
		},
		want: []want{{"/opt/keep", "amd64", "ET_EXEC"}},
	}, {
		name:     "replaced by a later layer",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: amd64}}, {{name: "app/hello", data: arm64}}},
	}, {
		name:     "parent replaced by a file in a later layer",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: amd64}}, {{name: "app", data: []byte("now a file")}}},
	}, {
		name:     "file replaced by a directory that has no entry of its own",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app", data: amd64}}, {{name: "app/hello", data: arm64}}},
	}, {
		name:     "whiteout in the same layer does not hide the file",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/.wh.hello"}, {name: "app/hello", data: amd64}}},
		want:     []want{{"/app/hello", "amd64", "ET_EXEC"}},
	}, {
		name:     "a file put back after a whiteout is scanned",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: arm64}}, {{name: "app/.wh.hello"}}, {{name: "app/hello", data: amd64}}},
		want:     []want{{"/app/hello", "amd64", "ET_EXEC"}},
	}, {
		name:     "the last entry of a path in one layer wins, as in extraction",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: amd64}, {name: "bin/bad", data: amd64}, {name: "app/hello", data: arm64}}},
		want:     []want{{"/bin/bad", "amd64", "ET_EXEC"}},
	}, {
		name:     "a wrong binary written last over a right one in one layer is found",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: arm64}, {name: "app/hello", data: amd64}}},
		want:     []want{{"/app/hello", "amd64", "ET_EXEC"}},
	}, {
		name:     "a symlink written last over a wrong binary in one layer",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "app/hello", data: amd64}, {name: "app/hello", link: "/bin/sh"}}},
	}, {
		name:     "object files of other architectures are skipped by default",
		platform: "linux/amd64",
		layers:   [][]file{{{name: "usr/lib/go/src/runtime/race/race_linux_arm64.syso", data: relocatable(arm64)}}},
	}, {
		name:     "object files are reported with Objects",
		platform: "linux/amd64",
		objects:  true,
		layers:   [][]file{{{name: "x.o", data: relocatable(arm64)}}},
		want:     []want{{"/x.o", "arm64", "ET_REL"}},
	}, {
		name:     "ignored paths",
		platform: "linux/arm64",
		layers:   [][]file{{{name: "usr/lib/gcc-cross/x86_64/libgcc.so", data: amd64}, {name: "bin/bad", data: amd64}}},
		ignore:   []string{"/usr/lib/gcc-cross/*/*"},
		want:     []want{{"/bin/bad", "amd64", "ET_EXEC"}},
	}, {
		name:     "symlinks, directories, short and non-ELF files are skipped",
		platform: "linux/arm64",
		layers: [][]file{{
			{name: "bin/"}, {name: "bin/sh", link: "busybox"}, {name: "tiny", data: []byte("\x7fELF")},
			{name: "script", data: []byte("#!/bin/sh\necho not an ELF file at all\n")},
		}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []v1.Layer
			for _, files := range tc.layers {
				layers = append(layers, layer(t, files...))
			}
			img := image(t, tc.platform, layers...)
			got, err := smoke.ScanOptions{Ignore: tc.ignore, Objects: tc.objects}.Scan(context.Background(), img, platforms.MustParse(tc.platform))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings %v, want %d %v", len(got), got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Path != w.path || g.Arch != w.arch || g.Type != w.typ || g.Platform != platforms.Format(platforms.MustParse(tc.platform)) {
					t.Errorf("finding %d = %+v, want path %s arch %s type %s", i, g, w.path, w.arch, w.typ)
				}
				if g.LayerDigest == "" || g.Want == "" || g.BuiltFor == "" {
					t.Errorf("finding %d lacks its layer digest or ELF description: %+v", i, g)
				}
			}
		})
	}
}

func TestScanImageUnsupportedPlatform(t *testing.T) {
	img := image(t, "linux/sparc64", layer(t, file{name: "x", data: []byte("x")}))
	_, err := smoke.ScanImage(context.Background(), img, platforms.MustParse("linux/sparc64"))
	if !errors.Is(err, smoke.ErrUnsupportedPlatform) {
		t.Fatalf("err = %v, want ErrUnsupportedPlatform", err)
	}
	// The message lists every architecture the scan knows, so that none is forgotten.
	for _, arch := range []string{"amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "loong64"} {
		if _, aerr := smoke.ArchFor(platforms.MustParse("linux/" + arch)); aerr != nil || !strings.Contains(err.Error(), arch) {
			t.Errorf("architecture %s: ArchFor error %v; unsupported-platform message %q should list it", arch, aerr, err)
		}
	}
}

func TestScanImageCancelled(t *testing.T) {
	img := image(t, "linux/amd64", layer(t, file{name: "x", data: []byte("x")}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := smoke.ScanImage(ctx, img, platforms.MustParse("linux/amd64"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// relocatable turns a little-endian ELF executable's header into an object file's.
func relocatable(b []byte) []byte {
	b = bytes.Clone(b)
	b[16], b[17] = byte(elf.ET_REL), 0
	return b
}

// TestScanCompressedLayers scans the same layer stored uncompressed, gzip and zstd.
func TestScanCompressedLayers(t *testing.T) {
	tarBytes := layerTar(t, file{name: "app/"}, file{name: "app/hello", data: goBinary(t, "amd64"), mode: 0o755})
	for _, c := range []compression.Compression{compression.None, compression.GZip, compression.ZStd} {
		t.Run(string(c), func(t *testing.T) {
			opts := []tarball.LayerOption{tarball.WithCompression(c)}
			if c == compression.None {
				opts = []tarball.LayerOption{tarball.WithMediaType(types.OCIUncompressedLayer)}
			}
			l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil }, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := smoke.ScanImage(context.Background(), image(t, "linux/arm64", l), platforms.MustParse("linux/arm64"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Path != "/app/hello" || got[0].Arch != "amd64" {
				t.Fatalf("findings = %+v, want /app/hello built for amd64", got)
			}
		})
	}
}
