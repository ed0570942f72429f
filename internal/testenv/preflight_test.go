package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A machine with buildkitd and runc but no QEMU emulator is reported as missing a part
// (skip, or fail in CI) before anything starts, not later as a failed arm64 build.
func TestPreflightNamesMissingEmulator(t *testing.T) {
	emu := foreignEmulator(runtime.GOARCH)
	if emu == "" {
		t.Skipf("no foreign platform known for %s", runtime.GOARCH)
	}
	if err := preflight(); err != nil {
		Require(t, false, err.Error(), SetupHint)
	}
	bk, err := BuildkitdPath() // found before PATH changes (it may ask `go list -m`)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MULTIARCH_BUILDKITD", bk)
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(runc, filepath.Join(bin, "runc")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	err = preflight()
	var m *missingPart
	if !errors.As(err, &m) || !strings.Contains(m.what, emu) || m.fix != SetupHint {
		t.Fatalf("preflight without %s = %v, want a missing part naming it, fixed by the setup script", emu, err)
	}
}
