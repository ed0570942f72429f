package build

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func plats(t *testing.T, specs ...string) []ocispec.Platform {
	t.Helper()
	ps, err := ParsePlatforms(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestRoute(t *testing.T) {
	amdHost := NodeInfo{Node: Node{Name: "amd"}}
	amdHost.Native = plats(t, "linux/amd64")
	amdHost.Workers = plats(t, "linux/amd64", "linux/amd64/v2", "linux/386", "linux/arm64", "linux/arm/v7")
	armHost := NodeInfo{Node: Node{Name: "arm"}}
	armHost.Native = plats(t, "linux/arm64")
	armHost.Workers = plats(t, "linux/arm64", "linux/arm/v7")
	armHost2 := armHost
	armHost2.Name = "arm2"
	bare := NodeInfo{Node: Node{Name: "bare"}}
	bare.Native = plats(t, "linux/amd64")
	bare.Workers = plats(t, "linux/amd64")

	type want struct {
		node     string
		emulated bool
	}
	for _, tc := range []struct {
		name  string
		nodes []NodeInfo
		plats []string
		want  []want
	}{
		{"native beats emulation", []NodeInfo{amdHost, armHost}, []string{"linux/arm64", "linux/amd64"},
			[]want{{"arm", false}, {"amd", false}}},
		{"emulated when no native node", []NodeInfo{amdHost}, []string{"linux/amd64", "linux/arm64"},
			[]want{{"amd", false}, {"amd", true}}},
		{"compatible before emulated: arm64 host runs arm/v7", []NodeInfo{amdHost, armHost}, []string{"linux/arm/v7"},
			[]want{{"arm", false}}},
		{"compatible: amd64 host runs 386 natively", []NodeInfo{armHost, amdHost}, []string{"linux/386"},
			[]want{{"amd", false}}},
		{"native nodes share the load", []NodeInfo{armHost, armHost2}, []string{"linux/arm64", "linux/arm/v7", "linux/arm64/v8"},
			[]want{{"arm", false}, {"arm2", false}, {"arm", false}}},
		{"emulation through a node's worker list only", []NodeInfo{bare, armHost}, []string{"linux/arm/v7"},
			[]want{{"arm", false}}},
		{"a higher amd64 level the worker lists runs on the CPU, not under QEMU", []NodeInfo{amdHost}, []string{"linux/amd64/v2"},
			[]want{{"amd", false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := route(tc.nodes, plats(t, tc.plats...))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d assignments, want %d", len(got), len(tc.want))
			}
			for i, a := range got {
				if n := tc.nodes[a.Node].Name; n != tc.want[i].node || a.Emulated != tc.want[i].emulated {
					t.Errorf("%s: node %s emulated %v, want node %s emulated %v",
						platforms.Format(a.Platform), n, a.Emulated, tc.want[i].node, tc.want[i].emulated)
				}
			}
		})
	}
}

func TestRouteNoNode(t *testing.T) {
	n := NodeInfo{Node: Node{Name: "amd"}, Native: plats(t, "linux/amd64"), Workers: plats(t, "linux/amd64", "linux/386")}
	_, err := route([]NodeInfo{n}, plats(t, "linux/amd64", "linux/s390x"))
	var nn *NoNodeError
	if !errors.As(err, &nn) {
		t.Fatalf("err = %v, want *NoNodeError", err)
	}
	if nn.Platform.Architecture != "s390x" {
		t.Errorf("NoNodeError.Platform = %v, want linux/s390x", nn.Platform)
	}
	for _, s := range []string{"linux/s390x", `node "amd" runs linux/amd64, linux/386`, "QEMU"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}
