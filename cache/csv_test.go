package cache

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		export  bool
		want    Entry
		wantErr error
	}{
		{name: "bare ref", in: "r.example/app:cache", want: Entry{Registry: &Registry{Ref: "r.example/app:cache"}}},
		{name: "registry export", in: "type=registry,ref=r.example/app:cache,mode=max", export: true,
			want: Entry{Registry: &Registry{Ref: "r.example/app:cache"}, Mode: ModeMax}},
		{name: "registry everything", export: true,
			in: "type=registry,ref=r/a:c,image-manifest=true,oci-mediatypes=false,compression=zstd,compression-level=3,force-compression=true,registry.insecure=true,mode=min,ignore-error=true",
			want: Entry{Registry: &Registry{Ref: "r/a:c", ImageManifest: ptr(true), OCIMediaTypes: ptr(false), Insecure: true,
				Compression: Compression{Type: "zstd", Level: ptr(3), Force: true}}, Mode: ModeMin, IgnoreError: true}},
		{name: "keys are case insensitive, last wins", in: "TYPE=registry,Ref=r/a:1,ref=r/a:2",
			want: Entry{Registry: &Registry{Ref: "r/a:2"}}},
		{name: "gha", in: "type=gha,scope=app,url=https://u/,url_v2=https://v/,token=t,version=2,timeout=10m,repository=o/r,ghtoken=g",
			want: Entry{GHA: &GHA{Scope: "app", URL: "https://u/", URLv2: "https://v/", Token: "t", Version: 2, Timeout: 10 * time.Minute, Repository: "o/r", GHToken: "g"}}},
		{name: "local import uses src", in: "type=local,src=/tmp/c,digest=sha256:x,tag=t",
			want: Entry{Local: &Local{Dir: "/tmp/c", Digest: "sha256:x", Tag: "t"}}},
		{name: "local export uses dest", in: "type=local,dest=/tmp/c,mode=max", export: true,
			want: Entry{Local: &Local{Dir: "/tmp/c"}, Mode: ModeMax}},
		{name: "local import with dest keeps it as an unknown attr", in: "type=local,dest=/tmp/c",
			want: Entry{Local: &Local{}, Attrs: map[string]string{"dest": "/tmp/c"}}},
		{name: "inline", in: "type=inline", export: true, want: Entry{Inline: &Inline{}}},
		{name: "s3 with a quoted comma", in: `type=s3,bucket=b,region=r,"name=a,b",use_path_style=true,upload_parallelism=8,touch_refresh=1h`,
			want: Entry{S3: &S3{Bucket: "b", Region: "r", Name: "a,b", UsePathStyle: true, UploadParallelism: 8}, Attrs: map[string]string{"touch_refresh": "1h"}}},
		{name: "azblob", in: "type=azblob,account_url=https://a.blob.core.windows.net/,container=c,name=n,secret_access_key=k,prefix=p/",
			want: Entry{AzBlob: &AzBlob{AccountURL: "https://a.blob.core.windows.net/", Container: "c", Name: "n", SecretAccessKey: "k", Prefix: "p/"}}},
		{name: "value with =", in: "type=gha,token=a=b=", want: Entry{GHA: &GHA{Token: "a=b="}}},
		{name: "field without =", in: "type=registry,ref=r/a:c,registry.insecure",
			wantErr: ErrInvalidValue},
		{name: "no type", in: "ref=r/a:c", wantErr: ErrMissing},
		{name: "unknown type", in: "type=ftp,url=x", wantErr: ErrUnknownType},
		{name: "empty", in: "", wantErr: ErrMissing},
		{name: "bad bool", in: "type=registry,ref=r/a:c,ignore-error=maybe", wantErr: ErrInvalidValue},
		{name: "empty bool", in: "type=registry,ref=r/a:c,image-manifest=", wantErr: ErrInvalidValue},
		{name: "empty force-compression is true, as in BuildKit", in: "type=registry,ref=r/a:c,compression=zstd,force-compression=",
			want: Entry{Registry: &Registry{Ref: "r/a:c", Compression: Compression{Type: "zstd", Force: true}}}},
		{name: "bad int", in: "type=gha,version=two", wantErr: ErrInvalidValue},
		{name: "bad duration", in: "type=gha,timeout=soon", wantErr: ErrInvalidValue},
		{name: "bad csv", in: `type=gha,scope="a`, wantErr: ErrInvalidValue},
		{name: "two lines", in: "type=gha\ntype=inline", wantErr: ErrInvalidValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := ParseImport
			if tt.export {
				parse = ParseExport
			}
			got, err := parse(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// Every typed field of every backend survives Format then Parse, in both directions.
func TestFormatRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string // FormatExport (or FormatImport when import is set)
		imp  bool
	}{
		{name: "registry default mode written", e: Entry{Registry: &Registry{Ref: "r/a:c"}}, want: "type=registry,ref=r/a:c,mode=max"},
		{name: "registry import", imp: true, e: Entry{Registry: &Registry{Ref: "r/a:c", Insecure: true}}, want: "type=registry,ref=r/a:c,registry.insecure=true"},
		{name: "registry full", e: Entry{Registry: &Registry{Ref: "r/a:c", ImageManifest: ptr(false), OCIMediaTypes: ptr(true),
			Compression: Compression{Type: "estargz", Level: ptr(0), Force: true}}, Mode: ModeMin, IgnoreError: true, Attrs: map[string]string{"b": "2", "a": "1"}},
			want: "type=registry,ref=r/a:c,image-manifest=false,oci-mediatypes=true,compression=estargz,compression-level=0,force-compression=true,mode=min,ignore-error=true,a=1,b=2"},
		{name: "gha", e: Entry{GHA: &GHA{Scope: "s", URL: "u", URLv2: "v", Token: "t", Version: 1, Timeout: 90 * time.Second, Repository: "o/r", GHToken: "g"}},
			want: "type=gha,scope=s,url=u,url_v2=v,token=t,version=1,timeout=1m30s,repository=o/r,ghtoken=g,mode=max"},
		{name: "local import", imp: true, e: Entry{Local: &Local{Dir: "/c d", Tag: "t", Digest: "sha256:x"}}, want: "type=local,src=/c d,tag=t,digest=sha256:x"},
		{name: "local export", e: Entry{Local: &Local{Dir: "/c", Tag: "t", ImageManifest: ptr(true), OCIMediaTypes: ptr(true), Compression: Compression{Type: "gzip"}}},
			want: "type=local,dest=/c,tag=t,image-manifest=true,oci-mediatypes=true,compression=gzip,mode=max"},
		{name: "inline", e: Entry{Inline: &Inline{}}, want: "type=inline"},
		{name: "inline min", e: Entry{Inline: &Inline{}, Mode: ModeMin}, want: "type=inline,mode=min"},
		{name: "s3", e: Entry{S3: &S3{Bucket: "b", Region: "r", Prefix: "p", ManifestsPrefix: "m", BlobsPrefix: "bl", Name: "x;y",
			EndpointURL: "http://minio:9000", UsePathStyle: true, AccessKeyID: "a", SecretAccessKey: "s", SessionToken: "st", UploadParallelism: 2, Compression: Compression{Type: "zstd"}}},
			want: "type=s3,bucket=b,region=r,prefix=p,manifests_prefix=m,blobs_prefix=bl,name=x;y,endpoint_url=http://minio:9000,use_path_style=true,access_key_id=a,secret_access_key=s,session_token=st,upload_parallelism=2,compression=zstd,mode=max"},
		{name: "azblob", e: Entry{AzBlob: &AzBlob{AccountURL: "https://a/", AccountName: "a", Container: "c", Prefix: "p", ManifestsPrefix: "m", BlobsPrefix: "b", Name: "n", SecretAccessKey: "k"}},
			want: "type=azblob,account_url=https://a/,account_name=a,container=c,prefix=p,manifests_prefix=m,blobs_prefix=b,name=n,secret_access_key=k,mode=max"},
		{name: "quoting", e: Entry{GHA: &GHA{Scope: `a,"b"`, Token: " t"}}, want: `type=gha,"scope=a,""b""",token= t,mode=max`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, parse := Entry.FormatExport, ParseExport
			if tt.imp {
				format, parse = Entry.FormatImport, ParseImport
			}
			s := format(tt.e)
			if s != tt.want {
				t.Errorf("format:\n got %s\nwant %s", s, tt.want)
			}
			back, err := parse(s)
			if err != nil {
				t.Fatalf("parse(%s): %v", s, err)
			}
			want := tt.e
			if !tt.imp && want.Mode == "" {
				want.Mode = want.exportMode()
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("round trip:\n got %#v\nwant %#v", back, want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	from := []string{"r/a:c1,r/a:c2", "type=gha,scope=s", ""}
	to := []string{"type=registry,ref=r/a:c1"}
	c, err := ParseFlags(from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Import: []Entry{{Registry: &Registry{Ref: "r/a:c1"}}, {Registry: &Registry{Ref: "r/a:c2"}}, {GHA: &GHA{Scope: "s"}}},
		Export: []Entry{{Registry: &Registry{Ref: "r/a:c1"}}},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("ParseFlags:\n got %#v\nwant %#v", c, want)
	}
	gotFrom, gotTo := c.Flags()
	if wantFrom := []string{"type=registry,ref=r/a:c1", "type=registry,ref=r/a:c2", "type=gha,scope=s"}; !reflect.DeepEqual(gotFrom, wantFrom) {
		t.Errorf("cache-from = %q, want %q", gotFrom, wantFrom)
	}
	if wantTo := []string{"type=registry,ref=r/a:c1,mode=max"}; !reflect.DeepEqual(gotTo, wantTo) {
		t.Errorf("cache-to = %q, want %q (the mode is written so buildx exports max too)", gotTo, wantTo)
	}
	if _, err := ParseFlags(nil, []string{"type=nope"}); !errors.Is(err, ErrUnknownType) {
		t.Errorf("bad --cache-to: error = %v, want ErrUnknownType", err)
	}
}

// Credentials in a cache flag never reach an error message, whatever is wrong with it.
func TestParseErrorsHideCredentials(t *testing.T) {
	for _, tc := range []struct{ name, in, secret string }{
		{"gha token, bad version", "type=gha,token=tok-SECRET,version=two", "tok-SECRET"},
		{"gha ghtoken, no type", "scope=a,GHTOKEN=ghp_SECRET", "ghp_SECRET"},
		{"s3 keys, bad parallelism", "type=s3,access_key_id=AKIA_SECRET,secret_access_key=sak-SECRET,upload_parallelism=many", "SECRET"},
		{"s3 session token, unknown type", "type=s4,session_token=st-SECRET", "st-SECRET"},
		{"azblob key with a comma, bad ignore-error", "type=azblob,secret_access_key=k-SECRET,k2-SECRET,ignore-error=maybe", "SECRET"},
		{"token, invalid csv", `type=gha,token=tok-SECRET,scope="a`, "tok-SECRET"},
		{"token, two lines", "type=gha,token=tok-SECRET\ntype=inline", "tok-SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseExport(tc.in)
			if err == nil {
				t.Fatalf("ParseExport(%q) succeeded, want an error", tc.in)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error leaks a credential: %v", err)
			}
			if !strings.Contains(err.Error(), "***") {
				t.Errorf("error = %v, want the flag quoted with its credential masked", err)
			}
		})
	}
}
