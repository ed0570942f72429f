package faketest_test

import (
	"context"
	"fmt"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/examples/faketest"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// Promote against an in-process registry: the same code reaches a real one with a
// zero manifest.Client.
func ExamplePromote() {
	reg := registrytest.NewServer()
	defer reg.Close()
	amd64, arm64 := platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")
	_, _ = reg.SeedIndex("staging/app:v2", amd64, arm64)

	c := &manifest.Client{Transport: reg.Client().Transport}
	d, err := faketest.Promote(context.Background(), c, reg.Host()+"/staging/app:v2", reg.Host()+"/prod/app", []platforms.Platform{amd64, arm64}, "v2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("promoted:", d.Context().RepositoryStr())
	fmt.Println("requests:", reg.CountsByKind()["PUT manifest"], "manifest PUTs,", reg.CountsByKind()["POST mount"], "blob mounts")
	// Output:
	// promoted: prod/app
	// requests: 3 manifest PUTs, 4 blob mounts
}
