package qemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/platforms"
)

// fakeBinfmt returns a Binfmt on a fake binfmt_misc directory holding "register" (empty),
// "status" and the given entries in the kernel's format, and an interpreter directory
// with a static executable qemu-<arch>-static for every known architecture.
func fakeBinfmt(t *testing.T, entries ...Entry) *Binfmt {
	t.Helper()
	root, bin := t.TempDir(), t.TempDir()
	write(t, filepath.Join(root, "register"), "")
	write(t, filepath.Join(root, "status"), "enabled\n")
	for _, e := range entries {
		write(t, filepath.Join(root, e.Name), e.String())
	}
	static := buildProbe(archs[0]) // any static ELF will do as an interpreter
	for _, a := range archs {
		if err := os.WriteFile(filepath.Join(bin, "qemu-"+a.QEMU+"-static"), static, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &Binfmt{Root: root, InterpreterDirs: []string{bin}}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entryFor is a registration for arch qemuName as the kernel would show it.
func entryFor(t *testing.T, b *Binfmt, name, qemuName, flags string, enabled bool) Entry {
	t.Helper()
	for _, a := range archs {
		if a.QEMU == qemuName {
			magic := make([]byte, len(a.Magic))
			for i := range magic {
				magic[i] = a.Magic[i] & a.Mask[i] // the kernel stores the magic masked
			}
			return Entry{Name: name, Enabled: enabled, Interpreter: filepath.Join(b.InterpreterDirs[0], "qemu-"+qemuName+"-static"),
				Flags: flags, Magic: magic, Mask: a.Mask}
		}
	}
	t.Fatalf("no arch %s", qemuName)
	return Entry{}
}

// reopen writes entries into b's fake directory (tests build b first to know its paths).
func reopen(t *testing.T, b *Binfmt, entries ...Entry) {
	t.Helper()
	for _, e := range entries {
		write(t, filepath.Join(b.Root, e.Name), e.String())
	}
}

var hostSpec = platforms.Format(platforms.Normalize(platforms.DefaultSpec()))
