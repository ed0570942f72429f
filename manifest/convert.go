package manifest

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerTypes maps layer media types between the Docker and OCI families.
var layerTypes = map[Format]map[types.MediaType]types.MediaType{
	OCI: {
		types.DockerLayer:             types.OCILayer,
		types.DockerUncompressedLayer: types.OCIUncompressedLayer,
		types.DockerForeignLayer:      types.OCIRestrictedLayer,
	},
	Docker: {
		types.OCILayer:                       types.DockerLayer,
		types.OCIUncompressedLayer:           types.DockerUncompressedLayer,
		types.OCIRestrictedLayer:             types.DockerForeignLayer,
		types.OCIUncompressedRestrictedLayer: types.DockerForeignLayer,
	},
}

// convertEntry rewrites e's image manifest into family f when convert is
// set, and refuses with a *MediaTypeError otherwise.
func (c *Client) convertEntry(e Entry, f Format, convert bool) (Entry, error) {
	if !convert {
		return Entry{}, &MediaTypeError{Ref: e.From, Digest: e.Descriptor.Digest, MediaType: e.Descriptor.MediaType, Format: f}
	}
	if !e.Descriptor.MediaType.IsImage() {
		return Entry{}, fmt.Errorf("manifest: cannot convert %s (%s) of %s to %s", e.Descriptor.Digest, e.Descriptor.MediaType, e.From, f)
	}
	m, err := v1.ParseManifest(bytesReader(e.raw))
	if err != nil {
		return Entry{}, fmt.Errorf("manifest: read %s for conversion: %w", e.Source, err)
	}
	m.MediaType = f.imageType()
	m.Config.MediaType = types.OCIConfigJSON
	if f == Docker {
		m.Config.MediaType = types.DockerConfigJSON
		m.Annotations, m.Subject = nil, nil
	}
	for i, l := range m.Layers {
		if formatOfLayer(l.MediaType) == f || formatOfLayer(l.MediaType) == "" {
			continue
		}
		to, ok := layerTypes[f][l.MediaType]
		if !ok {
			return Entry{}, fmt.Errorf("manifest: cannot convert %s of %s to %s: layer %s has media type %s, which has no %s equivalent; set Request.Format to %q",
				e.Source, e.From, f, l.Digest, l.MediaType, f, formatOfLayer(l.MediaType))
		}
		m.Layers[i].MediaType = to
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Entry{}, err
	}
	h, n, err := v1.SHA256(bytesReader(raw))
	if err != nil {
		return Entry{}, err
	}
	e.Descriptor.MediaType, e.Descriptor.Digest, e.Descriptor.Size = m.MediaType, h, n
	e.raw, e.converted = raw, true
	c.log().Debug("converted manifest", "from", e.Source.String(), "to", h.String(), "format", string(f))
	return e, nil
}

func formatOfLayer(mt types.MediaType) Format {
	if _, ok := layerTypes[OCI][mt]; ok {
		return Docker
	}
	if _, ok := layerTypes[Docker][mt]; ok {
		return OCI
	}
	if mt == types.OCILayerZStd {
		return OCI
	}
	return ""
}
