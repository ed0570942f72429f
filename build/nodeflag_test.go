package build

import (
	"flag"
	"testing"
)

// -node is [name=]address, and an "=" after "://" belongs to the address.
func TestNodesFlag(t *testing.T) {
	var nodes Nodes
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(&nodes, "node", "")
	args := []string{
		"-node", "unix:///run/buildkit/buildkitd.sock",
		"-node", "amd=tcp://amd:1234",
		"-node", "kube-pod://buildkitd-0?namespace=ci",
		"-node", "arm=kube-pod://buildkitd-0?namespace=ci",
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	want := []Node{
		{Address: "unix:///run/buildkit/buildkitd.sock"},
		{Name: "amd", Address: "tcp://amd:1234"},
		{Address: "kube-pod://buildkitd-0?namespace=ci"},
		{Name: "arm", Address: "kube-pod://buildkitd-0?namespace=ci"},
	}
	if len(nodes) != len(want) {
		t.Fatalf("nodes = %+v, want %+v", nodes, want)
	}
	for i := range want {
		if nodes[i].Name != want[i].Name || nodes[i].Address != want[i].Address {
			t.Errorf("node %d = %+v, want %+v", i, nodes[i], want[i])
		}
	}
	if got := nodes.String(); got != "unix:///run/buildkit/buildkitd.sock,amd=tcp://amd:1234,kube-pod://buildkitd-0?namespace=ci,arm=kube-pod://buildkitd-0?namespace=ci" {
		t.Errorf("String() = %q", got)
	}
}
