package manifest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// Assemble two per-platform images pushed by digest, verify and publish.
func Example() {
	ctx := context.Background()
	reg := registrytest.NewServer()
	defer reg.Close()
	amd, _ := reg.SeedImage("team/app", platforms.MustParse("linux/amd64"))
	arm, _ := reg.SeedImage("team/app", platforms.MustParse("linux/arm64"))

	c := &manifest.Client{Transport: reg.Client().Transport}
	ix, err := c.Assemble(ctx, manifest.Request{
		Children:    []manifest.Child{{Ref: amd.Ref.String()}, {Ref: arm.Ref.String()}},
		Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/app"},
	})
	if err != nil {
		panic(err)
	}
	if err := manifest.Verify(ix, platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")); err != nil {
		panic(err)
	}
	tags, _ := manifest.Tags(manifest.Metadata{Ref: "refs/tags/v1.4.2"}, manifest.TagRules{})
	if _, err := c.Publish(ctx, ix, reg.Host()+"/team/app", tags...); err != nil {
		panic(err)
	}
	d, _ := c.Inspect(ctx, reg.Host()+"/team/app:1.4")
	fmt.Println(tags, d.MediaType, d.Platforms)
	// Output: [1.4.2 1.4 1] application/vnd.oci.image.index.v1+json [linux/amd64 linux/arm64]
}

// Verify catches an arm64 image listed as amd64 before anything is tagged.
func ExampleVerify() {
	ctx := context.Background()
	reg := registrytest.NewServer()
	defer reg.Close()
	arm64 := platforms.MustParse("linux/arm64")
	bad, _ := reg.SeedChildren("team/app", []registrytest.Child{{Platform: platforms.MustParse("linux/amd64"), Config: &arm64}})

	c := &manifest.Client{Transport: reg.Client().Transport}
	ix, _ := c.Assemble(ctx, manifest.Request{Children: []manifest.Child{{Ref: bad.Ref.String()}}})
	err := manifest.Verify(ix, arm64)
	var mm *manifest.PlatformMismatchError
	var missing *manifest.MissingPlatformError
	fmt.Println(errors.As(err, &mm), platforms.Format(mm.Listed), platforms.Format(mm.Config), mm.Digest == bad.Children[0].Digest)
	fmt.Println(errors.As(err, &missing), platforms.Format(missing.Platform))
	// Output:
	// true linux/amd64 linux/arm64 true
	// true linux/arm64
}

// Tags for a push to the default branch, from explicit inputs.
func ExampleTags() {
	tags, _ := manifest.Tags(manifest.Metadata{
		Ref:           "refs/heads/main",
		SHA:           "9fceb02d0ae598e95dc970b74767f19372d61af8",
		DefaultBranch: "main",
	}, manifest.TagRules{Suffix: "-alpine"})
	fmt.Println(tags)
	// Output: [main-alpine sha-9fceb02-alpine latest]
}
