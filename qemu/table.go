package qemu

import (
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
func elfIdent(class64, bigEndian bool, machine uint16) []byte {
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

func hexBytes(s ...byte) []byte { return s }

// Masks of qemu-binfmt-conf.sh. Bytes 7 (OS ABI) and 8 (ABI version) are masked out, and
// bit 0 of e_type so that both ET_EXEC (2) and ET_DYN (3, PIE) match.
var (
	maskX86    = hexBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xfe, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff)
	maskCommon = hexBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff)
	maskPPC64  = hexBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0x00)
	maskS390X  = hexBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff)
	// Debian's qemu 7.2 also masks the low bit of the ABI version byte for mips64el.
	maskMIPS64EL = hexBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff)
	maskLoong    = hexBytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff)
)

// ELF machine numbers (debug/elf names them; repeated here as uint16 for elfIdent).
const (
	emX86     = 3
	emMIPS    = 8
	emPPC64   = 21
	emS390    = 22
	emARM     = 40
	emX86_64  = 62
	emAARCH64 = 183
	emRISCV   = 243
	emLoong   = 258
)

var archs = []Arch{
	{Platform: plat("amd64", ""), QEMU: "x86_64", Magic: elfIdent(true, false, emX86_64), Mask: maskX86},
	{Platform: plat("386", ""), QEMU: "i386", Magic: elfIdent(false, false, emX86), Mask: maskX86},
	{Platform: plat("arm64", ""), QEMU: "aarch64", Magic: elfIdent(true, false, emAARCH64), Mask: maskCommon},
	{Platform: plat("arm", "v7"), QEMU: "arm", Magic: elfIdent(false, false, emARM), Mask: maskCommon},
	{Platform: plat("ppc64le", ""), QEMU: "ppc64le", Magic: elfIdent(true, false, emPPC64), Mask: maskPPC64},
	{Platform: plat("s390x", ""), QEMU: "s390x", Magic: elfIdent(true, true, emS390), Mask: maskS390X},
	{Platform: plat("riscv64", ""), QEMU: "riscv64", Magic: elfIdent(true, false, emRISCV), Mask: maskCommon},
	{Platform: plat("mips64le", ""), QEMU: "mips64el", Magic: elfIdent(true, false, emMIPS), Mask: maskMIPS64EL},
	{Platform: plat("loong64", ""), QEMU: "loongarch64", Magic: elfIdent(true, false, emLoong), Mask: maskLoong},
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
