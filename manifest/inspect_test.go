package manifest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestInspect(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.New(t)
	idx, err := reg.SeedChildren("team/app:v1", []registrytest.Child{{Platform: amd64}, {Platform: armv7}},
		registrytest.WithAttestations(), registrytest.WithAnnotations(map[string]string{"org.opencontainers.image.version": "1.0"}))
	if err != nil {
		t.Fatal(err)
	}
	img, err := reg.SeedImage("team/app:arm64", arm64, registrytest.Docker())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref       string
		index     bool
		platforms []string
		children  int
		requests  int
		table     []string
	}{
		{reg.Host() + "/team/app:v1", true, []string{"linux/amd64", "linux/arm/v7"}, 4, 1,
			[]string{"Kind:        index", "linux/arm/v7", "attestation → " + idx.Children[0].Digest.Hex[:12], "org.opencontainers.image.version=1.0", idx.Descriptor.Digest.String()}},
		{img.Ref.String(), false, []string{"linux/arm64"}, 0, 2,
			[]string{"Kind:        image", "application/vnd.docker.distribution.manifest.v2+json", "Platforms:   linux/arm64"}},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			reg.ResetRequests()
			d, err := newClient(reg).Inspect(ctx, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if d.Index != tc.index || !slices.Equal(d.Platforms, tc.platforms) || len(d.Children) != tc.children {
				t.Errorf("index %v platforms %v children %d; want %v %v %d", d.Index, d.Platforms, len(d.Children), tc.index, tc.platforms, tc.children)
			}
			if n := reg.Count("", "") - reg.Count(http.MethodGet, registrytest.KindPing); n != tc.requests {
				t.Errorf("%d requests besides the ping, want %d: %v", n, tc.requests, reg.Requests())
			}
			var table bytes.Buffer
			if err := d.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.table {
				if !strings.Contains(table.String(), s) {
					t.Errorf("table lacks %q:\n%s", s, table.String())
				}
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var back manifest.Description
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Digest != d.Digest || !slices.Equal(back.Platforms, d.Platforms) || len(back.Children) != len(d.Children) {
				t.Errorf("JSON round trip lost data: %s", b)
			}
			if tc.index && !back.Children[2].Attestation {
				t.Errorf("attestation flag lost in JSON: %s", b)
			}
		})
	}
	if _, err := newClient(reg).Inspect(ctx, reg.Host()+"/team/app:absent"); err == nil {
		t.Error("absent tag inspected")
	}
}

// TestWriteTableAttestationSubject: an attestation row names the start of its subject's
// hex digest whatever the algorithm, and nothing for an annotation that is no digest.
func TestWriteTableAttestationSubject(t *testing.T) {
	sha512 := "sha512:" + strings.Repeat("cd", 64)
	d := &manifest.Description{Ref: "r.example/app:1", Index: true, Children: []manifest.ChildInfo{
		{Attestation: true, Annotations: map[string]string{manifest.AnnotationReferenceDigest: sha512}},
		{Attestation: true, Annotations: map[string]string{manifest.AnnotationReferenceDigest: "not-a-digest-at-all-really"}},
	}}
	var table bytes.Buffer
	if err := d.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "attestation → "+strings.Repeat("cd", 6)+" ") {
		t.Errorf("sha512 subject not shown as its first 12 hex digits:\n%s", table.String())
	}
	if strings.Count(table.String(), "→") != 1 {
		t.Errorf("a subject that is no digest is shown:\n%s", table.String())
	}
}
