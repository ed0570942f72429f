package qemu

import (
	"debug/elf"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Arch describes one architecture this package can register with binfmt_misc.
//
// Magic and Mask are the values of QEMU's scripts/qemu-binfmt-conf.sh (the same values
// Debian ships in /usr/share/binfmts/qemu-*): they match the first bytes of an ELF
// header (class, byte order, version, type EXEC or DYN, machine).
type Arch struct {
	// Platform is the normalised OCI platform (arm is listed as arm/v7; v5 and v6 use
	// the same emulator).
	Platform ocispec.Platform
	// QEMU is QEMU's name for the architecture: the emulator is qemu-<QEMU>[-static]
	// and the binfmt_misc entry this package registers is named qemu-<QEMU>.
	QEMU  string
	Magic []byte
	Mask  []byte
}

// EntryName is the binfmt_misc entry name this package uses for a: "qemu-" + a.QEMU.
func (a Arch) EntryName() string { return "qemu-" + a.QEMU }

// elfIdent builds the 20 bytes an ELF header starts with: ident (16), e_type, e_machine.
func elfIdent(class64, bigEndian bool, m elf.Machine) []byte {
	machine := uint16(m)
	b := []byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if class64 {
		b[4] = 2
	}
	if bigEndian {
		b[5] = 2
		b[16], b[17] = 0, 2 // ET_EXEC
		b[18], b[19] = byte(machine>>8), byte(machine)
	} else {
		b[16], b[17] = 2, 0
		b[18], b[19] = byte(machine), byte(machine>>8)
	}
	return b
}

// Masks of qemu-binfmt-conf.sh. All ignore the OS ABI byte (7) and bit 0 of e_type, so
// that both ET_EXEC (2) and ET_DYN (3, PIE) match; some ignore a little more (the x86
// ones the low bit of bytes 5 and 6, ppc64le, s390x and loong64 low ABI-version bits).
var (
	maskX86    = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xfe, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff}
	maskCommon = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff}
	maskPPC64  = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0x00}
	maskS390X  = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff}
	// Debian's qemu 7.2 also masks the low bit of the ABI version byte for mips64el.
	maskMIPS64EL = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff}
	maskLoong    = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff}
)

var archs = []Arch{
	{Platform: plat("amd64", ""), QEMU: "x86_64", Magic: elfIdent(true, false, elf.EM_X86_64), Mask: maskX86},
	{Platform: plat("386", ""), QEMU: "i386", Magic: elfIdent(false, false, elf.EM_386), Mask: maskX86},
	{Platform: plat("arm64", ""), QEMU: "aarch64", Magic: elfIdent(true, false, elf.EM_AARCH64), Mask: maskCommon},
	{Platform: plat("arm", "v7"), QEMU: "arm", Magic: elfIdent(false, false, elf.EM_ARM), Mask: maskCommon},
	{Platform: plat("ppc64le", ""), QEMU: "ppc64le", Magic: elfIdent(true, false, elf.EM_PPC64), Mask: maskPPC64},
	{Platform: plat("s390x", ""), QEMU: "s390x", Magic: elfIdent(true, true, elf.EM_S390), Mask: maskS390X},
	{Platform: plat("riscv64", ""), QEMU: "riscv64", Magic: elfIdent(true, false, elf.EM_RISCV), Mask: maskCommon},
	{Platform: plat("mips64le", ""), QEMU: "mips64el", Magic: elfIdent(true, false, elf.EM_MIPS), Mask: maskMIPS64EL},
	{Platform: plat("loong64", ""), QEMU: "loongarch64", Magic: elfIdent(true, false, elf.EM_LOONGARCH), Mask: maskLoong},
}

func plat(arch, variant string) ocispec.Platform {
	return ocispec.Platform{OS: "linux", Architecture: arch, Variant: variant}
}

// Archs returns the architectures this package knows, in a stable order (amd64 first).
func Archs() []Arch {
	out := make([]Arch, len(archs))
	copy(out, archs)
	return out
}

// LookupArch returns the Arch that runs binaries of p. p is normalised first, so
// "linux/aarch64", "linux/arm64/v8" and "linux/arm64" all find arm64, and every arm
// variant (v5, v6, v7) finds arm. Only linux platforms have an emulator.
func LookupArch(p ocispec.Platform) (Arch, error) {
	n := platforms.Normalize(p)
	if n.OS != "linux" {
		return Arch{}, &Error{Op: "look up", Platform: platforms.Format(p), Kind: ErrUnknownPlatform,
			Fix: "binfmt_misc emulation exists only for linux platforms"}
	}
	for _, a := range archs {
		if a.Platform.Architecture == n.Architecture {
			return a, nil
		}
	}
	return Arch{}, &Error{Op: "look up", Platform: platforms.Format(p), Kind: ErrUnknownPlatform,
		Fix: "use one of " + knownList()}
}

func knownList() string {
	s := make([]string, 0, len(archs))
	for _, a := range archs {
		s = append(s, platforms.Format(a.Platform))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}
