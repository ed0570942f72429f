package deploycheck_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/examples/deploycheck"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  func(*registrytest.Registry) (registrytest.Seeded, error)
		fleet []ocispec.Platform
		// want* describe a deployable image; wantErr a refused one, checked with
		// errors.As on the error type it names.
		wantPlatforms, wantScanned []string
		wantIndex                  bool
		wantErr                    func(t *testing.T, err error)
	}{{
		name: "good index",
		seed: func(r *registrytest.Registry) (registrytest.Seeded, error) {
			return r.SeedIndex("team/app:v1", amd64, arm64)
		},
		fleet:         []ocispec.Platform{amd64, arm64},
		wantPlatforms: []string{"linux/amd64", "linux/arm64"}, wantScanned: []string{"linux/amd64", "linux/arm64"}, wantIndex: true,
	}, {
		name: "extra platforms are fine; linux/arm64/v8 is linux/arm64",
		seed: func(r *registrytest.Registry) (registrytest.Seeded, error) {
			return r.SeedIndex("team/app:v1", amd64, arm64, s390x)
		},
		fleet:         []ocispec.Platform{platforms.MustParse("linux/arm64/v8")},
		wantPlatforms: []string{"linux/amd64", "linux/arm64", "linux/s390x"}, wantScanned: []string{"linux/arm64"}, wantIndex: true,
	}, {
		name: "attestations are not platforms",
		seed: func(r *registrytest.Registry) (registrytest.Seeded, error) {
			return r.SeedChildren("team/app:v1", []registrytest.Child{{Platform: amd64}, {Platform: arm64}}, registrytest.WithAttestations())
		},
		fleet:         []ocispec.Platform{amd64, arm64},
		wantPlatforms: []string{"linux/amd64", "linux/arm64"}, wantScanned: []string{"linux/amd64", "linux/arm64"}, wantIndex: true,
	}, {
		name: "Docker manifest list",
		seed: func(r *registrytest.Registry) (registrytest.Seeded, error) {
			return r.SeedChildren("team/app:v1", []registrytest.Child{{Platform: amd64}, {Platform: arm64}}, registrytest.Docker())
		},
		fleet:         []ocispec.Platform{amd64, arm64},
		wantPlatforms: []string{"linux/amd64", "linux/arm64"}, wantScanned: []string{"linux/amd64", "linux/arm64"}, wantIndex: true,
	}, {
		name:          "single image",
		seed:          func(r *registrytest.Registry) (registrytest.Seeded, error) { return r.SeedImage("team/app:v1", amd64) },
		fleet:         []ocispec.Platform{amd64},
		wantPlatforms: []string{"linux/amd64"}, wantScanned: []string{"linux/amd64"},
	}, {
		name:  "index lacks a fleet platform",
		seed:  func(r *registrytest.Registry) (registrytest.Seeded, error) { return r.SeedIndex("team/app:v1", amd64) },
		fleet: []ocispec.Platform{amd64, arm64},
		wantErr: func(t *testing.T, err error) {
			var mp *manifest.MissingPlatformError
			if !errors.As(err, &mp) || platforms.Format(mp.Platform) != "linux/arm64" {
				t.Errorf("err = %v, want a MissingPlatformError for linux/arm64", err)
			}
		},
	}, {
		name:  "single image for a two-platform fleet",
		seed:  func(r *registrytest.Registry) (registrytest.Seeded, error) { return r.SeedImage("team/app:v1", amd64) },
		fleet: []ocispec.Platform{amd64, arm64},
		wantErr: func(t *testing.T, err error) {
			var mp *manifest.MissingPlatformError
			if !errors.As(err, &mp) || platforms.Format(mp.Platform) != "linux/arm64" {
				t.Errorf("err = %v, want a MissingPlatformError for linux/arm64", err)
			}
		},
	}, {
		name: "an arm64 image listed as amd64",
		seed: func(r *registrytest.Registry) (registrytest.Seeded, error) {
			return r.SeedChildren("team/app:v1", []registrytest.Child{{Platform: amd64, Config: &arm64}, {Platform: arm64}})
		},
		fleet: []ocispec.Platform{amd64, arm64},
		wantErr: func(t *testing.T, err error) {
			var pm *manifest.PlatformMismatchError
			if !errors.As(err, &pm) || platforms.Format(pm.Listed) != "linux/amd64" || platforms.Format(pm.Config) != "linux/arm64" {
				t.Errorf("err = %v, want a PlatformMismatchError: listed linux/amd64, config linux/arm64", err)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registrytest.New(t)
			seeded, err := tc.seed(reg)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := deploycheck.Check(context.Background(), reg.Host()+"/team/app:v1", tc.fleet, options(reg))
			if rep.Pinned != seeded.Ref.String() {
				t.Errorf("pinned %q, want the seeded %q", rep.Pinned, seeded.Ref)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, deploycheck.ErrNotDeployable) || rep.OK() || len(rep.Problems) == 0 {
					t.Fatalf("err = %v, report %+v: want ErrNotDeployable and the problems listed", err, rep)
				}
				if !strings.Contains(err.Error(), rep.Pinned) {
					t.Errorf("err = %v: want it to name %s", err, rep.Pinned)
				}
				tc.wantErr(t, err)
				return
			}
			if err != nil || !rep.OK() {
				t.Fatalf("err = %v, report %+v: want deployable", err, rep)
			}
			if !slices.Equal(rep.Platforms, tc.wantPlatforms) || !slices.Equal(rep.Scanned, tc.wantScanned) || rep.Index != tc.wantIndex {
				t.Errorf("platforms %q, scanned %q, index %t; want %q, %q, %t", rep.Platforms, rep.Scanned, rep.Index, tc.wantPlatforms, tc.wantScanned, tc.wantIndex)
			}
		})
	}
}

// TestCheckCannotRun: errors that say nothing about the image are not ErrNotDeployable.
func TestCheckCannotRun(t *testing.T) {
	reg := registrytest.New(t)
	if _, err := reg.SeedIndex("team/app:v1", amd64, arm64); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ref string
		fleet     []ocispec.Platform
		want      string
	}{
		{"unknown tag", reg.Host() + "/team/app:v2", []ocispec.Platform{amd64}, "team/app:v2"},
		{"no fleet", reg.Host() + "/team/app:v1", nil, "no fleet platforms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deploycheck.Check(context.Background(), tc.ref, tc.fleet, options(reg))
			if err == nil || errors.Is(err, deploycheck.ErrNotDeployable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a failure to check naming %q, not ErrNotDeployable", err, tc.want)
			}
		})
	}
}

// TestCheckNoScanReadsNoLayer: without the scan, the check costs the index, the
// children's manifests and configs, and no layer.
func TestCheckNoScanReadsNoLayer(t *testing.T) {
	reg := registrytest.New(t)
	seeded, err := reg.SeedIndex("team/app:v1", amd64, arm64)
	if err != nil {
		t.Fatal(err)
	}
	for _, noScan := range []bool{true, false} {
		reg.ResetRequests()
		o := options(reg)
		o.NoScan = noScan
		if _, err := deploycheck.Check(context.Background(), seeded.Ref.String(), []ocispec.Platform{amd64, arm64}, o); err != nil {
			t.Fatal(err)
		}
		// Each child has one config and one layer; only the scan reads layers.
		blobs, want := reg.Count("GET", registrytest.KindBlob), 2
		if !noScan {
			want = 4
		}
		if blobs != want {
			t.Errorf("NoScan %t: %d blob GETs, want %d (requests: %v)", noScan, blobs, want, reg.Requests())
		}
	}
}
