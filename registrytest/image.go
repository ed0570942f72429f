package registrytest

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image stacks layers (base first) into an OCI image whose config declares platform p
// (os, architecture, variant, os.version, os.features) and runs as cfg says (Env,
// Entrypoint, Cmd, ...). The creation time is fixed, so the same layers and config
// always give the same digest. Use it to seed images with real content, such as
// binaries cross-compiled for p (or, on purpose, for another platform).
func Image(p ocispec.Platform, cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.OSVersion, cf.OSFeatures = p.OSVersion, p.OSFeatures
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}
