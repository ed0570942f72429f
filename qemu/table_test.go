package qemu

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

func TestLookupArch(t *testing.T) {
	tests := []struct {
		spec, qemu string
	}{
		{"linux/amd64", "x86_64"},
		{"linux/x86_64", "x86_64"},
		{"linux/386", "i386"},
		{"linux/arm64", "aarch64"},
		{"linux/aarch64", "aarch64"},
		{"linux/arm64/v8", "aarch64"},
		{"linux/arm/v6", "arm"},
		{"linux/arm/v7", "arm"},
		{"linux/armhf", "arm"},
		{"linux/ppc64le", "ppc64le"},
		{"linux/s390x", "s390x"},
		{"linux/riscv64", "riscv64"},
		{"linux/mips64le", "mips64el"},
		{"linux/loong64", "loongarch64"},
		{"windows/amd64", ""},
		{"linux/sparc64", ""},
	}
	for _, tt := range tests {
		a, err := LookupArch(platforms.MustParse(tt.spec))
		if tt.qemu == "" {
			if !errors.Is(err, ErrUnknownPlatform) || !strings.Contains(err.Error(), tt.spec) {
				t.Errorf("LookupArch(%s) error = %v, want ErrUnknownPlatform naming it", tt.spec, err)
			}
			continue
		}
		if err != nil || a.QEMU != tt.qemu {
			t.Errorf("LookupArch(%s) = %q, %v; want %q", tt.spec, a.QEMU, err, tt.qemu)
		}
	}
}

// TestArchTableMatchesDebian cross-checks the magic/mask table against the copies of
// qemu-binfmt-conf.sh's values that Debian's qemu-user-static installs.
func TestArchTableMatchesDebian(t *testing.T) {
	checked := 0
	for _, a := range archs {
		data, err := os.ReadFile(filepath.Join("/usr/share/binfmts", "qemu-"+a.QEMU))
		if errors.Is(err, os.ErrNotExist) {
			continue // Debian omits the host's own family (x86_64 and i386 on amd64)
		}
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, _ := strings.Cut(line, " ")
			fields[k] = v
		}
		for _, f := range []struct {
			name string
			ours []byte
		}{{"magic", a.Magic}, {"mask", a.Mask}} {
			theirs := unescape(t, fields[f.name])
			if !bytes.Equal(theirs, f.ours) {
				t.Errorf("%s %s = %x, Debian has %x", a.QEMU, f.name, f.ours, theirs)
			}
		}
		checked++
	}
	testenv.Require(t, checked > 0, "Debian's binfmt tables (/usr/share/binfmts/qemu-*) to cross-check the table against",
		"sudo scripts/setup.sh (apt-get install qemu-user-static)")
	t.Logf("checked %d architectures against /usr/share/binfmts", checked)
}

// unescape decodes Debian's \xHH escapes (and plain characters such as "ELF").
func unescape(t *testing.T, s string) []byte {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				t.Fatalf("bad escape in %q", s)
			}
			out = append(out, byte(v))
			i += 3
			continue
		}
		out = append(out, s[i])
	}
	return out
}

// TestProbeBinaryIsValidELF reads each probe back with debug/elf: right class, byte
// order and machine, a static executable whose entry point is inside its one PT_LOAD,
// and a header the architecture's own binfmt_misc magic matches.
func TestProbeBinaryIsValidELF(t *testing.T) {
	machines := map[string]elf.Machine{
		"x86_64": elf.EM_X86_64, "i386": elf.EM_386, "aarch64": elf.EM_AARCH64, "arm": elf.EM_ARM,
		"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV, "mips64el": elf.EM_MIPS,
		"loongarch64": elf.EM_LOONGARCH,
	}
	for _, a := range archs {
		t.Run(a.QEMU, func(t *testing.T) {
			b, err := ProbeBinary(a.Platform)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != machines[a.QEMU] || f.Type != elf.ET_EXEC {
				t.Errorf("machine %v type %v, want %v ET_EXEC", f.Machine, f.Type, machines[a.QEMU])
			}
			if len(f.Progs) != 1 || f.Progs[0].Type != elf.PT_LOAD {
				t.Fatalf("program headers %v, want one PT_LOAD", f.Progs)
			}
			p := f.Progs[0]
			if f.Entry <= p.Vaddr || f.Entry >= p.Vaddr+p.Memsz || p.Filesz != uint64(len(b)) {
				t.Errorf("entry %#x outside PT_LOAD [%#x, %#x) or filesz %d != %d", f.Entry, p.Vaddr, p.Vaddr+p.Memsz, p.Filesz, len(b))
			}
			if len(b) > 160 {
				t.Errorf("probe is %d bytes; it should stay tiny", len(b))
			}
			e := Entry{Magic: a.Magic, Mask: a.Mask}
			if !e.Matches(b) {
				t.Error("the architecture's binfmt_misc magic does not match its probe")
			}
			for _, other := range archs {
				if other.QEMU != a.QEMU && (Entry{Magic: other.Magic, Mask: other.Mask}).Matches(b) {
					t.Errorf("the magic of %s also matches this probe", other.QEMU)
				}
			}
		})
	}
}
