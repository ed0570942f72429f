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
