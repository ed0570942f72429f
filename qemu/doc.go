// Package qemu makes a Linux kernel run foreign-architecture binaries through QEMU's
// user-mode emulators, natively in Go, and proves that it works.
//
// # binfmt_misc in one page
//
// The kernel's binfmt_misc (a filesystem, normally mounted at /proc/sys/fs/binfmt_misc)
// holds a list of entries. Each entry says: a file whose bytes at offset, masked, equal a
// magic is run by an interpreter. For QEMU the magic is the start of an ELF header (class,
// byte order, machine), so every arm64 executable is handed to qemu-aarch64-static. An
// entry is created by writing one line to the "register" file:
//
//	:qemu-aarch64:M:0:\x7fELF\x02\x01\x01...:\xff\xff\xff...:/usr/bin/qemu-aarch64-static:PF
//
// and removed by writing -1 to its own file. The flags matter:
//
//   - F (fix binary): the kernel opens the interpreter once, at registration. Without
//     it the interpreter path is looked up at each exec, inside the container's or
//     chroot's root, where it is missing: builds of foreign images fail with "exec format
//     error" or "no such file". This package always sets F, and refuses a dynamically
//     linked interpreter (its loader and libraries would be missing in containers too).
//   - P (preserve argv[0]): on by default (Binfmt.NoPreserveArgv0 turns it off).
//   - C (credentials): off by default (Binfmt.Credentials turns it on).
//
// The magic and mask values are those of QEMU's scripts/qemu-binfmt-conf.sh, which
// Debian's qemu-user-static also installs in /usr/share/binfmts; see Archs.
//
// # What the package does
//
// A Binfmt (zero value: the real kernel, interpreters in /usr/bin) reads the state
// (Status: every entry parsed, and which entry handles which platform, with its
// problems), tells the host's native platforms (Native: the host, plus linux/386 on amd64
// or linux/arm/v7 on arm64 when they really run), registers emulators (Install, which
// mounts binfmt_misc when needed, is idempotent and never touches a native platform),
// removes the ones it owns (Uninstall, never python, jar or WSLInterop), and proves each
// platform runs (Probe: executes a ~130-byte static ELF of that architecture which only
// calls exit(73); see ProbeBinary). MakePlan says which wanted platforms a set of build
// nodes runs natively, which through emulation and which not at all.
//
//	b := &qemu.Binfmt{}
//	res, err := b.Install(ctx, "linux/arm64", "linux/riscv64")
//	if errors.Is(err, qemu.ErrNoInterpreter) {
//		// apt-get install qemu-user-static
//	}
//	for _, r := range res {
//		if err := b.Probe(ctx, r.Platform); err != nil {
//			return err // registered but broken
//		}
//	}
//
// Errors a caller acts on are sentinels (ErrPermission, ErrNotMountable,
// ErrNoInterpreter, ErrDynamicInterpreter, ErrFixBinaryRejected, ErrUnknownPlatform,
// ErrConflict, ErrProbeFailed) wrapped in *Error, *ConflictError or *ProbeError values that
// name the platform, the path and the fix.
//
// Binfmt.Root points the package at another directory, so unit tests use a fake
// binfmt_misc folder and need no root. Changing the kernel's registrations needs root
// (CAP_SYS_ADMIN). The command internal/tools/binfmt wraps the package for scripts.
package qemu
