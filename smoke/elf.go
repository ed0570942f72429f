package smoke

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrUnsupportedPlatform is returned by ScanImage for a platform whose ELF machine this
// package does not know.
var ErrUnsupportedPlatform = errors.New("no ELF machine known for platform")

// ELFArch is what an ELF file is built for: the fields of its header that must match the
// platform it runs on.
type ELFArch struct {
	Class   elf.Class
	Data    elf.Data
	Machine elf.Machine
}

// String describes a like file(1): "ELF 64-bit LSB x86-64".
func (a ELFArch) String() string {
	bits, order := "?-bit", "?"
	switch a.Class {
	case elf.ELFCLASS32:
		bits = "32-bit"
	case elf.ELFCLASS64:
		bits = "64-bit"
	}
	switch a.Data {
	case elf.ELFDATA2LSB:
		order = "LSB"
	case elf.ELFDATA2MSB:
		order = "MSB"
	}
	return fmt.Sprintf("ELF %s %s %s", bits, order, a.Machine)
}

// GOARCH returns the Go/OCI architecture that a is built for, or "" when a is no
// architecture of the table below.
func (a ELFArch) GOARCH() string {
	for arch, want := range archs {
		if want == a {
			return arch
		}
	}
	return ""
}

// archs maps OCI architectures (GOARCH values) to their ELF header fields.
var archs = map[string]ELFArch{
	"amd64":    {elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_X86_64},
	"arm64":    {elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_AARCH64},
	"arm":      {elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_ARM},
	"386":      {elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_386},
	"ppc64le":  {elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_PPC64},
	"ppc64":    {elf.ELFCLASS64, elf.ELFDATA2MSB, elf.EM_PPC64},
	"s390x":    {elf.ELFCLASS64, elf.ELFDATA2MSB, elf.EM_S390},
	"riscv64":  {elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_RISCV},
	"mips64le": {elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_MIPS},
	"mips64":   {elf.ELFCLASS64, elf.ELFDATA2MSB, elf.EM_MIPS},
	"mipsle":   {elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_MIPS},
	"mips":     {elf.ELFCLASS32, elf.ELFDATA2MSB, elf.EM_MIPS},
	"loong64":  {elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_LOONGARCH},
}

// ArchFor returns the ELF header fields that binaries of platform p must have.
func ArchFor(p ocispec.Platform) (ELFArch, error) {
	a, ok := archs[p.Architecture]
	if !ok {
		return ELFArch{}, fmt.Errorf("%w %q: the scan knows %s", ErrUnsupportedPlatform, p.Architecture, knownArchs())
	}
	return a, nil
}

// knownArchs lists the architectures of archs, sorted.
func knownArchs() string {
	return strings.Join(slices.Sorted(maps.Keys(archs)), ", ")
}

// elfHeaderLen is how much of a file the scan reads: e_ident (16 bytes), e_type and
// e_machine.
const elfHeaderLen = 20

// parseELFHeader reads the architecture fields of an ELF header; ok is false when b is
// not the start of an ELF file.
func parseELFHeader(b []byte) (a ELFArch, typ elf.Type, ok bool) {
	if len(b) < elfHeaderLen || string(b[:4]) != elf.ELFMAG {
		return ELFArch{}, 0, false
	}
	a.Class, a.Data = elf.Class(b[elf.EI_CLASS]), elf.Data(b[elf.EI_DATA])
	var order binary.ByteOrder
	switch a.Data {
	case elf.ELFDATA2LSB:
		order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		order = binary.BigEndian
	default:
		return a, 0, true // corrupt: reported as a mismatch with machine EM_NONE
	}
	typ = elf.Type(order.Uint16(b[16:18]))
	a.Machine = elf.Machine(order.Uint16(b[18:20]))
	return a, typ, true
}
