package manifest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// TestAssemblePublishRequestCount pins the requests of the common case: two
// images a build pushed by digest, assembled and published under one tag
// in the same repository.
func TestAssemblePublishRequestCount(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	children := seedImages(t, reg, "team/app", []ocispec.Platform{amd64, arm64})
	c := newClient(reg)
	ix, err := c.Assemble(ctx, manifest.Request{Children: children})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Publish(ctx, ix, reg.Host()+"/team/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	got := reg.CountsByKind()
	want := map[string]int{
		"GET ping":     2, // one auth discovery for reading, one for writing
		"GET manifest": 2, // each child once
		"GET blob":     2, // each child's config once (what Verify checks)
		"PUT manifest": 1, // the index, under its tag
	}
	if len(got) != len(want) {
		t.Errorf("requests by kind %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d requests, want %d (all: %v)", k, got[k], n, reg.Requests())
		}
	}
	if total := len(reg.Requests()); total != 7 {
		t.Errorf("%d requests for a two-platform assemble+publish, want 7", total)
	}
	tag, _ := reg.Reference("team/app:v1")
	head, err := remote.Head(tag, reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if head.Digest.String() != ref.DigestStr() {
		t.Errorf("tag at %s, Publish returned %s", head.Digest, ref)
	}
}

func TestPublishRetriesTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault registrytest.Fault
	}{
		{"503 on index PUT", registrytest.Fault{Method: http.MethodPut, Kind: registrytest.KindManifest, Nth: 1, Times: 2, Status: 503}},
		{"429 on index PUT", registrytest.Fault{Method: http.MethodPut, Kind: registrytest.KindManifest, Nth: 1, Status: 429}},
		{"500 on child read", registrytest.Fault{Method: http.MethodGet, Kind: registrytest.KindManifest, Nth: 1, Times: 2, Status: 500}},
		{"503 on config read", registrytest.Fault{Method: http.MethodGet, Kind: registrytest.KindBlob, Nth: 2, Status: 503}},
		{"reset on index PUT", registrytest.Fault{Method: http.MethodPut, Kind: registrytest.KindManifest, Nth: 1, Drop: true}},
		{"reset on child read", registrytest.Fault{Method: http.MethodGet, Kind: registrytest.KindManifest, Nth: 1, Drop: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t)
			children := seedImages(t, reg, "team/app", []ocispec.Platform{amd64, arm64})
			reg.Inject(tc.fault)
			c := newClient(reg)
			ix, err := c.Assemble(ctx, manifest.Request{Children: children})
			if err != nil {
				t.Fatalf("Assemble: %v", err)
			}
			if _, err := c.Publish(ctx, ix, reg.Host()+"/team/app", "v1"); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			fired := reg.Fired()
			want := max(tc.fault.Times, 1)
			if fired != want {
				t.Errorf("fault fired %d times, want %d", fired, want)
			}
			// Every faulted request was retried: 7 requests plus one per fault.
			if n := len(reg.Requests()); n != 7+fired {
				t.Errorf("%d requests, want %d: %v", n, 7+fired, reg.Requests())
			}
		})
	}
}

func TestNoRetryOnAuthErrors(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t, registrytest.WithBasicAuth("ci", "s3cret"))
	children := seedImages(t, reg, "team/app", []ocispec.Platform{amd64})

	wrong := newClient(reg)
	wrong.Keychain = staticKeychain{&authn.Basic{Username: "ci", Password: "wrong"}}
	_, err := wrong.Assemble(ctx, manifest.Request{Children: children})
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401", err)
	}
	if n := reg.Count(http.MethodGet, registrytest.KindManifest); n != 1 {
		t.Errorf("401 manifest read tried %d times, want 1", n)
	}

	// Right credentials to read, 403 on the write: not retried either.
	reg.ResetRequests()
	c := newClient(reg)
	ix, err := c.Assemble(ctx, manifest.Request{Children: children})
	if err != nil {
		t.Fatal(err)
	}
	reg.Inject(registrytest.Fault{Method: http.MethodPut, Status: http.StatusForbidden})
	_, err = c.Publish(ctx, ix, reg.Host()+"/team/app", "v1")
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusForbidden {
		t.Fatalf("err = %v, want a 403", err)
	}
	if n := reg.Count(http.MethodPut, registrytest.KindManifest); n != 1 {
		t.Errorf("403 index PUT tried %d times, want 1", n)
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// TestNothingTaggedWhenAChildFails: children merged from another
// repository fail to copy; the tag must not be written.
func TestNothingTaggedWhenAChildFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault registrytest.Fault
	}{
		{"child manifest refused", registrytest.Fault{Method: http.MethodPut, Kind: registrytest.KindManifest, Repo: "team/release", PathContains: "sha256:", Status: http.StatusBadRequest}},
		{"blob upload keeps failing", registrytest.Fault{Method: http.MethodPut, Kind: registrytest.KindUpload, Repo: "team/release", Status: http.StatusServiceUnavailable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t, registrytest.WithoutMount())
			children := seedImages(t, reg, "team/build", []ocispec.Platform{amd64, arm64})
			c := newClient(reg)
			c.Retry = manifest.Retry{Attempts: 2, Initial: 1}
			ix, err := c.Assemble(ctx, manifest.Request{Children: children})
			if err != nil {
				t.Fatal(err)
			}
			reg.Inject(tc.fault)
			_, err = c.Publish(ctx, ix, reg.Host()+"/team/release", "v1")
			if err == nil || !strings.Contains(err.Error(), "nothing was tagged") {
				t.Fatalf("err = %v, want a child copy error saying nothing was tagged", err)
			}
			if reg.Fired() == 0 {
				t.Fatal("the fault never fired: the test did not exercise a failing child")
			}
			for _, r := range reg.Requests() {
				if r.Method == http.MethodPut && r.Kind == registrytest.KindManifest && r.Path == "/v2/team/release/manifests/v1" {
					t.Errorf("tag written although a child failed: %v", r)
				}
			}
			tag, _ := reg.Reference("team/release:v1")
			if _, err := remote.Head(tag, reg.RemoteOptions()...); err == nil {
				t.Error("tag v1 exists")
			}
		})
	}
}

func TestPublishRefusesUnverifiedIndex(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	seeded, err := reg.SeedChildren("team/app", []registrytest.Child{{Platform: amd64, Config: &arm64}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	ix, err := c.Assemble(ctx, manifest.Request{Children: []manifest.Child{{Ref: seeded.Ref.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	reg.ResetRequests()
	_, err = c.Publish(ctx, ix, reg.Host()+"/team/app", "v1")
	var mm *manifest.PlatformMismatchError
	if !errors.Is(err, manifest.ErrNotVerified) || !errors.As(err, &mm) {
		t.Fatalf("err = %v, want ErrNotVerified and a *PlatformMismatchError", err)
	}
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("%d requests sent for a refused index: %v", n, reg.Requests())
	}
}

func TestPublishRejectsBadTags(t *testing.T) {
	reg := registrytest.New(t)
	c := newClient(reg)
	ix := &manifest.Index{}
	for _, tag := range []string{"", "-x", ".x", "a/b", "a:b", string(make([]byte, 129))} {
		if _, err := c.Publish(context.Background(), ix, reg.Host()+"/team/app", tag); err == nil {
			t.Errorf("tag %q accepted", tag)
		}
	}
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestPublishByDigestOnly(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	children := seedImages(t, reg, "team/app", []ocispec.Platform{amd64, arm64})
	c := newClient(reg)
	ix, err := c.Assemble(ctx, manifest.Request{Children: children})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ix.Digest()
	reg.ResetRequests()
	ref, err := c.Publish(ctx, ix, reg.Host()+"/team/app")
	if err != nil {
		t.Fatal(err)
	}
	if ref.DigestStr() != want.String() {
		t.Errorf("published %s, index digest %s", ref, want)
	}
	puts := 0
	for _, r := range reg.Requests() {
		if r.Method == http.MethodPut {
			puts++
			if r.Path != "/v2/team/app/manifests/"+want.String() {
				t.Errorf("PUT %s, want only the index by digest", r.Path)
			}
		}
	}
	if puts != 1 {
		t.Errorf("%d PUTs, want 1", puts)
	}
	tags, err := remote.List(reg.Repository("team/app"), reg.RemoteOptions()...)
	if err != nil || len(tags) != 0 {
		t.Errorf("tags %v (%v), want none", tags, err)
	}
}

func TestCancellationStopsPromptly(t *testing.T) {
	reg := registrytest.New(t)
	children := seedImages(t, reg, "team/app", []ocispec.Platform{amd64, arm64})
	reg.Inject(registrytest.Fault{Kind: registrytest.KindManifest, Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(reg).Assemble(ctx, manifest.Request{Children: children})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Assemble took %s after its context ended", d)
	}
}

// TestPublishHandBuiltIndex: an entry made by hand (not read by Assemble) in another
// repository cannot be copied; Publish says so and writes nothing.
func TestPublishHandBuiltIndex(t *testing.T) {
	reg := registrytest.New(t)
	seeded, err := reg.SeedImage("team/build", amd64)
	if err != nil {
		t.Fatal(err)
	}
	cfg := amd64
	ix := &manifest.Index{Entries: []manifest.Entry{{Descriptor: seeded.Descriptor, Config: &cfg}}}
	ix.Entries[0].Descriptor.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	_, err = newClient(reg).Publish(context.Background(), ix, reg.Host()+"/team/release", "v1")
	if err == nil || !strings.Contains(err.Error(), "Client.Assemble") || !strings.Contains(err.Error(), seeded.Descriptor.Digest.String()) {
		t.Fatalf("err = %v, want one naming the entry and Client.Assemble", err)
	}
	for _, r := range reg.Requests() {
		if r.Method == http.MethodPut {
			t.Errorf("wrote %v", r)
		}
	}
}
