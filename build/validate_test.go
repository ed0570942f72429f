package build

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/cache"
)

const twoStages = "FROM busybox AS builder\nRUN echo hi > /x\n\nFROM busybox AS Final\nCOPY --from=builder /x /x\n"

// writeContext makes a context directory holding a Dockerfile (and a secret file).
func writeContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile": dockerfile, "secret.txt": "s3cret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestParsePlatforms(t *testing.T) {
	ps, err := ParsePlatforms("linux/arm64", "linux/arm/v7", "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Architecture != "arm64" || ps[0].Variant != "" || ps[1].Variant != "v7" || ps[2].Architecture != "amd64" {
		t.Errorf("parsed %+v, want normalised arm64 (v8 dropped), arm/v7, amd64", ps)
	}
	if _, err := ParsePlatforms("linux/amd64", "linux//x/y/z"); err == nil || !strings.Contains(err.Error(), `"linux//x/y/z"`) {
		t.Errorf("bad platform: err = %v, want one quoting the string", err)
	}
}

func TestValidate(t *testing.T) {
	ctx := writeContext(t, twoStages)
	host := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	t.Setenv("MULTIARCH_TEST_TOKEN", "x")
	os.Unsetenv("MULTIARCH_TEST_UNSET")

	for _, tc := range []struct {
		name    string
		req     Request
		wantErr string // "" for a valid request
	}{
		{"minimal", Request{Context: ctx}, ""},
		{"full", Request{Context: ctx, Target: "builder", Platforms: plats(t, "linux/amd64", "linux/arm64"),
			Args: map[string]string{"A": "1"}, Secrets: []Secret{{ID: "f", File: filepath.Join(ctx, "secret.txt")}, {ID: "e", Env: "MULTIARCH_TEST_TOKEN"}},
			Contexts: map[string]string{"src": ctx, "img": "docker-image://busybox"}, Push: "127.0.0.1:5000/team/app",
			Outputs: []Output{{Type: OutputOCI, Dir: t.TempDir()}}}, ""},
		{"target is case-insensitive like stage names", Request{Context: ctx, Target: "final"}, ""},
		{"no context", Request{}, "Request.Context"},
		{"missing context", Request{Context: filepath.Join(ctx, "nope")}, "nope"},
		{"context is a file", Request{Context: filepath.Join(ctx, "Dockerfile")}, "not a directory"},
		{"missing Dockerfile", Request{Context: ctx, Dockerfile: filepath.Join(ctx, "Other.Dockerfile")}, "Other.Dockerfile"},
		{"unknown target", Request{Context: ctx, Target: "tests"}, `target "tests" is not a stage`},
		{"platform without arch", Request{Context: ctx, Platforms: []ocispec.Platform{{OS: "linux"}}}, "needs os and architecture"},
		{"duplicate platform", Request{Context: ctx, Platforms: plats(t, "linux/arm64", "linux/arm64/v8")}, "linux/arm64 is listed twice"},
		{"invalid repository", Request{Context: ctx, Push: "Registry.example.com/UPPER/case"}, `push repository "Registry.example.com/UPPER/case"`},
		{"repository with tag", Request{Context: ctx, Push: "127.0.0.1:5000/app:v1"}, "without tag"},
		{"secret file missing", Request{Context: ctx, Secrets: []Secret{{ID: "npm", File: filepath.Join(ctx, "npmrc")}}}, `secret "npm"`},
		{"secret env unset", Request{Context: ctx, Secrets: []Secret{{ID: "tok", Env: "MULTIARCH_TEST_UNSET"}}}, "MULTIARCH_TEST_UNSET is not set"},
		{"secret with both sources", Request{Context: ctx, Secrets: []Secret{{ID: "x", Env: "A", File: "b"}}}, "exactly one of Env and File"},
		{"secret listed twice", Request{Context: ctx, Secrets: []Secret{{ID: "x", Env: "MULTIARCH_TEST_TOKEN"}, {ID: "x", Env: "MULTIARCH_TEST_TOKEN"}}}, "listed twice"},
		{"named context dir missing", Request{Context: ctx, Contexts: map[string]string{"src": filepath.Join(ctx, "src")}}, "named context src"},
		{"reserved context name", Request{Context: ctx, Contexts: map[string]string{"context": ctx}}, "reserved"},
		{"bad build arg", Request{Context: ctx, Args: map[string]string{"A=B": "1"}}, `build arg name "A=B"`},
		{"bad provenance", Request{Context: ctx, Attestations: Attestations{Provenance: "full"}}, `provenance mode "full"`},
		{"bad output", Request{Context: ctx, Outputs: []Output{{Type: "registry", Dir: ctx}}}, `output type "registry"`},
		{"cache entry without backend", Request{Context: ctx, Cache: cache.Config{Export: []cache.Entry{{Mode: cache.ModeMax}}}}, "cache"},
		{"bad progress mode", Request{Context: ctx, ProgressMode: "fancy"}, `progress mode "fancy"`},
		{"bad failure policy", Request{Context: ctx, OnFailure: "ignore"}, `failure policy "ignore"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := validate(tc.req, host)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("valid request rejected: %v", err)
				}
				if len(c.Platforms) == 0 {
					t.Error("no platforms after defaults")
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want an error mentioning %q", tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("err = %v, does not wrap ErrInvalidRequest", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	ctx := writeContext(t, twoStages)
	host := ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	c, err := validate(Request{Context: ctx}, host)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Platforms) != 1 || c.Platforms[0].Architecture != "arm64" {
		t.Errorf("default platforms = %v, want the node's native linux/arm64", c.Platforms)
	}
	if c.dockerfileDir != ctx || c.dockerfileName != "Dockerfile" {
		t.Errorf("Dockerfile = %s/%s, want %s/Dockerfile", c.dockerfileDir, c.dockerfileName, ctx)
	}
}
