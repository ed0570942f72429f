// Package build builds one Dockerfile for several platforms on BuildKit: one solve per
// platform, in parallel, on one node or a fleet of nodes, each image pushed by digest.
// It replaces `docker buildx create` + `docker buildx build` for Go programs.
//
// # Nodes
//
// A [Builder] is made from [Node]s, each a BuildKit address as buildctl and buildx
// spell them: unix:///run/buildkit/buildkitd.sock, tcp://host:1234 (TLS or mutual TLS
// from PEM files, see [TLSConfig]), docker-container://<container> and
// kube-pod://<pod> (through BuildKit's connection helpers, which run the docker or
// kubectl CLI). With no nodes, the builder uses $BUILDKIT_HOST, else the standard
// socket. [New] asks each node which platforms its workers run (ListWorkers) and keeps
// the answer; a node that does not answer fails New within the connect timeout.
// A program without a daemon can start one with [StartDaemon].
//
// # Routing
//
// Each requested platform goes to a node that runs it natively (a node's declared
// [Node.Platforms], matched exactly), else to a node whose native platform runs it
// (an amd64 node runs 386, an arm64 node runs arm/v7), else to a node that lists it
// among its workers' platforms (emulation through QEMU), else Build fails with a
// [*NoNodeError] naming the platform and what each node runs. [Image.Node] and
// [Image.Emulated] show where each platform went.
//
// # One solve per platform
//
// Build runs one BuildKit solve per platform, concurrently ([WithConcurrency] bounds
// them), so that platforms can go to different nodes and a slow emulated platform does
// not hold back the others' pushes. Each solve uses the dockerfile.v0 frontend with
// the "platform" option, so TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT and
// BUILDPLATFORM reach the Dockerfile exactly as with buildx. Its cache entries come
// from the request's cache.Config with one derived ref per platform (see package
// cache: one shared ref would be overwritten by the last platform's export).
//
// Each image is pushed by digest to [Request.Push], never tagged: tag an index of the
// digests (package manifest) once the images pass their smoke tests. No attestations
// are added unless [Request.Attestations] asks: provenance and SBOM manifests appear as
// unknown/unknown platforms in an index, which many registries and tools mishandle.
//
// # Example
//
//	b, err := build.New(ctx, []build.Node{
//		{Name: "amd", Address: "tcp://amd.ci:1234", Platforms: must(build.ParsePlatforms("linux/amd64"))},
//		{Name: "arm", Address: "tcp://arm.ci:1234", Platforms: must(build.ParsePlatforms("linux/arm64"))},
//	})
//	...
//	res, err := b.Build(ctx, build.Request{
//		Context:   ".",
//		Platforms: must(build.ParsePlatforms("linux/amd64", "linux/arm64")),
//		Args:      map[string]string{"VERSION": "1.4.2"},
//		Push:      "registry.example.com/team/app",
//		Progress:  os.Stderr,
//	})
//	for _, img := range res.Images {
//		fmt.Println(platforms.Format(img.Platform), img.Ref, img.Node, img.Cache.Executed)
//	}
//
// # Errors
//
// Requests that cannot work (missing Dockerfile or context, unknown target stage,
// invalid platform or repository, missing secret source) are rejected with
// [ErrInvalidRequest] before anything is sent to BuildKit. A failed solve is a
// [*PlatformError] naming the platform, the node and the failing step with BuildKit's
// message. [Request.OnFailure] chooses whether one failure cancels the other platforms
// (the default) or lets them complete.
//
// The package prints nothing: progress goes to [Request.Progress] (rendered by
// BuildKit's progressui) or [Request.Status], events to the [WithLogger] logger.
package build
