package faketest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/examples/faketest"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

var (
	amd64 = platforms.MustParse("linux/amd64")
	arm64 = platforms.MustParse("linux/arm64")
	fleet = []ocispec.Platform{amd64, arm64}
)

// keychain gives the test registry's credentials (none unless it requires auth).
type keychain struct{ reg *registrytest.Registry }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return k.reg.Authenticator(), nil
}

// client reaches reg: its transport, its credentials, and retries 1ms apart so that
// retry tests are fast.
func client(reg *registrytest.Registry) *manifest.Client {
	return &manifest.Client{
		Keychain:  keychain{reg},
		Transport: reg.Client().Transport,
		Retry:     manifest.Retry{Initial: time.Millisecond},
	}
}

// childDigests reads ref back and lists its children's digests.
func childDigests(t *testing.T, reg *registrytest.Registry, ref string) []v1.Hash {
	t.Helper()
	r, err := reg.Reference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r, reg.RemoteOptions()...)
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, m := range im.Manifests {
		out = append(out, m.Digest)
	}
	return out
}

// assertNoTag fails unless ref is absent from reg.
func assertNoTag(t *testing.T, reg *registrytest.Registry, ref string) {
	t.Helper()
	r, err := reg.Reference(ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(r, reg.RemoteOptions()...)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
		t.Errorf("%s: err = %v, want 404", ref, err)
	}
}

func TestPromote(t *testing.T) {
	reg := registrytest.New(t)
	staged, err := reg.SeedIndex("staging/app:v1.4.2", amd64, arm64)
	if err != nil {
		t.Fatal(err)
	}

	d, err := faketest.Promote(context.Background(), client(reg), reg.Host()+"/staging/app:v1.4.2", reg.Host()+"/prod/app", fleet, "v1.4.2", "stable")
	if err != nil {
		t.Fatal(err)
	}

	want := []v1.Hash{staged.Children[0].Digest, staged.Children[1].Digest}
	for _, tag := range []string{"prod/app:v1.4.2", "prod/app:stable", "prod/app@" + d.DigestStr()} {
		if got := childDigests(t, reg, tag); !slices.Equal(got, want) {
			t.Errorf("%s lists %v, want the staged images %v", tag, got, want)
		}
	}
	// What it cost: two image manifests and the index under two tags written; each
	// image's config and layer mounted from staging, never uploaded again.
	if n := reg.Count("PUT", registrytest.KindManifest); n != 4 {
		t.Errorf("%d manifest PUTs, want 4 (2 images, index under 2 tags)", n)
	}
	if n := reg.Count("POST", registrytest.KindMount); n != 4 {
		t.Errorf("%d blob mounts, want 4 (a config and a layer per image)", n)
	}
	if n := reg.Count("PATCH", registrytest.KindUpload) + reg.Count("PUT", registrytest.KindUpload); n != 0 {
		t.Errorf("%d blob uploads, want none: blobs are mounted across repositories", n)
	}
}

func TestPromoteRefusesMissingPlatform(t *testing.T) {
	reg := registrytest.New(t)
	if _, err := reg.SeedIndex("staging/app:v1.4.2", amd64); err != nil {
		t.Fatal(err)
	}

	_, err := faketest.Promote(context.Background(), client(reg), reg.Host()+"/staging/app:v1.4.2", reg.Host()+"/prod/app", fleet, "v1.4.2")

	var missing *manifest.MissingPlatformError
	if !errors.As(err, &missing) || platforms.Format(missing.Platform) != "linux/arm64" {
		t.Fatalf("err = %v, want a MissingPlatformError for linux/arm64", err)
	}
	if n := reg.Count("PUT", ""); n != 0 {
		t.Errorf("%d PUTs, want none: a refused promotion writes nothing", n)
	}
	assertNoTag(t, reg, "prod/app:v1.4.2")
}

func TestPromoteRetriesTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     registrytest.Fault
		wantErr   bool
		wantFired int
	}{
		// The third manifest PUT, the index's (Publish writes both images first), gets
		// a 503; the client waits and tries again.
		{"one 503", registrytest.Fault{Method: "PUT", Kind: registrytest.KindManifest, Nth: 3, Status: http.StatusServiceUnavailable}, false, 1},
		// Every manifest PUT gets a 503: the first image is tried four times (Retry's
		// default Attempts), then the promotion fails before the index is written.
		{"503 forever", registrytest.Fault{Method: "PUT", Kind: registrytest.KindManifest, Status: http.StatusServiceUnavailable}, true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			if _, err := reg.SeedIndex("staging/app:v1.4.2", amd64, arm64); err != nil {
				t.Fatal(err)
			}
			reg.Inject(tc.fault)
			c := client(reg)
			c.Jobs = 1 // one request at a time, so that the counts are exact

			_, err := faketest.Promote(context.Background(), c, reg.Host()+"/staging/app:v1.4.2", reg.Host()+"/prod/app", fleet, "v1.4.2")

			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %t", err, tc.wantErr)
			}
			if reg.Fired() != tc.wantFired {
				t.Errorf("the fault fired %d times, want %d", reg.Fired(), tc.wantFired)
			}
			if tc.wantErr {
				assertNoTag(t, reg, "prod/app:v1.4.2")
			} else if len(childDigests(t, reg, "prod/app:v1.4.2")) != 2 {
				t.Errorf("prod/app:v1.4.2 was not promoted")
			}
		})
	}
}

func TestPromoteNeedsCredentials(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithBasicAuth("ci", "s3cret"))
	if _, err := reg.SeedIndex("staging/app:v1.4.2", amd64, arm64); err != nil {
		t.Fatal(err)
	}
	src, dst := reg.Host()+"/staging/app:v1.4.2", reg.Host()+"/prod/app"

	anonymous := client(reg)
	anonymous.Keychain = authn.NewMultiKeychain() // no credentials at all
	_, err := faketest.Promote(context.Background(), anonymous, src, dst, fleet, "v1.4.2")
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials: err = %v, want 401", err)
	}
	// The ping and the manifest read, each answered 401 once: auth errors are not retried.
	if n := reg.Count("", ""); n != 2 {
		t.Errorf("requests without credentials: %v, want 2", reg.Requests())
	}

	if _, err := faketest.Promote(context.Background(), client(reg), src, dst, fleet, "v1.4.2"); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
}
