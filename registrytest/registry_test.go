package registrytest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestSeedIndexConfigsMatchPlatforms(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []registrytest.SeedOption
		indexMT   types.MediaType
		childMT   types.MediaType
		wantAtt   bool
		platforms []string
	}{
		{"oci", nil, types.OCIImageIndex, types.OCIManifestSchema1, false, []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
		{"docker", []registrytest.SeedOption{registrytest.Docker()}, types.DockerManifestList, types.DockerManifestSchema2, false, []string{"linux/amd64", "linux/ppc64le"}},
		{"attestations", []registrytest.SeedOption{registrytest.WithAttestations()}, types.OCIImageIndex, types.OCIManifestSchema1, true, []string{"linux/amd64", "linux/arm64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			var children []registrytest.Child
			for _, p := range tc.platforms {
				children = append(children, registrytest.Child{Platform: platforms.MustParse(p)})
			}
			seeded, err := reg.SeedChildren("team/app:v1", children, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if reg.Count("", "") != 0 {
				t.Errorf("seeding was counted: %v", reg.Requests())
			}
			tag, _ := reg.Reference("team/app:v1")
			idx, err := remote.Index(tag, reg.RemoteOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := idx.Digest(); d != seeded.Descriptor.Digest {
				t.Errorf("tag points at %s, Seeded says %s", d, seeded.Descriptor.Digest)
			}
			if mt, _ := idx.MediaType(); mt != tc.indexMT {
				t.Errorf("index media type %s, want %s", mt, tc.indexMT)
			}
			im, _ := idx.IndexManifest()
			want := len(tc.platforms)
			if tc.wantAtt {
				want *= 2
			}
			if len(im.Manifests) != want {
				t.Fatalf("%d entries, want %d", len(im.Manifests), want)
			}
			for i, d := range im.Manifests {
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				if i >= len(tc.platforms) {
					if d.Annotations[registrytest.AnnotationReferenceType] != registrytest.AttestationManifest ||
						d.Platform.Architecture != "unknown" || cf.Architecture != "unknown" {
						t.Errorf("entry %d is not an attestation: %+v", i, d)
					}
					if ref := d.Annotations[registrytest.AnnotationReferenceDigest]; ref != im.Manifests[i-len(tc.platforms)].Digest.String() {
						t.Errorf("attestation %d refers to %s", i, ref)
					}
					continue
				}
				if d.MediaType != tc.childMT {
					t.Errorf("child %d media type %s, want %s", i, d.MediaType, tc.childMT)
				}
				want := platforms.MustParse(tc.platforms[i])
				got := ocispec.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
				if d.Platform.Architecture != want.Architecture || d.Platform.Variant != want.Variant ||
					!platforms.Only(want).Match(got) || got.Variant != want.Variant {
					t.Errorf("child %d: listed %v, config %v, want %v", i, d.Platform, got, want)
				}
			}
		})
	}
}

func TestSeedWrongChild(t *testing.T) {
	reg := registrytest.New(t)
	arm64 := platforms.MustParse("linux/arm64")
	seeded, err := reg.SeedChildren("team/app", []registrytest.Child{
		{Platform: platforms.MustParse("linux/amd64"), Config: &arm64},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(seeded.Ref.Context().Digest(seeded.Children[0].Digest.String()), reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	if seeded.Children[0].Platform.Architecture != "amd64" || cf.Architecture != "arm64" {
		t.Errorf("listed %s, config %s: want amd64 listed and arm64 config", seeded.Children[0].Platform, cf.Architecture)
	}
	// No tag was given: nothing is tagged latest.
	latest, _ := reg.Reference("team/app:latest")
	if _, err := remote.Head(latest, reg.RemoteOptions()...); err == nil {
		t.Error("seeding without a tag wrote a tag")
	}
}

func TestClassify(t *testing.T) {
	reg := registrytest.New(t)
	c := reg.Client()
	for _, tc := range []struct {
		method, path string
		kind         registrytest.Kind
		repo         string
	}{
		{"GET", "/v2/", registrytest.KindPing, ""},
		{"GET", "/v2/_catalog", registrytest.KindCatalog, ""},
		{"HEAD", "/v2/a/b/manifests/v1", registrytest.KindManifest, "a/b"},
		{"GET", "/v2/a/blobs/sha256:" + zeros, registrytest.KindBlob, "a"},
		{"POST", "/v2/a/blobs/uploads/", registrytest.KindUpload, "a"},
		{"POST", "/v2/a/blobs/uploads/?mount=sha256:" + zeros + "&from=b", registrytest.KindMount, "a"},
		{"PATCH", "/v2/x/y/z/blobs/uploads/123", registrytest.KindUpload, "x/y/z"},
		{"GET", "/v2/manifests/tags/list", registrytest.KindTags, "manifests"},
		{"GET", "/v2/a/referrers/sha256:" + zeros, registrytest.KindReferrers, "a"},
		{"GET", "/other", registrytest.KindOther, ""},
		{"GET", "/v2/a/blobs", registrytest.KindOther, ""}, // no digest: once a panic
		{"GET", "/v2/a/blobs/", registrytest.KindOther, ""},
		{"GET", "/token", registrytest.KindToken, ""},
	} {
		reg.ResetRequests()
		req, _ := http.NewRequest(tc.method, reg.URL()+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := reg.Requests()
		if len(got) != 1 || got[0].Kind != tc.kind || got[0].Repo != tc.repo || got[0].Status != resp.StatusCode {
			t.Errorf("%s %s: recorded %+v, want kind %s repo %q status %d", tc.method, tc.path, got, tc.kind, tc.repo, resp.StatusCode)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  registrytest.Option
	}{
		{"basic", registrytest.WithBasicAuth("ci", "s3cret")},
		{"bearer", registrytest.WithBearerAuth("ci", "s3cret")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t, tc.opt)
			seeded, err := reg.SeedImage("team/app:v1", platforms.MustParse("linux/amd64"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := remote.Image(seeded.Ref, reg.RemoteOptions()...); err != nil {
				t.Errorf("with the registry's credentials: %v", err)
			}
			if tokens := reg.Count(http.MethodGet, registrytest.KindToken); (tokens > 0) != (tc.name == "bearer") {
				t.Errorf("%d token requests recorded with %s auth", tokens, tc.name)
			}
			for _, auth := range []authn.Authenticator{authn.Anonymous, &authn.Basic{Username: "ci", Password: "wrong"}} {
				_, err := remote.Image(seeded.Ref, remote.WithTransport(reg.Client().Transport), remote.WithAuth(auth))
				var terr *transport.Error
				if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
					t.Errorf("with %T: err = %v, want 401", auth, err)
				}
			}
		})
	}
}

func TestFaultSelection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    registrytest.Fault
		requests int
		wantFail []int // 1-based indexes of failing pings, when exact
		min, max int   // bounds on failures, when random
	}{
		{"every", registrytest.Fault{Status: 500}, 4, []int{1, 2, 3, 4}, 0, 0},
		{"first two", registrytest.Fault{Status: 429, Times: 2}, 4, []int{1, 2}, 0, 0},
		{"third", registrytest.Fault{Status: 503, Nth: 3}, 5, []int{3}, 0, 0},
		{"second and third", registrytest.Fault{Status: 503, Nth: 2, Times: 2}, 5, []int{2, 3}, 0, 0},
		{"other kind", registrytest.Fault{Status: 503, Kind: registrytest.KindBlob}, 3, []int{}, 0, 0},
		{"other method", registrytest.Fault{Status: 503, Method: http.MethodHead}, 3, []int{}, 0, 0},
		{"fraction", registrytest.Fault{Status: 500, Fraction: 0.3}, 400, nil, 80, 160},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t, registrytest.WithFault(tc.fault), registrytest.WithSeed(7))
			var failed []int
			for i := 1; i <= tc.requests; i++ {
				resp, err := reg.Client().Get(reg.URL() + "/v2/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					if tc.fault.Status != resp.StatusCode {
						t.Errorf("status %d, want %d", resp.StatusCode, tc.fault.Status)
					}
					failed = append(failed, i)
				}
			}
			if reg.Fired() != len(failed) {
				t.Errorf("Fired() = %d, %d requests failed", reg.Fired(), len(failed))
			}
			if tc.wantFail != nil {
				if len(failed) != len(tc.wantFail) {
					t.Fatalf("failed %v, want %v", failed, tc.wantFail)
				}
				for i := range failed {
					if failed[i] != tc.wantFail[i] {
						t.Fatalf("failed %v, want %v", failed, tc.wantFail)
					}
				}
				return
			}
			if len(failed) < tc.min || len(failed) > tc.max {
				t.Errorf("%d of %d failed, want %d..%d", len(failed), tc.requests, tc.min, tc.max)
			}
		})
	}
}

func TestFaultDropLatencyRetryAfterRemove(t *testing.T) {
	reg := registrytest.New(t)
	remove := reg.Inject(registrytest.Fault{Drop: true, Nth: 1})
	if _, err := reg.Client().Get(reg.URL() + "/v2/"); err == nil {
		t.Error("dropped connection: no client error")
	}
	remove()
	if got := reg.Requests(); len(got) != 1 || got[0].Status != 0 {
		t.Errorf("recorded %v, want one request with status 0", got)
	}
	if n := reg.Fired(); n != 1 {
		t.Errorf("Fired() = %d after the fault was removed, want 1: what fired stays counted", n)
	}

	remove = reg.Inject(registrytest.Fault{Status: 429, RetryAfter: 2 * time.Second})
	resp, err := reg.Client().Get(reg.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("status %d Retry-After %q, want 429 and 2", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	remove()

	reg.Inject(registrytest.Fault{Latency: 50 * time.Millisecond})
	start := time.Now()
	resp, err = reg.Client().Get(reg.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); resp.StatusCode != 200 || d < 50*time.Millisecond {
		t.Errorf("latency fault: status %d after %s, want 200 after >= 50ms", resp.StatusCode, d)
	}
}

func TestBlobsScopedAndMounted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []registrytest.Option
		wantMount bool
		visible   bool // blob of team/a visible in team/b before any copy
	}{
		{"mount", nil, true, false},
		{"no mount", []registrytest.Option{registrytest.WithoutMount()}, false, false},
		{"shared", []registrytest.Option{registrytest.WithSharedBlobs()}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t, tc.opts...)
			seeded, err := reg.SeedImage("team/a:v1", platforms.MustParse("linux/amd64"), registrytest.WithLayerSize(4096))
			if err != nil {
				t.Fatal(err)
			}
			img, err := remote.Image(seeded.Ref, reg.RemoteOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			layers, _ := img.Layers()
			ld, _ := layers[0].Digest()
			resp, err := reg.Client().Head(reg.URL() + "/v2/team/b/blobs/" + ld.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if (resp.StatusCode == 200) != tc.visible {
				t.Errorf("layer of team/a in team/b before copy: status %d, visible want %v", resp.StatusCode, tc.visible)
			}
			reg.ResetRequests()
			dst, _ := reg.Reference("team/b:v1")
			if err := remote.Write(dst, img, reg.RemoteOptions()...); err != nil {
				t.Fatal(err)
			}
			mounted := 0
			for _, r := range reg.Requests() {
				if r.Kind == registrytest.KindMount && r.Status == http.StatusCreated {
					mounted++
				}
			}
			if (mounted > 0) != tc.wantMount {
				t.Errorf("mounted %d blobs, want mount %v; requests %v", mounted, tc.wantMount, reg.Requests())
			}
			if _, err := remote.Image(dst, reg.RemoteOptions()...); err != nil {
				t.Errorf("copy unreadable: %v", err)
			}
			if resp, err = reg.Client().Head(reg.URL() + "/v2/team/b/blobs/" + ld.String()); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("layer missing in team/b after copy: %s", resp.Status)
			}
		})
	}
}
