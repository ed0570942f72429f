package manifest_test

import (
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// keychain answers the registrytest registry's credentials for its host.
type keychain struct{ reg *registrytest.Registry }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.reg.Host() {
		return k.reg.Authenticator(), nil
	}
	return authn.Anonymous, nil
}

// newClient returns a Client for reg with fast retries.
func newClient(reg *registrytest.Registry) *manifest.Client {
	return &manifest.Client{
		Keychain:  keychain{reg},
		Transport: reg.Client().Transport,
		Retry:     manifest.Retry{Initial: time.Millisecond},
	}
}

var (
	amd64 = platforms.MustParse("linux/amd64")
	arm64 = platforms.MustParse("linux/arm64")
	armv7 = platforms.MustParse("linux/arm/v7")
)

// seedImages pushes one image per platform by digest to repo and returns
// children referring to them.
func seedImages(t testing.TB, reg *registrytest.Registry, repo string, ps []ocispec.Platform, opts ...registrytest.SeedOption) []manifest.Child {
	t.Helper()
	var children []manifest.Child
	for _, p := range ps {
		s, err := reg.SeedImage(repo, p, opts...)
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, manifest.Child{Ref: s.Ref.String()})
	}
	return children
}
