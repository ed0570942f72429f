// Package cache describes a build's BuildKit cache, the CacheConfig of the SDK's
// users, as typed values, checks it against the rules that make multi-platform caching
// hit, and turns it into BuildKit's cache import and export entries for each solve.
//
// # Backends
//
// A [Config] lists cache entries to import and to export. Each [Entry] sets one
// backend: [Registry] (a cache image in a repository), [GHA] (the GitHub Actions cache
// service; URL and token default to the ACTIONS_* environment variables), [Local] (an
// OCI layout directory on the client machine), [Inline] (cache metadata inside the
// image; export only), [S3] and [AzBlob]. The zero Config uses no cache.
//
// The buildx flag form carries over both ways with [ParseFlags], [ParseImport],
// [ParseExport] and [Config.Flags]:
//
//	c, err := cache.ParseFlags(
//		[]string{"type=registry,ref=registry.example.com/app:buildcache"},
//		[]string{"type=registry,ref=registry.example.com/app:buildcache,mode=max"})
//
// # Rules
//
// [Config.Validate] checks, each rule with its own error to test with errors.Is:
//   - an export's mode defaults to max: BuildKit's default, min, caches only the final
//     stage, so a multi-stage build re-runs its builder stage every time;
//   - inline caches support only mode=min ([ErrInlineMode]) and are imported through a
//     registry entry naming the image ([ErrInlineImport]);
//   - exporting to a registry and to gha in one build is refused unless
//     AllowMixedExports is set ([ErrMixedExports]);
//   - each backend has what BuildKit needs ([ErrMissing], [ErrInvalidValue]);
//   - two exports may not write the same place ([ErrInvalidValue]).
//
// Whether a BuildKit node has a backend is checked before the build by [Config.Check]:
// the daemon is asked ([Probe]); BuildKit's Info API does not list cache backends, so
// the probe reads how the daemon turns down a cache export it cannot configure, and
// falls back to the documented list for the daemon's version ([SupportFor]).
//
// # Per-platform scoping
//
// When one solve builds all platforms, BuildKit keys cache records by platform and a
// single cache ref holds them all. When each platform is a separate solve (one per
// platform, or per node of a fleet, as build does), every solve exporting to the same
// ref overwrites the others: a fresh builder then hits cache for the last platform
// only. [Config.Solve] therefore gives each platform's export its own place, derived
// from the platform by [Suffix]:
//
//	registry ref  app:buildcache  ->  app:buildcache-linux-arm64
//	gha scope     buildkit        ->  buildkit-linux-arm64
//	local dir     /cache          ->  /cache/linux-arm64
//	s3/azblob     name buildkit   ->  buildkit-linux-arm64
//
// and imports its own place, then the unsuffixed one (a cache written by one
// together-solve, e.g. by buildx). It never imports another platform's place: that
// cache can hold this platform's step keys without their results, and BuildKit takes
// each key from whichever import answers first, so steps would miss at random:
//
//	imports, exports, err := cfg.Solve(linuxArm64, []ocispec.Platform{linuxAmd64, linuxArm64}, true)
//	// pass them as client.SolveOpt{CacheImports: imports, CacheExports: exports}
package cache
