package deploycheck_test

import (
	"os"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/multiarch-sdk/multiarch/examples/deploycheck"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var (
	amd64 = platforms.MustParse("linux/amd64")
	arm64 = platforms.MustParse("linux/arm64")
	s390x = platforms.MustParse("linux/s390x")
)

// keychain answers reg's credentials for reg's host.
type keychain struct{ reg *registrytest.Registry }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.reg.Host() {
		return k.reg.Authenticator(), nil
	}
	return authn.Anonymous, nil
}

// options reach reg, with fast retries.
func options(reg *registrytest.Registry) deploycheck.Options {
	return deploycheck.Options{
		Client: &manifest.Client{Keychain: keychain{reg}, Transport: reg.Client().Transport, Retry: manifest.Retry{Initial: time.Millisecond}},
		Remote: reg.RemoteOptions(),
	}
}
