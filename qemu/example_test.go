package qemu_test

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"

	"github.com/containerd/platforms"
	"github.com/multiarch-sdk/multiarch/qemu"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Register arm64 and riscv64 emulators in the kernel (as root) and prove they run.
func ExampleBinfmt_Install() {
	ctx := context.Background()
	b := &qemu.Binfmt{} // the kernel's binfmt_misc, emulators from /usr/bin
	res, err := b.Install(ctx, "linux/arm64", "linux/riscv64")
	switch {
	case errors.Is(err, qemu.ErrPermission):
		fmt.Println("run as root")
		return
	case errors.Is(err, qemu.ErrNoInterpreter):
		fmt.Println("apt-get install qemu-user-static")
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	for _, r := range res {
		fmt.Println(platforms.Format(r.Platform), r.Action, b.Probe(ctx, r.Platform) == nil)
	}
}

// Decide where each platform of a build runs, given two build nodes.
func ExampleMakePlan() {
	parse := func(specs ...string) []ocispec.Platform {
		ps, _ := platforms.ParseAll(specs)
		return ps
	}
	plan := qemu.MakePlan(parse("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"), []qemu.Node{
		{Name: "x86-box", Native: parse("linux/amd64", "linux/386"), Emulated: parse("linux/arm64", "linux/arm/v7")},
		{Name: "graviton", Native: parse("linux/arm64")},
	})
	for _, a := range plan.Native {
		fmt.Println("native:  ", platforms.Format(a.Platform), "on", a.Node)
	}
	for _, a := range plan.Emulated {
		fmt.Println("emulated:", platforms.Format(a.Platform), "on", a.Node)
	}
	for _, p := range plan.Impossible {
		fmt.Println("nowhere: ", platforms.Format(p))
	}
	// Output:
	// native:   linux/amd64 on x86-box
	// native:   linux/arm64 on graviton
	// emulated: linux/arm/v7 on x86-box
	// nowhere:  linux/s390x
}

// Read an entry as the kernel prints it.
func ExampleParseEntry() {
	e, err := qemu.ParseEntry("qemu-aarch64", []byte(`enabled
interpreter /usr/bin/qemu-aarch64-static
flags: PF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Name, e.Enabled, e.Interpreter, e.HasFlag('F'))
	fmt.Println(e.RegisterLine())
	// Output:
	// qemu-aarch64 true /usr/bin/qemu-aarch64-static true
	// :qemu-aarch64:M:0:\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:PF
}

// The probe for a platform is a complete static executable of a few dozen bytes.
func ExampleProbeBinary() {
	bin, err := qemu.ProbeBinary(platforms.MustParse("linux/riscv64"))
	if err != nil {
		fmt.Println(err)
		return
	}
	f, _ := elf.NewFile(bytes.NewReader(bin))
	fmt.Println(len(bin), "bytes,", f.Machine, f.Class, "exits with", qemu.ProbeExitCode)
	// Output:
	// 132 bytes, EM_RISCV ELFCLASS64 exits with 73
}
