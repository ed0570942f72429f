package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var arm64 = platforms.MustParse("linux/arm64")

// kernel returns a Binfmt on the real kernel, holding the machine-wide binfmt_misc lock
// exclusively (no build runs under our feet) and restoring every registration as it was
// when the test ends, even when it fails. The registrations claiming arm64 are removed,
// so each test starts from "arm64 not emulated".
func kernel(t *testing.T) *Binfmt {
	t.Helper()
	testenv.Require(t, os.Geteuid() == 0, "root (the tests register emulators in the kernel)", "run them as root: sudo go test ./qemu/")
	_, err := os.Stat("/usr/bin/qemu-aarch64-static")
	testenv.Require(t, err == nil, "/usr/bin/qemu-aarch64-static", "sudo scripts/setup.sh (apt-get install qemu-user-static)")
	testenv.LockBinfmt(t, true)
	ctx := context.Background()
	b := &Binfmt{}
	if err := b.Mount(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restore(t, b, before) })
	a, _ := LookupArch(arm64)
	if em, ok := before.emulator(a); ok {
		remove(t, b, em.Entry.Name)
	}
	return b
}

func remove(t *testing.T, b *Binfmt, name string) {
	t.Helper()
	if err := b.write(filepath.Join(b.root(), name), "-1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// restore puts back the registrations of before: entries added since are removed, entries
// changed or removed are registered again as they were.
func restore(t *testing.T, b *Binfmt, before *Status) {
	now, err := b.Status(context.Background())
	if err != nil {
		t.Errorf("restore binfmt_misc: %v", err)
		return
	}
	was := map[string]Entry{}
	for _, e := range before.Entries {
		was[e.Name] = e
	}
	for _, e := range now.Entries {
		if old, ok := was[e.Name]; !ok || old.String() != e.String() {
			remove(t, b, e.Name)
		}
	}
	for _, old := range before.Entries {
		if cur, err := os.ReadFile(filepath.Join(b.root(), old.Name)); err == nil && string(cur) == old.String() {
			continue
		}
		if err := b.write(filepath.Join(b.root(), "register"), old.RegisterLine()); err != nil {
			t.Errorf("restore binfmt_misc entry %s: %v", old.Name, err)
			continue
		}
		if !old.Enabled {
			if err := b.write(filepath.Join(b.root(), old.Name), "0"); err != nil {
				t.Errorf("restore binfmt_misc entry %s disabled: %v", old.Name, err)
			}
		}
	}
}

func TestKernelInstallProbeUninstall(t *testing.T) {
	b := kernel(t)
	ctx := context.Background()

	var pe *ProbeError
	if err := b.Probe(ctx, arm64); !errors.As(err, &pe) || pe.Entry != "" || !strings.Contains(err.Error(), "install an emulator") {
		t.Fatalf("arm64 probe without an emulator = %v, want a *ProbeError naming no entry and telling to install an emulator", err)
	}

	res, err := b.Install(ctx, "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Action != Registered || res[0].Name != "qemu-aarch64" || res[0].Interpreter != "/usr/bin/qemu-aarch64-static" {
		t.Fatalf("Install results %+v", res)
	}
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	em, ok := st.Emulator(arm64)
	if !ok || !em.Usable() || !em.Owned || em.Entry.Flags != "PF" {
		t.Fatalf("after Install the kernel shows %+v", em)
	}
	if err := b.Probe(ctx, arm64); err != nil {
		t.Fatalf("arm64 does not run after Install: %v", err)
	}
	if !slices.ContainsFunc(st.Emulated(), func(p ocispec.Platform) bool { return p.Architecture == "arm64" }) {
		t.Errorf("Emulated() = %v lacks arm64", st.Emulated())
	}

	res, err = b.Install(ctx, "linux/arm64/v8")
	if err != nil || len(res) != 1 || res[0].Action != AlreadyInstalled {
		t.Fatalf("second Install = %+v, %v; want already installed", res, err)
	}

	res, err = b.Uninstall(ctx, "linux/arm64")
	if err != nil || len(res) != 1 || res[0].Action != Removed {
		t.Fatalf("Uninstall = %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(b.root(), "qemu-aarch64")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("entry still there after Uninstall: %v", err)
	}
	if err := b.Probe(ctx, arm64); !errors.Is(err, ErrProbeFailed) {
		t.Fatalf("arm64 probe after Uninstall = %v, want ErrProbeFailed", err)
	}
}

// TestKernelBrokenEntry registers arm64 the way a careless setup does (no flag F): the
// probe, chrooted like a container, proves it broken; Install reports the conflict and
// replaces it only when told.
func TestKernelBrokenEntry(t *testing.T) {
	b := kernel(t)
	ctx := context.Background()
	a, _ := LookupArch(arm64)
	bad := Entry{Name: "qemu-aarch64", Magic: a.Magic, Mask: a.Mask, Interpreter: "/usr/bin/qemu-aarch64-static", Flags: "P"}
	if err := b.write(filepath.Join(b.root(), "register"), bad.RegisterLine()); err != nil {
		t.Fatal(err)
	}
	var pe *ProbeError
	if err := b.Probe(ctx, arm64); !errors.As(err, &pe) || pe.Entry != "qemu-aarch64" {
		t.Fatalf("probe through an entry without F (chrooted) = %v, want a *ProbeError naming qemu-aarch64", err)
	}
	_, err := b.Install(ctx, "linux/arm64")
	var ce *ConflictError
	if !errors.As(err, &ce) || !slices.Equal(ce.Problems, []Problem{ProblemNoFixBinary}) {
		t.Fatalf("Install over an entry without F = %v, want a conflict", err)
	}
	b.Replace = true
	res, err := b.Install(ctx, "linux/arm64")
	if err != nil || len(res) != 1 || res[0].Action != Replaced {
		t.Fatalf("Install with Replace = %+v, %v", res, err)
	}
	if err := b.Probe(ctx, arm64); err != nil {
		t.Fatalf("probe after Replace: %v", err)
	}
}

// TestKernelRejectsInterpreter puts the emulator on a noexec tmpfs: it looks fine to
// Install, but the kernel refuses to open it for flag F.
func TestKernelRejectsInterpreter(t *testing.T) {
	b := kernel(t)
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOEXEC, "size=64m"); err != nil {
		t.Fatalf("mount a noexec tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	data, err := os.ReadFile("/usr/bin/qemu-aarch64-static")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "qemu-aarch64-static"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	b.InterpreterDirs = []string{dir}
	_, err = b.Install(context.Background(), "linux/arm64")
	if !errors.Is(err, ErrFixBinaryRejected) {
		t.Fatalf("Install with a noexec interpreter = %v, want ErrFixBinaryRejected", err)
	}
}

// TestKernelInstallProbeTiming measures Install + Probe of arm64 from nothing registered.
func TestKernelInstallProbeTiming(t *testing.T) {
	b := kernel(t)
	ctx := context.Background()
	var took []time.Duration
	for range 7 {
		start := time.Now()
		if _, err := b.Install(ctx, "linux/arm64"); err != nil {
			t.Fatal(err)
		}
		if err := b.Probe(ctx, arm64); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
		if _, err := b.Uninstall(ctx, "linux/arm64"); err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("Install+Probe linux/arm64: median %s (min %s, max %s, %d runs)", took[len(took)/2], took[0], took[len(took)-1], len(took))
}

// TestKernelMount mounts binfmt_misc a second time on an empty directory, as Install does
// when it is not mounted; in the initial user namespace both mounts show the same entries.
func TestKernelMount(t *testing.T) {
	testenv.Require(t, os.Geteuid() == 0, "root (the test mounts binfmt_misc)", "run it as root: sudo go test ./qemu/")
	ctx := context.Background()
	b := &Binfmt{Root: t.TempDir()}
	if b.Mounted() {
		t.Fatal("an empty directory reads as mounted")
	}
	if err := b.Mount(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(b.Root, 0); err != nil {
			t.Errorf("unmount %s: %v", b.Root, err)
		}
	})
	if err := b.Mount(ctx); err != nil { // mounted: nothing to do
		t.Fatal(err)
	}
	st, err := b.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mounted {
		t.Fatalf("status after Mount: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(b.Root, "register")); err != nil {
		t.Fatalf("no register file after Mount: %v", err)
	}
}

// TestKernelConcurrentInstall runs two Installs of arm64 at once, as two test binaries
// or two CI jobs on one machine do: both must succeed (one registers, the other finds
// it installed), never report the other's fresh entry as a conflict; then two
// Uninstalls at once, which must both succeed too.
func TestKernelConcurrentInstall(t *testing.T) {
	kernel(t) // the lock, a clean arm64 state, and everything restored afterwards
	ctx := context.Background()
	for i := range 100 {
		var errs [2]error
		var res [2][]Result
		var wg sync.WaitGroup
		for j := range 2 {
			wg.Go(func() { res[j], errs[j] = (&Binfmt{}).Install(ctx, "linux/arm64") })
		}
		wg.Wait()
		for j := range 2 {
			if errs[j] != nil || len(res[j]) != 1 || (res[j][0].Action != Registered && res[j][0].Action != AlreadyInstalled) {
				t.Fatalf("round %d, Install %d = %+v, %v; want registered or already installed", i, j, res[j], errs[j])
			}
		}
		for j := range 2 {
			wg.Go(func() { res[j], errs[j] = (&Binfmt{}).Uninstall(ctx, "linux/arm64") })
		}
		wg.Wait()
		for j := range 2 {
			if errs[j] != nil || len(res[j]) != 1 || (res[j][0].Action != Removed && res[j][0].Action != NotInstalled) {
				t.Fatalf("round %d, Uninstall %d = %+v, %v; want removed or not installed", i, j, res[j], errs[j])
			}
		}
	}
}
