package qemu

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/platforms"
)

// Interpreter returns the path of the QEMU user emulator for a: the first of
// <dir>/qemu-<arch>-static and <dir>/qemu-<arch>, for each dir of InterpreterDirs in
// order, that is an executable, statically linked file. A dynamically linked candidate
// is skipped (flag F needs a static one); if only such candidates exist the error is
// ErrDynamicInterpreter, if none exist ErrNoInterpreter.
func (b *Binfmt) Interpreter(a Arch) (string, error) {
	var dynamic []string
	var searched []string
	for _, dir := range b.dirs() {
		for _, name := range []string{"qemu-" + a.QEMU + "-static", "qemu-" + a.QEMU} {
			p := filepath.Join(dir, name)
			searched = append(searched, p)
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			isDyn, err := dynamicallyLinked(p)
			if err != nil {
				return "", &Error{Op: "check interpreter", Platform: platforms.Format(a.Platform), Path: p, Err: err,
					Fix: "reinstall the Debian package qemu-user-static"}
			}
			if isDyn {
				dynamic = append(dynamic, p)
				continue
			}
			return p, nil
		}
	}
	if len(dynamic) > 0 {
		return "", &Error{Op: "find interpreter", Platform: platforms.Format(a.Platform), Path: dynamic[0], Kind: ErrDynamicInterpreter,
			Err: fmt.Errorf("it has a PT_INTERP program header; with flag F the kernel opens the interpreter on the host but its dynamic loader and libraries would be looked up inside each container's root, where they are missing"),
			Fix: "install the static emulators: apt-get install qemu-user-static"}
	}
	return "", &Error{Op: "find interpreter", Platform: platforms.Format(a.Platform), Kind: ErrNoInterpreter,
		Err: fmt.Errorf("searched %v", searched),
		Fix: "apt-get install qemu-user-static (Debian/Ubuntu), or set InterpreterDirs"}
}

// dynamicallyLinked reports whether the ELF file at path has a PT_INTERP program header.
func dynamicallyLinked(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}
