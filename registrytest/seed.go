package registrytest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Child is one platform image of a seeded index.
type Child struct {
	// Platform is the platform the index lists for the child.
	Platform ocispec.Platform
	// Config is the platform the child's image config claims; nil means
	// Platform. Set it to a different platform to seed a wrong child, such
	// as an arm64 image listed as amd64.
	Config *ocispec.Platform
}

// Seeded describes what a Seed method pushed.
type Seeded struct {
	Ref        name.Digest     // repo@sha256:... of the pushed image or index
	Descriptor v1.Descriptor   // its media type, size and digest
	Children   []v1.Descriptor // the index entries, attestations included; nil for an image
}

// SeedOption changes how images are seeded.
type SeedOption func(*seedConfig)

type seedConfig struct {
	docker       bool
	attestations bool
	annotations  map[string]string
	layerSize    int64
}

// Docker seeds Docker media types (manifest list, schema 2 manifests,
// Docker layers) instead of OCI ones.
func Docker() SeedOption { return func(c *seedConfig) { c.docker = true } }

// WithAttestations adds, after the children of an index, one BuildKit-style
// attestation manifest per child: platform unknown/unknown and the
// annotations vnd.docker.reference.type=attestation-manifest and
// vnd.docker.reference.digest=<child digest>.
func WithAttestations() SeedOption { return func(c *seedConfig) { c.attestations = true } }

// WithAnnotations sets annotations on the seeded index or image manifest.
func WithAnnotations(a map[string]string) SeedOption {
	return func(c *seedConfig) { c.annotations = a }
}

// WithLayerSize sets the size in bytes of the one random layer of each
// image. Default 256.
func WithLayerSize(n int64) SeedOption { return func(c *seedConfig) { c.layerSize = n } }

// Attestation annotations BuildKit writes on index entries.
const (
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	AttestationManifest       = "attestation-manifest"
)

const seedTimeout = time.Minute

// SeedImage pushes a single-platform image with one random layer whose
// config has p's os, architecture, variant, os.version and os.features.
// repoTag is relative to the registry: "team/app:v1" pushes under a tag,
// "team/app" by digest only. Seeding requests are not counted and never
// meet injected faults or auth.
func (r *Registry) SeedImage(repoTag string, p ocispec.Platform, opts ...SeedOption) (Seeded, error) {
	c := seedConfigOf(opts)
	img, err := c.image(p)
	if err != nil {
		return Seeded{}, fmt.Errorf("registrytest: seed image %s for %s: %w", repoTag, platformString(p), err)
	}
	if len(c.annotations) > 0 {
		img = mutate.Annotations(img, c.annotations).(v1.Image)
	}
	return r.push(repoTag, img)
}

// SeedIndex pushes an index with one random image per platform, each
// config matching its platform. See [Registry.SeedImage] for repoTag.
func (r *Registry) SeedIndex(repoTag string, platforms ...ocispec.Platform) (Seeded, error) {
	children := make([]Child, len(platforms))
	for i, p := range platforms {
		children[i] = Child{Platform: p}
	}
	return r.SeedChildren(repoTag, children)
}

// SeedChildren pushes an index of the given children (deliberately wrong
// ones included) with options. See [Registry.SeedImage] for repoTag.
func (r *Registry) SeedChildren(repoTag string, children []Child, opts ...SeedOption) (Seeded, error) {
	c := seedConfigOf(opts)
	idx, err := c.index(children)
	if err != nil {
		return Seeded{}, fmt.Errorf("registrytest: seed index %s: %w", repoTag, err)
	}
	return r.push(repoTag, idx)
}

func seedConfigOf(opts []SeedOption) seedConfig {
	c := seedConfig{layerSize: 256}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c seedConfig) image(p ocispec.Platform) (v1.Image, error) {
	layerMT := types.OCILayer
	if c.docker {
		layerMT = types.DockerLayer
	}
	layer, err := random.Layer(c.layerSize, layerMT)
	if err != nil {
		return nil, err
	}
	img, err := Image(p, v1.Config{}, layer)
	if err != nil || !c.docker {
		return img, err
	}
	return mutate.ConfigMediaType(mutate.MediaType(img, types.DockerManifestSchema2), types.DockerConfigJSON), nil
}

func (c seedConfig) index(children []Child) (v1.ImageIndex, error) {
	indexMT, manifestMT := types.OCIImageIndex, types.OCIManifestSchema1
	if c.docker {
		indexMT, manifestMT = types.DockerManifestList, types.DockerManifestSchema2
	}
	var adds, atts []mutate.IndexAddendum
	for _, ch := range children {
		cfg := ch.Platform
		if ch.Config != nil {
			cfg = *ch.Config
		}
		img, err := c.image(cfg)
		if err != nil {
			return nil, fmt.Errorf("child %s: %w", platformString(ch.Platform), err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: manifestMT, Platform: toV1(ch.Platform),
		}})
		if c.attestations {
			att, err := attestation(img)
			if err != nil {
				return nil, fmt.Errorf("attestation for %s: %w", platformString(ch.Platform), err)
			}
			atts = append(atts, att)
		}
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, append(adds, atts...)...), indexMT)
	if len(c.annotations) > 0 {
		idx = mutate.Annotations(idx, c.annotations).(v1.ImageIndex)
	}
	return idx, nil
}

// attestation builds a BuildKit-style attestation manifest for img.
func attestation(img v1.Image) (mutate.IndexAddendum, error) {
	d, err := img.Digest()
	if err != nil {
		return mutate.IndexAddendum{}, err
	}
	stmt, _ := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://slsa.dev/provenance/v0.2",
		"subject":       []map[string]any{{"digest": map[string]string{"sha256": d.Hex}}},
		"predicate":     map[string]any{"builder": map[string]string{"id": "registrytest"}},
	})
	att, err := mutate.AppendLayers(empty.Image, static.NewLayer(stmt, "application/vnd.in-toto+json"))
	if err != nil {
		return mutate.IndexAddendum{}, err
	}
	att = mutate.ConfigMediaType(mutate.MediaType(att, types.OCIManifestSchema1), types.OCIConfigJSON)
	cf, err := att.ConfigFile()
	if err != nil {
		return mutate.IndexAddendum{}, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "unknown", "unknown"
	if att, err = mutate.ConfigFile(att, cf); err != nil {
		return mutate.IndexAddendum{}, err
	}
	return mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		MediaType: types.OCIManifestSchema1,
		Platform:  &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{
			AnnotationReferenceType:   AttestationManifest,
			AnnotationReferenceDigest: d.String(),
		},
	}}, nil
}

// push writes img or idx under repoTag without counting the requests.
func (r *Registry) push(repoTag string, t remote.Taggable) (Seeded, error) {
	ctx, cancel := context.WithTimeout(context.Background(), seedTimeout)
	defer cancel()
	ref, err := name.ParseReference(r.Host()+"/"+repoTag, name.Insecure, name.StrictValidation)
	if err != nil {
		repo, rerr := name.NewRepository(r.Host()+"/"+repoTag, name.Insecure)
		if rerr != nil {
			return Seeded{}, fmt.Errorf("registrytest: %q is neither repo:tag nor a repository: %w", repoTag, err)
		}
		return r.pushTo(ctx, repo, nil, t)
	}
	return r.pushTo(ctx, ref.Context(), ref, t)
}

func (r *Registry) pushTo(ctx context.Context, repo name.Repository, ref name.Reference, t remote.Taggable) (Seeded, error) {
	var desc *v1.Descriptor
	var children []v1.Descriptor
	switch v := t.(type) {
	case v1.ImageIndex:
		im, err := v.IndexManifest()
		if err != nil {
			return Seeded{}, err
		}
		children = im.Manifests
		if desc, err = descriptorOf(v); err != nil {
			return Seeded{}, err
		}
		if ref == nil {
			ref = repo.Digest(desc.Digest.String())
		}
		err = remote.WriteIndex(ref, v, r.seedOptions(ctx)...)
		if err != nil {
			return Seeded{}, fmt.Errorf("registrytest: push %s: %w", ref, err)
		}
	case v1.Image:
		var err error
		if desc, err = descriptorOf(v); err != nil {
			return Seeded{}, err
		}
		if ref == nil {
			ref = repo.Digest(desc.Digest.String())
		}
		if err := remote.Write(ref, v, r.seedOptions(ctx)...); err != nil {
			return Seeded{}, fmt.Errorf("registrytest: push %s: %w", ref, err)
		}
	}
	return Seeded{Ref: repo.Digest(desc.Digest.String()), Descriptor: *desc, Children: children}, nil
}

type describable interface {
	MediaType() (types.MediaType, error)
	Digest() (v1.Hash, error)
	Size() (int64, error)
}

func descriptorOf(d describable) (*v1.Descriptor, error) {
	mt, err := d.MediaType()
	if err != nil {
		return nil, err
	}
	h, err := d.Digest()
	if err != nil {
		return nil, err
	}
	n, err := d.Size()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: mt, Digest: h, Size: n}, nil
}

func toV1(p ocispec.Platform) *v1.Platform {
	return &v1.Platform{
		OS: p.OS, Architecture: p.Architecture, Variant: p.Variant,
		OSVersion: p.OSVersion, OSFeatures: p.OSFeatures,
	}
}

func platformString(p ocispec.Platform) string { return platforms.Format(p) }
