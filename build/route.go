package build

import (
	"slices"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// assignment is one platform's solve placed on a node.
type assignment struct {
	Platform ocispec.Platform
	Node     int  // index into the nodes routed over
	Emulated bool // the node runs the platform only through emulation (QEMU)
}

// route places each platform on a node, trying three tiers in order:
//
//  1. native: a node whose native platforms include it exactly (platforms.OnlyStrict);
//  2. compatible: a node whose native platform runs it (platforms.Only: an amd64 node
//     runs 386, an arm64 node runs arm/v7), still without emulation;
//  3. emulated: a node whose workers list it (BuildKit lists the platforms it can run
//     through a registered QEMU emulator). A listed platform of the node's own
//     architecture (amd64/v2 or v3 on an amd64 host) is not emulated: BuildKit lists the
//     levels the CPU supports.
//
// Within a tier the node with the fewest platforms already placed wins (then the
// first listed), so a fleet shares the work. A platform no tier can place gives a
// *NoNodeError.
func route(nodes []NodeInfo, plats []ocispec.Platform) ([]assignment, error) {
	load := make([]int, len(nodes))
	out := make([]assignment, 0, len(plats))
	for _, p := range plats {
		idx, emulated := pick(nodes, load, p)
		if idx < 0 {
			e := &NoNodeError{Platform: p, Nodes: map[string][]ocispec.Platform{}}
			for _, n := range nodes {
				e.Nodes[n.Name] = n.Workers
			}
			return nil, e
		}
		load[idx]++
		out = append(out, assignment{Platform: p, Node: idx, Emulated: emulated})
	}
	return out, nil
}

// sameArch reports whether p has the OS and architecture of one of native.
func sameArch(native []ocispec.Platform, p ocispec.Platform) bool {
	return slices.ContainsFunc(native, func(n ocispec.Platform) bool {
		return n.OS == p.OS && n.Architecture == p.Architecture
	})
}

func pick(nodes []NodeInfo, load []int, p ocispec.Platform) (idx int, emulated bool) {
	tiers := []func(NodeInfo) bool{
		func(n NodeInfo) bool {
			return slices.ContainsFunc(n.Native, platforms.OnlyStrict(p).Match)
		},
		func(n NodeInfo) bool {
			return slices.ContainsFunc(n.Native, func(nat ocispec.Platform) bool { return platforms.Only(nat).Match(p) })
		},
		func(n NodeInfo) bool {
			return slices.ContainsFunc(n.Workers, func(w ocispec.Platform) bool { return platforms.Only(w).Match(p) })
		},
	}
	for tier, ok := range tiers {
		best := -1
		for i, n := range nodes {
			if ok(n) && (best < 0 || load[i] < load[best]) {
				best = i
			}
		}
		if best >= 0 {
			// A worker platform of the node's own architecture (amd64/v2, v3 on an
			// amd64 host: BuildKit lists the levels the CPU has) runs on the CPU.
			return best, tier == 2 && !sameArch(nodes[best].Native, p)
		}
	}
	return -1, false
}
