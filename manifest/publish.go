package manifest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// Publish writes ix to the repository target ("registry/repo") and points
// each of tags ("v1.2.3", "latest", ...) at it; with no tags the index is
// written by digest only. It returns the index's reference by digest.
//
// Order and guarantees:
//
//  1. tags are validated and ix is verified ([Verify] with no required
//     platforms): on any problem nothing is written (the error wraps
//     ErrNotVerified and the problems);
//  2. children not yet in target (merged from other repositories, or
//     converted) are written there first, blobs mounted across
//     repositories where the registry allows and uploaded once otherwise;
//     children read from target by Assemble are known to exist and cost no
//     request;
//  3. only when every child is in target is the index written, once per
//     tag.
//
// Transient errors (5xx, 429, reset connections) are retried as
// Client.Retry says; auth and other 4xx errors are not.
func (c *Client) Publish(ctx context.Context, ix *Index, target string, tags ...string) (name.Digest, error) {
	if err := c.init(); err != nil {
		return name.Digest{}, err
	}
	repo, err := c.parseRepo(target)
	if err != nil {
		return name.Digest{}, err
	}
	refs := make([]name.Reference, 0, len(tags))
	for _, t := range tags {
		tag, err := name.NewTag(repo.String()+":"+t, name.StrictValidation)
		if err != nil {
			return name.Digest{}, fmt.Errorf("manifest: tag %q for %s: %w: use letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')", t, repo, err)
		}
		refs = append(refs, repo.Tag(tag.TagStr()))
	}
	if err := Verify(ix); err != nil {
		return name.Digest{}, fmt.Errorf("%w: %s: %w", ErrNotVerified, repo, err)
	}
	raw, err := ix.RawManifest()
	if err != nil {
		return name.Digest{}, err
	}
	digest, err := ix.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	start := time.Now()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.jobs())
	for _, e := range ix.Entries {
		if !e.converted && e.Source.Context().String() == repo.String() {
			continue
		}
		dst := repo.Digest(e.Descriptor.Digest.String())
		g.Go(func() error {
			img, err := c.copyImage(gctx, e)
			if err != nil {
				return err
			}
			if err := c.pusher.Push(gctx, dst, img); err != nil {
				return fmt.Errorf("manifest: copy %s (%s) to %s: %w; nothing was tagged", e.Source, format(e.Platform()), repo, err)
			}
			c.log().Debug("child written", "ref", dst.String(), "from", e.Source.String())
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return name.Digest{}, err
	}

	doc := rawManifest{raw: raw, mt: ix.Format.indexType()}
	if len(refs) == 0 {
		refs = append(refs, repo.Digest(digest.String()))
	}
	for i, ref := range refs {
		if err := c.pusher.Put(ctx, ref, doc); err != nil {
			done := ""
			if i > 0 {
				done = fmt.Sprintf(" (tags already moved: %v)", refs[:i])
			}
			return name.Digest{}, fmt.Errorf("manifest: write index %s as %s%s: %w", digest, ref, done, err)
		}
	}
	c.log().Info("index published", "ref", repo.Digest(digest.String()).String(), "tags", tags,
		"platforms", len(ix.Platforms()), "duration", time.Since(start))
	return repo.Digest(digest.String()), nil
}

// rawManifest is a manifest document to PUT as is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }
