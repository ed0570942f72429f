// Package multiarch runs a whole multi-architecture container image pipeline from Go:
// register QEMU with the kernel, build one Dockerfile for several platforms in parallel
// on BuildKit (one node or a fleet of native nodes), reuse a build cache, smoke-test every
// platform image, and only then publish one image index under its tags.
//
// It replaces the usual pile of CI YAML (setup-qemu, setup-buildx, metadata, build-push,
// `docker manifest create`, `docker run --platform` smoke steps) with typed, testable Go,
// and it exists to prevent one failure: an image whose binaries do not match the platform
// it is published for ("exec format error", a segfaulting native addon), or a tag that
// moves to an index missing a platform that production runs.
//
// The packages, in pipeline order:
//
//   - [github.com/multiarch-sdk/multiarch/qemu]: binfmt_misc state, QEMU registration and
//     a probe that proves each foreign platform really runs.
//   - [github.com/multiarch-sdk/multiarch/build]: a Builder over one or more BuildKit
//     nodes; one solve per platform, in parallel, each pushed by digest (never tagged).
//   - [github.com/multiarch-sdk/multiarch/cache]: cache configuration whose per-platform
//     scoping makes multi-platform registry caches actually hit.
//   - [github.com/multiarch-sdk/multiarch/smoke]: commands run in every platform image
//     through BuildKit (no Docker engine), and an ELF scan of every layer for binaries
//     built for the wrong architecture.
//   - [github.com/multiarch-sdk/multiarch/manifest]: assemble, verify and publish the
//     image index; tag rules.
//   - [github.com/multiarch-sdk/multiarch/registrytest]: real, small, in-process
//     registries with fault injection, for unit tests of programs built on this SDK.
//
// [Pipeline] composes them (Context and Repository are required, every other field has
// a default); [Pipeline.Run] tags nothing unless every platform built, passed its smoke
// tests and scan, and verified:
//
//	p := multiarch.Pipeline{
//		Platforms:  []string{"linux/amd64", "linux/arm64"},
//		Context:    ".",
//		Daemon:     &build.DaemonConfig{}, // or Nodes: existing BuildKit daemons
//		Smoke:      multiarch.SmokeTest{Commands: []smoke.CommandTest{{Command: "app", Args: []string{"--version"}}}},
//		Repository: "registry.example.com/team/app",
//		Tags:       []string{"v1.2.3", "latest"},
//	}
//	res, err := p.Run(ctx) // a *multiarch.StepError names the failed step and platforms
//	res.WriteSummary(os.Stdout)
//
// Platforms are [github.com/opencontainers/image-spec/specs-go/v1.Platform] values,
// parsed and matched with [github.com/containerd/platforms]; references are parsed by
// go-containerregistry's name package.
package multiarch
