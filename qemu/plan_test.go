package qemu

import (
	"context"

	"reflect"
	"testing"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func ps(specs ...string) []ocispec.Platform {
	out := make([]ocispec.Platform, len(specs))
	for i, s := range specs {
		out[i] = platforms.Normalize(platforms.MustParse(s))
	}
	return out
}

func TestMakePlan(t *testing.T) {
	amd := Node{Name: "amd", Native: ps("linux/amd64", "linux/386"), Emulated: ps("linux/arm64", "linux/arm/v7")}
	arm := Node{Name: "arm", Native: ps("linux/arm64")}
	v3 := Node{Name: "v3", Native: ps("linux/amd64/v3")}
	tests := []struct {
		name    string
		wanted  []ocispec.Platform
		nodes   []Node
		native  []Assignment
		emul    []Assignment
		nowhere []ocispec.Platform
	}{
		{"one amd64 host", ps("linux/amd64", "linux/arm64", "linux/s390x"), []Node{amd},
			[]Assignment{{Platform: ps("linux/amd64")[0], Node: "amd"}},
			[]Assignment{{Platform: ps("linux/arm64")[0], Node: "amd", Emulated: true}},
			ps("linux/s390x")},
		{"native node wins over emulation on an earlier node", ps("linux/arm64", "linux/amd64"), []Node{amd, arm},
			[]Assignment{{Platform: ps("linux/arm64")[0], Node: "arm"}, {Platform: ps("linux/amd64")[0], Node: "amd"}},
			nil, nil},
		{"arm64 node is not native for arm/v7 unless listed", ps("linux/arm/v7"), []Node{arm},
			nil, nil, ps("linux/arm/v7")},
		{"variants: amd64/v3 covers amd64, not 386", ps("linux/amd64", "linux/386"), []Node{v3},
			[]Assignment{{Platform: ps("linux/amd64")[0], Node: "v3"}}, nil, ps("linux/386")},
		{"spellings and duplicates", ps("linux/aarch64", "linux/arm64/v8", "linux/arm64"), []Node{arm},
			[]Assignment{{Platform: ps("linux/arm64")[0], Node: "arm"}}, nil, nil},
		{"arm/v6 on an emulated arm/v7", ps("linux/arm/v6"), []Node{amd},
			nil, []Assignment{{Platform: ps("linux/arm/v6")[0], Node: "amd", Emulated: true}}, nil},
		{"no nodes", ps("linux/amd64"), nil, nil, nil, ps("linux/amd64")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MakePlan(tt.wanted, tt.nodes)
			want := Plan{Native: tt.native, Emulated: tt.emul, Impossible: tt.nowhere}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("MakePlan =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestHostNode(t *testing.T) {
	b := fakeBinfmt(t)
	reopen(t, b, entryFor(t, b, "qemu-aarch64", "aarch64", "PF", true), entryFor(t, b, "qemu-s390x", "s390x", "P", true))
	n, err := b.Node(context.Background(), "local")
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "local" || len(n.Native) == 0 || platforms.Format(n.Native[0]) != hostSpec {
		t.Fatalf("node %+v, want the host %s first among native", n, hostSpec)
	}
	plan := MakePlan(ps(hostSpec, "linux/arm64", "linux/s390x"), []Node{n})
	if len(plan.Native) != 1 || len(plan.Emulated) != 1 || plan.Emulated[0].Platform.Architecture != "arm64" ||
		len(plan.Impossible) != 1 || plan.Impossible[0].Architecture != "s390x" {
		t.Fatalf("plan %+v: want host native, arm64 emulated, s390x (no flag F) impossible", plan)
	}
}
