package smoke

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fsEntry is what a file test needs to know of one path of the image.
type fsEntry struct {
	mode     fs.FileMode
	typ      byte
	uid, gid int
	link     string // symlink target, or hard link target (absolute)
	layer    int
	implicit bool // a parent directory without its own tar entry
}

// tree is the image's file system as its layers make it: visible paths only.
type tree map[string]fsEntry

func (t tree) visit(layer int, name string, h *tar.Header, _ io.Reader) error {
	e := fsEntry{mode: h.FileInfo().Mode(), typ: h.Typeflag, uid: h.Uid, gid: h.Gid, link: h.Linkname, layer: layer}
	if h.Typeflag == tar.TypeLink {
		e.link = path.Clean("/" + h.Linkname)
	}
	// Layers come top down, so an entry already there from another layer is above
	// this one and wins; within one layer the last entry wins, as in extraction.
	if old, ok := t[name]; !ok || old.implicit || old.layer == layer {
		t[name] = e
	}
	for d := path.Dir(name); d != "/"; d = path.Dir(d) {
		if _, ok := t[d]; ok {
			break
		}
		t[d] = fsEntry{mode: fs.ModeDir | 0o755, typ: tar.TypeDir, layer: layer, implicit: true}
	}
	return nil
}

func (t tree) lookup(p string) (fsEntry, bool) {
	if p == "/" {
		return fsEntry{mode: fs.ModeDir | 0o755, typ: tar.TypeDir}, true
	}
	e, ok := t[p]
	return e, ok
}

// lstat finds p as lstat(2) would: symbolic links in its parent directories are followed
// (on merged-/usr images /bin is a link to usr/bin), the last component is not.
func (t tree) lstat(p string) (fsEntry, bool) {
	dir, base := path.Split(path.Clean(p))
	if base == "" {
		return t.lookup("/")
	}
	rdir, err := t.resolve(dir)
	if err != nil {
		return fsEntry{}, false
	}
	return t.lookup(path.Join(rdir, base))
}

// resolve follows symbolic links in every component of p, as the kernel would.
func (t tree) resolve(p string) (string, error) {
	parts := strings.Split(strings.Trim(path.Clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		c := parts[0]
		parts = parts[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		if e, ok := t[next]; ok && e.typ == tar.TypeSymlink {
			if hops++; hops > 40 {
				return "", fmt.Errorf("%s: too many levels of symbolic links", p)
			}
			if path.IsAbs(e.link) {
				cur = "/"
			}
			parts = append(strings.Split(strings.Trim(e.link, "/"), "/"), parts...)
			continue
		}
		cur = next
	}
	if e, ok := t[cur]; ok && e.typ == tar.TypeLink {
		cur = e.link
	}
	return cur, nil
}

// checkFile checks f against the image's tree; content holds the files read for content
// checks, by resolved path.
func checkFile(f FileTest, t tree, content map[string][]byte) (failures []string) {
	e, exists := t.lstat(f.Path)
	if f.ShouldExist != nil && !*f.ShouldExist {
		if exists {
			return []string{fmt.Sprintf("%s exists (%s), want it absent", f.Path, e.mode)}
		}
		return nil
	}
	if !exists {
		return []string{fmt.Sprintf("%s does not exist", f.Path)}
	}
	if f.Permissions != "" && e.mode.String() != f.Permissions {
		failures = append(failures, fmt.Sprintf("%s has permissions %s, want %s", f.Path, e.mode, f.Permissions))
	}
	if f.UID != nil && e.uid != *f.UID {
		failures = append(failures, fmt.Sprintf("%s is owned by uid %d, want %d", f.Path, e.uid, *f.UID))
	}
	if f.GID != nil && e.gid != *f.GID {
		failures = append(failures, fmt.Sprintf("%s is owned by gid %d, want %d", f.Path, e.gid, *f.GID))
	}
	if len(f.ExpectedContents)+len(f.ExcludedContents) == 0 {
		return failures
	}
	target, err := t.resolve(f.Path)
	if err != nil {
		return append(failures, err.Error())
	}
	data, ok := content[target]
	if !ok {
		return append(failures, fmt.Sprintf("%s (resolved to %s) is not a regular file: cannot check its content", f.Path, target))
	}
	return append(failures, matchAll(f.Path+" content", data, f.ExpectedContents, f.ExcludedContents)...)
}

// readContents reads, from the layers that hold them, the files that the file tests
// check the content of (up to MaxContentBytes each).
func readContents(ctx context.Context, files []FileTest, t tree, layers []v1.Layer) (map[string][]byte, error) {
	want := map[int]map[string]bool{} // layer -> resolved paths
	for _, f := range files {
		if len(f.ExpectedContents)+len(f.ExcludedContents) == 0 {
			continue
		}
		p, err := t.resolve(f.Path)
		if err != nil {
			continue // reported by checkFile
		}
		if e, ok := t[p]; ok && e.typ == tar.TypeReg {
			if want[e.layer] == nil {
				want[e.layer] = map[string]bool{}
			}
			want[e.layer][p] = true
		}
	}
	content := map[string][]byte{}
	for i, names := range want {
		l := layers[i]
		err := eachEntry(ctx, l, func(name string, h *tar.Header, r io.Reader) error {
			if !names[name] || h.Typeflag != tar.TypeReg {
				return nil
			}
			b, err := io.ReadAll(io.LimitReader(r, MaxContentBytes))
			content[name] = b
			return err
		})
		if err != nil {
			return nil, layerError(i, l, err)
		}
	}
	return content, nil
}

// matchAll checks data against regular expressions that must, and must not, match.
// The expressions were validated by Test.Validate.
func matchAll(what string, data []byte, expected, excluded []string) (failures []string) {
	for _, e := range expected {
		if !regexp.MustCompile(e).Match(data) {
			failures = append(failures, fmt.Sprintf("%s does not match %q", what, e))
		}
	}
	for _, e := range excluded {
		if regexp.MustCompile(e).Match(data) {
			failures = append(failures, fmt.Sprintf("%s matches excluded %q", what, e))
		}
	}
	return failures
}
