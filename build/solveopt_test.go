package build

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/cache"
)

func TestFrontendAttrs(t *testing.T) {
	ctx := writeContext(t, twoStages)
	arm := plats(t, "linux/arm/v7")[0]
	for _, tc := range []struct {
		name string
		req  Request
		want map[string]string
	}{
		{"defaults: no provenance, no sbom, cache allowed", Request{Context: ctx},
			map[string]string{"filename": "Dockerfile", "platform": "linux/arm/v7"}},
		{"target, args, labels, no-cache", Request{Context: ctx, Target: "builder", NoCache: true,
			Args: map[string]string{"VERSION": "1.2"}, Labels: map[string]string{"org.opencontainers.image.source": "x"}},
			map[string]string{"filename": "Dockerfile", "platform": "linux/arm/v7", "target": "builder", "no-cache": "",
				"build-arg:VERSION": "1.2", "label:org.opencontainers.image.source": "x"}},
		{"named contexts: local dirs by name, references as given", Request{Context: ctx,
			Contexts: map[string]string{"src": ctx, "base": "docker-image://127.0.0.1:5000/base:1"}},
			map[string]string{"filename": "Dockerfile", "platform": "linux/arm/v7",
				"context:src": "local:src", "context:base": "docker-image://127.0.0.1:5000/base:1"}},
		{"attestations only when asked", Request{Context: ctx, Attestations: Attestations{Provenance: "max", SBOM: true}},
			map[string]string{"filename": "Dockerfile", "platform": "linux/arm/v7", "attest:provenance": "mode=max", "attest:sbom": ""}},
		{"Dockerfile outside the context", Request{Context: t.TempDir(), Dockerfile: filepath.Join(ctx, "Dockerfile")},
			map[string]string{"filename": "Dockerfile", "platform": "linux/arm/v7"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := validate(tc.req, arm)
			if err != nil {
				t.Fatal(err)
			}
			if got := frontendAttrs(c, arm); !maps.Equal(got, tc.want) {
				t.Errorf("attrs = %v\nwant    %v", got, tc.want)
			}
		})
	}
}

func TestSolveOpt(t *testing.T) {
	ctx := writeContext(t, twoStages)
	dfDir := t.TempDir()
	writeFile(t, filepath.Join(dfDir, "build.Dockerfile"), "FROM busybox\n")
	out := t.TempDir()
	p := plats(t, "linux/arm64")[0]
	c, err := validate(Request{
		Context: ctx, Dockerfile: filepath.Join(dfDir, "build.Dockerfile"),
		Contexts:  map[string]string{"src": ctx},
		Secrets:   []Secret{{ID: "tok", File: filepath.Join(ctx, "secret.txt")}},
		Push:      "127.0.0.1:5000/team/app",
		Platforms: []ocispec.Platform{plats(t, "linux/amd64")[0], p},
		Cache: cache.Config{
			Import: []cache.Entry{{Registry: &cache.Registry{Ref: "127.0.0.1:5000/team/app:cache"}}},
			Export: []cache.Entry{{Registry: &cache.Registry{Ref: "127.0.0.1:5000/team/app:cache"}}},
		},
		Outputs: []Output{{Type: OutputOCI, Dir: out}, {Type: OutputLocal, Dir: out}},
	}, p)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := solveOpt(c, p, "")
	if err != nil {
		t.Fatal(err)
	}
	if opt.Frontend != "dockerfile.v0" || opt.FrontendAttrs["filename"] != "build.Dockerfile" {
		t.Errorf("frontend %q filename %q, want dockerfile.v0 build.Dockerfile", opt.Frontend, opt.FrontendAttrs["filename"])
	}
	for _, k := range []string{"context", "dockerfile", "src"} {
		if opt.LocalMounts[k] == nil {
			t.Errorf("no local mount %q", k)
		}
	}
	// auth + secrets: BuildKit asks the session for both.
	if len(opt.Session) != 2 {
		t.Errorf("%d session attachables, want 2 (auth, secrets)", len(opt.Session))
	}
	// Split per platform: arm64 exports to its own tag and imports only its own, then
	// the unsuffixed one, never amd64's.
	if len(opt.CacheExports) != 1 || opt.CacheExports[0].Attrs["ref"] != "127.0.0.1:5000/team/app:cache-linux-arm64" {
		t.Errorf("cache exports %+v, want one to the arm64 tag", opt.CacheExports)
	}
	var imports []string
	for _, e := range opt.CacheImports {
		imports = append(imports, e.Attrs["ref"])
	}
	if want := []string{"127.0.0.1:5000/team/app:cache-linux-arm64", "127.0.0.1:5000/team/app:cache"}; !slices.Equal(imports, want) {
		t.Errorf("cache imports %v, want %v", imports, want)
	}
	if len(opt.Exports) != 3 {
		t.Fatalf("exports = %+v, want image, oci, local", opt.Exports)
	}
	img := opt.Exports[0]
	wantImg := map[string]string{"name": "127.0.0.1:5000/team/app", "push": "true", "push-by-digest": "true", "unpack": "false"}
	if img.Type != client.ExporterImage || !maps.Equal(img.Attrs, wantImg) {
		t.Errorf("image export %s %v, want image %v", img.Type, img.Attrs, wantImg)
	}
	if opt.Exports[1].Type != client.ExporterOCI || opt.Exports[1].Output == nil {
		t.Errorf("oci export %+v, want a file output", opt.Exports[1])
	}
	if w, err := opt.Exports[1].Output(nil); err != nil {
		t.Error(err)
	} else {
		w.Close()
		if !fileExists(filepath.Join(out, "linux-arm64.tar")) {
			t.Errorf("oci output did not create %s", filepath.Join(out, "linux-arm64.tar"))
		}
	}
	if got, want := opt.Exports[2].OutputDir, filepath.Join(out, "linux-arm64"); got != want {
		t.Errorf("local output dir %s, want %s", got, want)
	}
}

func TestReadExporterResponse(t *testing.T) {
	d := digest.FromString("manifest")
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: 8}
	dt, _ := json.Marshal(desc)
	enc := base64.StdEncoding.EncodeToString(dt)
	for _, tc := range []struct {
		name    string
		resp    map[string]string
		want    digest.Digest
		wantErr bool
	}{
		{"digest and descriptor", map[string]string{exptypes.ExporterImageDigestKey: d.String(), exptypes.ExporterImageDescriptorKey: enc}, d, false},
		{"descriptor only", map[string]string{exptypes.ExporterImageDescriptorKey: enc}, d, false},
		{"nothing (local output)", map[string]string{}, "", false},
		{"bad digest", map[string]string{exptypes.ExporterImageDigestKey: "sha256:zz"}, "", true},
		{"digests disagree", map[string]string{exptypes.ExporterImageDigestKey: digest.FromString("x").String(), exptypes.ExporterImageDescriptorKey: enc}, "", true},
		{"descriptor not base64", map[string]string{exptypes.ExporterImageDescriptorKey: "{"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var img Image
			err := readExporterResponse(tc.resp, &img)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && img.Digest != tc.want {
				t.Errorf("digest %s, want %s", img.Digest, tc.want)
			}
			if err == nil && tc.resp[exptypes.ExporterImageDescriptorKey] != "" && img.Descriptor.Size != 8 {
				t.Errorf("descriptor %+v not decoded", img.Descriptor)
			}
		})
	}
}
