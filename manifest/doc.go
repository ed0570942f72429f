// Package manifest assembles, verifies and publishes multi-platform image
// indexes (the users' "Manifest"), and computes the tags they go under.
//
// It is the step that turns per-platform digests into the one reference a
// deploy pulls, and where the classic incident happens: an arm64 image
// listed, or tagged, as amd64. So the package verifies before it publishes.
//
//	c := &manifest.Client{} // Docker keychain, TLS except loopback
//	ix, err := c.Assemble(ctx, manifest.Request{Children: []manifest.Child{
//		{Ref: "registry.example/app@sha256:1111..."}, // platform read from its config
//		{Ref: "registry.example/app@sha256:2222..."},
//	}})
//	if err != nil { ... }
//	if err := manifest.Verify(ix, platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")); err != nil {
//		var mm *manifest.PlatformMismatchError
//		if errors.As(err, &mm) { ... } // an image whose config says another platform
//	}
//	ref, err := c.Publish(ctx, ix, "registry.example/app", "v1.2.3", "1.2", "latest")
//
// # Assemble
//
// [Client.Assemble] reads each [Child] (an image, or an index whose
// entries are merged, like `docker buildx imagetools create`): its manifest
// and its config, once. An entry's platform is the one given, else the one
// its config declares, normalised with github.com/containerd/platforms.
// The index is an OCI image index by default, a Docker manifest list with
// Format Docker; children of the other media-type family are refused
// ([MediaTypeError]) unless Request.Convert rewrites them. Attestation
// entries (BuildKit provenance and SBOM, platform unknown/unknown) are kept
// next to their image and never counted as platforms.
//
// # Verify
//
// [Verify] needs no request. It reports, joined, every
// [PlatformMismatchError] (config os/architecture/variant differs from the
// listed platform), [DuplicatePlatformError], [MissingPlatformError] for
// platforms the caller requires, [MediaTypeError] and [ErrNoPlatforms].
//
// # Publish
//
// [Client.Publish] verifies, writes children that are not in the target
// repository yet (mounting blobs across repositories when the registry
// allows, uploading each once otherwise), and only then writes the index
// under each tag. Transient errors (5xx, 429, reset connections) are
// retried with backoff; 4xx errors, auth included, are not.
//
// Registries are reached with go-containerregistry: credentials from
// authn.DefaultKeychain (or Client.Keychain), the caller's transport, and
// plain HTTP only for loopback hosts and hosts listed in Client.Insecure.
package manifest
