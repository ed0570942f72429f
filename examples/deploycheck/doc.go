// Package deploycheck is what an internal deploy tool imports to refuse a rollout
// before it starts: given an image reference and the platforms of the fleet it goes
// to, Check reports whether every machine of the fleet will run it.
//
// It fails the check when
//
//   - the index lacks a platform the fleet runs (a linux/arm64 node would pull
//     nothing, or the wrong image): *manifest.MissingPlatformError;
//   - a child is listed under one platform while its image config declares another
//     (an arm64 image listed as amd64): *manifest.PlatformMismatchError;
//   - a child's binaries are built for another architecture than the platform it is
//     listed under (the "exec format error" that only production finds, such as an
//     amd64 binary copied into the arm64 image by a build stage on $BUILDPLATFORM):
//     *BinaryMismatchError, from an ELF scan of every layer (smoke.ScanOptions).
//
// All three wrap ErrNotDeployable. An error that does not is a check that could not
// run (registry unreachable, reference not found, no credentials): also no rollout,
// but for another reason.
//
// A deploy tool uses it like this:
//
//	fleet := []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")}
//	rep, err := deploycheck.Check(ctx, "registry.example.com/team/app:v1.4.2", fleet, deploycheck.Options{})
//	if err != nil {
//		return fmt.Errorf("not rolling out: %w", err)
//	}
//	rollout(rep.Pinned) // registry.example.com/team/app@sha256:..., the digest checked
//
// Check resolves the reference once and checks, and returns, that digest: deploy
// Report.Pinned, not the tag, so that a tag moved after the check is not deployed
// unchecked.
//
// The command in cmd/deploycheck wraps Check for scripts and pipelines:
//
//	deploycheck -fleet linux/amd64,linux/arm64 registry.example.com/team/app:v1.4.2
//
// Registries are read with go-containerregistry (manifests through the manifest
// package's Client, layers through remote), credentials from the Docker keychain
// unless Options says otherwise. Tests use registrytest, as this package's do.
package deploycheck
