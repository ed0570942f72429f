package cache

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ghaOK := &GHA{URL: "https://cache.example/", Token: "secret-token"}
	reg := &Registry{Ref: "r.example/app:cache"}
	tests := []struct {
		name    string
		cfg     Config
		env     map[string]string
		wantErr error  // nil: valid
		mention string // the message must name this
	}{
		{name: "zero config"},
		{name: "registry import and export", cfg: Config{Import: []Entry{{Registry: reg}}, Export: []Entry{{Registry: reg}}}},
		{name: "no backend", cfg: Config{Export: []Entry{{Mode: ModeMax}}}, wantErr: ErrNoBackend, mention: "cache export 0"},
		{name: "two backends", cfg: Config{Import: []Entry{{Registry: reg, Local: &Local{Dir: "/c"}}}}, wantErr: ErrManyBackends, mention: "[registry local]"},
		{name: "registry without ref", cfg: Config{Export: []Entry{{Registry: &Registry{}}}}, wantErr: ErrMissing, mention: "ref=REPOSITORY:TAG"},
		{name: "registry bad ref", cfg: Config{Export: []Entry{{Registry: &Registry{Ref: "UPPER/Case:x"}}}}, wantErr: ErrInvalidValue, mention: `"UPPER/Case:x"`},
		{name: "registry export by digest", cfg: Config{Export: []Entry{{Registry: &Registry{Ref: "r.example/app@sha256:" + sixtyFour}}}}, wantErr: ErrInvalidValue, mention: "give a tag"},
		{name: "registry import by digest", cfg: Config{Import: []Entry{{Registry: &Registry{Ref: "r.example/app@sha256:" + sixtyFour}}}}},
		{name: "image-manifest needs oci-mediatypes", cfg: Config{Export: []Entry{{Registry: &Registry{Ref: "r.example/a:c", ImageManifest: ptr(true), OCIMediaTypes: ptr(false)}}}}, wantErr: ErrInvalidValue, mention: "oci-mediatypes=true"},
		{name: "unknown compression", cfg: Config{Export: []Entry{{Registry: &Registry{Ref: "r.example/a:c", Compression: Compression{Type: "brotli"}}}}}, wantErr: ErrInvalidValue, mention: "zstd"},
		{name: "compression level without type", cfg: Config{Export: []Entry{{Registry: &Registry{Ref: "r.example/a:c", Compression: Compression{Level: ptr(3)}}}}}, wantErr: ErrInvalidValue, mention: "compression=gzip"},
		{name: "bad mode", cfg: Config{Export: []Entry{{Registry: reg, Mode: "maximum"}}}, wantErr: ErrInvalidValue, mention: "min or max"},
		{name: "inline export min", cfg: Config{Export: []Entry{{Inline: &Inline{}, Mode: ModeMin}}}},
		{name: "inline export default", cfg: Config{Export: []Entry{{Inline: &Inline{}}}}},
		{name: "inline export max", cfg: Config{Export: []Entry{{Inline: &Inline{}, Mode: ModeMax}}}, wantErr: ErrInlineMode, mention: "type=registry"},
		{name: "inline import", cfg: Config{Import: []Entry{{Inline: &Inline{}}}}, wantErr: ErrInlineImport, mention: "type=registry,ref=IMAGE"},
		{name: "registry and gha exports mixed", cfg: Config{Export: []Entry{{Registry: reg}, {GHA: ghaOK}}}, wantErr: ErrMixedExports, mention: "AllowMixedExports"},
		{name: "registry and gha exports allowed", cfg: Config{Export: []Entry{{Registry: reg}, {GHA: ghaOK}}, AllowMixedExports: true}},
		{name: "registry export, gha import is not mixing", cfg: Config{Import: []Entry{{GHA: ghaOK}}, Export: []Entry{{Registry: reg}}}},
		{name: "gha from environment", cfg: Config{Export: []Entry{{GHA: &GHA{}}}}, env: map[string]string{"ACTIONS_RESULTS_URL": "https://r/", "ACTIONS_RUNTIME_TOKEN": "t"}},
		{name: "gha without token", cfg: Config{Export: []Entry{{GHA: &GHA{URL: "https://x/"}}}}, wantErr: ErrMissing, mention: "ACTIONS_RUNTIME_TOKEN"},
		{name: "gha without url", cfg: Config{Import: []Entry{{GHA: &GHA{Token: "t"}}}}, wantErr: ErrMissing, mention: "ACTIONS_CACHE_URL"},
		{name: "gha bad version", cfg: Config{Export: []Entry{{GHA: &GHA{URL: "u", Token: "t", Version: 3}}}}, wantErr: ErrInvalidValue, mention: "use 1 or 2"},
		{name: "gha repository without ghtoken", cfg: Config{Export: []Entry{{GHA: &GHA{URL: "u", Token: "t", Repository: "o/r"}}}}, wantErr: ErrInvalidValue, mention: "set both"},
		{name: "local without dir", cfg: Config{Import: []Entry{{Local: &Local{}}}}, wantErr: ErrMissing, mention: "src=DIRECTORY"},
		{name: "local export without dir", cfg: Config{Export: []Entry{{Local: &Local{}}}}, wantErr: ErrMissing, mention: "dest=DIRECTORY"},
		{name: "local export with digest", cfg: Config{Export: []Entry{{Local: &Local{Dir: "/c", Digest: "sha256:x"}}}}, wantErr: ErrInvalidValue, mention: "imports only"},
		{name: "local import with compression", cfg: Config{Import: []Entry{{Local: &Local{Dir: "/c", Compression: Compression{Type: "zstd"}}}}}, wantErr: ErrInvalidValue, mention: "exports only"},
		{name: "s3 half credentials", cfg: Config{Export: []Entry{{S3: &S3{Bucket: "b", AccessKeyID: "AKIA"}}}}, wantErr: ErrInvalidValue, mention: `bucket "b"`},
		{name: "s3 from daemon environment", cfg: Config{Export: []Entry{{S3: &S3{}}}}},
		{name: "azblob", cfg: Config{Export: []Entry{{AzBlob: &AzBlob{AccountURL: "https://a.blob.core.windows.net"}}}}},
		{name: "attr duplicates a typed field", cfg: Config{Export: []Entry{{Registry: reg, Attrs: map[string]string{"ref": "other"}}}}, wantErr: ErrInvalidValue, mention: `Attrs["ref"]`},
		{name: "attr duplicates mode", cfg: Config{Export: []Entry{{Registry: reg, Attrs: map[string]string{"mode": "min"}}}}, wantErr: ErrInvalidValue, mention: "typed field"},
		{name: "attr upper case key", cfg: Config{Export: []Entry{{Registry: reg, Attrs: map[string]string{"Knob": "1"}}}}, wantErr: ErrInvalidValue, mention: "lower case"},
		{name: "line break in a value", cfg: Config{Export: []Entry{{GHA: &GHA{URL: "u", Token: "t", Scope: "a\nb"}}}}, wantErr: ErrInvalidValue, mention: "line break"},
		{name: "two exports to one ref", cfg: Config{Export: []Entry{{Registry: reg}, {Registry: &Registry{Ref: reg.Ref}, Mode: ModeMin}}}, wantErr: ErrInvalidValue, mention: "exports 0 and 1 both write registry ref r.example/app:cache"},
		{name: "two exports to one gha scope", cfg: Config{Export: []Entry{{GHA: ghaOK}, {GHA: &GHA{Scope: "buildkit", URL: "u", Token: "t"}}}}, wantErr: ErrInvalidValue, mention: "gha scope buildkit"},
		{name: "two local exports to one dir", cfg: Config{Export: []Entry{{Local: &Local{Dir: "/c/"}}, {Local: &Local{Dir: "/c"}}}}, wantErr: ErrInvalidValue, mention: "local directory /c"},
		{name: "two exports to other places", cfg: Config{Export: []Entry{{Registry: reg}, {Registry: &Registry{Ref: "r.example/app:cache2"}}, {Local: &Local{Dir: "/c", Tag: "a"}}, {Local: &Local{Dir: "/c", Tag: "b"}}}}},
		{name: "unmodelled attr passes", cfg: Config{Export: []Entry{{GHA: ghaOK, Attrs: map[string]string{"future": "x"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate(env(tt.env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *EntryError", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("message %q does not mention %q", err, tt.mention)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Errorf("message leaks the token: %q", err)
			}
		})
	}
}

func TestValidateReportsEveryViolation(t *testing.T) {
	cfg := Config{
		Import: []Entry{{Inline: &Inline{}}},
		Export: []Entry{{Registry: &Registry{}}, {Inline: &Inline{}, Mode: ModeMax}},
	}
	err := cfg.validate(env(nil))
	for _, want := range []error{ErrInlineImport, ErrMissing, ErrInlineMode} {
		if !errors.Is(err, want) {
			t.Errorf("error %v does not include %v", err, want)
		}
	}
	for _, want := range []string{"cache import 0 (inline)", "cache export 0 (registry)", "cache export 1 (inline)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestValidateUsesProcessEnvironment(t *testing.T) {
	t.Setenv("ACTIONS_CACHE_URL", "https://cache.example/")
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "t")
	cfg := Config{Export: []Entry{{GHA: &GHA{}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("gha settings from the environment not used: %v", err)
	}
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "")
	if err := cfg.Validate(); !errors.Is(err, ErrMissing) {
		t.Fatalf("error = %v, want ErrMissing without a token", err)
	}
}

func TestEntryType(t *testing.T) {
	for _, tt := range []struct {
		e    Entry
		want Type
	}{
		{Entry{Registry: &Registry{}}, TypeRegistry},
		{Entry{GHA: &GHA{}}, TypeGHA},
		{Entry{Local: &Local{}}, TypeLocal},
		{Entry{Inline: &Inline{}}, TypeInline},
		{Entry{S3: &S3{}}, TypeS3},
		{Entry{AzBlob: &AzBlob{}}, TypeAzBlob},
		{Entry{}, ""},
		{Entry{S3: &S3{}, AzBlob: &AzBlob{}}, ""},
	} {
		if got := tt.e.Type(); got != tt.want {
			t.Errorf("%+v.Type() = %q, want %q", tt.e, got, tt.want)
		}
	}
}
