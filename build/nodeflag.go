package build

import (
	"strings"
)

// ParseNode reads a node in the form command lines use, "[name=]address":
//
//	unix:///run/buildkit/buildkitd.sock
//	arm=tcp://arm64-builder:1234
//	kube-pod://buildkitd-0?namespace=ci     (an "=" after "://" belongs to the address)
//
// The address is checked when the node is connected ([New]).
func ParseNode(s string) Node {
	name, addr, ok := strings.Cut(s, "=")
	if !ok || strings.Contains(name, "://") {
		return Node{Address: s}
	}
	return Node{Name: name, Address: addr}
}

// Nodes is a repeatable command-line flag of nodes in ParseNode's form:
//
//	var nodes build.Nodes
//	flag.Var(&nodes, "node", "BuildKit node `[name=]address` (repeatable)")
type Nodes []Node

// String lists the nodes as ParseNode reads them.
func (n *Nodes) String() string {
	parts := make([]string, len(*n))
	for i, x := range *n {
		parts[i] = x.Address
		if x.Name != "" {
			parts[i] = x.Name + "=" + x.Address
		}
	}
	return strings.Join(parts, ",")
}

// Set adds one node.
func (n *Nodes) Set(s string) error {
	*n = append(*n, ParseNode(s))
	return nil
}
