// Command node-service is the multiarch pipeline for a Node.js service with a native
// addon, offline: the case the SDK exists for, where an addon compiled for the wrong
// architecture segfaults or fails to load only in production.
//
// app/ is the service: a small HTTP API on SQLite through the native addon sqlite3
// (Debian's node-sqlite3, which ships compiled .node files per architecture), with a
// multi-stage Dockerfile (deps on the target platform, a pure-JavaScript build stage on
// the build platform, a production stage) and app/broken.Dockerfile, the same file with
// the classic mistake: the deps stage on $BUILDPLATFORM, so every image gets the build
// machine's addon. smoke.yaml is the smoke test every platform image must pass.
//
// The program runs the SDK's multiarch.Pipeline (see NewPipeline): QEMU registered if
// needed, linux/amd64 and linux/arm64 built in parallel and pushed by digest, each image
// smoke-tested (the addon loads, the service's HTTP check passes) and scanned for ELF
// files of the wrong architecture, and only then the index published under its tag.
// The broken variant is refused before anything is tagged.
//
// With no public registry, the Node.js base images are made from Debian packages by
// internal/nodebase (cached under /var/cache/multiarch/node-base) and pushed next to
// the service, unless -base names an existing one:
//
//	sudo scripts/setup.sh    # buildkitd, QEMU, mmdebstrap
//	go run ./examples/node-service -registry 127.0.0.1:5000     # starts its own buildkitd
//	go run ./examples/node-service -registry 127.0.0.1:5000 -dockerfile broken.Dockerfile  # exits 1
//	go run ./examples/node-service -registry 127.0.0.1:5000 -buildkit unix:///run/buildkit/buildkitd.sock
//
// A buildkitd given with -buildkit must reach the registry (plain HTTP for a loopback
// registry: `[registry."127.0.0.1:5000"] http = true` in buildkitd.toml).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/nodebase"
)

func main() {
	registry := flag.String("registry", "", "registry host:port for the base image and the service (required)")
	addr := flag.String("buildkit", "", "BuildKit address (default: start a local buildkitd for the run)")
	base := flag.String("base", "", "Node.js base image index (default: made with internal/nodebase and pushed to <registry>/multiarch/node:18)")
	dockerfile := flag.String("dockerfile", "Dockerfile", "Dockerfile inside app/ (broken.Dockerfile is the broken variant)")
	repo := flag.String("repo", "", "repository for the service (default <registry>/examples/notes-service)")
	tag := flag.String("tag", "latest", "tag of the published index")
	progress := flag.Bool("progress", false, "print BuildKit's progress to stderr")
	flag.Parse()
	if *registry == "" && (*base == "" || *repo == "") {
		fmt.Fprintln(os.Stderr, "node-service: -registry is required (or both -base and -repo)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *registry, *addr, *base, *dockerfile, *repo, *tag, *progress); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, registry, addr, base, dockerfile, repo, tag string, progress bool) error {
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	if base == "" {
		base = registry + "/multiarch/node:18"
		if _, err := (nodebase.Config{}).Push(ctx, base); err != nil {
			return err
		}
	}
	if repo == "" {
		repo = registry + "/examples/notes-service"
	}
	p, err := NewPipeline(filepath.Join(dir, "app"), dockerfile, base, repo, tag)
	if err != nil {
		return err
	}
	if addr != "" {
		p.Nodes = []build.Node{{Name: "local", Address: addr}}
	} else {
		p.Daemon = &build.DaemonConfig{}
	}
	if progress {
		p.Progress = os.Stderr
	}
	res, err := p.Run(ctx)
	if res != nil {
		res.WriteSummary(os.Stdout)
	}
	return err
}
