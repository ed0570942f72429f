package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Action says what Install or Uninstall did for one platform.
type Action string

const (
	Registered       Action = "registered"        // a new entry was written
	Replaced         Action = "replaced"          // an unusable entry was removed and a new one written (Replace)
	AlreadyInstalled Action = "already installed" // a usable entry existed; nothing was changed
	Native           Action = "native"            // the host runs it natively; nothing was changed
	Removed          Action = "removed"           // Uninstall removed the entry
	NotInstalled     Action = "not installed"     // Uninstall found no entry of this package's name
)

// Result is what happened to one platform.
type Result struct {
	Platform    ocispec.Platform
	Name        string // the binfmt_misc entry name
	Interpreter string
	Flags       string
	Action      Action
}

// Install registers QEMU for each platform in specs (containerd/platforms strings such as
// "linux/arm64" or "arm/v7", or "all" for every architecture in Archs), mounting
// binfmt_misc first when needed. It is idempotent, also when several processes run it
// at once: a platform that runs natively, or that a usable entry (enabled, flag F,
// interpreter present) already claims, is left as it is. Entries are named qemu-<arch> and registered with flags F, P (unless
// NoPreserveArgv0) and C (if Credentials), with the magic and mask of Archs.
//
// Install returns one Result per platform it handled and, joined, the errors of the
// platforms it could not (a *ConflictError for an unusable entry when Replace is false,
// ErrNoInterpreter, ErrDynamicInterpreter, ErrFixBinaryRejected, ErrPermission).
func (b *Binfmt) Install(ctx context.Context, specs ...string) ([]Result, error) {
	want, err := parsePlatforms(specs)
	if err != nil {
		return nil, err
	}
	if err := b.Mount(ctx); err != nil {
		return nil, err
	}
	native, err := b.Native(ctx)
	if err != nil {
		return nil, err
	}
	st, err := b.Status(ctx)
	if err != nil {
		return nil, err
	}
	var results []Result
	var errs []error
	for _, w := range want {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		r, err := b.install(ctx, st, w, native)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

func (b *Binfmt) install(ctx context.Context, st *Status, w target, native []ocispec.Platform) (Result, error) {
	a := w.a
	pname := platforms.Format(w.p)
	r := Result{Platform: w.p, Name: a.EntryName(), Flags: b.flags(), Action: Registered}
	if isNative(w.p, native) {
		r.Action, r.Flags = Native, ""
		return r, nil
	}
	em, claimed := st.emulator(a)
	if claimed && em.Usable() {
		return installed(w.p, em), nil
	}
	interp, err := b.Interpreter(a)
	if err != nil {
		return r, err
	}
	r.Interpreter = interp
	hdr := buildProbe(a)
	for _, e := range st.Entries {
		if e.Name == r.Name && !e.Matches(hdr) {
			// Our name is taken by an entry for other binaries: the kernel would refuse it.
			path := filepath.Join(b.root(), r.Name)
			return r, &Error{Op: "register", Platform: pname, Path: path, Kind: ErrConflict,
				Err: fmt.Errorf("an entry of that name exists but does not match %s binaries", pname), Fix: "remove it (echo -1 > " + path + ")"}
		}
	}
	if claimed {
		if !b.Replace {
			return r, &ConflictError{Platform: pname, Entry: em.Entry, Problems: em.Problems}
		}
		// Replace every entry that claims these binaries, so the new one is the only one.
		for _, e := range st.Entries {
			if e.Matches(hdr) {
				if err := b.remove(ctx, pname, e.Name); err != nil {
					return r, err
				}
			}
		}
		r.Action = Replaced
	}
	if err := b.write(filepath.Join(b.root(), "register"), Entry{Name: r.Name, Magic: a.Magic, Mask: a.Mask, Interpreter: interp, Flags: r.Flags}.RegisterLine()); err != nil {
		if errors.Is(err, syscall.EEXIST) {
			// Another process registered the same name since Status was read (two
			// Installs at once): its entry is as good as ours if it is usable.
			if now, serr := b.Status(ctx); serr == nil {
				if em, ok := now.emulator(a); ok && em.Usable() {
					return installed(w.p, em), nil
				}
			}
		}
		return r, registerErr(pname, b.root(), interp, r.Flags, err)
	}
	b.log(ctx, "registered QEMU with binfmt_misc", "platform", pname, "name", r.Name, "interpreter", interp, "flags", r.Flags)
	return r, nil
}

// installed is the Result for p when em, a usable entry, already claims it.
func installed(p ocispec.Platform, em Emulator) Result {
	return Result{Platform: p, Name: em.Entry.Name, Interpreter: em.Entry.Interpreter, Flags: em.Entry.Flags, Action: AlreadyInstalled}
}

// registerErr classifies a failed write to <root>/register. Opening the file is the
// permission check; once it is open, a failed write with flag F means the kernel could
// not open the interpreter (or, before Linux 4.8, did not know the flag).
func registerErr(pname, root, interp, flags string, err error) error {
	e := &Error{Op: "register", Platform: pname, Path: filepath.Join(root, "register"), Err: err}
	var pe *fs.PathError
	opening := errors.As(err, &pe) && pe.Op == "open"
	switch {
	case errors.Is(err, syscall.EPERM), opening && errors.Is(err, fs.ErrPermission):
		e.Kind, e.Fix = ErrPermission, "run as root (or with CAP_SYS_ADMIN)"
	case errors.Is(err, syscall.EEXIST):
		e.Kind, e.Fix = ErrConflict, "an entry of the same name appeared meanwhile; run Install again"
	case !opening && strings.Contains(flags, "F"):
		e.Kind = ErrFixBinaryRejected
		e.Fix = "with flag F the kernel opens " + interp + " when registering: it must exist, be executable and not sit on a noexec mount; F needs Linux >= 4.8"
	}
	return e
}

// Uninstall removes the entries this package registers (named qemu-<arch>) for each
// platform in specs, or for every architecture in Archs with "all". It never removes an
// entry of another name (python3, jar, WSLInterop, someone else's qemu) nor the entry of
// a platform the host runs natively. A platform without such an entry is reported as
// NotInstalled. When binfmt_misc is not mounted there is nothing to remove.
func (b *Binfmt) Uninstall(ctx context.Context, specs ...string) ([]Result, error) {
	want, err := parsePlatforms(specs)
	if err != nil {
		return nil, err
	}
	var native []ocispec.Platform
	if b.Mounted() {
		if native, err = b.Native(ctx); err != nil {
			return nil, err
		}
	}
	var results []Result
	var errs []error
	for _, w := range want {
		pname := platforms.Format(w.p)
		r := Result{Platform: w.p, Name: w.a.EntryName(), Action: Removed}
		if isNative(w.p, native) {
			r.Action = Native
			results = append(results, r)
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.root(), r.Name))
		if errors.Is(err, fs.ErrNotExist) {
			r.Action = NotInstalled
			results = append(results, r)
			continue
		}
		if err != nil {
			errs = append(errs, readErr(b.root(), r.Name, err))
			continue
		}
		if e, err := ParseEntry(r.Name, data); err == nil {
			r.Interpreter, r.Flags = e.Interpreter, e.Flags
		}
		if err := b.remove(ctx, pname, r.Name); errors.Is(err, fs.ErrNotExist) {
			r.Action = NotInstalled // removed by another process since we read it
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

// remove deletes entry name by writing -1 to it.
func (b *Binfmt) remove(ctx context.Context, pname, name string) error {
	path := filepath.Join(b.root(), name)
	if err := b.write(path, "-1"); err != nil {
		e := &Error{Op: "unregister", Platform: pname, Path: path, Err: err}
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EPERM) {
			e.Kind, e.Fix = ErrPermission, "run as root (or with CAP_SYS_ADMIN)"
		}
		return e
	}
	b.log(ctx, "removed binfmt_misc entry", "platform", pname, "name", name)
	return nil
}

// write writes s to a binfmt_misc control file in one write(2), as the kernel requires.
func (b *Binfmt) write(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte(s))
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}
