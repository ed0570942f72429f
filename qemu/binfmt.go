package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultRoot is where Linux mounts binfmt_misc.
const DefaultRoot = "/proc/sys/fs/binfmt_misc"

// DefaultInterpreterDirs is where Debian's qemu-user-static installs qemu-<arch>-static.
var DefaultInterpreterDirs = []string{"/usr/bin"}

// Binfmt manages the binfmt_misc registrations of one binfmt_misc mount. The zero value
// manages the kernel's at DefaultRoot with the defaults below; every field is optional.
type Binfmt struct {
	// Root is the binfmt_misc mount point. Default: DefaultRoot. Tests point it at a
	// directory holding "register", "status" and entry files in the kernel's format.
	Root string
	// InterpreterDirs are searched in order for qemu-<arch>-static, then qemu-<arch>.
	// Default: DefaultInterpreterDirs (/usr/bin).
	InterpreterDirs []string
	// Credentials adds flag C: the emulated binary runs with its own setuid/setgid
	// credentials (needed for sudo or ping inside foreign images). Default: off, as in
	// Debian's registrations.
	Credentials bool
	// NoPreserveArgv0 drops flag P. By default P is set, so the emulated program sees
	// its own argv[0] (busybox-style multi-call binaries need it; QEMU >= 6.2 and Linux
	// >= 5.12 handle it).
	NoPreserveArgv0 bool
	// Replace lets Install replace the existing entries for an architecture when the one
	// in use is unusable (no flag F, missing interpreter, disabled): all entries claiming
	// its binaries are removed, then this package's is registered. Default: they are left
	// alone and reported as a *ConflictError.
	Replace bool
	// Logger receives one record per change made to the kernel's registrations.
	// Default: nothing is logged.
	Logger *slog.Logger
}

func (b *Binfmt) root() string {
	if b.Root == "" {
		return DefaultRoot
	}
	return b.Root
}

func (b *Binfmt) dirs() []string {
	if len(b.InterpreterDirs) == 0 {
		return DefaultInterpreterDirs
	}
	return b.InterpreterDirs
}

func (b *Binfmt) log(ctx context.Context, msg string, args ...any) {
	if b.Logger != nil {
		b.Logger.InfoContext(ctx, msg, args...)
	}
}

// flags are the registration flags Install writes: F always, P and C as configured.
func (b *Binfmt) flags() string {
	f := ""
	if !b.NoPreserveArgv0 {
		f += "P"
	}
	if b.Credentials {
		f += "C"
	}
	return f + "F"
}

// Mounted reports whether binfmt_misc is mounted at Root (its "register" file exists).
func (b *Binfmt) Mounted() bool {
	_, err := os.Stat(filepath.Join(b.root(), "register"))
	return err == nil
}

// Mount mounts binfmt_misc at Root unless it is mounted already.
func (b *Binfmt) Mount(ctx context.Context) error {
	if b.Mounted() {
		return nil
	}
	root := b.root()
	err := syscall.Mount("binfmt_misc", root, "binfmt_misc", 0, "")
	switch {
	case err == nil:
		b.log(ctx, "mounted binfmt_misc", "root", root)
		return nil
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return &Error{Op: "mount binfmt_misc", Path: root, Kind: ErrPermission, Err: err,
			Fix: "run as root (or with CAP_SYS_ADMIN), or mount it first: mount -t binfmt_misc binfmt_misc " + root}
	default:
		return &Error{Op: "mount binfmt_misc", Path: root, Kind: ErrNotMountable, Err: err,
			Fix: "the kernel needs CONFIG_BINFMT_MISC and " + root + " must be a writable directory (in a container, run it --privileged)"}
	}
}

// Status is a snapshot of binfmt_misc and of what the host can run.
type Status struct {
	Root    string
	Mounted bool
	// Enabled is the global switch (<root>/status says "enabled").
	Enabled bool
	// Entries are all registrations, sorted by name, including unrelated ones (python, jar).
	Entries []Entry
	// Emulators has one item per known architecture that some entry claims, in Archs order.
	Emulators []Emulator
}

// Emulator is the entry that claims one architecture's binaries.
type Emulator struct {
	Platform ocispec.Platform
	Entry    Entry
	// Owned: the entry has the name this package registers (qemu-<arch>), so Uninstall may remove it.
	Owned bool
	// Problems lists what makes the entry unusable; empty means it should work (Probe proves it).
	Problems []Problem
}

// Usable reports whether the emulator has no known problem.
func (e Emulator) Usable() bool { return len(e.Problems) == 0 }

// Status reads binfmt_misc at Root. It does not mount it: when it is not mounted the
// Status says so and has no entries.
func (b *Binfmt) Status(ctx context.Context) (*Status, error) {
	st := &Status{Root: b.root()}
	if !b.Mounted() {
		return st, nil
	}
	st.Mounted = true
	data, err := os.ReadFile(filepath.Join(st.Root, "status"))
	if err != nil {
		return nil, readErr(st.Root, "status", err)
	}
	st.Enabled = strings.TrimSpace(string(data)) == "enabled"
	des, err := os.ReadDir(st.Root)
	if err != nil {
		return nil, readErr(st.Root, "", err)
	}
	for _, de := range des {
		if n := de.Name(); n == "register" || n == "status" || de.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(st.Root, de.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we read
		}
		if err != nil {
			return nil, readErr(st.Root, de.Name(), err)
		}
		e, err := ParseEntry(de.Name(), data)
		if err != nil {
			return nil, err
		}
		st.Entries = append(st.Entries, e)
	}
	slices.SortFunc(st.Entries, func(x, y Entry) int { return strings.Compare(x.Name, y.Name) })
	for _, a := range archs {
		if em, ok := st.emulator(a); ok {
			st.Emulators = append(st.Emulators, em)
		}
	}
	return st, ctx.Err()
}

func readErr(root, name string, err error) error {
	e := &Error{Op: "read", Path: filepath.Join(root, name), Err: err}
	if errors.Is(err, fs.ErrPermission) {
		e.Kind, e.Fix = ErrPermission, "run as root"
	}
	return e
}

// emulator finds the entry the kernel would pick for a's binaries: the first enabled
// entry (in name order; the kernel uses registration order, which it does not expose)
// whose magic matches the probe header, else the first disabled one.
func (st *Status) emulator(a Arch) (Emulator, bool) {
	hdr := buildProbe(a)
	var found *Entry
	for i, e := range st.Entries {
		if !e.Matches(hdr) {
			continue
		}
		if e.Enabled {
			found = &st.Entries[i]
			break
		}
		if found == nil {
			found = &st.Entries[i]
		}
	}
	if found == nil {
		return Emulator{}, false
	}
	em := Emulator{Platform: a.Platform, Entry: *found, Owned: found.Name == a.EntryName()}
	if !st.Enabled || !found.Enabled {
		em.Problems = append(em.Problems, ProblemDisabled)
	}
	if !found.HasFlag('F') {
		em.Problems = append(em.Problems, ProblemNoFixBinary)
	}
	if fi, err := os.Stat(found.Interpreter); err != nil || !fi.Mode().IsRegular() {
		em.Problems = append(em.Problems, ProblemMissingInterpreter)
	}
	return em, true
}

// Emulator returns the emulator registered for platform p, if any entry claims it.
func (st *Status) Emulator(p ocispec.Platform) (Emulator, bool) {
	a, err := LookupArch(p)
	if err != nil {
		return Emulator{}, false
	}
	for _, em := range st.Emulators {
		if em.Platform.Architecture == a.Platform.Architecture {
			return em, true
		}
	}
	return Emulator{}, false
}

// Emulated returns the platforms a usable registered emulator claims (arm lists v7 and v6).
func (st *Status) Emulated() []ocispec.Platform {
	var out []ocispec.Platform
	for _, em := range st.Emulators {
		if em.Usable() {
			out = append(out, em.Platform)
			if em.Platform.Architecture == "arm" {
				out = append(out, plat("arm", "v6"))
			}
		}
	}
	return out
}

// target is one platform asked for and the Arch that runs it.
type target struct {
	p ocispec.Platform // as asked, normalised
	a Arch
}

// parsePlatforms turns containerd/platforms strings (or "all") into known Archs,
// deduplicated by architecture (linux/arm/v6 and linux/arm/v7 share one emulator).
func parsePlatforms(specs []string) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	add := func(p ocispec.Platform, a Arch) {
		if !seen[a.QEMU] {
			seen[a.QEMU] = true
			out = append(out, target{p: p, a: a})
		}
	}
	for _, s := range specs {
		if s == "all" {
			for _, a := range archs {
				add(a.Platform, a)
			}
			continue
		}
		p, err := platforms.Parse(s)
		if err != nil {
			return nil, &Error{Op: "parse", Platform: s, Kind: ErrUnknownPlatform, Err: err, Fix: `use os/arch[/variant] such as "linux/arm64", or "all"`}
		}
		a, err := LookupArch(p)
		if err != nil {
			return nil, err
		}
		add(platforms.Normalize(p), a)
	}
	if len(out) == 0 {
		return nil, &Error{Op: "parse", Kind: ErrUnknownPlatform, Err: fmt.Errorf("no platform given"), Fix: `name platforms such as "linux/arm64", or "all"`}
	}
	return out, nil
}
