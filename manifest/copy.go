package manifest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// copyImage is an entry's image as Publish writes it: the manifest and
// config Assemble read (so nothing is read twice) and layers that refer to
// the source repository, so the registry can mount them, or the pusher
// streams them, with Publish's context.
type copyImage struct {
	ctx    context.Context
	puller *remote.Puller
	src    name.Repository
	raw    []byte
	config []byte
	m      *v1.Manifest
}

func (c *Client) copyImage(ctx context.Context, e Entry) (*copyImage, error) {
	if len(e.raw) == 0 {
		return nil, fmt.Errorf("manifest: entry %s (%s) was not read from a registry, so it cannot be copied: make the Index with Client.Assemble; nothing was tagged",
			e.Descriptor.Digest, format(e.Platform()))
	}
	m, err := v1.ParseManifest(bytesReader(e.raw))
	if err != nil {
		return nil, fmt.Errorf("manifest: %s: %w", e.Source, err)
	}
	return &copyImage{ctx: ctx, puller: c.puller, src: e.Source.Context(), raw: e.raw, config: e.rawConfig, m: m}, nil
}

// blob returns a mountable layer for the blob d of the source repository.
func (ci *copyImage) blob(d v1.Descriptor) (v1.Layer, error) {
	ref := ci.src.Digest(d.Digest.String())
	l, err := ci.puller.Layer(ci.ctx, ref)
	if err != nil {
		return nil, err
	}
	return &remote.MountableLayer{Layer: describedLayer{Layer: l, d: d}, Reference: ref}, nil
}

func (ci *copyImage) Layers() ([]v1.Layer, error) {
	ls := make([]v1.Layer, len(ci.m.Layers))
	for i, d := range ci.m.Layers {
		l, err := ci.blob(d)
		if err != nil {
			return nil, err
		}
		ls[i] = l
	}
	return ls, nil
}

// ConfigLayer is mountable from the source; when the registry does not
// mount, the config bytes Assemble read are uploaded, not read again.
func (ci *copyImage) ConfigLayer() (v1.Layer, error) {
	if ci.config == nil {
		return ci.blob(ci.m.Config)
	}
	ref := ci.src.Digest(ci.m.Config.Digest.String())
	l := static.NewLayer(ci.config, ci.m.Config.MediaType)
	return &remote.MountableLayer{Layer: describedLayer{Layer: l, d: ci.m.Config}, Reference: ref}, nil
}

func (ci *copyImage) MediaType() (types.MediaType, error) { return ci.m.MediaType, nil }
func (ci *copyImage) Size() (int64, error)                { return int64(len(ci.raw)), nil }
func (ci *copyImage) ConfigName() (v1.Hash, error)        { return ci.m.Config.Digest, nil }
func (ci *copyImage) Manifest() (*v1.Manifest, error)     { return ci.m.DeepCopy(), nil }
func (ci *copyImage) RawManifest() ([]byte, error)        { return ci.raw, nil }

func (ci *copyImage) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytesReader(ci.raw))
	return h, err
}

func (ci *copyImage) RawConfigFile() ([]byte, error) {
	if ci.config != nil {
		return ci.config, nil
	}
	return nil, fmt.Errorf("manifest: config of %s@%s was not read", ci.src, ci.m.Config.Digest)
}

func (ci *copyImage) ConfigFile() (*v1.ConfigFile, error) {
	b, err := ci.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytesReader(b))
}

func (ci *copyImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == ci.m.Config.Digest {
		return ci.ConfigLayer()
	}
	for _, d := range ci.m.Layers {
		if d.Digest == h {
			return ci.blob(d)
		}
	}
	return nil, fmt.Errorf("manifest: %s@%s has no blob %s", ci.src, ci.m.Config.Digest, h)
}

func (ci *copyImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	return nil, fmt.Errorf("manifest: layer lookup by diff ID %s is not supported when copying", h)
}

var _ v1.Image = (*copyImage)(nil)

// describedLayer answers digest, size and media type from the manifest's
// descriptor instead of asking the registry.
type describedLayer struct {
	v1.Layer
	d v1.Descriptor
}

func (l describedLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l describedLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l describedLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
