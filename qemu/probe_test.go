package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
