package manifest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestAssembleFromImages(t *testing.T) {
	for _, tc := range []struct {
		name      string
		seed      []registrytest.SeedOption
		format    manifest.Format
		convert   bool
		indexMT   types.MediaType
		childMT   types.MediaType
		converted bool
	}{
		{"oci default", nil, "", false, types.OCIImageIndex, types.OCIManifestSchema1, false},
		{"docker list", []registrytest.SeedOption{registrytest.Docker()}, manifest.Docker, false, types.DockerManifestList, types.DockerManifestSchema2, false},
		{"docker children converted to oci", []registrytest.SeedOption{registrytest.Docker()}, manifest.OCI, true, types.OCIImageIndex, types.OCIManifestSchema1, true},
		{"oci children converted to docker", nil, manifest.Docker, true, types.DockerManifestList, types.DockerManifestSchema2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t)
			ps := []ocispec.Platform{amd64, arm64, armv7}
			children := seedImages(t, reg, "team/app", ps, tc.seed...)
			children[0].Annotations = map[string]string{"org.opencontainers.image.title": "amd64 build"}
			c := newClient(reg)
			ix, err := c.Assemble(ctx, manifest.Request{
				Children: children, Format: tc.format, Convert: tc.convert,
				Annotations: map[string]string{"org.opencontainers.image.revision": "abc1234"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := manifest.Verify(ix, ps...); err != nil {
				t.Errorf("Verify: %v", err)
			}
			got := ix.Platforms()
			if len(got) != len(ps) {
				t.Fatalf("platforms %v, want %v", got, ps)
			}
			for i, p := range ps {
				if !platforms.NewMatcher(p).Match(got[i]) {
					t.Errorf("entry %d platform %s, want %s", i, platforms.Format(got[i]), platforms.Format(p))
				}
			}
			if got[2].Variant != "v7" {
				t.Errorf("arm entry has variant %q, want v7 from the config", got[2].Variant)
			}
			ref, err := c.Publish(ctx, ix, reg.Host()+"/team/app", "v1", "latest")
			if err != nil {
				t.Fatal(err)
			}
			idx, err := remote.Index(ref, reg.RemoteOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			im, _ := idx.IndexManifest()
			if mt, _ := idx.MediaType(); mt != tc.indexMT || im.MediaType != tc.indexMT {
				t.Errorf("index media type %s / %s, want %s", mt, im.MediaType, tc.indexMT)
			}
			if im.Annotations["org.opencontainers.image.revision"] != "abc1234" {
				t.Errorf("index annotations %v", im.Annotations)
			}
			if im.Manifests[0].Annotations["org.opencontainers.image.title"] != "amd64 build" {
				t.Errorf("entry annotations %v", im.Manifests[0].Annotations)
			}
			for i, d := range im.Manifests {
				if d.MediaType != tc.childMT {
					t.Errorf("entry %d media type %s, want %s", i, d.MediaType, tc.childMT)
				}
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatalf("entry %d not in the repository: %v", i, err)
				}
				if mt, _ := img.MediaType(); mt != tc.childMT {
					t.Errorf("child %d stored as %s, want %s", i, mt, tc.childMT)
				}
				if changed := d.Digest.String() != children[i].Ref[len(children[i].Ref)-71:]; changed != tc.converted {
					t.Errorf("entry %d digest %s from %s: converted=%v, want %v", i, d.Digest, children[i].Ref, changed, tc.converted)
				}
				cf, err := img.ConfigFile()
				if err != nil || cf.Architecture != ps[i].Architecture {
					t.Errorf("child %d config %v (%v), want %s", i, cf, err, ps[i].Architecture)
				}
			}
			latest, _ := reg.Reference("team/app:latest")
			if h, err := remote.Head(latest, reg.RemoteOptions()...); err != nil || h.Digest.String() != ref.DigestStr() {
				t.Errorf("second tag: %v %v", h, err)
			}
		})
	}
}

func TestAssembleRefusesMixedMediaTypes(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	oci := seedImages(t, reg, "team/app", []ocispec.Platform{amd64})
	docker := seedImages(t, reg, "team/app", []ocispec.Platform{arm64}, registrytest.Docker())
	for _, f := range []manifest.Format{manifest.OCI, manifest.Docker} {
		_, err := newClient(reg).Assemble(ctx, manifest.Request{Children: append(oci, docker...), Format: f})
		var mt *manifest.MediaTypeError
		if !errors.As(err, &mt) || mt.Format != f {
			t.Errorf("format %s: err = %v, want *MediaTypeError", f, err)
		}
	}
	if _, err := newClient(reg).Assemble(ctx, manifest.Request{Children: oci, Format: "v2s1"}); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestMergeAcrossRepositories merges an index with attestations from one
// repository and an image from another into a third, like
// `docker buildx imagetools create`.
func TestMergeAcrossRepositories(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      []registrytest.Option
		wantMount bool
	}{
		{"mount", nil, true},
		{"copy", []registrytest.Option{registrytest.WithoutMount()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t, tc.opts...)
			idx, err := reg.SeedChildren("team/x86-arm:v1", []registrytest.Child{{Platform: amd64}, {Platform: arm64}}, registrytest.WithAttestations())
			if err != nil {
				t.Fatal(err)
			}
			arm := seedImages(t, reg, "team/armv7", []ocispec.Platform{armv7})
			c := newClient(reg)
			ix, err := c.Assemble(ctx, manifest.Request{Children: []manifest.Child{
				{Ref: reg.Host() + "/team/x86-arm:v1"}, arm[0],
			}})
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Entries) != 5 || len(ix.Platforms()) != 3 {
				t.Fatalf("%d entries, platforms %v: want 5 entries (2 attestations) and 3 platforms", len(ix.Entries), ix.Platforms())
			}
			if err := manifest.Verify(ix, amd64, arm64, armv7); err != nil {
				t.Errorf("Verify: %v", err)
			}
			reg.ResetRequests()
			ref, err := c.Publish(ctx, ix, reg.Host()+"/team/release", "v1")
			if err != nil {
				t.Fatal(err)
			}
			published := reg.Requests()
			uploads := map[string]int{}
			mounts := 0
			for _, r := range reg.Requests() {
				if r.Kind == registrytest.KindMount && r.Status == http.StatusCreated {
					mounts++
				}
				if r.Method == http.MethodPut && r.Kind == registrytest.KindUpload {
					uploads[r.Query]++
				}
			}
			if (mounts > 0) != tc.wantMount {
				t.Errorf("%d blobs mounted, want mounting %v", mounts, tc.wantMount)
			}
			if tc.wantMount && len(uploads) != 0 {
				t.Errorf("blobs uploaded although mountable: %v", uploads)
			}
			if !tc.wantMount && len(uploads) == 0 {
				t.Error("no blob copied")
			}
			for q, n := range uploads {
				if n > 1 {
					t.Errorf("blob %s uploaded %d times", q, n)
				}
			}
			out, err := remote.Index(ref, reg.RemoteOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			im, _ := out.IndexManifest()
			for _, d := range im.Manifests {
				if _, err := out.Image(d.Digest); err != nil {
					t.Errorf("child %s missing from team/release: %v", d.Digest, err)
				}
			}
			// Configs Assemble read are not read again to copy them.
			for _, e := range ix.Entries {
				if e.Attestation() {
					continue
				}
				img, _ := out.Image(e.Descriptor.Digest)
				cfg, _ := img.ConfigName()
				for _, r := range published {
					if r.Method == http.MethodGet && strings.HasSuffix(r.Path, cfg.String()) {
						t.Errorf("config %s of %s read again while publishing", cfg, e.Source)
					}
				}
			}
			if im.Manifests[0].Digest != idx.Children[0].Digest {
				t.Errorf("first entry %s, want the seeded amd64 child %s", im.Manifests[0].Digest, idx.Children[0].Digest)
			}
		})
	}
}

func TestAssembleSelectsFromIndex(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	if _, err := reg.SeedChildren("team/app:v1", []registrytest.Child{{Platform: amd64}, {Platform: arm64}}, registrytest.WithAttestations()); err != nil {
		t.Fatal(err)
	}
	ref := reg.Host() + "/team/app:v1"
	for _, tc := range []struct {
		name        string
		child       manifest.Child
		drop        bool
		entries     int
		wantMissing bool
	}{
		{"all", manifest.Child{Ref: ref}, false, 4, false},
		{"all without attestations", manifest.Child{Ref: ref}, true, 2, false},
		{"arm64 and its attestation", manifest.Child{Ref: ref, Platform: &arm64}, false, 2, false},
		{"arm64/v8 is arm64", manifest.Child{Ref: ref, Platform: &ocispec.Platform{OS: "linux", Architecture: "aarch64", Variant: "v8"}}, false, 2, false},
		{"absent platform", manifest.Child{Ref: ref, Platform: &armv7}, false, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := newClient(reg).Assemble(ctx, manifest.Request{Children: []manifest.Child{tc.child}, DropAttestations: tc.drop})
			var missing *manifest.MissingPlatformError
			if tc.wantMissing {
				if !errors.As(err, &missing) || missing.Ref != ref {
					t.Fatalf("err = %v, want *MissingPlatformError for %s", err, ref)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ix.Entries) != tc.entries {
				t.Errorf("%d entries, want %d", len(ix.Entries), tc.entries)
			}
			for _, e := range ix.Entries {
				if tc.child.Platform != nil && !e.Attestation() && e.Platform().Architecture != "arm64" {
					t.Errorf("selected %s", platforms.Format(e.Platform()))
				}
			}
		})
	}
}

// TestConvertKeepsAttestationsAttached: converting an index's images gives them new
// digests; each attestation must then refer to its image's new digest, not to one the
// index no longer lists.
func TestConvertKeepsAttestationsAttached(t *testing.T) {
	for _, tc := range []struct {
		name   string
		seed   []registrytest.SeedOption
		format manifest.Format
	}{
		{"docker to oci", []registrytest.SeedOption{registrytest.Docker(), registrytest.WithAttestations()}, manifest.OCI},
		{"oci to docker", []registrytest.SeedOption{registrytest.WithAttestations()}, manifest.Docker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			reg := registrytest.New(t)
			seeded, err := reg.SeedChildren("team/app:v1", []registrytest.Child{{Platform: amd64}, {Platform: arm64}}, tc.seed...)
			if err != nil {
				t.Fatal(err)
			}
			ix, err := newClient(reg).Assemble(ctx, manifest.Request{
				Children: []manifest.Child{{Ref: seeded.Ref.String()}}, Format: tc.format, Convert: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			images := map[string]bool{}
			for _, e := range ix.Entries {
				if !e.Attestation() {
					images[e.Descriptor.Digest.String()] = true
				}
			}
			attestations := 0
			for _, e := range ix.Entries {
				if !e.Attestation() {
					continue
				}
				attestations++
				if ref := e.Descriptor.Annotations[manifest.AnnotationReferenceDigest]; !images[ref] {
					t.Errorf("attestation %s refers to %s, which is no image of the index %v", e.Descriptor.Digest, ref, images)
				}
			}
			if attestations != 2 || len(images) != 2 {
				t.Errorf("%d attestations and %d images, want 2 and 2", attestations, len(images))
			}
			if _, err := newClient(reg).Publish(ctx, ix, reg.Host()+"/team/app", "converted"); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		})
	}
}
