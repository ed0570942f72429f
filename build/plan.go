package build

import (
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Assignment says where one platform's solve runs.
type Assignment struct {
	Platform ocispec.Platform `json:"platform"`
	// Node is the name of the node that builds it.
	Node string `json:"node"`
	// Emulated is true when that node runs the platform only through emulation (QEMU).
	Emulated bool `json:"emulated"`
}

// Plan routes plats over the fleet exactly as Build would, without building: a dry
// run. A platform no node can run gives a *NoNodeError.
func (b *Builder) Plan(plats []ocispec.Platform) ([]Assignment, error) {
	nodes := b.Nodes()
	as, err := route(nodes, plats)
	if err != nil {
		return nil, err
	}
	out := make([]Assignment, len(as))
	for i, a := range as {
		out[i] = Assignment{Platform: a.Platform, Node: nodes[a.Node].Name, Emulated: a.Emulated}
	}
	return out, nil
}

// Client returns the BuildKit client of the node named name, for work beyond builds
// on the same daemon (running smoke tests there, asking it about its cache support).
// It is owned by the Builder: do not close it. Nil when no node has that name.
func (b *Builder) Client(name string) *client.Client {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, n := range b.nodes {
		if n.info.Name == name {
			return n.c
		}
	}
	return nil
}
