package cache

import (
	"reflect"
	"testing"
)

// FuzzParse checks the CSV form on any input: parsing never panics, and whatever
// parses formats to a string that parses back to the same Entry (after the export
// mode default is written), and formatting that again gives the same string.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"r.example/app:cache",
		"type=registry,ref=r.example/app:cache,mode=max,image-manifest=true,oci-mediatypes=true,compression=zstd,compression-level=3",
		"type=gha,scope=app,url=https://u/,token=t,version=2,timeout=10m",
		"type=local,src=/tmp/c,digest=sha256:x",
		"type=local,dest=/tmp/c,mode=max",
		"type=inline",
		`type=s3,bucket=b,region=r,"name=a,b",use_path_style=true`,
		"type=azblob,account_url=https://a/,name=n",
		`type=gha,"scope=a""b",ignore-error=true,x=1`,
		"TYPE=Registry,REF=x",
		`"`,
		"type=registry,ref=a,ref=b",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, export bool) {
		parse, format := ParseImport, Entry.FormatImport
		if export {
			parse, format = ParseExport, Entry.FormatExport
		}
		e, err := parse(s)
		if err != nil {
			return
		}
		if e.Type() == "" {
			t.Fatalf("parse(%q) returned an entry without one backend: %#v", s, e)
		}
		s2 := format(e)
		e2, err := parse(s2)
		if err != nil {
			t.Fatalf("parse(%q) ok, but its format %q does not parse: %v", s, s2, err)
		}
		want := e
		if export && want.Mode == "" {
			want.Mode = want.exportMode()
		}
		if !reflect.DeepEqual(e2, want) {
			t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", s, s2, e2, want)
		}
		if s3 := format(e2); s3 != s2 {
			t.Fatalf("format is not stable: %q then %q", s2, s3)
		}
	})
}
