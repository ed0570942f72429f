package manifest

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format is the media-type family of an index and its children.
type Format string

const (
	// OCI: an OCI image index of OCI image manifests (the default).
	OCI Format = "oci"
	// Docker: a Docker manifest list of Docker schema 2 manifests.
	Docker Format = "docker"
)

func (f Format) indexType() types.MediaType {
	if f == Docker {
		return types.DockerManifestList
	}
	return types.OCIImageIndex
}

func (f Format) imageType() types.MediaType {
	if f == Docker {
		return types.DockerManifestSchema2
	}
	return types.OCIManifestSchema1
}

// formatOf returns the family of a manifest media type, "" if neither.
func formatOf(mt types.MediaType) Format {
	switch mt {
	case types.OCIImageIndex, types.OCIManifestSchema1:
		return OCI
	case types.DockerManifestList, types.DockerManifestSchema2:
		return Docker
	}
	return ""
}

// Index is an image index (or Docker manifest list) being assembled: the
// users' "Manifest". [Client.Assemble] makes one, [Verify] checks it and
// [Client.Publish] writes it. Its entries carry what Verify needs (each
// child's config platform), so verifying costs no request.
type Index struct {
	Format      Format            // OCI (also "") or Docker
	Annotations map[string]string // on the index itself
	Entries     []Entry
}

// format returns ix.Format, OCI when unset.
func (ix *Index) format() Format {
	if ix.Format == Docker {
		return Docker
	}
	return OCI
}

// Entry is one child of an Index.
type Entry struct {
	// Descriptor is the entry as written in the index: media type, digest,
	// size, platform and annotations.
	Descriptor v1.Descriptor
	// Config is the platform the child's image config declares; nil for
	// attestations and nested indexes.
	Config *ocispec.Platform
	// Source is where the child's manifest was read.
	Source name.Digest
	// From is the reference given in the Child it came from.
	From string

	raw       []byte // the manifest as it is written (converted or as read)
	rawConfig []byte // the config blob as read; nil for attestations
	converted bool   // raw was rewritten to the index's family: new digest
}

// Platform returns the platform the index lists for e, zero if none.
func (e Entry) Platform() ocispec.Platform {
	if e.Descriptor.Platform == nil {
		return ocispec.Platform{}
	}
	return fromV1(*e.Descriptor.Platform)
}

// Attestation reports whether e is an attestation manifest (BuildKit's
// provenance/SBOM entries: platform unknown/unknown or annotation
// vnd.docker.reference.type=attestation-manifest), not a runnable image.
func (e Entry) Attestation() bool {
	return isAttestation(e.Descriptor)
}

// Attestation annotations written by BuildKit on index entries.
const (
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	attestationManifest       = "attestation-manifest"
)

func isAttestation(d v1.Descriptor) bool {
	if d.Annotations[AnnotationReferenceType] == attestationManifest {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// Platforms returns the runnable platforms of ix in entry order,
// attestation entries excluded.
func (ix *Index) Platforms() []ocispec.Platform {
	var ps []ocispec.Platform
	for _, e := range ix.Entries {
		if !e.Attestation() {
			ps = append(ps, e.Platform())
		}
	}
	return ps
}

// MediaType returns the index media type of ix's Format.
func (ix *Index) MediaType() (types.MediaType, error) { return ix.Format.indexType(), nil }

// IndexManifest returns the index document.
func (ix *Index) IndexManifest() *v1.IndexManifest {
	im := &v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     ix.Format.indexType(),
		Manifests:     make([]v1.Descriptor, len(ix.Entries)),
		Annotations:   maps.Clone(ix.Annotations),
	}
	for i, e := range ix.Entries {
		im.Manifests[i] = e.Descriptor
	}
	return im
}

// RawManifest returns the JSON document that Publish writes.
func (ix *Index) RawManifest() ([]byte, error) { return json.Marshal(ix.IndexManifest()) }

// Digest returns the digest of RawManifest.
func (ix *Index) Digest() (v1.Hash, error) {
	b, err := ix.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytesReader(b))
	return h, err
}

func toV1(p ocispec.Platform) *v1.Platform {
	return &v1.Platform{
		OS: p.OS, Architecture: p.Architecture, Variant: p.Variant,
		OSVersion: p.OSVersion, OSFeatures: slices.Clone(p.OSFeatures),
	}
}

func fromV1(p v1.Platform) ocispec.Platform {
	return ocispec.Platform{
		OS: p.OS, Architecture: p.Architecture, Variant: p.Variant,
		OSVersion: p.OSVersion, OSFeatures: slices.Clone(p.OSFeatures),
	}
}

func format(p ocispec.Platform) string {
	if p.OS == "" && p.Architecture == "" {
		return "(no platform)"
	}
	return platforms.FormatAll(p)
}
