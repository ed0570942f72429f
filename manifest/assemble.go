package manifest

import (
	"bytes"
	"context"
	"fmt"
	"maps"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Child is one input of [Client.Assemble]: a per-platform image (normally
// pushed by digest by a build) or an existing index whose entries are
// merged.
type Child struct {
	// Ref is the image or index reference, "registry/repo@sha256:..." or a
	// tag.
	Ref string `json:"ref"`
	// Platform is the platform to list the image under. Nil: the platform
	// its config declares, normalised. For an index, Platform selects the
	// entries that match it (and their attestations); nil takes them all.
	Platform *ocispec.Platform `json:"platform,omitempty"`
	// Annotations are added to the entry (or entries) in the index.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Request says what to assemble. The zero value of every field is the
// default.
type Request struct {
	Children []Child `json:"children"`
	// Format is the media-type family: OCI (default, also for "") or Docker.
	Format Format `json:"format,omitempty"`
	// Convert rewrites children of the other family into Format (their
	// digests change, and the vnd.docker.reference.digest of their
	// attestations follows). False: such a child is refused with a
	// *MediaTypeError, because several registries reject mixed indexes.
	Convert bool `json:"convert,omitempty"`
	// DropAttestations leaves out attestation entries of merged indexes.
	// Default: kept, next to the image they describe.
	DropAttestations bool `json:"dropAttestations,omitempty"`
	// Annotations go on the index (org.opencontainers.image.* keys, for
	// example).
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Assemble reads every child (manifest and config) and returns the index
// they form. It does not write anything: [Verify] then [Client.Publish].
//
// Entries appear in the order of req.Children; an index child contributes
// its entries in its own order. A manifest reached twice (same digest and
// platform) is listed once.
func (c *Client) Assemble(ctx context.Context, req Request) (*Index, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	f := req.Format
	switch f {
	case "":
		f = OCI
	case OCI, Docker:
	default:
		return nil, fmt.Errorf("manifest: unknown format %q: use %q or %q", req.Format, OCI, Docker)
	}
	if len(req.Children) == 0 {
		return nil, fmt.Errorf("manifest: nothing to assemble: Request.Children is empty")
	}
	perChild := make([][]Entry, len(req.Children))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.jobs())
	for i, ch := range req.Children {
		g.Go(func() error {
			es, err := c.readChild(gctx, ch, f, req)
			perChild[i] = es
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	ix := &Index{Format: f, Annotations: maps.Clone(req.Annotations)}
	seen := map[string]bool{}
	for _, es := range perChild {
		for _, e := range es {
			key := e.Descriptor.Digest.String() + " " + format(e.Platform())
			if seen[key] {
				continue
			}
			seen[key] = true
			ix.Entries = append(ix.Entries, e)
		}
	}
	return ix, nil
}

// readChild reads one child into its index entries.
func (c *Client) readChild(ctx context.Context, ch Child, f Format, req Request) ([]Entry, error) {
	ref, err := c.parse(ch.Ref)
	if err != nil {
		return nil, err
	}
	desc, err := c.puller.Get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("manifest: read %s: %w", ch.Ref, err)
	}
	src := ref.Context().Digest(desc.Digest.String())
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("manifest: read image %s: %w", ch.Ref, err)
		}
		e, err := c.imageEntry(img, desc.Descriptor, nil, ch, src, f, req.Convert)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("manifest: read index %s: %w", ch.Ref, err)
		}
		return c.indexEntries(idx, ch, src.Context(), f, req)
	default:
		return nil, fmt.Errorf("manifest: %s is a %s, not an image or index", ch.Ref, desc.MediaType)
	}
}

// indexEntries returns the entries of idx that ch selects, each child image
// read (manifest and config) in parallel.
func (c *Client) indexEntries(idx v1.ImageIndex, ch Child, repo name.Repository, f Format, req Request) ([]Entry, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: read index %s: %w", ch.Ref, err)
	}
	var match platforms.Matcher
	if ch.Platform != nil {
		match = platforms.NewMatcher(*ch.Platform)
	}
	keep := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if isAttestation(d) {
			continue
		}
		if match == nil || (d.Platform != nil && match.Match(fromV1(*d.Platform))) {
			keep[d.Digest] = true
		}
	}
	if len(keep) == 0 && ch.Platform != nil {
		return nil, &MissingPlatformError{Platform: *ch.Platform, Ref: ch.Ref, Available: listed(im.Manifests)}
	}
	entries := make([]Entry, len(im.Manifests))
	use := make([]bool, len(im.Manifests))
	var g errgroup.Group // reads use the context idx was read with
	g.SetLimit(c.jobs())
	for i, d := range im.Manifests {
		if isAttestation(d) {
			subject, err := v1.NewHash(d.Annotations[AnnotationReferenceDigest])
			if req.DropAttestations || (err == nil && !keep[subject]) || (err != nil && match != nil) {
				continue
			}
		} else if !keep[d.Digest] {
			continue
		}
		use[i] = true
		src := repo.Digest(d.Digest.String())
		g.Go(func() error {
			var err error
			entries[i], err = c.indexEntry(idx, d, ch, src, f, req.Convert)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// A converted image has a new digest: its attestations must refer to that one.
	renamed := map[string]string{}
	for i, e := range entries {
		if use[i] && e.converted && !e.Attestation() {
			renamed[im.Manifests[i].Digest.String()] = e.Descriptor.Digest.String()
		}
	}
	var out []Entry
	for i, e := range entries {
		if !use[i] {
			continue
		}
		if to, ok := renamed[e.Descriptor.Annotations[AnnotationReferenceDigest]]; ok && e.Attestation() {
			e.Descriptor = withAnnotations(e.Descriptor, map[string]string{AnnotationReferenceDigest: to})
		}
		out = append(out, e)
	}
	return out, nil
}

func (c *Client) indexEntry(idx v1.ImageIndex, d v1.Descriptor, ch Child, src name.Digest, f Format, convert bool) (Entry, error) {
	switch {
	case isAttestation(d):
		img, err := idx.Image(d.Digest)
		if err != nil {
			return Entry{}, fmt.Errorf("manifest: attestation %s in %s: %w", d.Digest, ch.Ref, err)
		}
		// Attestations are not runnable: their config is not read.
		raw, err := img.RawManifest()
		if err != nil {
			return Entry{}, fmt.Errorf("manifest: read attestation %s in %s: %w", d.Digest, ch.Ref, err)
		}
		e := Entry{Descriptor: withAnnotations(d, ch.Annotations), Source: src, From: ch.Ref, raw: raw}
		if formatOf(d.MediaType) != f {
			return c.convertEntry(e, f, convert)
		}
		return e, nil
	case d.MediaType.IsIndex():
		return Entry{}, fmt.Errorf("manifest: %s lists a nested index %s: nested indexes are not supported; merge it as its own Child", ch.Ref, d.Digest)
	default:
		img, err := idx.Image(d.Digest)
		if err != nil {
			return Entry{}, fmt.Errorf("manifest: read %s (entry of %s): %w", d.Digest, ch.Ref, err)
		}
		var listed *ocispec.Platform
		if d.Platform != nil {
			p := fromV1(*d.Platform)
			listed = &p
		}
		return c.imageEntry(img, d, listed, ch, src, f, convert)
	}
}

// imageEntry reads img's config and returns its entry. listed is the
// platform an index lists it under, nil for a standalone image.
func (c *Client) imageEntry(img v1.Image, d v1.Descriptor, listed *ocispec.Platform, ch Child, src name.Digest, f Format, convert bool) (Entry, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return Entry{}, fmt.Errorf("manifest: read %s: %w", src, err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return Entry{}, fmt.Errorf("manifest: read config of %s: %w", src, err)
	}
	cf, err := v1.ParseConfigFile(bytesReader(rawConfig))
	if err != nil {
		return Entry{}, fmt.Errorf("manifest: config of %s: %w", src, err)
	}
	cfg := platforms.Normalize(ocispec.Platform{
		OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant,
		OSVersion: cf.OSVersion, OSFeatures: cf.OSFeatures,
	})
	var p ocispec.Platform
	switch {
	case listed != nil && ch.Platform == nil:
		p = *listed // keep what the merged index says; Verify compares it
	case ch.Platform != nil:
		p = platforms.Normalize(*ch.Platform)
	default:
		p = cfg
	}
	desc := v1.Descriptor{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest, Annotations: maps.Clone(d.Annotations)}
	desc.Platform = toV1(p)
	e := Entry{Descriptor: withAnnotations(desc, ch.Annotations), Config: &cfg, Source: src, From: ch.Ref, raw: raw, rawConfig: rawConfig}
	if formatOf(d.MediaType) != f {
		return c.convertEntry(e, f, convert)
	}
	return e, nil
}

func withAnnotations(d v1.Descriptor, extra map[string]string) v1.Descriptor {
	if len(extra) == 0 {
		return d
	}
	a := maps.Clone(d.Annotations)
	if a == nil {
		a = map[string]string{}
	}
	maps.Copy(a, extra)
	d.Annotations = a
	return d
}

func listed(ds []v1.Descriptor) []ocispec.Platform {
	var ps []ocispec.Platform
	for _, d := range ds {
		if d.Platform != nil && !isAttestation(d) {
			ps = append(ps, fromV1(*d.Platform))
		}
	}
	return ps
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
