package faketest

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/manifest"
)

// Promote copies the index at src ("staging.example.com/app:v1.4.2") to the repository
// dst ("prod.example.com/app") under tags, only when it offers every platform of fleet
// and every child's config matches its platform. It returns the promoted index by
// digest. Nothing is written when the check fails; c's zero value is ready to use.
func Promote(ctx context.Context, c *manifest.Client, src, dst string, fleet []ocispec.Platform, tags ...string) (name.Digest, error) {
	ix, err := c.Assemble(ctx, manifest.Request{Children: []manifest.Child{{Ref: src}}})
	if err != nil {
		return name.Digest{}, fmt.Errorf("promote %s: %w", src, err)
	}
	if err := manifest.Verify(ix, fleet...); err != nil {
		return name.Digest{}, fmt.Errorf("promote %s to %s refused, nothing written: %w", src, dst, err)
	}
	d, err := c.Publish(ctx, ix, dst, tags...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("promote %s to %s: %w", src, dst, err)
	}
	return d, nil
}
