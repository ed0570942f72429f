package deploycheck_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/examples/deploycheck"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// A deploy tool refuses to roll out an index that lacks a platform of its fleet.
func ExampleCheck() {
	reg := registrytest.NewServer() // a real registry is reached the same way
	defer reg.Close()
	_, _ = reg.SeedIndex("team/app:v1", platforms.MustParse("linux/amd64"))

	fleet := []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}
	rep, err := deploycheck.Check(context.Background(), reg.Host()+"/team/app:v1", fleet, deploycheck.Options{
		Client: &manifest.Client{Transport: reg.Client().Transport},
		Remote: reg.RemoteOptions(),
	})
	var missing *manifest.MissingPlatformError
	switch {
	case errors.As(err, &missing):
		fmt.Println("not rolling out: no image for", platforms.Format(missing.Platform))
	case err != nil:
		fmt.Println("cannot check:", err)
	default:
		fmt.Println("deploy", rep.Pinned)
	}
	fmt.Println("deployable:", rep.OK(), "offers:", rep.Platforms)
	// Output:
	// not rolling out: no image for linux/arm64
	// deployable: false offers: [linux/amd64]
}
