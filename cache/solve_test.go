package cache

import (
	"errors"
	"reflect"
	"testing"

	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = ocispec.Platform{OS: "linux", Architecture: "arm64"}
	armv7 = ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	both  = []ocispec.Platform{amd64, arm64}
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func ptr[T any](v T) *T { return &v }

func TestSolve(t *testing.T) {
	ghaEnv := map[string]string{"ACTIONS_CACHE_URL": "https://cache.example/", "ACTIONS_RESULTS_URL": "https://results.example/", "ACTIONS_RUNTIME_TOKEN": "tok"}
	reg := func(ref string) Entry { return Entry{Registry: &Registry{Ref: ref}} }
	type want = []client.CacheOptionsEntry
	tests := []struct {
		name    string
		cfg     Config
		p       ocispec.Platform
		all     []ocispec.Platform
		split   bool
		env     map[string]string
		imports want
		exports want
		wantErr error
	}{
		{name: "zero config: no cache", p: amd64, all: both, split: true},
		{
			name: "registry together: no suffix, mode max by default",
			cfg:  Config{Import: []Entry{reg("r.example/app:cache")}, Export: []Entry{reg("r.example/app:cache")}},
			p:    amd64, all: both, split: false,
			imports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:cache"}}},
			exports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:cache", "mode": "max"}}},
		},
		{
			name: "registry split: own export tag, imports its own then the base, never another platform's",
			cfg:  Config{Import: []Entry{reg("r.example/app:cache")}, Export: []Entry{reg("r.example/app:cache")}},
			p:    arm64, all: both, split: true,
			imports: want{
				{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:cache-linux-arm64"}},
				{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:cache"}},
			},
			exports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:cache-linux-arm64", "mode": "max"}}},
		},
		{
			name: "registry split without tag, port in host",
			cfg:  Config{Export: []Entry{reg("127.0.0.1:5000/app")}},
			p:    amd64, all: both, split: true,
			exports: want{{Type: "registry", Attrs: map[string]string{"ref": "127.0.0.1:5000/app:linux-amd64", "mode": "max"}}},
		},
		{
			name: "split with one platform is one solve: no suffix",
			cfg:  Config{Export: []Entry{reg("r.example/app:cache")}},
			p:    amd64, all: []ocispec.Platform{amd64}, split: true,
			exports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:cache", "mode": "max"}}},
		},
		{
			name: "duplicate platforms after normalisation give one scope",
			cfg:  Config{Import: []Entry{reg("r.example/app:c")}},
			p:    arm64, all: []ocispec.Platform{arm64, {OS: "linux", Architecture: "aarch64", Variant: "v8"}}, split: true,
			imports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:c"}}},
		},
		{
			name: "variant in the suffix",
			cfg:  Config{Export: []Entry{reg("r.example/app:c")}},
			p:    armv7, all: []ocispec.Platform{amd64, armv7}, split: true,
			exports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:c-linux-arm-v7", "mode": "max"}}},
		},
		{
			name: "registry import by digest is fixed",
			cfg:  Config{Import: []Entry{reg("r.example/app@sha256:" + sixtyFour)}},
			p:    amd64, all: both, split: true,
			imports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app@sha256:" + sixtyFour}}},
		},
		{
			name: "registry typed attributes, mode min and ignore-error kept",
			cfg: Config{Export: []Entry{{
				Registry:    &Registry{Ref: "r.example/app:c", ImageManifest: ptr(true), OCIMediaTypes: ptr(true), Compression: Compression{Type: "zstd", Level: ptr(3), Force: true}, Insecure: true},
				Mode:        ModeMin,
				IgnoreError: true,
				Attrs:       map[string]string{"future-knob": "1"},
			}}},
			p: amd64, all: both,
			exports: want{{Type: "registry", Attrs: map[string]string{
				"ref": "r.example/app:c", "image-manifest": "true", "oci-mediatypes": "true",
				"compression": "zstd", "compression-level": "3", "force-compression": "true",
				"registry.insecure": "true", "mode": "min", "ignore-error": "true", "future-knob": "1"}}},
		},
		{
			name: "gha from environment, split scopes",
			cfg:  Config{Import: []Entry{{GHA: &GHA{Scope: "app"}}}, Export: []Entry{{GHA: &GHA{Scope: "app"}}}},
			p:    amd64, all: both, split: true, env: ghaEnv,
			imports: want{
				{Type: "gha", Attrs: map[string]string{"scope": "app-linux-amd64", "url": "https://cache.example/", "url_v2": "https://results.example/", "token": "tok"}},
				{Type: "gha", Attrs: map[string]string{"scope": "app", "url": "https://cache.example/", "url_v2": "https://results.example/", "token": "tok"}},
			},
			exports: want{{Type: "gha", Attrs: map[string]string{"scope": "app-linux-amd64", "url": "https://cache.example/", "url_v2": "https://results.example/", "token": "tok", "mode": "max"}}},
		},
		{
			name: "gha default scope is buildkit; given settings win over the environment; v2 switch",
			cfg:  Config{Export: []Entry{{GHA: &GHA{Token: "mine", Timeout: 90e9}}}},
			p:    arm64, all: both, split: true,
			env:     map[string]string{"ACTIONS_RESULTS_URL": "https://results.example/", "ACTIONS_RUNTIME_TOKEN": "env", "ACTIONS_CACHE_SERVICE_V2": "True"},
			exports: want{{Type: "gha", Attrs: map[string]string{"scope": "buildkit-linux-arm64", "url": "https://results.example/", "url_v2": "https://results.example/", "token": "mine", "version": "2", "timeout": "1m30s", "mode": "max"}}},
		},
		{
			name: "local split: sub-directories, src and dest",
			cfg:  Config{Import: []Entry{{Local: &Local{Dir: "/c"}}}, Export: []Entry{{Local: &Local{Dir: "/c", Compression: Compression{Type: "gzip"}}}}},
			p:    amd64, all: both, split: true,
			imports: want{
				{Type: "local", Attrs: map[string]string{"src": "/c/linux-amd64"}},
				{Type: "local", Attrs: map[string]string{"src": "/c"}},
			},
			exports: want{{Type: "local", Attrs: map[string]string{"dest": "/c/linux-amd64", "compression": "gzip", "mode": "max"}}},
		},
		{
			name: "local import by digest is fixed",
			cfg:  Config{Import: []Entry{{Local: &Local{Dir: "/c", Digest: "sha256:" + sixtyFour}}}},
			p:    amd64, all: both, split: true,
			imports: want{{Type: "local", Attrs: map[string]string{"src": "/c", "digest": "sha256:" + sixtyFour}}},
		},
		{
			name: "inline export: no mode, never suffixed",
			cfg:  Config{Export: []Entry{{Inline: &Inline{}}}},
			p:    amd64, all: both, split: true,
			exports: want{{Type: "inline", Attrs: map[string]string{}}},
		},
		{
			name: "s3 split: every manifest name suffixed",
			cfg:  Config{Export: []Entry{{S3: &S3{Bucket: "b", Region: "eu-west-1", Name: "a;b", UsePathStyle: true, UploadParallelism: 8}}}},
			p:    arm64, all: both, split: true,
			exports: want{{Type: "s3", Attrs: map[string]string{"bucket": "b", "region": "eu-west-1", "name": "a-linux-arm64;b-linux-arm64", "use_path_style": "true", "upload_parallelism": "8", "mode": "max"}}},
		},
		{
			name: "azblob split: default name suffixed",
			cfg:  Config{Import: []Entry{{AzBlob: &AzBlob{AccountURL: "https://acct.blob.core.windows.net", Container: "c"}}}},
			p:    amd64, all: both, split: true,
			imports: want{
				{Type: "azblob", Attrs: map[string]string{"account_url": "https://acct.blob.core.windows.net", "container": "c", "name": "buildkit-linux-amd64"}},
				{Type: "azblob", Attrs: map[string]string{"account_url": "https://acct.blob.core.windows.net", "container": "c"}},
			},
		},
		{
			name: "no platforms listed: p alone, no suffix",
			cfg:  Config{Export: []Entry{reg("r.example/app:c")}},
			p:    amd64, split: true,
			exports: want{{Type: "registry", Attrs: map[string]string{"ref": "r.example/app:c", "mode": "max"}}},
		},
		{name: "platform not in all", cfg: Config{Export: []Entry{reg("r.example/app:c")}}, p: armv7, all: both, split: true, wantErr: ErrPlatform},
		{name: "invalid config is refused", cfg: Config{Export: []Entry{{Inline: &Inline{}, Mode: ModeMax}}}, p: amd64, all: both, wantErr: ErrInlineMode},
		{name: "gha without token", cfg: Config{Export: []Entry{{GHA: &GHA{URL: "https://x"}}}}, p: amd64, all: both, wantErr: ErrMissing},
		{
			name: "per-platform tag too long",
			cfg:  Config{Export: []Entry{reg("r.example/app:" + sixtyFour + sixtyFour[:60])}},
			p:    amd64, all: both, split: true,
			wantErr: ErrInvalidValue,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imports, exports, err := tt.cfg.solve(tt.p, tt.all, tt.split, env(tt.env))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(imports, tt.imports) {
				t.Errorf("imports:\n got %v\nwant %v", imports, tt.imports)
			}
			if !reflect.DeepEqual(exports, tt.exports) {
				t.Errorf("exports:\n got %v\nwant %v", exports, tt.exports)
			}
		})
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Solves of different platforms must never share an export place, and every solve
// must import its own place and no other platform's: the properties that make split
// caches hit. Another platform's export can hold this platform's keys without results,
// and BuildKit's combined cache keeps whichever import answers a key first, so
// importing it made steps miss at random (TestExportModeMaxKeepsBuilderStage failed
// 3 of 15 runs that way).
func TestSolveSplitPlacesAreDisjointAndOwnImported(t *testing.T) {
	all := []ocispec.Platform{amd64, arm64, armv7, {OS: "linux", Architecture: "ppc64le"}, {OS: "linux", Architecture: "s390x"}}
	cfg := Config{
		Import: []Entry{{Registry: &Registry{Ref: "r.example/app:c"}}, {Local: &Local{Dir: "/c"}}},
		Export: []Entry{{Registry: &Registry{Ref: "r.example/app:c"}}, {Local: &Local{Dir: "/c"}}},
	}
	place := func(e client.CacheOptionsEntry) string {
		return e.Type + ":" + e.Attrs["ref"] + e.Attrs["dest"] + e.Attrs["src"]
	}
	exportedBy := map[string]string{}
	imports := map[string]map[string]bool{}
	for _, p := range all {
		im, ex, err := cfg.solve(p, all, true, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ex {
			if other, ok := exportedBy[place(e)]; ok {
				t.Fatalf("%s and %s both export to %s", other, Suffix(p), place(e))
			}
			exportedBy[place(e)] = Suffix(p)
		}
		imports[Suffix(p)] = map[string]bool{}
		for _, e := range im {
			imports[Suffix(p)][place(e)] = true
		}
	}
	for pl, owner := range exportedBy {
		for s, read := range imports {
			if read[pl] != (s == owner) {
				t.Errorf("solve of %s imports %s: %v, want %v (exported by %s)", s, pl, read[pl], s == owner, owner)
			}
		}
	}
}

// Solve returns fresh maps each call: BuildKit's client writes into import attrs.
func TestSolveReturnsFreshMaps(t *testing.T) {
	e := Entry{Local: &Local{Dir: "/c"}, Attrs: map[string]string{"x": "1"}}
	cfg := Config{Import: []Entry{e}}
	a, _, err := cfg.solve(amd64, both, false, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a[0].Attrs["digest"] = "sha256:changed"
	a[0].Attrs["x"] = "2"
	b, _, _ := cfg.solve(amd64, both, false, env(nil))
	if _, ok := b[0].Attrs["digest"]; ok || b[0].Attrs["x"] != "1" || e.Attrs["x"] != "1" {
		t.Fatalf("a change to one result leaked into the config or the next result: %v, %v", b[0].Attrs, e.Attrs)
	}
}

func TestSuffix(t *testing.T) {
	for _, tt := range []struct {
		p    ocispec.Platform
		want string
	}{
		{amd64, "linux-amd64"},
		{arm64, "linux-arm64"},
		{ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, "linux-arm64"},
		{ocispec.Platform{OS: "linux", Architecture: "aarch64"}, "linux-arm64"},
		{armv7, "linux-arm-v7"},
		{ocispec.Platform{OS: "linux", Architecture: "arm"}, "linux-arm-v7"},
		{ocispec.Platform{OS: "Linux", Architecture: "x86_64"}, "linux-amd64"},
		{ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.17763"}, "windows-amd64"},
		{ocispec.Platform{OS: "linux", Architecture: "riscv64"}, "linux-riscv64"},
	} {
		if got := Suffix(tt.p); got != tt.want {
			t.Errorf("Suffix(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}
