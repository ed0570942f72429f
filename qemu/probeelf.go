package qemu

import (
	"encoding/binary"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ProbeExitCode is the exit status of every probe binary. A probe that exits with any
// other status (or is killed) proves the emulator is broken, not merely absent.
const ProbeExitCode = 73

// probeCode is the machine code of each probe: exit(ProbeExitCode) through the Linux
// system call of that architecture, nothing else. The instructions were assembled by hand
// from each ISA manual; the comments give the assembly. 32-bit instruction words are
// stored as uint32 and written in the architecture's byte order.
type probeCode struct {
	words []uint32 // fixed-width ISAs
	bytes []byte   // variable-width ISAs (x86, s390x), already in order
	flags uint32   // e_flags the loader expects
}

var probes = map[string]probeCode{
	"x86_64": {bytes: []byte{
		0xb8, 60, 0, 0, 0, // mov  $60, %eax   (exit)
		0xbf, ProbeExitCode, 0, 0, 0, // mov  $73, %edi
		0x0f, 0x05, // syscall
	}},
	"i386": {bytes: []byte{
		0xb8, 1, 0, 0, 0, // mov  $1, %eax    (exit)
		0xbb, ProbeExitCode, 0, 0, 0, // mov  $73, %ebx
		0xcd, 0x80, // int  $0x80
	}},
	"aarch64": {words: []uint32{
		0xd2800000 | ProbeExitCode<<5 | 0, // movz x0, #73
		0xd2800000 | 93<<5 | 8,            // movz x8, #93    (exit)
		0xd4000001,                        // svc  #0
	}},
	"arm": {flags: 0x05000000 /* EABI version 5 */, words: []uint32{
		0xe3a00000 | ProbeExitCode, // mov r0, #73
		0xe3a07001,                 // mov r7, #1       (exit)
		0xef000000,                 // svc #0
	}},
	"ppc64le": {flags: 2 /* ELFv2: entry is code, not a descriptor */, words: []uint32{
		0x38000001,                 // li r0, 1          (exit)
		0x38600000 | ProbeExitCode, // li r3, 73
		0x44000002,                 // sc
	}},
	"s390x": {bytes: []byte{
		0xa7, 0x29, 0, ProbeExitCode, // lghi %r2, 73
		0x0a, 0x01, // svc 1             (exit)
	}},
	"riscv64": {words: []uint32{
		ProbeExitCode<<20 | 10<<7 | 0x13, // addi a0, zero, 73
		93<<20 | 17<<7 | 0x13,            // addi a7, zero, 93 (exit)
		0x00000073,                       // ecall
	}},
	"mips64el": {flags: 0x80000000 /* EF_MIPS_ARCH_64R2 */, words: []uint32{
		0x24020000 | 5058,          // li v0, 5058  (n64 exit)
		0x24040000 | ProbeExitCode, // li a0, 73
		0x0000000c,                 // syscall
	}},
	"loongarch64": {flags: 0x43 /* LP64D, object ABI v1 */, words: []uint32{
		0x02800000 | ProbeExitCode<<10 | 4, // addi.w $a0, $zero, 73
		0x02800000 | 93<<10 | 11,           // addi.w $a7, $zero, 93 (exit)
		0x002b0000,                         // syscall 0
	}},
}

// ProbeBinary returns the probe for platform p: a complete static ELF executable of p's
// architecture (about 130 bytes) whose only action is exit(ProbeExitCode).
//
// The file is built here rather than stored: the ELF header's first 20 bytes are the
// Arch's Magic (so it matches the binfmt_misc entry exactly like a real binary), one
// PT_LOAD program header maps the whole file read+execute at 0x400000 (0x10000 aligned,
// which suits 4K, 16K and 64K pages), and the entry point is the code right after the
// headers. There are no sections, no interpreter and no libc.
func ProbeBinary(p ocispec.Platform) ([]byte, error) {
	a, err := LookupArch(p)
	if err != nil {
		return nil, err
	}
	return buildProbe(a), nil
}

func buildProbe(a Arch) []byte {
	pc := probes[a.QEMU]
	is64 := a.Magic[4] == 2
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	if a.Magic[5] == 2 {
		bo = binary.BigEndian
	}
	code := pc.bytes
	for _, w := range pc.words {
		code = bo.AppendUint32(code, w)
	}
	const base = 0x400000
	ehsize, phsize := 52, 32
	if is64 {
		ehsize, phsize = 64, 56
	}
	hdr := ehsize + phsize
	size := hdr + len(code)
	entry := uint64(base + hdr)

	b := append([]byte(nil), a.Magic[:16]...)
	b = bo.AppendUint16(b, 2) // ET_EXEC
	b = bo.AppendUint16(b, bo.Uint16(a.Magic[18:20]))
	b = bo.AppendUint32(b, 1) // EV_CURRENT
	if is64 {
		b = bo.AppendUint64(b, entry)
		b = bo.AppendUint64(b, uint64(ehsize)) // e_phoff
		b = bo.AppendUint64(b, 0)              // e_shoff
	} else {
		b = bo.AppendUint32(b, uint32(entry))
		b = bo.AppendUint32(b, uint32(ehsize))
		b = bo.AppendUint32(b, 0)
	}
	b = bo.AppendUint32(b, pc.flags)
	b = bo.AppendUint16(b, uint16(ehsize))
	b = bo.AppendUint16(b, uint16(phsize))
	b = bo.AppendUint16(b, 1) // e_phnum
	b = bo.AppendUint16(b, 0) // e_shentsize
	b = bo.AppendUint16(b, 0) // e_shnum
	b = bo.AppendUint16(b, 0) // e_shstrndx

	const ptLoad, pfRX, align = 1, 5, 0x10000
	b = bo.AppendUint32(b, ptLoad)
	if is64 {
		b = bo.AppendUint32(b, pfRX)
		b = bo.AppendUint64(b, 0)    // p_offset
		b = bo.AppendUint64(b, base) // p_vaddr
		b = bo.AppendUint64(b, base) // p_paddr
		b = bo.AppendUint64(b, uint64(size))
		b = bo.AppendUint64(b, uint64(size))
		b = bo.AppendUint64(b, align)
	} else {
		b = bo.AppendUint32(b, 0)
		b = bo.AppendUint32(b, base)
		b = bo.AppendUint32(b, base)
		b = bo.AppendUint32(b, uint32(size))
		b = bo.AppendUint32(b, uint32(size))
		b = bo.AppendUint32(b, pfRX)
		b = bo.AppendUint32(b, align)
	}
	return append(b, code...)
}
