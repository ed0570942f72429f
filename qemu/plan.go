package qemu

import (
	"context"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Node is what one build node can run: natively, and through registered emulators.
// For the local host, Native comes from Binfmt.Native and Emulated from Status.Emulated.
type Node struct {
	Name     string
	Native   []ocispec.Platform
	Emulated []ocispec.Platform
}

// Assignment places one wanted platform on a node.
type Assignment struct {
	Platform ocispec.Platform
	Node     string
	Emulated bool
}

// Plan says how each wanted platform of a build will run.
type Plan struct {
	Native     []Assignment       // on a node whose CPU runs it
	Emulated   []Assignment       // on a node that runs it through QEMU
	Impossible []ocispec.Platform // on no node at all: install an emulator or add a node
}

// MakePlan assigns each wanted platform to the first node (in the given order) that runs
// it natively; failing that, to the first node that emulates it; failing that it is
// impossible. A node's platform covers a wanted one of the same architecture and an
// equal or lower variant (platforms.Only: linux/amd64/v3 covers linux/amd64), but never
// another architecture: an arm64 node runs linux/arm/v7 or an amd64 node linux/386 only
// if it lists it (Binfmt.Native does, after probing). Duplicates in wanted are planned once.
func MakePlan(wanted []ocispec.Platform, nodes []Node) Plan {
	var plan Plan
	seen := map[string]bool{}
	for _, w := range wanted {
		w = platforms.Normalize(w)
		key := platforms.Format(w)
		if seen[key] {
			continue
		}
		seen[key] = true
		if n, ok := findNode(w, nodes, func(n Node) []ocispec.Platform { return n.Native }); ok {
			plan.Native = append(plan.Native, Assignment{Platform: w, Node: n})
		} else if n, ok := findNode(w, nodes, func(n Node) []ocispec.Platform { return n.Emulated }); ok {
			plan.Emulated = append(plan.Emulated, Assignment{Platform: w, Node: n, Emulated: true})
		} else {
			plan.Impossible = append(plan.Impossible, w)
		}
	}
	return plan
}

func findNode(w ocispec.Platform, nodes []Node, list func(Node) []ocispec.Platform) (string, bool) {
	for _, n := range nodes {
		for _, p := range list(n) {
			p = platforms.Normalize(p)
			if p.Architecture == w.Architecture && platforms.Only(p).Match(w) {
				return n.Name, true
			}
		}
	}
	return "", false
}

// Node describes this host as a build node named name: Native from b.Native, Emulated
// from the usable emulators of b.Status.
func (b *Binfmt) Node(ctx context.Context, name string) (Node, error) {
	native, err := b.Native(ctx)
	if err != nil {
		return Node{}, err
	}
	st, err := b.Status(ctx)
	if err != nil {
		return Node{}, err
	}
	return Node{Name: name, Native: native, Emulated: st.Emulated()}, nil
}
