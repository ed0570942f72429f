package nodebase

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestDebianArchNamesThePackage(t *testing.T) {
	if a, err := DebianArch(ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}); err != nil || a != "armhf" {
		t.Errorf("DebianArch(linux/arm/v7) = %q, %v; want armhf", a, err)
	}
	if _, err := DebianArch(ocispec.Platform{OS: "linux", Architecture: "wasm"}); err == nil || !strings.HasPrefix(err.Error(), "nodebase: ") {
		t.Errorf("DebianArch(linux/wasm) error = %v, want one from nodebase", err)
	}
}

func TestKey(t *testing.T) {
	base := Key("bookworm", []string{"nodejs", "node-sqlite3"}, "arm64")
	if !strings.HasPrefix(base, "bookworm-arm64-") {
		t.Errorf("Key = %q, want the release and architecture readable at its start", base)
	}
	if got := Key("bookworm", []string{"node-sqlite3", "nodejs"}, "arm64"); got != base {
		t.Errorf("Key depends on package order: %q != %q", got, base)
	}
	for _, other := range []string{
		Key("trixie", []string{"nodejs", "node-sqlite3"}, "arm64"),
		Key("bookworm", []string{"nodejs"}, "arm64"),
		Key("bookworm", []string{"nodejs", "node-sqlite3"}, "amd64"),
		Key("bookworm", []string{"nodejs", "node-sqlite3", "curl"}, "arm64"),
	} {
		if other == base {
			t.Errorf("Key(%q) collides with a different configuration", other)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv("MULTIARCH_CACHE", "/cache")
	var c Config
	if c.release() != "bookworm" || !slices.Equal(c.packages(), DefaultPackages) || len(c.platforms()) != 2 ||
		c.sources() != DefaultSources || c.cacheDir() != "/cache/node-base" || c.parallel() != 2 {
		t.Errorf("zero Config defaults: %q %q %v %q %q %d", c.release(), c.packages(), c.platforms(), c.sources(), c.cacheDir(), c.parallel())
	}
	t.Setenv("MULTIARCH_CACHE", "")
	if got := c.cacheDir(); got != "/var/cache/multiarch/node-base" {
		t.Errorf("cacheDir without MULTIARCH_CACHE = %q", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Config
		wantErr string
	}{
		{name: "zero value", c: Config{}},
		{name: "comma in package", c: Config{Packages: []string{"nodejs,curl"}}, wantErr: `package name "nodejs,curl"`},
		{name: "empty package", c: Config{Packages: []string{""}}, wantErr: `package name ""`},
		{name: "darwin", c: Config{Platforms: []ocispec.Platform{{OS: "darwin", Architecture: "arm64"}}}, wantErr: "darwin/arm64"},
	} {
		err := tc.c.Validate()
		if tc.wantErr == "" && err != nil {
			t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestMmdebstrapArgs(t *testing.T) {
	c := Config{Release: "bookworm", Packages: []string{"nodejs", "node-sqlite3"}, Sources: "/etc/apt/x.sources"}
	args := c.mmdebstrapArgs("arm64")
	for _, want := range []string{"--architectures=arm64", "--include=nodejs,node-sqlite3", "--variant=essential", "--dpkgopt=path-exclude=/usr/share/doc/*"} {
		if !slices.Contains(args, want) {
			t.Errorf("mmdebstrap args %q lack %q", args, want)
		}
	}
	// SUITE TARGET MIRROR come last: the tar goes to stdout, the mirror is the sources file.
	if tail := args[len(args)-3:]; !slices.Equal(tail, []string{"bookworm", "-", "/etc/apt/x.sources"}) {
		t.Errorf("mmdebstrap positional args = %q, want [bookworm - /etc/apt/x.sources]", tail)
	}
	for _, a := range args {
		if strings.Contains(a, "://") {
			t.Errorf("mmdebstrap arg %q is a mirror URL; the mirror must come from the machine's sources file", a)
		}
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
}

func writeTar(t *testing.T, entries []entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil && h.Size > 0 {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestFilterRootfs(t *testing.T) {
	in := writeTar(t, []entry{
		{name: "./", typ: tar.TypeDir},
		{name: "./dev/", typ: tar.TypeDir},
		{name: "./dev/null", typ: tar.TypeChar},
		{name: "./usr/bin/", typ: tar.TypeDir},
		{name: "./usr/bin/perl", typ: tar.TypeReg, body: "ELF"},
		{name: "./usr/bin/perl5.36.0", link: "./usr/bin/perl", typ: tar.TypeLink},
		{name: "./bin", link: "usr/bin", typ: tar.TypeSymlink},
		{name: "./etc/apt/sources.list.d/", typ: tar.TypeDir},
		{name: "./etc/apt/sources.list.d/0000debian.sources", typ: tar.TypeReg, body: "URIs: http://mirror.example/debian\n"},
		{name: "./etc/hostname", typ: tar.TypeReg, body: "x\n"},
	})
	var out bytes.Buffer
	if err := filterRootfs(&out, in); err != nil {
		t.Fatalf("filterRootfs: %v", err)
	}
	var got []string
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		s := h.Name
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			s += " = " + string(b)
		}
		got = append(got, s)
	}
	want := []string{
		"dev/",
		"usr/bin/",
		"usr/bin/perl = ELF",
		"usr/bin/perl5.36.0 -> usr/bin/perl",
		"bin -> usr/bin",
		"etc/apt/sources.list.d/",
		"etc/hostname = x\n",
	}
	if !slices.Equal(got, want) {
		t.Errorf("filtered layer entries:\n got %q\nwant %q", got, want)
	}
}

func TestFilterRootfsRejectsEmpty(t *testing.T) {
	if err := filterRootfs(io.Discard, writeTar(t, []entry{{name: "./", typ: tar.TypeDir}})); err == nil {
		t.Error("filterRootfs of a tar with only the root folder: want an error, got nil")
	}
	if err := filterRootfs(io.Discard, strings.NewReader("not a tar")); err == nil {
		t.Error("filterRootfs of garbage: want an error, got nil")
	}
}
