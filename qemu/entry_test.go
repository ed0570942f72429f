package qemu

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// kernelAarch64 is /proc/sys/fs/binfmt_misc/qemu-aarch64 as Linux 6.x prints it.
const kernelAarch64 = `enabled
interpreter /usr/bin/qemu-aarch64-static
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEntry(t *testing.T) {
	tests := []struct {
		name, data string
		want       Entry
		wantErr    string
	}{
		{name: "qemu-aarch64", data: kernelAarch64, want: Entry{
			Name: "qemu-aarch64", Enabled: true, Interpreter: "/usr/bin/qemu-aarch64-static", Flags: "POCF",
			Magic: unhex(t, "7f454c460201010000000000000000000200b700"), Mask: unhex(t, "ffffffffffffff00fffffffffffffffffeffffff"),
		}},
		{name: "python3.11", data: "disabled\ninterpreter /usr/bin/python3.11\nflags: \noffset 0\nmagic a70d0d0a\n", want: Entry{
			Name: "python3.11", Interpreter: "/usr/bin/python3.11", Magic: []byte{0xa7, 0x0d, 0x0d, 0x0a},
		}},
		{name: "jar", data: "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n", want: Entry{
			Name: "jar", Enabled: true, Interpreter: "/usr/bin/jexec", Extension: ".jar",
		}},
		{name: "future", data: "enabled\ninterpreter /x\nflags: F\nnewfield 1\noffset 2\nmagic 00\n", want: Entry{
			Name: "future", Enabled: true, Interpreter: "/x", Flags: "F", Offset: 2, Magic: []byte{0},
		}},
		{name: "e", data: "interpreter /x\nflags: F\noffset 0\nmagic 00\n", wantErr: "no enabled/disabled line"},
		{name: "e", data: "enabled\nflags: F\noffset 0\nmagic 00\n", wantErr: "no interpreter line"},
		{name: "e", data: "enabled\nenabled\ninterpreter /x\nmagic 00\n", wantErr: "a second status line"},
		{name: "e", data: "enabled\ninterpreter /x\nflags: Z\nmagic 00\n", wantErr: "an unknown flag"},
		{name: "e", data: "enabled\ninterpreter /x\noffset -1\nmagic 00\n", wantErr: "a bad offset"},
		{name: "e", data: "enabled\ninterpreter /x\nmagic 0g\n", wantErr: "bad hex"},
		{name: "e", data: "enabled\ninterpreter /x\nmagic 0000\nmask ff\n", wantErr: "a mask of 1 bytes for a magic of 2"},
		{name: "e", data: "enabled\ninterpreter /x\n", wantErr: "neither an extension nor a magic"},
		{name: "e", data: "enabled\ninterpreter /x\nextension .a\nmagic 00\n", wantErr: "both an extension and a magic"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.wantErr, func(t *testing.T) {
			got, err := ParseEntry(tt.name, []byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.name) {
					t.Fatalf("ParseEntry error = %v, want one naming %q and saying %q", err, tt.name, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseEntry =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestEntryStringIsKernelFormat(t *testing.T) {
	e, err := ParseEntry("qemu-aarch64", []byte(kernelAarch64))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.String(); got != kernelAarch64 {
		t.Fatalf("String() =\n%s\nwant the kernel's\n%s", got, kernelAarch64)
	}
}

func TestRegisterLine(t *testing.T) {
	tests := []struct {
		e    Entry
		want string
	}{
		{Entry{Name: "qemu-x", Offset: 0, Magic: []byte{0x7f, ':', 0}, Mask: []byte{0xff, 0xff, 0xfe}, Interpreter: "/usr/bin/qemu-x-static", Flags: "PF"},
			`:qemu-x:M:0:\x7f\x3a\x00:\xff\xff\xfe:/usr/bin/qemu-x-static:PF`},
		{Entry{Name: "m", Offset: 4, Magic: []byte{1}, Interpreter: "/i", Flags: "POCF"}, `:m:M:4:\x01::/i:PCF`},
		{Entry{Name: "jar", Extension: ".jar", Interpreter: "/usr/bin/jexec"}, `:jar:E::jar::/usr/bin/jexec:`},
	}
	for _, tt := range tests {
		if got := tt.e.RegisterLine(); got != tt.want {
			t.Errorf("RegisterLine(%s) = %s, want %s", tt.e.Name, got, tt.want)
		}
	}
}

func TestEntryMatches(t *testing.T) {
	e, err := ParseEntry("qemu-aarch64", []byte(kernelAarch64))
	if err != nil {
		t.Fatal(err)
	}
	arm64 := buildProbe(archs[2])
	pie := bytes.Clone(arm64)
	pie[16] = 3 // ET_DYN: the mask's 0xfe lets PIE executables match too
	abi := bytes.Clone(arm64)
	abi[7] = 3 // OS ABI GNU/Linux is masked out
	riscv := buildProbe(archs[6])
	tests := []struct {
		name   string
		header []byte
		want   bool
	}{
		{"arm64 exec", arm64, true},
		{"arm64 pie", pie, true},
		{"arm64 osabi", abi, true},
		{"riscv64", riscv, false},
		{"short", arm64[:10], false},
	}
	for _, tt := range tests {
		if got := e.Matches(tt.header); got != tt.want {
			t.Errorf("Matches(%s) = %t, want %t", tt.name, got, tt.want)
		}
	}
	ext := Entry{Name: "jar", Extension: ".jar"}
	if ext.Matches(arm64) {
		t.Error("an extension entry matched a magic header")
	}
}

// FuzzParseEntry checks that the parser never panics and that what it accepts survives a
// round trip through the kernel's format.
func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(kernelAarch64))
	f.Add([]byte("enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n"))
	f.Add([]byte("disabled\ninterpreter /x\nflags: OC\noffset 3\nmagic 00ff\nmask 0f0f\n"))
	f.Add([]byte("enabled\ninterpreter\nmagic\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry("fuzz", data)
		if err != nil {
			return
		}
		if e.Mask != nil && len(e.Mask) != len(e.Magic) {
			t.Fatalf("accepted mask %x for magic %x", e.Mask, e.Magic)
		}
		again, err := ParseEntry("fuzz", []byte(e.String()))
		if err != nil {
			t.Fatalf("String() of an accepted entry does not parse: %v\n%s", err, e.String())
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("round trip changed the entry:\n%#v\n%#v", e, again)
		}
	})
}
