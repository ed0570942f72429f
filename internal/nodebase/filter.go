package nodebase

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// filterRootfs copies the root filesystem tar r to w as an image layer: names lose
// mmdebstrap's "./" prefix, device nodes and FIFOs are dropped (the runtime provides
// /dev), and apt source lists are dropped (they name the build machine's mirror and the
// image is used offline).
func filterRootfs(w io.Writer, r io.Reader) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	n := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := cleanName(h.Name)
		if name == "" || dropEntry(name, h.Typeflag) {
			continue
		}
		if h.Typeflag == tar.TypeDir {
			name += "/"
		}
		h.Name = name
		if h.Typeflag == tar.TypeLink {
			h.Linkname = cleanName(h.Linkname)
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("empty root filesystem tar")
	}
	return tw.Close()
}

// cleanName turns "./usr/bin/" into "usr/bin"; the root itself becomes "".
func cleanName(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

func dropEntry(name string, typ byte) bool {
	switch typ {
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return true
	}
	dir, _ := path.Split(name)
	return dir == "etc/apt/sources.list.d/" || name == "etc/apt/sources.list"
}
