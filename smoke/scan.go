package smoke

import (
	"archive/tar"
	"cmp"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"slices"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Finding is an ELF file built for another architecture than its image's platform.
type Finding struct {
	// Path is the file's absolute path in the image.
	Path string `json:"path"`
	// Layer is the index of the layer that holds the file (0 is the base layer) and
	// LayerDigest its digest.
	Layer       int    `json:"layer"`
	LayerDigest string `json:"layerDigest,omitempty"`
	// Type is the ELF file type: ET_EXEC (executable), ET_DYN (shared object, .node
	// addon, position-independent executable), ET_REL (object file).
	Type string `json:"type"`
	// BuiltFor describes the file's ELF header, e.g. "ELF 64-bit LSB EM_X86_64", and
	// Arch names that architecture ("amd64"; empty when unknown).
	BuiltFor string `json:"builtFor"`
	Arch     string `json:"arch,omitempty"`
	// Platform is the image's platform and Want the ELF header it requires.
	Platform string `json:"platform"`
	Want     string `json:"want"`
}

// String reads like "/app/addon.node: ET_DYN built for amd64 (ELF 64-bit LSB EM_X86_64),
// but a linux/arm64 image needs ELF 64-bit LSB EM_AARCH64 (layer 2)".
func (f Finding) String() string {
	arch := f.Arch
	if arch == "" {
		arch = "an unknown architecture"
	}
	return fmt.Sprintf("%s: %s built for %s (%s), but a %s image needs %s (layer %d)",
		f.Path, f.Type, arch, f.BuiltFor, f.Platform, f.Want, f.Layer)
}

// ScanImage reads every layer of img (streamed, nothing on disk) and returns the ELF
// files that the image's platform p cannot run: wrong class (32/64-bit), byte order
// or machine. Files deleted or replaced by a later layer are not reported, and a path
// written twice in one layer is judged by its last entry, as extraction does. Only
// the first 20 bytes of each file are read; memory stays bounded whatever the layer
// sizes.
func ScanImage(ctx context.Context, img v1.Image, p ocispec.Platform) ([]Finding, error) {
	return ScanOptions{}.Scan(ctx, img, p)
}

// Scan is ScanImage with the options o.
func (o ScanOptions) Scan(ctx context.Context, img v1.Image, p ocispec.Platform) ([]Finding, error) {
	s, err := newScanner(o, p)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("smoke: scan %s image: layers: %w", platforms.Format(p), err)
	}
	if err := walkLayers(ctx, layers, s.visit); err != nil {
		return nil, fmt.Errorf("smoke: scan %s image: %w", platforms.Format(p), err)
	}
	return s.findings(layers), nil
}

// scanner checks the ELF files that walkLayers shows it.
type scanner struct {
	opts     ScanOptions
	platform string
	want     ELFArch
	buf      [elfHeaderLen]byte
	found    []Finding
	// The current layer's findings by path: a later entry for the same path in the
	// same layer replaces the file, as extraction does, and so its finding.
	layer   int
	inLayer map[string]int
}

func newScanner(o ScanOptions, p ocispec.Platform) (*scanner, error) {
	want, err := ArchFor(p)
	if err != nil {
		return nil, fmt.Errorf("smoke: scan %s image: %w", platforms.Format(p), err)
	}
	return &scanner{opts: o, platform: platforms.Format(p), want: want}, nil
}

func (s *scanner) visit(layer int, name string, h *tar.Header, r io.Reader) error {
	if s.inLayer == nil || layer != s.layer {
		s.layer, s.inLayer = layer, map[string]int{}
	}
	if i, ok := s.inLayer[name]; ok {
		s.found = slices.Delete(s.found, i, i+1)
		delete(s.inLayer, name)
		for n, j := range s.inLayer {
			if j > i {
				s.inLayer[n] = j - 1
			}
		}
	}
	if h.Typeflag != tar.TypeReg || h.Size < elfHeaderLen {
		return nil
	}
	if _, err := io.ReadFull(r, s.buf[:]); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	got, typ, ok := parseELFHeader(s.buf[:])
	if !ok || got == s.want || typ == elf.ET_CORE || typ == elf.ET_REL && !s.opts.Objects || s.ignored(name) {
		return nil
	}
	s.inLayer[name] = len(s.found)
	s.found = append(s.found, Finding{
		Path: name, Layer: layer, Type: typ.String(),
		BuiltFor: got.String(), Arch: got.GOARCH(),
		Platform: s.platform, Want: s.want.String(),
	})
	return nil
}

func (s *scanner) ignored(name string) bool {
	for _, p := range s.opts.Ignore {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// findings returns what was found, with layer digests, base layer first.
func (s *scanner) findings(layers []v1.Layer) []Finding {
	out := slices.Clone(s.found)
	for i, f := range out {
		if d, err := layers[f.Layer].Digest(); err == nil {
			out[i].LayerDigest = d.String()
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(a.Layer, b.Layer) })
	return out
}
