package nodebase

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/multiarch-sdk/multiarch/registrytest"
)

// Result is what Push made and pushed.
type Result struct {
	// Ref is the index as pushed: the reference given to Push.
	Ref string
	// Digest is the index's digest.
	Digest v1.Hash
	// Images are the per-platform images, in Config.Platforms order.
	Images []Image
}

// Images makes (or takes from the cache) every platform's root filesystem, in
// parallel up to Config.Parallel.
func (c Config) Images(ctx context.Context) ([]Image, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	plats := c.platforms()
	imgs := make([]Image, len(plats))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.parallel())
	for i, p := range plats {
		g.Go(func() error {
			var err error
			imgs[i], err = c.Rootfs(ctx, p)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return imgs, nil
}

// Push makes the images and pushes them to ref as one OCI image index, each image's
// config naming its platform. Credentials come from the Docker config; a loopback
// registry is reached over plain HTTP.
func (c Config) Push(ctx context.Context, ref string) (*Result, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("nodebase: base image reference %q: %w", ref, err)
	}
	imgs, err := c.Images(ctx)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, im := range imgs {
		img, err := c.image(im)
		if err != nil {
			return nil, fmt.Errorf("nodebase: image for %s from %s: %w", platforms.Format(im.Platform), im.Layer, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{
				OS: im.Platform.OS, Architecture: im.Platform.Architecture, Variant: im.Platform.Variant,
			}},
		})
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return nil, fmt.Errorf("nodebase: push base image %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	return &Result{Ref: ref, Digest: d, Images: imgs}, nil
}

// image turns one cached layer into an image whose config names its platform.
func (c Config) image(im Image) (v1.Image, error) {
	layer, err := tarball.LayerFromFile(im.Layer, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	return registrytest.Image(im.Platform, v1.Config{
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd: []string{"node"},
		Labels: map[string]string{
			"org.opencontainers.image.description": "Debian " + c.release() + " with " + strings.Join(c.packages(), ", ") + ", made by multiarch's internal/nodebase",
		},
	}, layer)
}
