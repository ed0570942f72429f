package qemu

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Sentinel errors a caller can act on; match them with errors.Is. Every error this
// package returns that falls in one of these classes is an *Error (or *ConflictError,
// *ProbeError) naming the platform and path involved and the fix.
var (
	// ErrPermission: the process may not mount binfmt_misc or write its files (it needs
	// root, or CAP_SYS_ADMIN in the initial user namespace).
	ErrPermission = errors.New("permission denied")
	// ErrNotMountable: binfmt_misc is not mounted and mounting it failed (kernel built
	// without CONFIG_BINFMT_MISC, or a read-only /proc in a container).
	ErrNotMountable = errors.New("binfmt_misc not mountable")
	// ErrNoInterpreter: no qemu-<arch>-static or qemu-<arch> in the search directories.
	ErrNoInterpreter = errors.New("no QEMU interpreter found")
	// ErrDynamicInterpreter: the interpreter has a PT_INTERP (dynamic loader), which
	// cannot work with flag F: the kernel opens the interpreter on the host, but its
	// loader and libraries are then looked up inside the container's root.
	ErrDynamicInterpreter = errors.New("interpreter is dynamically linked")
	// ErrFixBinaryRejected: the kernel refused a registration with flag F (kernel older
	// than 4.8, or it could not open the interpreter when registering).
	ErrFixBinaryRejected = errors.New("kernel rejected the F (fix-binary) flag")
	// ErrUnknownPlatform: the platform string does not parse, or no emulator is known.
	ErrUnknownPlatform = errors.New("unknown platform")
	// ErrConflict: an entry for the architecture exists but is unusable; see *ConflictError.
	ErrConflict = errors.New("conflicting binfmt_misc entry")
	// ErrNative: the platform runs natively; this package never registers or removes
	// an emulator for it.
	ErrNative = errors.New("platform runs natively")
	// ErrProbeFailed: the probe binary did not run or did not exit as expected; see *ProbeError.
	ErrProbeFailed = errors.New("probe failed")
)

// Error is an operation on binfmt_misc that failed.
type Error struct {
	Op       string // what was attempted: "mount", "register", "unregister", "read", "find interpreter"
	Platform string // the platform concerned, formatted by containerd/platforms; may be empty
	Path     string // the file involved; may be empty
	Kind     error  // one of the sentinel errors above, or nil
	Err      error  // the underlying error, or nil
	Fix      string // what the caller can do about it; may be empty
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("qemu: ")
	b.WriteString(e.Op)
	if e.Platform != "" {
		b.WriteString(" " + e.Platform)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, " (%s)", e.Path)
	}
	if e.Kind != nil {
		b.WriteString(": " + e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString("; fix: " + e.Fix)
	}
	return b.String()
}

// Unwrap returns the sentinel and the underlying error, so errors.Is works on both.
func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Problem says what is wrong with an existing entry.
type Problem string

const (
	ProblemNoFixBinary        Problem = "lacks flag F, so it fails inside containers and chroots"
	ProblemMissingInterpreter Problem = "points to an interpreter that does not exist"
	ProblemDisabled           Problem = "is disabled"
)

// ConflictError reports an existing entry that claims the platform's binaries but cannot
// run them reliably. Install leaves it alone unless Binfmt.Replace is set.
type ConflictError struct {
	Platform string
	Entry    Entry
	Problems []Problem
}

func (e *ConflictError) Error() string {
	ps := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		ps[i] = string(p)
	}
	return fmt.Sprintf("qemu: %s: existing binfmt_misc entry %q (interpreter %s) %s; fix: set Replace to replace it, or remove it (echo -1 > .../%s)",
		e.Platform, e.Entry.Name, e.Entry.Interpreter, strings.Join(ps, " and "), e.Entry.Name)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ProbeError reports a probe binary that did not exit with ProbeExitCode.
type ProbeError struct {
	Platform string
	ExitCode int    // -1 when the process did not start or was killed
	Entry    string // the binfmt_misc entry that claimed the binary; empty when none did
	Err      error
}

func (e *ProbeError) Error() string {
	var why string
	switch {
	case e.Entry == "" && e.ExitCode == -1 && errors.Is(e.Err, syscall.ENOEXEC):
		why = "no binfmt_misc entry handles it (install an emulator first)"
	case e.Entry == "" && e.ExitCode == -1:
		why = "the probe did not run (is $TMPDIR on a noexec mount? point TMPDIR at an executable directory)"
	case e.Entry == "":
		why = fmt.Sprintf("exited with %d, want %d", e.ExitCode, ProbeExitCode)
	default:
		why = fmt.Sprintf("entry %q is registered but broken (exit %d, want %d)", e.Entry, e.ExitCode, ProbeExitCode)
	}
	s := fmt.Sprintf("qemu: probe %s: %s", e.Platform, why)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns ErrProbeFailed and the underlying error.
func (e *ProbeError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrProbeFailed}
	}
	return []error{ErrProbeFailed, e.Err}
}
