package registrytest_test

import (
	"fmt"
	"net/http"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/multiarch-sdk/multiarch/registrytest"
)

// Seed a two-platform index and read it back.
func ExampleRegistry_SeedIndex() {
	reg := registrytest.NewServer()
	defer reg.Close()

	seeded, err := reg.SeedIndex("team/app:v1",
		platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64"))
	if err != nil {
		panic(err)
	}
	idx, err := remote.Index(seeded.Ref, reg.RemoteOptions()...)
	if err != nil {
		panic(err)
	}
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		img, _ := idx.Image(d.Digest)
		cf, _ := img.ConfigFile()
		fmt.Printf("%s: config says %s/%s\n", d.Platform, cf.OS, cf.Architecture)
	}
	// The index, then each child when its config is read.
	fmt.Println(reg.Count(http.MethodGet, registrytest.KindManifest), "manifest GETs")
	// Output:
	// linux/amd64: config says linux/amd64
	// linux/arm64: config says linux/arm64
	// 3 manifest GETs
}

// Seed an arm64 image listed as amd64: the incident a pipeline must catch.
func ExampleRegistry_SeedChildren() {
	reg := registrytest.NewServer()
	defer reg.Close()

	arm64 := platforms.MustParse("linux/arm64")
	seeded, err := reg.SeedChildren("team/app:broken", []registrytest.Child{
		{Platform: platforms.MustParse("linux/amd64"), Config: &arm64},
	})
	if err != nil {
		panic(err)
	}
	idx, _ := remote.Index(seeded.Ref, reg.RemoteOptions()...)
	img, _ := idx.Image(seeded.Children[0].Digest)
	cf, _ := img.ConfigFile()
	fmt.Printf("listed %s, config %s/%s\n", seeded.Children[0].Platform, cf.OS, cf.Architecture)
	// Output: listed linux/amd64, config linux/arm64
}

// Fail the first manifest read with 503, as a flaky registry would.
func ExampleRegistry_Inject() {
	reg := registrytest.NewServer()
	defer reg.Close()
	seeded, _ := reg.SeedImage("team/app:v1", platforms.MustParse("linux/amd64"))

	remove := reg.Inject(registrytest.Fault{
		Method: http.MethodGet, Kind: registrytest.KindManifest, Nth: 1, Status: http.StatusServiceUnavailable,
	})
	defer remove()

	// go-containerregistry retries 503 by itself.
	_, err := remote.Image(seeded.Ref, reg.RemoteOptions()...)
	fmt.Println("err:", err)
	for _, r := range reg.Requests() {
		if r.Kind == registrytest.KindManifest {
			fmt.Println(r.Method, r.Kind, r.Status)
		}
	}
	// Output:
	// err: <nil>
	// GET manifest 503
	// GET manifest 200
}
