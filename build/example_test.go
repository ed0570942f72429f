package build_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/build"
)

func ExampleParsePlatforms() {
	ps, err := build.ParsePlatforms("linux/amd64", "linux/arm64", "linux/arm/v7")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range ps {
		fmt.Printf("%s arch=%s variant=%q\n", platforms.Format(p), p.Architecture, p.Variant)
	}
	_, err = build.ParsePlatforms("linux/amd64/v2/extra")
	fmt.Println(err != nil)
	// Output:
	// linux/amd64 arch=amd64 variant=""
	// linux/arm64 arch=arm64 variant=""
	// linux/arm/v7 arch=arm variant="v7"
	// true
}

// Build a Dockerfile for two platforms on the default BuildKit daemon ($BUILDKIT_HOST or
// /run/buildkit/buildkitd.sock) and push each image by digest.
func ExampleBuilder_Build() {
	ctx := context.Background()
	b, err := build.New(ctx, nil)
	if err != nil {
		log.Fatal(err) // wraps build.ErrNodeUnreachable when no daemon answers
	}
	defer b.Close()

	plats, err := build.ParsePlatforms("linux/amd64", "linux/arm64")
	if err != nil {
		log.Fatal(err)
	}
	res, err := b.Build(ctx, build.Request{
		Context:   ".",
		Platforms: plats,
		Args:      map[string]string{"VERSION": "1.4.2"},
		Push:      "registry.example.com/team/app",
		Progress:  os.Stderr,
	})
	var pe *build.PlatformError
	if errors.As(err, &pe) {
		log.Fatalf("%s failed on node %s at %s", platforms.Format(pe.Platform), pe.Node, pe.Step)
	}
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range res.Images {
		fmt.Printf("%s %s (node %s, emulated %v, %d steps run, %d cached)\n",
			platforms.Format(img.Platform), img.Ref, img.Node, img.Emulated, img.Cache.Executed, img.Cache.Cached)
	}
}

// A fleet of two native nodes: each platform goes to the node that runs it natively.
func ExampleNew_fleet() {
	ctx := context.Background()
	amd, _ := build.ParsePlatforms("linux/amd64")
	arm, _ := build.ParsePlatforms("linux/arm64")
	b, err := build.New(ctx, []build.Node{
		{Name: "amd", Address: "tcp://amd.ci.internal:1234", Platforms: amd,
			TLS: &build.TLSConfig{CACert: "ca.pem", Cert: "cert.pem", Key: "key.pem"}},
		{Name: "arm", Address: "tcp://arm.ci.internal:1234", Platforms: arm,
			TLS: &build.TLSConfig{CACert: "ca.pem", Cert: "cert.pem", Key: "key.pem"}},
	}, build.WithConcurrency(4))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	for _, n := range b.Nodes() {
		fmt.Println(n.Name, "native:", n.Native, "workers:", n.Workers)
	}
}
