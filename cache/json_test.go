package cache

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A Config loaded from a CI program's JSON file is the Config that was written.
func TestConfigJSON(t *testing.T) {
	c := Config{
		Import: []Entry{
			{Registry: &Registry{Ref: "r/a:c", ImageManifest: ptr(true), OCIMediaTypes: ptr(true), Compression: Compression{Type: "zstd", Level: ptr(0)}}},
			{GHA: &GHA{Scope: "s", Timeout: time.Minute, Version: 2}},
			{Local: &Local{Dir: "/c", Digest: "sha256:x"}},
		},
		Export: []Entry{
			{Inline: &Inline{}, Mode: ModeMin},
			{S3: &S3{Bucket: "b", Name: "n", UsePathStyle: true}, IgnoreError: true},
			{AzBlob: &AzBlob{AccountURL: "https://a/", Container: "c"}, Attrs: map[string]string{"k": "v"}},
		},
		AllowMixedExports: true,
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("JSON round trip:\n got %#v\nwant %#v", back, c)
	}
	if strings.Contains(string(b), `"compression":{}`) {
		t.Errorf("zero compression written: %s", b)
	}

	var fromFile Config
	if err := json.Unmarshal([]byte(`{"export":[{"registry":{"ref":"r/a:c"}}]}`), &fromFile); err != nil {
		t.Fatal(err)
	}
	if _, exports, err := fromFile.solve(amd64, both, true, env(nil)); err != nil || exports[0].Attrs["ref"] != "r/a:c-linux-amd64" || exports[0].Attrs["mode"] != "max" {
		t.Errorf("config from JSON: exports %v, err %v", exports, err)
	}
}
