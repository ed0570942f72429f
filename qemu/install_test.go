package qemu

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

func TestInstallRegisters(t *testing.T) {
	tests := []struct {
		spec  string
		opts  func(*Binfmt)
		name  string
		flags string
	}{
		{"linux/arm64", nil, "qemu-aarch64", "PF"},
		{"linux/riscv64", func(b *Binfmt) { b.Credentials = true }, "qemu-riscv64", "PCF"},
		{"linux/arm/v6", func(b *Binfmt) { b.NoPreserveArgv0 = true }, "qemu-arm", "F"},
		{"linux/s390x", nil, "qemu-s390x", "PF"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			b := fakeBinfmt(t)
			var logs bytes.Buffer
			b.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if tt.opts != nil {
				tt.opts(b)
			}
			a, _ := LookupArch(platforms.MustParse(tt.spec))
			res, err := b.Install(context.Background(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			interp := filepath.Join(b.InterpreterDirs[0], "qemu-"+a.QEMU+"-static")
			if len(res) != 1 || res[0].Action != Registered || res[0].Name != tt.name || res[0].Interpreter != interp || res[0].Flags != tt.flags ||
				platforms.Format(res[0].Platform) != tt.spec {
				t.Fatalf("results %+v", res)
			}
			want := Entry{Name: tt.name, Magic: a.Magic, Mask: a.Mask, Interpreter: interp, Flags: tt.flags}.RegisterLine()
			if got := read(t, filepath.Join(b.Root, "register")); got != want {
				t.Fatalf("register got %q, want %q", got, want)
			}
			if !strings.Contains(logs.String(), "platform="+tt.spec) || !strings.Contains(logs.String(), "name="+tt.name) {
				t.Errorf("log lacks the change: %q", logs.String())
			}
		})
	}
}

func TestInstallLeavesUsableEntries(t *testing.T) {
	for _, name := range []string{"qemu-aarch64", "aarch64"} { // ours, or another tool's name
		t.Run(name, func(t *testing.T) {
			b := fakeBinfmt(t)
			reopen(t, b, entryFor(t, b, name, "aarch64", "POCF", true))
			res, err := b.Install(context.Background(), "linux/arm64")
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Action != AlreadyInstalled || res[0].Name != name || res[0].Flags != "POCF" {
				t.Fatalf("results %+v", res)
			}
			if got := read(t, filepath.Join(b.Root, "register")); got != "" {
				t.Fatalf("register was written: %q", got)
			}
		})
	}
}

func TestInstallConflicts(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, b *Binfmt) Entry
		want    []Problem
	}{
		{"no F", func(t *testing.T, b *Binfmt) Entry { return entryFor(t, b, "qemu-aarch64", "aarch64", "P", true) },
			[]Problem{ProblemNoFixBinary}},
		{"missing interpreter", func(t *testing.T, b *Binfmt) Entry {
			e := entryFor(t, b, "aarch64", "aarch64", "F", true)
			e.Interpreter = "/nonexistent/qemu-aarch64"
			return e
		}, []Problem{ProblemMissingInterpreter}},
		{"disabled", func(t *testing.T, b *Binfmt) Entry { return entryFor(t, b, "qemu-aarch64", "aarch64", "PF", false) },
			[]Problem{ProblemDisabled}},
		{"binfmt_misc disabled", func(t *testing.T, b *Binfmt) Entry {
			write(t, filepath.Join(b.Root, "status"), "disabled\n")
			return entryFor(t, b, "qemu-aarch64", "aarch64", "PF", true)
		}, []Problem{ProblemDisabled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakeBinfmt(t)
			old := tt.prepare(t, b)
			reopen(t, b, old)
			_, err := b.Install(context.Background(), "linux/arm64")
			var ce *ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
				t.Fatalf("Install error = %v, want a *ConflictError", err)
			}
			if ce.Entry.Name != old.Name || !slices.Equal(ce.Problems, tt.want) || ce.Platform != "linux/arm64" {
				t.Fatalf("conflict %+v, want entry %s problems %v", ce, old.Name, tt.want)
			}
			if !strings.Contains(err.Error(), "Replace") || !strings.Contains(err.Error(), old.Name) {
				t.Errorf("message %q names neither the entry nor the fix", err)
			}
			if got := read(t, filepath.Join(b.Root, "register")); got != "" {
				t.Fatalf("register written despite the conflict: %q", got)
			}

			b.Replace = true
			res, err := b.Install(context.Background(), "linux/arm64")
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Action != Replaced || res[0].Name != "qemu-aarch64" {
				t.Fatalf("results %+v", res)
			}
			if got := read(t, filepath.Join(b.Root, old.Name)); got != "-1" {
				t.Errorf("old entry %s got %q, want -1 (removal)", old.Name, got)
			}
			if got := read(t, filepath.Join(b.Root, "register")); !strings.HasPrefix(got, ":qemu-aarch64:M:0:") {
				t.Errorf("register got %q", got)
			}
		})
	}
}

func TestInstallReplaceRemovesEveryClaimant(t *testing.T) {
	b := fakeBinfmt(t)
	first := entryFor(t, b, "aarch64", "aarch64", "P", true)
	second := entryFor(t, b, "arm64-other", "aarch64", "", false)
	python := Entry{Name: "python3.11", Enabled: true, Interpreter: "/usr/bin/python3.11", Magic: []byte{0xa7, 0x0d, 0x0d, 0x0a}}
	reopen(t, b, first, second, python)
	b.Replace = true
	res, err := b.Install(context.Background(), "linux/arm64")
	if err != nil || len(res) != 1 || res[0].Action != Replaced {
		t.Fatalf("Install = %+v, %v", res, err)
	}
	for _, e := range []Entry{first, second} {
		if got := read(t, filepath.Join(b.Root, e.Name)); got != "-1" {
			t.Errorf("%s: got %q, want -1", e.Name, got)
		}
	}
	if got := read(t, filepath.Join(b.Root, python.Name)); got != python.String() {
		t.Errorf("python entry touched: %q", got)
	}
}

func TestInstallNeverTouchesNative(t *testing.T) {
	b := fakeBinfmt(t)
	native, err := b.Native(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(native) == 0 || platforms.Format(native[0]) != hostSpec {
		t.Fatalf("Native = %v, want the host %s first", native, hostSpec)
	}
	res, err := b.Install(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(archs) {
		t.Fatalf("%d results for %d architectures", len(res), len(archs))
	}
	for _, r := range res {
		wantNative := isNative(r.Platform, native)
		if (r.Action == Native) != wantNative {
			t.Errorf("%s: action %s, native %t", platforms.Format(r.Platform), r.Action, wantNative)
		}
		if !wantNative && r.Action != Registered {
			t.Errorf("%s: action %s, want registered", platforms.Format(r.Platform), r.Action)
		}
	}
	// The last registration written is the last non-native architecture, never the host's.
	if got := read(t, filepath.Join(b.Root, "register")); !strings.HasPrefix(got, ":qemu-loongarch64:") {
		t.Errorf("register got %q", got)
	}
}

func TestInstallErrors(t *testing.T) {
	dynamic := func(t *testing.T, b *Binfmt) {
		// Debian's /bin/sh is dynamically linked: use it as a dynamic "emulator".
		sh, err := os.ReadFile("/bin/sh")
		testenv.Require(t, err == nil, "/bin/sh, to act as a dynamically linked interpreter", "run the tests on Debian")
		dyn, _ := dynamicallyLinked("/bin/sh")
		testenv.Require(t, dyn, "a dynamically linked /bin/sh (it acts as the dynamic interpreter)", "run the tests on Debian, whose /bin/sh is dynamic")
		os.Remove(filepath.Join(b.InterpreterDirs[0], "qemu-aarch64-static"))
		if err := os.WriteFile(filepath.Join(b.InterpreterDirs[0], "qemu-aarch64"), sh, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		spec     string
		prepare  func(t *testing.T, b *Binfmt)
		kind     error
		contains []string
	}{
		{"no interpreter", "linux/arm64", func(t *testing.T, b *Binfmt) { b.InterpreterDirs = []string{t.TempDir()} },
			ErrNoInterpreter, []string{"linux/arm64", "apt-get install qemu-user-static", "qemu-aarch64-static"}},
		{"dynamic interpreter", "linux/arm64", dynamic,
			ErrDynamicInterpreter, []string{"linux/arm64", "PT_INTERP", "qemu-user-static"}},
		{"unknown arch", "linux/sparc64", nil, ErrUnknownPlatform, []string{"linux/sparc64", "linux/arm64"}},
		{"not a platform", "linux/arm64/v8/x/y", nil, ErrUnknownPlatform, []string{"linux/arm64/v8/x/y"}},
		{"not linux", "windows/arm64", nil, ErrUnknownPlatform, []string{"windows/arm64"}},
		{"name taken", "linux/arm64", func(t *testing.T, b *Binfmt) {
			reopen(t, b, Entry{Name: "qemu-aarch64", Enabled: true, Interpreter: "/usr/bin/python3", Magic: []byte{0xa7, 0x0d}})
		}, ErrConflict, []string{"qemu-aarch64", "echo -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakeBinfmt(t)
			if tt.prepare != nil {
				tt.prepare(t, b)
			}
			_, err := b.Install(context.Background(), tt.spec)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Install(%s) error = %v, want %v", tt.spec, err, tt.kind)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if got := read(t, filepath.Join(b.Root, "register")); got != "" {
				t.Errorf("register written: %q", got)
			}
		})
	}
}

func TestRegisterErrClassifies(t *testing.T) {
	tests := []struct {
		err   error
		flags string
		kind  error
	}{
		{&os.PathError{Op: "open", Path: "register", Err: syscall.EACCES}, "PF", ErrPermission},
		{&os.PathError{Op: "write", Path: "register", Err: syscall.EPERM}, "PF", ErrPermission},
		{&os.PathError{Op: "write", Path: "register", Err: syscall.EEXIST}, "PF", ErrConflict},
		{&os.PathError{Op: "write", Path: "register", Err: syscall.EINVAL}, "PF", ErrFixBinaryRejected},
		{&os.PathError{Op: "write", Path: "register", Err: syscall.ENOENT}, "F", ErrFixBinaryRejected},
		{&os.PathError{Op: "write", Path: "register", Err: syscall.EACCES}, "PF", ErrFixBinaryRejected}, // noexec mount
		{&os.PathError{Op: "write", Path: "register", Err: syscall.EINVAL}, "P", nil},
	}
	for _, tt := range tests {
		err := registerErr("linux/arm64", "/b", "/usr/bin/qemu-aarch64-static", tt.flags, tt.err)
		for _, k := range []error{ErrPermission, ErrConflict, ErrFixBinaryRejected} {
			if errors.Is(err, k) != (k == tt.kind) {
				t.Errorf("registerErr(%v, %s) = %v: errors.Is(%v) = %t", tt.err, tt.flags, err, k, !(k == tt.kind))
			}
		}
		if !errors.Is(err, tt.err.(*os.PathError).Err) || !strings.Contains(err.Error(), "linux/arm64") {
			t.Errorf("registerErr lost the cause or the platform: %v", err)
		}
	}
}

func TestUninstallOnlyOwnEntries(t *testing.T) {
	b := fakeBinfmt(t)
	unrelated := []Entry{
		{Name: "python3.11", Enabled: true, Interpreter: "/usr/bin/python3.11", Magic: []byte{0xa7, 0x0d, 0x0d, 0x0a}},
		{Name: "jar", Enabled: true, Interpreter: "/usr/bin/jexec", Extension: ".jar"},
		{Name: "WSLInterop", Enabled: true, Interpreter: "/init", Flags: "PF", Magic: []byte{'M', 'Z'}},
		entryFor(t, b, "aarch64", "aarch64", "F", false), // another tool's name for arm64
	}
	hostArch, _ := LookupArch(platforms.DefaultSpec())
	native := entryFor(t, b, hostArch.EntryName(), hostArch.QEMU, "F", true) // must survive: host platform
	owned := []Entry{entryFor(t, b, "qemu-aarch64", "aarch64", "PF", true), entryFor(t, b, "qemu-riscv64", "riscv64", "F", false)}
	reopen(t, b, append(append(unrelated, native), owned...)...)

	res, err := b.Uninstall(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]Action{}
	for _, r := range res {
		actions[r.Name] = r.Action
	}
	if actions["qemu-aarch64"] != Removed || actions["qemu-riscv64"] != Removed || actions[native.Name] != Native || actions["qemu-s390x"] != NotInstalled {
		t.Errorf("actions %v", actions)
	}
	for _, e := range owned {
		if got := read(t, filepath.Join(b.Root, e.Name)); got != "-1" {
			t.Errorf("%s: got %q, want -1", e.Name, got)
		}
	}
	for _, e := range append(unrelated, native) {
		if got := read(t, filepath.Join(b.Root, e.Name)); got != e.String() {
			t.Errorf("%s was touched: %q", e.Name, got)
		}
	}
}

func TestStatus(t *testing.T) {
	b := fakeBinfmt(t)
	good := entryFor(t, b, "qemu-aarch64", "aarch64", "POCF", true)
	noF := entryFor(t, b, "s390x", "s390x", "P", true)
	jar := Entry{Name: "jar", Enabled: true, Interpreter: "/usr/bin/jexec", Extension: ".jar"}
	reopen(t, b, good, noF, jar)
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mounted || !st.Enabled || st.Root != b.Root {
		t.Fatalf("status %+v", st)
	}
	var names []string
	for _, e := range st.Entries {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"jar", "qemu-aarch64", "s390x"}) {
		t.Errorf("entries %v", names)
	}
	if len(st.Emulators) != 2 {
		t.Fatalf("emulators %+v", st.Emulators)
	}
	arm, ok := st.Emulator(platforms.MustParse("linux/arm64/v8"))
	if !ok || !arm.Usable() || !arm.Owned || arm.Entry.Name != "qemu-aarch64" {
		t.Errorf("arm64 emulator %+v", arm)
	}
	s390, ok := st.Emulator(platforms.MustParse("linux/s390x"))
	if !ok || s390.Usable() || s390.Owned || !slices.Equal(s390.Problems, []Problem{ProblemNoFixBinary}) {
		t.Errorf("s390x emulator %+v", s390)
	}
	if _, ok := st.Emulator(platforms.MustParse("linux/riscv64")); ok {
		t.Error("riscv64 reported without an entry")
	}
	if got := st.Emulated(); len(got) != 1 || platforms.Format(got[0]) != "linux/arm64" {
		t.Errorf("Emulated() = %v, want only linux/arm64", got)
	}
}

func TestStatusNotMounted(t *testing.T) {
	b := &Binfmt{Root: t.TempDir()}
	st, err := b.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mounted || len(st.Entries) != 0 {
		t.Fatalf("status %+v of an empty directory", st)
	}
	if res, err := b.Uninstall(context.Background(), "linux/arm64"); err != nil || len(res) != 1 || res[0].Action != NotInstalled {
		t.Fatalf("Uninstall on an unmounted root = %+v, %v", res, err)
	}
}

func TestStatusRejectsCorruptEntry(t *testing.T) {
	b := fakeBinfmt(t)
	write(t, filepath.Join(b.Root, "broken"), "enabled\n")
	_, err := b.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"broken"`) {
		t.Fatalf("Status error = %v, want one naming the entry", err)
	}
}

func TestMountFailure(t *testing.T) {
	root := filepath.Join(t.TempDir(), "missing", "binfmt_misc")
	b := &Binfmt{Root: root}
	_, err := b.Install(context.Background(), "linux/arm64")
	// The kernel resolves the mount point before it checks privileges: ENOENT for anyone.
	want := ErrNotMountable
	if !errors.Is(err, want) || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("Install on %s error = %v, want %v naming the path and a fix", root, err, want)
	}
}

func TestDynamicallyLinked(t *testing.T) {
	dir := t.TempDir()
	static := filepath.Join(dir, "static")
	if err := os.WriteFile(static, buildProbe(archs[2]), 0o755); err != nil {
		t.Fatal(err)
	}
	if dyn, err := dynamicallyLinked(static); err != nil || dyn {
		t.Errorf("probe: dynamic=%t err=%v, want static", dyn, err)
	}
	notELF := filepath.Join(dir, "script")
	write(t, notELF, "#!/bin/sh\n")
	if _, err := dynamicallyLinked(notELF); err == nil {
		t.Error("a shell script passed as an ELF interpreter")
	}
}
