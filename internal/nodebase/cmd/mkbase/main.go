// Command mkbase fills the node-base cache (see package nodebase), so that
// scripts/setup.sh can make the Node.js root filesystems once per machine, and with
// -push also pushes them as one index:
//
//	go run ./internal/nodebase/cmd/mkbase            # linux/amd64 and linux/arm64
//	go run ./internal/nodebase/cmd/mkbase linux/arm64
//	go run ./internal/nodebase/cmd/mkbase -push 127.0.0.1:5000/multiarch/node:18
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/nodebase"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	push := flag.String("push", "", "push the images as one index to this reference")
	flag.Parse()
	var cfg nodebase.Config
	for _, a := range flag.Args() {
		p, err := platforms.Parse(a)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkbase: %v\n", err)
			os.Exit(2)
		}
		cfg.Platforms = append(cfg.Platforms, ocispec.Platform(p))
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	var imgs []nodebase.Image
	if *push != "" {
		res, err := cfg.Push(ctx, *push)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkbase: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("pushed %s@%s\n", res.Ref, res.Digest)
		imgs = res.Images
	} else {
		var err error
		if imgs, err = cfg.Images(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "mkbase: %v\n", err)
			os.Exit(1)
		}
	}
	for _, im := range imgs {
		fmt.Printf("%s\t%s\tcached=%t\t%s\n", platforms.Format(im.Platform), im.Layer, im.Cached, im.Duration.Round(100_000_000))
	}
}
