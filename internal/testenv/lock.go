package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// lockPath is shared by every test binary on the machine: go test runs packages in
// parallel, and the kernel's binfmt_misc registrations are one global state.
var lockPath = filepath.Join(os.TempDir(), "multiarch-binfmt.lock")

// LockBinfmt takes a machine-wide lock over the kernel's binfmt_misc registrations until
// the test ends. Every test binary that runs foreign-platform builds holds it shared (Get
// does that); a test that changes the registrations (qemu's real-kernel tests) takes it
// exclusive, so it never uninstalls an emulator under a running build. A binary must not
// take it exclusive after calling Get: the two would wait on each other.
func LockBinfmt(t testing.TB, exclusive bool) {
	t.Helper()
	unlock, err := lockBinfmt(exclusive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
}

func lockBinfmt(exclusive bool) (unlock func(), err error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("binfmt_misc test lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("binfmt_misc test lock %s: %w", lockPath, err)
	}
	return func() { f.Close() }, nil
}
