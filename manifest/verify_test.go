package manifest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// TestVerifyCatchesWrongChild: an arm64 image listed as amd64 in a seeded
// index, read back through Assemble.
func TestVerifyCatchesWrongChild(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	seeded, err := reg.SeedChildren("team/app:v1", []registrytest.Child{
		{Platform: amd64, Config: &arm64}, {Platform: armv7},
	}, registrytest.WithAttestations())
	if err != nil {
		t.Fatal(err)
	}
	ix, err := newClient(reg).Assemble(ctx, manifest.Request{Children: []manifest.Child{{Ref: seeded.Ref.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	err = manifest.Verify(ix)
	var mm *manifest.PlatformMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("Verify = %v, want *PlatformMismatchError", err)
	}
	wrong := seeded.Children[0].Digest
	if mm.Entry != 0 || mm.Digest != wrong || mm.Listed.Architecture != "amd64" || mm.Config.Architecture != "arm64" {
		t.Errorf("mismatch %+v, want entry 0 %s listed amd64 config arm64", mm, wrong)
	}
	for _, s := range []string{wrong.String(), "linux/amd64", "linux/arm64", "entry 0"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	if n := len(joined(err)); n != 1 {
		t.Errorf("%d problems, want only the mismatch (attestations are not platforms): %v", n, err)
	}
}

func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func entry(digestByte byte, listed string, config *ocispec.Platform, annotations map[string]string) manifest.Entry {
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(rune('a'+digestByte)), 64)}
	var p *v1.Platform
	if listed != "" {
		parts := strings.Split(listed, "/")
		p = &v1.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) == 3 {
			p.Variant = parts[2]
		}
	}
	return manifest.Entry{
		Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: 100, Platform: p, Annotations: annotations},
		Config:     config,
	}
}

var attestation = map[string]string{manifest.AnnotationReferenceType: "attestation-manifest"}

func TestVerifyTable(t *testing.T) {
	arm64v8 := ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	for _, tc := range []struct {
		name    string
		entries []manifest.Entry
		format  manifest.Format
		require []ocispec.Platform
		want    []error // expected problems (sentinels) or problem types, in order
	}{
		{"clean", []manifest.Entry{entry(0, "linux/amd64", &amd64, nil), entry(1, "linux/arm64", &arm64, nil)}, manifest.OCI, []ocispec.Platform{amd64, arm64}, nil},
		{"arm64/v8 listed, arm64 config", []manifest.Entry{entry(0, "linux/arm64/v8", &arm64, nil)}, manifest.OCI, []ocispec.Platform{arm64}, nil},
		{"arm64 required, arm64/v8 listed", []manifest.Entry{entry(0, "linux/arm64/v8", &arm64v8, nil)}, manifest.OCI, []ocispec.Platform{arm64}, nil},
		{"arm listed, arm/v7 config", []manifest.Entry{entry(0, "linux/arm", &armv7, nil)}, manifest.OCI, nil, nil},
		{"mismatch", []manifest.Entry{entry(0, "linux/amd64", &arm64, nil)}, manifest.OCI, nil, []error{&manifest.PlatformMismatchError{}}},
		{"variant mismatch", []manifest.Entry{entry(0, "linux/arm/v6", &armv7, nil)}, manifest.OCI, nil, []error{&manifest.PlatformMismatchError{}}},
		{"missing", []manifest.Entry{entry(0, "linux/amd64", &amd64, nil)}, manifest.OCI, []ocispec.Platform{amd64, arm64}, []error{&manifest.MissingPlatformError{}}},
		{"arm/v6 is not arm/v7", []manifest.Entry{entry(0, "linux/arm/v7", &armv7, nil)}, manifest.OCI, []ocispec.Platform{{OS: "linux", Architecture: "arm", Variant: "v6"}}, []error{&manifest.MissingPlatformError{}}},
		{"duplicate", []manifest.Entry{entry(0, "linux/amd64", &amd64, nil), entry(1, "linux/x86_64", &amd64, nil)}, manifest.OCI, nil, []error{&manifest.DuplicatePlatformError{}}},
		{"attestations are not platforms", []manifest.Entry{entry(0, "unknown/unknown", nil, attestation), entry(1, "unknown/unknown", nil, attestation)}, manifest.OCI, []ocispec.Platform{amd64}, []error{manifest.ErrNoPlatforms, &manifest.MissingPlatformError{}}},
		{"attestations are not duplicates", []manifest.Entry{entry(0, "linux/amd64", &amd64, nil), entry(1, "unknown/unknown", nil, attestation), entry(2, "unknown/unknown", nil, attestation)}, manifest.OCI, nil, nil},
		{"oci child in docker list", []manifest.Entry{entry(0, "linux/amd64", &amd64, nil)}, manifest.Docker, nil, []error{&manifest.MediaTypeError{}}},
		{"empty", nil, manifest.OCI, nil, []error{manifest.ErrNoPlatforms}},
		{"all at once", []manifest.Entry{entry(0, "linux/amd64", &arm64, nil), entry(1, "linux/amd64", &amd64, nil)}, manifest.OCI, []ocispec.Platform{arm64}, []error{&manifest.PlatformMismatchError{}, &manifest.DuplicatePlatformError{}, &manifest.MissingPlatformError{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := manifest.Verify(&manifest.Index{Format: tc.format, Entries: tc.entries}, tc.require...)
			got := joined(err)
			if len(got) != len(tc.want) {
				t.Fatalf("Verify = %v, want %d problems", err, len(tc.want))
			}
			for i, w := range tc.want {
				if !errors.Is(got[i], w) && !sameType(got[i], w) {
					t.Errorf("problem %d = %v (%T), want %T", i, got[i], got[i], w)
				}
			}
		})
	}
}

func sameType(a, b error) bool {
	switch b.(type) {
	case *manifest.PlatformMismatchError:
		_, ok := a.(*manifest.PlatformMismatchError)
		return ok
	case *manifest.MissingPlatformError:
		_, ok := a.(*manifest.MissingPlatformError)
		return ok
	case *manifest.DuplicatePlatformError:
		_, ok := a.(*manifest.DuplicatePlatformError)
		return ok
	case *manifest.MediaTypeError:
		_, ok := a.(*manifest.MediaTypeError)
		return ok
	}
	return false
}
