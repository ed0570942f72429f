package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

const notRootEnv = "MULTIARCH_QEMU_NOT_ROOT_HELPER"

// TestKernelNotRoot re-runs this test binary as the unprivileged user nobody against the
// real kernel: mounting and registering must fail with ErrPermission, never half-succeed.
func TestKernelNotRoot(t *testing.T) {
	if os.Getenv(notRootEnv) != "" {
		notRootHelper(t)
		return
	}
	testenv.Require(t, os.Geteuid() == 0, "root (to start a helper as user nobody)", "run as root: sudo go test ./qemu/")
	// The helper needs a binary nobody can execute: copy ourselves to a world-readable dir.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "qemu-notroot-") // t.TempDir's parent is private to root
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "qemu.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestKernelNotRoot$", "-test.v")
	cmd.Env = append(os.Environ(), notRootEnv+"=1", "CI=")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("helper:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestKernelNotRoot") {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
}

func notRootHelper(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("helper runs as root")
	}
	ctx := context.Background()
	check := func(what string, err error) {
		if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "root") {
			t.Errorf("%s as uid %d = %v, want ErrPermission telling to run as root", what, os.Geteuid(), err)
		}
	}
	// Mounted or not, Install must refuse: mounting needs root, and so does registering.
	_, err := (&Binfmt{}).Install(ctx, "linux/s390x")
	check("Install", err)
	check("Mount", (&Binfmt{Root: t.TempDir()}).Mount(ctx))
	fmt.Println("helper ran as uid", os.Geteuid())
}
