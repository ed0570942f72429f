package main

import (
	"fmt"
	"path/filepath"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// Platforms are the platforms the service is built for.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// NewPipeline returns the notes service's pipeline: the Dockerfile named dockerfile in
// the folder dir (the service's build context) built for Platforms on the base index
// base (build argument BASE), each platform image pushed by digest to repository,
// smoke-tested with the smoke.yaml next to dir (addon load, HTTP check, files,
// metadata) and scanned for wrong-architecture ELF files; only when all that passes is
// the index published under tags. The caller sets where it builds (Nodes or Daemon),
// Progress and Logger.
func NewPipeline(dir, dockerfile, base, repository string, tags ...string) (*multiarch.Pipeline, error) {
	if base == "" || repository == "" {
		return nil, fmt.Errorf("node-service: a base image and a repository are required (got base %q, repository %q)", base, repository)
	}
	suite, err := smoke.Load(filepath.Join(filepath.Dir(filepath.Clean(dir)), "smoke.yaml"))
	if err != nil {
		return nil, err
	}
	return &multiarch.Pipeline{
		Platforms:  Platforms,
		Context:    dir,
		Dockerfile: filepath.Join(dir, dockerfile),
		Args:       map[string]string{"BASE": base},
		Smoke:      suite,
		Repository: repository,
		Tags:       tags,
	}, nil
}
