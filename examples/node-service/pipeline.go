package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// ErrRefused is returned (wrapped, with the smoke report's error) when an image failed
// its smoke test or architecture scan: nothing was tagged.
var ErrRefused = errors.New("node-service: image refused, nothing tagged")

// Job is one run of the pipeline.
type Job struct {
	// Dir is the service's folder (package.json, src/, the Dockerfiles, smoke.yaml).
	// Default: "app" next to this program's smoke.yaml, i.e. "app".
	Dir string
	// Dockerfile is the Dockerfile inside Dir. Default: "Dockerfile"; the broken
	// variant is "broken.Dockerfile".
	Dockerfile string
	// Suite is the smoke test file. Default: "smoke.yaml" next to Dir.
	Suite string
	// Base is the multi-platform Node.js base image (build argument BASE). Required.
	Base string
	// Repository receives the platform images by digest and the index under Tags.
	Repository string
	// Tags the index is published under once every platform passed. Default: "latest".
	Tags []string
	// Platforms to build. Default: linux/amd64 and linux/arm64.
	Platforms []ocispec.Platform
	// NoCache rebuilds every step.
	NoCache bool
	// Progress receives BuildKit's plain progress. Default: none.
	Progress io.Writer
	// Status receives raw build status (for step timings). Default: none.
	Status chan<- build.Status
}

// Outcome is what a run did.
type Outcome struct {
	Build     *build.Result
	Report    *smoke.Report
	Published string // "repo@sha256:..." of the tagged index; empty when refused
	Timings   Timings
}

// Timings are the wall times of the pipeline's steps.
type Timings struct{ Build, Smoke, Publish time.Duration }

func (j Job) withDefaults() Job {
	if j.Dir == "" {
		j.Dir = "app"
	}
	if j.Dockerfile == "" {
		j.Dockerfile = "Dockerfile"
	}
	if j.Suite == "" {
		j.Suite = filepath.Join(filepath.Dir(filepath.Clean(j.Dir)), "smoke.yaml")
	}
	if len(j.Tags) == 0 {
		j.Tags = []string{"latest"}
	}
	if len(j.Platforms) == 0 {
		j.Platforms = []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}
	}
	return j
}

// Run builds the service for every platform (pushed by digest), smoke-tests and scans
// each image, and only when all pass assembles, verifies and publishes the index under
// the tags. A failed smoke test or scan returns an error wrapping ErrRefused and
// smoke.ErrFailed, with the Outcome holding the report.
func Run(ctx context.Context, b *build.Builder, runner smoke.Runner, mc *manifest.Client, j Job) (*Outcome, error) {
	j = j.withDefaults()
	if j.Base == "" || j.Repository == "" {
		return nil, fmt.Errorf("node-service: Job.Base and Job.Repository are required (got base %q, repository %q)", j.Base, j.Repository)
	}
	suite, err := smoke.Load(j.Suite)
	if err != nil {
		return nil, err
	}
	out := &Outcome{}

	start := time.Now()
	out.Build, err = b.Build(ctx, build.Request{
		Context:    j.Dir,
		Dockerfile: filepath.Join(j.Dir, j.Dockerfile),
		Platforms:  j.Platforms,
		Args:       map[string]string{"BASE": j.Base},
		Push:       j.Repository,
		NoCache:    j.NoCache,
		Progress:   j.Progress,
		Status:     j.Status,
	})
	out.Timings.Build = time.Since(start)
	if err != nil {
		return out, fmt.Errorf("node-service: build %s: %w", filepath.Join(j.Dir, j.Dockerfile), err)
	}

	targets := make([]smoke.Target, len(out.Build.Images))
	for i, img := range out.Build.Images {
		targets[i] = smoke.Target{Platform: img.Platform, Ref: img.Ref}
	}
	start = time.Now()
	out.Report, err = smoke.Run(ctx, runner, targets, suite)
	out.Timings.Smoke = time.Since(start)
	if err != nil {
		return out, fmt.Errorf("node-service: smoke test: %w", err)
	}
	if err := out.Report.Err(); err != nil {
		return out, fmt.Errorf("%w: %s: %w", ErrRefused, j.Repository, err)
	}

	start = time.Now()
	children := make([]manifest.Child, len(out.Build.Images))
	for i, img := range out.Build.Images {
		children[i] = manifest.Child{Ref: img.Ref, Platform: &img.Platform}
	}
	ix, err := mc.Assemble(ctx, manifest.Request{Children: children})
	if err != nil {
		return out, fmt.Errorf("node-service: assemble index: %w", err)
	}
	if err := manifest.Verify(ix, j.Platforms...); err != nil {
		return out, fmt.Errorf("node-service: verify index: %w", err)
	}
	ref, err := mc.Publish(ctx, ix, j.Repository, j.Tags...)
	out.Timings.Publish = time.Since(start)
	if err != nil {
		return out, fmt.Errorf("node-service: publish %s: %w", j.Repository, err)
	}
	out.Published = ref.String()
	return out, nil
}
