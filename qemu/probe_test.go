package qemu

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/platforms"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// TestProbeBinariesRunUnderQEMU runs every probe through its QEMU user emulator directly
// (no binfmt_misc involved), so the hand-assembled code is checked on all architectures.
func TestProbeBinariesRunUnderQEMU(t *testing.T) {
	_, err := os.Stat("/usr/bin/qemu-aarch64-static")
	testenv.Require(t, err == nil, "QEMU user emulators (/usr/bin/qemu-*-static)", "sudo scripts/setup.sh (apt-get install qemu-user-static)")
	dir := t.TempDir()
	for _, a := range archs {
		t.Run(a.QEMU, func(t *testing.T) {
			path := filepath.Join(dir, a.QEMU)
			if err := os.WriteFile(path, buildProbe(a), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("/usr/bin/qemu-"+a.QEMU+"-static", path)
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != ProbeExitCode {
				t.Fatalf("exit %d (%v), want %d; output %q", code, err, ProbeExitCode, out)
			}
		})
	}
}

func TestProbeHost(t *testing.T) {
	b := &Binfmt{}
	if err := b.Probe(context.Background(), platforms.DefaultSpec()); err != nil {
		t.Fatalf("the host's own platform does not run: %v", err)
	}
}

func TestProbeAllReportsEachPlatform(t *testing.T) {
	b := &Binfmt{Root: t.TempDir()} // an unmounted root: errors name no entry
	wanted := ps(hostSpec, "linux/sparc64")
	res, err := b.ProbeAll(context.Background(), wanted, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Err != nil || !errors.Is(res[1].Err, ErrUnknownPlatform) {
		t.Fatalf("results %+v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.ProbeAll(ctx, wanted, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("ProbeAll on a cancelled context = %v", err)
	}
}

// TestProbeErrorMessage: the message names the fix that fits the failure; "install an
// emulator" only when the kernel found no handler for the binary (exec format error).
func TestProbeErrorMessage(t *testing.T) {
	execErr := func(errno syscall.Errno) error { return &fs.PathError{Op: "fork/exec", Path: "/probe", Err: errno} }
	tests := []struct {
		pe   ProbeError
		want string
	}{
		{ProbeError{Platform: "linux/arm64", ExitCode: -1, Err: execErr(syscall.ENOEXEC)}, "no binfmt_misc entry handles it (install an emulator first)"},
		{ProbeError{Platform: "linux/amd64", ExitCode: -1, Err: execErr(syscall.EACCES)}, "the probe did not run (is $TMPDIR on a noexec mount?"},
		{ProbeError{Platform: "linux/arm64", ExitCode: 1}, "exited with 1, want 73"},
		{ProbeError{Platform: "linux/arm64", ExitCode: -1, Entry: "qemu-aarch64", Err: execErr(syscall.ENOENT)}, `entry "qemu-aarch64" is registered but broken`},
	}
	for _, tt := range tests {
		got := tt.pe.Error()
		if !strings.Contains(got, tt.want) || !strings.Contains(got, tt.pe.Platform) {
			t.Errorf("%+v: message %q, want it to name %s and say %q", tt.pe, got, tt.pe.Platform, tt.want)
		}
		if !errors.Is(&tt.pe, ErrProbeFailed) {
			t.Errorf("%q is not ErrProbeFailed", got)
		}
	}
}
