// Package smoke proves that every platform image of a multi-architecture build works
// before anything is tagged: it runs commands in each platform image, checks files and
// image metadata, and scans every ELF file for the right architecture.
//
// # Declaring a smoke test
//
// A [Test] (what users call a "SmokeTest") holds the checks, with the kinds that
// container-structure-test users know. It is declared in Go or loaded from YAML or JSON
// with [Load] or [Parse]:
//
//	commandTests:
//	  - name: arch
//	    command: uname
//	    args: ["-m"]
//	    expectedOutput: ["^(x86_64|aarch64)\n$"]
//	    timeout: 30s
//	  - name: node addon loads
//	    command: node
//	    args: ["-e", "require('sqlite3')"]
//	fileTests:
//	  - path: /usr/bin/node
//	    permissions: -rwxr-xr-x
//	  - path: /etc/os-release
//	    expectedContents: ["ID=debian"]
//	  - path: /root/.ssh
//	    shouldExist: false
//	metadataTest:
//	  envVars: [{key: NODE_ENV, value: production}]
//	  exposedPorts: ["8080"]
//	  user: node
//	scan:
//	  ignore: ["/usr/lib/gcc-cross/*"]
//
// Regular expressions use Go's RE2 syntax; a declaration that cannot run (an invalid
// regex, a relative path, an unknown field) is an [ErrInvalidTest] before anything runs.
//
// # Running it
//
// [Run] takes one [Target] per platform image (a build result's digests, or every image
// of an index with [IndexTargets]) and a [Runner] for the commands:
//
//	suite, err := smoke.Load("smoke.yaml")
//	...
//	rep, err := smoke.Run(ctx, smoke.NewBuildKitRunner(bk), []smoke.Target{
//		{Platform: platforms.MustParse("linux/amd64"), Ref: "registry.example/app@sha256:..."},
//		{Platform: platforms.MustParse("linux/arm64"), Ref: "registry.example/app@sha256:..."},
//	}, suite)
//	...
//	rep.WriteText(os.Stderr)
//	if err := rep.Err(); err != nil { // wraps ErrFailed, names each failed check
//		return err // do not tag
//	}
//
// Platforms are tested in parallel; the commands of one platform run in order, each in a
// new container. [NewBuildKitRunner] needs no Docker engine: it starts the container on a
// BuildKit daemon (github.com/moby/buildkit/client), where an image of a foreign platform
// runs under the daemon's QEMU emulation; the daemon pulls it with the registry
// credentials of the Docker config ([WithDockerConfigDir]). Each command has a timeout
// (default [DefaultTimeout]); a command that hangs fails with its output so far and never
// blocks the run. File, metadata and scan checks read the image from its registry with
// go-containerregistry and start no container.
//
// A target whose image is missing is reported, not fatal: every check of it becomes an
// error result naming [ErrImageNotFound], [ErrPlatformNotFound] or [ErrPlatformMismatch]
// and the fix.
//
// # The architecture scan
//
// [ScanImage] reads every layer of an image as a stream (nothing is unpacked to disk),
// applies whiteouts and opaque directories so that files deleted by a later layer are not
// reported, and checks the ELF header of every regular file (executables, shared
// libraries, .node addons, .so plugins; object files only with [ScanOptions].Objects)
// against the platform: class (32/64-bit), byte
// order and machine must be those of the platform's architecture (arm64 = EM_AARCH64,
// amd64 = EM_X86_64, arm = EM_ARM 32-bit, 386, ppc64le, s390x, riscv64, mips, loong64).
// Each mismatch is a [Finding] with its path, layer, and what it is built for. Only the
// first 20 bytes of a file are read; the rest is skipped, so memory stays bounded whatever
// the layer sizes (see BenchmarkScanImage).
//
// # Reports
//
// A [Report] holds, per platform and per check, whether it passed, its duration, an
// excerpt of the command's output, and the scan's findings. It is a Go value and writes
// itself as JSON ([Report.WriteJSON]), JUnit XML for CI systems ([Report.WriteJUnit]) and
// a short text table ([Report.WriteText]).
package smoke
