package smoke

import (
	"archive/tar"
	"testing"
)

func TestTreeResolve(t *testing.T) {
	tr := tree{}
	for _, h := range []*tar.Header{
		{Name: "usr/lib/libc.so.6", Typeflag: tar.TypeReg},
		{Name: "lib", Typeflag: tar.TypeSymlink, Linkname: "usr/lib"},
		{Name: "usr/lib/libc.so", Typeflag: tar.TypeSymlink, Linkname: "libc.so.6"},
		{Name: "usr/lib/up", Typeflag: tar.TypeSymlink, Linkname: "../../etc/hosts"},
		{Name: "etc/hosts", Typeflag: tar.TypeReg},
		{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "etc/hosts"},
		{Name: "abs", Typeflag: tar.TypeSymlink, Linkname: "/lib/libc.so"},
		{Name: "loop1", Typeflag: tar.TypeSymlink, Linkname: "loop2"},
		{Name: "loop2", Typeflag: tar.TypeSymlink, Linkname: "/loop1"},
	} {
		if err := tr.visit(0, "/"+h.Name, h, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"/usr/lib/libc.so.6", "/usr/lib/libc.so.6"},
		{"/lib/libc.so", "/usr/lib/libc.so.6"},
		{"/lib/up", "/etc/hosts"},
		{"/abs", "/usr/lib/libc.so.6"},
		{"/etc/hard", "/etc/hosts"},
		{"/lib/../etc/hosts", "/etc/hosts"}, // path.Clean first, as Lstat callers write it
		{"/absent/file", "/absent/file"},
	} {
		got, err := tr.resolve(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("resolve(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := tr.resolve("/loop1"); err == nil {
		t.Error("resolve(/loop1) followed a symlink loop without error")
	}
	if e, ok := tr.lookup("/usr"); !ok || !e.implicit || !e.mode.IsDir() {
		t.Errorf("/usr, a parent without its own entry, = %+v, %v; want an implicit directory", e, ok)
	}
}

// TestCheckFileThroughParentSymlink: on a merged-/usr image (/bin -> usr/bin) a file test
// of /bin/sh sees the file, as lstat(2) in a container would; the last component of the
// path is not followed.
func TestCheckFileThroughParentSymlink(t *testing.T) {
	tr := tree{}
	for _, h := range []*tar.Header{
		{Name: "usr/bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755},
		{Name: "usr/bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin", Typeflag: tar.TypeSymlink, Linkname: "usr/bin", Mode: 0o777},
	} {
		if err := tr.visit(0, "/"+h.Name, h, nil); err != nil {
			t.Fatal(err)
		}
	}
	no := false
	for _, tc := range []struct {
		f    FileTest
		pass bool
	}{
		{FileTest{Path: "/bin/busybox", Permissions: "-rwxr-xr-x"}, true},
		{FileTest{Path: "/bin/sh", Permissions: "Lrwxrwxrwx"}, true}, // the link itself
		{FileTest{Path: "/bin", Permissions: "Lrwxrwxrwx"}, true},
		{FileTest{Path: "/usr//bin/busybox"}, true},
		{FileTest{Path: "/bin/absent", ShouldExist: &no}, true},
		{FileTest{Path: "/bin/busybox", ShouldExist: &no}, false},
		{FileTest{Path: "/bin/absent"}, false},
	} {
		got := checkFile(tc.f, tr, nil)
		if (len(got) == 0) != tc.pass {
			t.Errorf("checkFile(%+v) = %q, want pass %v", tc.f, got, tc.pass)
		}
	}
}

// Within one layer the last entry for a path wins, as in extraction; an upper layer's
// entry (visited first: layers come top down) is never replaced by a lower one's.
func TestTreeLastEntryInLayerWins(t *testing.T) {
	tr := tree{}
	for _, v := range []struct {
		layer int
		h     *tar.Header
	}{
		{1, &tar.Header{Name: "etc/conf", Typeflag: tar.TypeReg, Mode: 0o600}},
		{1, &tar.Header{Name: "etc/conf", Typeflag: tar.TypeReg, Mode: 0o644}},
		{0, &tar.Header{Name: "etc/conf", Typeflag: tar.TypeSymlink, Linkname: "x"}},
		{0, &tar.Header{Name: "bin/sh", Typeflag: tar.TypeReg, Mode: 0o755}},
		{0, &tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox"}},
	} {
		if err := tr.visit(v.layer, "/"+v.h.Name, v.h, nil); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := tr.lookup("/etc/conf"); e.typ != tar.TypeReg || e.mode.Perm() != 0o644 || e.layer != 1 {
		t.Errorf("/etc/conf = %+v, want the upper layer's last entry (regular, 0644)", e)
	}
	if e, _ := tr.lookup("/bin/sh"); e.typ != tar.TypeSymlink || e.link != "busybox" {
		t.Errorf("/bin/sh = %+v, want the layer's last entry (symlink to busybox)", e)
	}
}
