package manifest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Description is what [Client.Inspect] finds at a reference. It marshals to
// JSON as is; [Description.WriteTable] prints it for people.
type Description struct {
	Ref       string          `json:"ref"`
	Digest    v1.Hash         `json:"digest"`
	MediaType types.MediaType `json:"mediaType"`
	Size      int64           `json:"size"`
	// Index is true for an image index or manifest list, false for a
	// single image.
	Index bool `json:"index"`
	// Platforms are the runnable platforms: an index's entries without
	// attestations, or a single image's config platform.
	Platforms   []string          `json:"platforms"`
	Children    []ChildInfo       `json:"children,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ChildInfo is one entry of an inspected index.
type ChildInfo struct {
	Digest      v1.Hash           `json:"digest"`
	MediaType   types.MediaType   `json:"mediaType"`
	Size        int64             `json:"size"`
	Platform    string            `json:"platform,omitempty"`
	Attestation bool              `json:"attestation,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Inspect reads ref: one request for an index, two for an image (its
// manifest and config, for the platform).
func (c *Client) Inspect(ctx context.Context, ref string) (*Description, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	r, err := c.parse(ref)
	if err != nil {
		return nil, err
	}
	desc, err := c.puller.Get(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("manifest: inspect %s: %w", ref, err)
	}
	d := &Description{Ref: ref, Digest: desc.Digest, MediaType: desc.MediaType, Size: desc.Size, Platforms: []string{}}
	switch {
	case desc.MediaType.IsIndex():
		im, err := v1.ParseIndexManifest(bytesReader(desc.Manifest))
		if err != nil {
			return nil, fmt.Errorf("manifest: inspect %s: %w", ref, err)
		}
		d.Index, d.Annotations = true, maps.Clone(im.Annotations)
		for _, m := range im.Manifests {
			ci := ChildInfo{Digest: m.Digest, MediaType: m.MediaType, Size: m.Size, Attestation: isAttestation(m), Annotations: maps.Clone(m.Annotations)}
			if m.Platform != nil {
				ci.Platform = format(fromV1(*m.Platform))
			}
			if !ci.Attestation && ci.Platform != "" {
				d.Platforms = append(d.Platforms, ci.Platform)
			}
			d.Children = append(d.Children, ci)
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("manifest: inspect %s: %w", ref, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return nil, fmt.Errorf("manifest: inspect %s: %w", ref, err)
		}
		d.Annotations = maps.Clone(m.Annotations)
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("manifest: inspect config of %s: %w", ref, err)
		}
		d.Platforms = append(d.Platforms, format(platforms.Normalize(ocispec.Platform{
			OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion, OSFeatures: cf.OSFeatures,
		})))
	default:
		return nil, fmt.Errorf("manifest: %s is a %s, not an image or index", ref, desc.MediaType)
	}
	return d, nil
}

// WriteTable writes d as a human-readable table.
func (d *Description) WriteTable(w io.Writer) error {
	kind := "image"
	if d.Index {
		kind = "index"
	}
	var b strings.Builder
	field := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k+":", v) }
	field("Name", d.Ref)
	field("Kind", kind)
	field("MediaType", string(d.MediaType))
	field("Digest", d.Digest.String())
	field("Platforms", joinOr(d.Platforms, "-"))
	for _, k := range slices.Sorted(maps.Keys(d.Annotations)) {
		field("Annotation", k+"="+d.Annotations[k])
	}
	if _, err := io.WriteString(w, b.String()); err != nil || len(d.Children) == 0 {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nPLATFORM\tDIGEST\tSIZE\tMEDIA TYPE\n")
	for _, c := range d.Children {
		p := c.Platform
		if c.Attestation {
			p = "attestation"
			if h, err := v1.NewHash(c.Annotations[AnnotationReferenceDigest]); err == nil && len(h.Hex) >= 12 {
				p += " → " + h.Hex[:12]
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p, c.Digest, c.Size, c.MediaType)
	}
	return tw.Flush()
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}
