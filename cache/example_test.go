package cache_test

import (
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/cache"
)

// Flags written for buildx carry over; an export without mode= exports mode=max.
func ExampleParseFlags() {
	cfg, err := cache.ParseFlags(
		[]string{"registry.example.com/app:buildcache"},
		[]string{"type=registry,ref=registry.example.com/app:buildcache,compression=zstd"},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	from, to := cfg.Flags()
	fmt.Println(from[0])
	fmt.Println(to[0])
	// Output:
	// type=registry,ref=registry.example.com/app:buildcache
	// type=registry,ref=registry.example.com/app:buildcache,compression=zstd,mode=max
}

// With one solve per platform, each platform exports to its own tag and imports its
// own, then the unsuffixed one.
func ExampleConfig_Solve() {
	ref := "registry.example.com/app:buildcache"
	cfg := cache.Config{
		Import: []cache.Entry{{Registry: &cache.Registry{Ref: ref}}},
		Export: []cache.Entry{{Registry: &cache.Registry{Ref: ref}}},
	}
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispec.Platform{OS: "linux", Architecture: "arm64"}
	imports, exports, err := cfg.Solve(arm64, []ocispec.Platform{amd64, arm64}, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range imports {
		fmt.Println("import", e.Type, e.Attrs["ref"])
	}
	for _, e := range exports {
		fmt.Println("export", e.Type, e.Attrs["ref"], e.Attrs["mode"])
	}
	// Output:
	// import registry registry.example.com/app:buildcache-linux-arm64
	// import registry registry.example.com/app:buildcache
	// export registry registry.example.com/app:buildcache-linux-arm64 max
}

// The rules are checked before any build, each with an error to test with errors.Is.
func ExampleConfig_Validate() {
	cfg := cache.Config{Export: []cache.Entry{{Inline: &cache.Inline{}, Mode: cache.ModeMax}}}
	fmt.Println(cfg.Validate())
	// Output:
	// cache export 0 (inline): inline cache supports only mode=min: inline keeps only the final stage; for mode=max export to a registry cache (type=registry,ref=REPO:buildcache,mode=max)
}
