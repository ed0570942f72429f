package registrytest_test

import (
	"testing"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestImage(t *testing.T) {
	layer, err := random.Layer(64, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	p := platforms.MustParse("linux/arm/v7")
	cfg := v1.Config{Entrypoint: []string{"/app"}, Env: []string{"PATH=/bin"}}
	img, err := registrytest.Image(p, cfg, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "arm" || cf.Variant != "v7" {
		t.Errorf("config platform %s/%s/%s, want linux/arm/v7", cf.OS, cf.Architecture, cf.Variant)
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/app" || cf.Config.Env[0] != "PATH=/bin" {
		t.Errorf("runtime config %+v, want the one given", cf.Config)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("media type %s, want OCI", mt)
	}
	if ls, _ := img.Layers(); len(ls) != 1 {
		t.Errorf("%d layers, want 1", len(ls))
	}
	again, err := registrytest.Image(p, cfg, layer)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("same inputs, digests %s and %s: want reproducible images", d1, d2)
	}
}
