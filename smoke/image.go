package smoke

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	// ErrImageNotFound means the registry has no manifest for a target's reference.
	ErrImageNotFound = errors.New("image not found")
	// ErrPlatformNotFound means a target's reference is an index without its platform.
	ErrPlatformNotFound = errors.New("platform not in the image index")
	// ErrPlatformMismatch means a target's reference is an image whose config names
	// another platform than the target's.
	ErrPlatformMismatch = errors.New("image is for another platform")
)

// IndexTargets returns a Target for each platform image of ref, pinned by digest: each
// image of an index (attestation manifests and unknown/unknown entries skipped), or the
// one image ref names, with the platform of its config. Options used: WithRemoteOptions.
func IndexTargets(ctx context.Context, ref string, opts ...Option) ([]Target, error) {
	o := makeOptions(opts)
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("smoke: reference %q: %w", ref, err)
	}
	desc, err := getDescriptor(ctx, r, o.remote)
	if err != nil {
		return nil, fmt.Errorf("smoke: %w", err)
	}
	if desc.MediaType.IsImage() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("smoke: read image %s: %w", ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("smoke: read config of %s: %w", ref, err)
		}
		return []Target{{Platform: platforms.Normalize(ociPlatform(*cf.Platform())), Ref: r.Context().Digest(desc.Digest.String()).String()}}, nil
	}
	if !desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("smoke: %s is a %s, neither an image nor an index", ref, desc.MediaType)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("smoke: read index %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("smoke: read index %s: %w", ref, err)
	}
	var out []Target
	for _, d := range im.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() || d.Platform.OS == "unknown" {
			continue
		}
		out = append(out, Target{Platform: platforms.Normalize(ociPlatform(*d.Platform)), Ref: r.Context().Digest(d.Digest.String()).String()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("smoke: index %s lists no platform image", ref)
	}
	return out, nil
}

func getDescriptor(ctx context.Context, ref name.Reference, ro []remote.Option) (*remote.Descriptor, error) {
	if len(ro) == 0 {
		ro = []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	}
	// ctx last, so that it wins over a remote.WithContext among the caller's options.
	desc, err := remote.Get(ref, slices.Concat(ro, []remote.Option{remote.WithContext(ctx)})...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %s: check the repository, tag or digest (did the build push it?): %w", ErrImageNotFound, ref, err)
		}
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	return desc, nil
}

// resolveImage finds t's image in its registry: the image for t.Platform when t.Ref is
// an index. It returns the image and a reference pinned to the image's digest.
func resolveImage(ctx context.Context, t Target, ro []remote.Option) (v1.Image, string, error) {
	plat := platforms.Format(t.Platform)
	ref, err := name.ParseReference(t.Ref)
	if err != nil {
		return nil, "", fmt.Errorf("reference %q: %w", t.Ref, err)
	}
	desc, err := getDescriptor(ctx, ref, ro)
	if err != nil {
		return nil, "", err
	}
	match := platforms.OnlyStrict(t.Platform)
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, "", fmt.Errorf("read index %s: %w", t.Ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, "", fmt.Errorf("read index %s: %w", t.Ref, err)
		}
		var have []string
		for _, d := range im.Manifests {
			if d.Platform == nil || !d.MediaType.IsImage() {
				continue
			}
			p := ociPlatform(*d.Platform)
			if match.Match(p) {
				img, err := idx.Image(d.Digest)
				if err != nil {
					return nil, "", fmt.Errorf("read %s image of %s: %w", plat, t.Ref, err)
				}
				return img, ref.Context().Digest(d.Digest.String()).String(), nil
			}
			if p.OS != "unknown" {
				have = append(have, platforms.Format(p))
			}
		}
		return nil, "", fmt.Errorf("%w: %s has no %s image, only [%s]: build that platform or drop it from the targets",
			ErrPlatformNotFound, t.Ref, plat, strings.Join(have, ", "))
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, "", fmt.Errorf("read image %s: %w", t.Ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, "", fmt.Errorf("read config of %s: %w", t.Ref, err)
		}
		if p := ociPlatform(*cf.Platform()); !match.Match(p) {
			return nil, "", fmt.Errorf("%w: %s is a %s image, not %s: pair each target with its own platform's digest",
				ErrPlatformMismatch, t.Ref, platforms.Format(p), plat)
		}
		return img, ref.Context().Digest(desc.Digest.String()).String(), nil
	}
	return nil, "", fmt.Errorf("%s is a %s, neither an image nor an index", t.Ref, desc.MediaType)
}

func ociPlatform(p v1.Platform) ocispec.Platform {
	return ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
}
