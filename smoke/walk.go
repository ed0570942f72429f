package smoke

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// visitFunc is called for each file visible in the image: layer is its index (0 is the
// base layer), name is absolute and clean, and r reads the entry's content; what visit
// does not read is skipped without being kept in memory. A path written more than once
// in one layer is visited once per entry, in tar order: the last visit is the one that
// counts, as in extraction (a stream cannot know that another entry will follow).
type visitFunc func(layer int, name string, h *tar.Header, r io.Reader) error

// walkLayers streams the layers from the top one down and calls visit for each entry
// that the layers above have not deleted (whiteout), hidden (opaque directory) or
// replaced (same path, or a parent replaced by a non-directory; a non-directory is also
// replaced by a directory that an upper layer's entries imply). Nothing is written to
// disk; memory grows with the number of paths, not with the size of the layers.
func walkLayers(ctx context.Context, layers []v1.Layer, visit visitFunc) error {
	// What the layers above the current one decided, by absolute path.
	seen := map[string]bool{}    // path -> is a directory
	implied := map[string]bool{} // directories with entries below them but none of their own
	deleted := map[string]bool{} // whiteouts: the path and all below it
	opaque := map[string]bool{}  // opaque directories: everything below them
	for i := len(layers) - 1; i >= 0; i-- {
		last := i == 0 // nothing below: no need to remember this layer's paths
		lseen, limplied, ldeleted, lopaque := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		err := eachEntry(ctx, layers[i], func(name string, h *tar.Header, r io.Reader) error {
			dir, base := path.Split(name)
			dir = path.Clean(dir)
			if base == ".wh..wh..opq" {
				lopaque[dir] = true
				return nil
			}
			if w, ok := strings.CutPrefix(base, ".wh."); ok {
				ldeleted[path.Join(dir, w)] = true
				return nil
			}
			// A lower directory entry under an implied directory still gives it its
			// mode and owner (extraction keeps the existing directory); anything else
			// there is replaced by the directory.
			if hidden(name, seen, deleted, opaque) || implied[name] && h.Typeflag != tar.TypeDir {
				return nil
			}
			if !last {
				lseen[name] = h.Typeflag == tar.TypeDir
				for d := path.Dir(name); d != "/" && !limplied[d]; d = path.Dir(d) {
					limplied[d] = true
				}
			}
			return visit(i, name, h, r)
		})
		if err != nil {
			return layerError(i, layers[i], err)
		}
		for k, v := range lseen {
			if _, ok := seen[k]; !ok {
				seen[k] = v
			}
		}
		for k := range limplied {
			if _, ok := seen[k]; !ok {
				implied[k] = true
			}
		}
		for k := range ldeleted {
			deleted[k] = true
		}
		for k := range lopaque {
			opaque[k] = true
		}
	}
	return nil
}

// hidden reports whether the upper layers hide name.
func hidden(name string, seen, deleted, opaque map[string]bool) bool {
	if _, ok := seen[name]; ok || deleted[name] {
		return true
	}
	for p := path.Dir(name); ; p = path.Dir(p) {
		if deleted[p] || opaque[p] {
			return true
		}
		if isDir, ok := seen[p]; ok && !isDir {
			return true
		}
		if p == "/" {
			return false
		}
	}
}

// eachEntry streams one layer's uncompressed tar.
func eachEntry(ctx context.Context, l v1.Layer, fn func(name string, h *tar.Header, r io.Reader) error) error {
	rc, err := openLayer(l)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(path.Clean("/"+h.Name), h, tr); err != nil {
			return err
		}
	}
}

func layerError(i int, l v1.Layer, err error) error {
	d, derr := l.Digest()
	if derr != nil {
		return fmt.Errorf("layer %d: %w", i, err)
	}
	return fmt.Errorf("layer %d (%s): %w", i, d, err)
}
