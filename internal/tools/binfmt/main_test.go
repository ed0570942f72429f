package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/qemu"
)

func TestStatusOnFakeRoot(t *testing.T) {
	root, bin := t.TempDir(), t.TempDir()
	interp := filepath.Join(bin, "qemu-aarch64-static")
	arm, err := qemu.LookupArch(platforms.MustParse("linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	e := qemu.Entry{Name: "qemu-aarch64", Enabled: true, Interpreter: interp, Flags: "PF", Magic: arm.Magic, Mask: arm.Mask}
	for name, content := range map[string]string{"register": "", "status": "enabled\n", e.Name: e.String(), interp: "x"} {
		path := name
		if !filepath.IsAbs(name) {
			path = filepath.Join(root, name)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-root", root, "status"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mounted=true enabled=true", "entry qemu-aarch64", "emulator linux/arm64      via qemu-aarch64: usable"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {}, {"probe"}, {"install", "linux/sparc64"}} {
		if err := run(context.Background(), append([]string{"-root", t.TempDir()}, args...), &bytes.Buffer{}); err == nil {
			t.Errorf("binfmt %v succeeded", args)
		}
	}
}

// TestInstallIsIdempotent runs the command setup.sh runs, twice, on the real kernel: the
// second run finds arm64 installed and working, changes nothing and succeeds.
func TestInstallIsIdempotent(t *testing.T) {
	testenv.Require(t, os.Geteuid() == 0, "root (registers arm64 in the kernel)", "run as root: sudo go test ./internal/tools/binfmt/")
	_, err := os.Stat("/usr/bin/qemu-aarch64-static")
	testenv.Require(t, err == nil, "/usr/bin/qemu-aarch64-static", "sudo scripts/setup.sh (apt-get install qemu-user-static)")
	testenv.LockBinfmt(t, true)
	ctx := context.Background()
	b := &qemu.Binfmt{}
	before, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, had := before.Emulator(platforms.MustParse("linux/arm64")); !had {
		t.Cleanup(func() {
			if _, err := b.Uninstall(ctx, "linux/arm64"); err != nil {
				t.Errorf("restore: %v", err)
			}
		})
	}
	for i := range 2 {
		var out bytes.Buffer
		if err := run(ctx, []string{"install", "linux/arm64"}, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
		if !strings.Contains(out.String(), "probe linux/arm64      runs") {
			t.Fatalf("run %d did not prove arm64:\n%s", i, out.String())
		}
		if i == 1 && !strings.Contains(out.String(), "already installed") {
			t.Fatalf("second run changed something:\n%s", out.String())
		}
	}
}
