package manifest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/manifest"
)

// FuzzVerifyPlatforms: for any platform specifier, an entry whose config
// agrees with its listed platform verifies (and satisfies a requirement of
// that platform), and an entry whose config names another platform is
// reported as a mismatch naming its digest.
func FuzzVerifyPlatforms(f *testing.F) {
	for _, s := range [][2]string{
		{"linux/amd64", "linux/arm64"}, {"linux/arm", "linux/arm/v6"}, {"linux/aarch64/v8", "linux/arm64"},
		{"windows(10.0.17763)/amd64", "windows/amd64"}, {"linux(+sse4)/amd64/v3", "linux/386"},
		{"darwin/arm64", "linux/arm64"}, {"linux/x86_64", "linux/amd64"},
	} {
		f.Add(s[0], s[1])
	}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	f.Fuzz(func(t *testing.T, listedSpec, configSpec string) {
		listed, err := platforms.Parse(listedSpec)
		if err != nil || (listed.OS == "unknown" && listed.Architecture == "unknown") {
			return
		}
		entry := func(config v1.Platform) *manifest.Index {
			lp := v1.Platform{OS: listed.OS, Architecture: listed.Architecture, Variant: listed.Variant, OSVersion: listed.OSVersion, OSFeatures: listed.OSFeatures}
			cp := platforms.Normalize(ocispec.Platform{OS: config.OS, Architecture: config.Architecture, Variant: config.Variant, OSVersion: config.OSVersion})
			return &manifest.Index{Entries: []manifest.Entry{{
				Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Platform: &lp},
				Config:     &cp,
			}}}
		}
		same := v1.Platform{OS: listed.OS, Architecture: listed.Architecture, Variant: listed.Variant, OSVersion: listed.OSVersion}
		if err := manifest.Verify(entry(same), listed); err != nil {
			t.Fatalf("%q listed with its own config: %v", listedSpec, err)
		}
		other, err := platforms.Parse(configSpec)
		if err != nil {
			return
		}
		a, b := platforms.Normalize(listed), platforms.Normalize(other)
		if a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant {
			return
		}
		err = manifest.Verify(entry(v1.Platform{OS: other.OS, Architecture: other.Architecture, Variant: other.Variant}))
		var mm *manifest.PlatformMismatchError
		if !errors.As(err, &mm) || mm.Digest != d || !strings.Contains(err.Error(), d.String()) {
			t.Fatalf("%q listed, %q config: Verify = %v, want a mismatch naming %s", listedSpec, configSpec, err, d)
		}
	})
}
