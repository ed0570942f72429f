// Package testenv gives the project's integration tests the real parts they run against:
// an isolated buildkitd (own state dir and socket, OCI worker, overlayfs), an in-process
// registry on 127.0.0.1 that the daemon reaches over plain HTTP, and offline base images
// for linux/amd64 and linux/arm64 made from Debian's busybox-static packages.
//
// A test binary starts one shared environment lazily with [Get] and stops it in TestMain
// through [Main]:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		e := testenv.Get(t) // skips (or fails under CI=true) when a part is missing
//		...
//	}
//
// The buildkitd is started through [build.StartDaemon], so every integration test also
// exercises the SDK's own daemon code. Parts are installed by scripts/setup.sh.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/buildkit/client"

	"github.com/multiarch-sdk/multiarch/build"
)

// SetupHint is what a developer runs to install the missing parts.
const SetupHint = "run `bash scripts/setup.sh` as root from the repository root"

// Env is the shared real environment of one test binary.
type Env struct {
	// Registry is the in-process registry's "127.0.0.1:PORT", served over plain HTTP.
	Registry string
	// Addr is the BuildKit address of the shared daemon, "unix:///.../buildkitd.sock".
	Addr string
	// Base is a multi-platform index (linux/amd64, linux/arm64) in Registry made from
	// Debian's busybox-static: a real /bin/sh and busybox applets as links in /bin.
	Base string
	// Daemon is the shared buildkitd.
	Daemon *build.Daemon
	// Client is a BuildKit client connected to Addr.
	Client *client.Client

	server *httptest.Server
	unlock func()
}

var (
	once      sync.Once
	shared    *Env
	startErr  error
	missing   *missingPart
	startedAt time.Time
)

// missingPart is a start failure caused by something not installed on this machine.
type missingPart struct{ what, fix string }

func (m *missingPart) Error() string { return m.what + ": " + m.fix }

// InCI reports whether the tests run in CI (CI=true), where a missing part is a failure.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Require skips the test when ok is false, naming what is missing and how to fix it;
// under CI=true it fails the test instead, since a missing part there is a broken setup,
// never a reason for a green run.
func Require(t testing.TB, ok bool, what, fix string) {
	t.Helper()
	if ok {
		return
	}
	if InCI() {
		t.Fatalf("missing part (CI=true, so this fails instead of skipping): %s; fix: %s", what, fix)
	}
	t.Skipf("skipping: %s; fix: %s (under CI=true this fails)", what, fix)
}

// Get returns the shared environment, starting it on first use: the registry, the base
// images and a buildkitd that can run linux/amd64 and linux/arm64 (through QEMU). When
// a part is missing the test skips (fails under CI=true) with the command that installs it.
func Get(t testing.TB) *Env {
	t.Helper()
	once.Do(func() {
		startedAt = time.Now()
		shared, startErr = start()
		if errors.As(startErr, &missing) {
			startErr = nil
		}
	})
	if missing != nil {
		Require(t, false, missing.what, missing.fix)
	}
	if startErr != nil {
		t.Fatalf("test environment: %v", startErr)
	}
	return shared
}

// Main runs the tests and then stops the shared environment, if one was started.
// Use it from TestMain: os.Exit(testenv.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.close()
	}
	return code
}

func start() (_ *Env, err error) {
	if err := preflight(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	e := &Env{}
	if e.unlock, err = lockBinfmt(false); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	e.server = httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	e.Registry = strings.TrimPrefix(e.server.URL, "http://")

	e.Base = e.Registry + "/multiarch/busybox:1"
	if err := PushBusybox(ctx, e.Base, DebDir(), Platforms...); err != nil {
		return nil, err
	}
	if e.Daemon, err = startDaemon(ctx, e.Registry); err != nil {
		return nil, err
	}
	e.Addr = e.Daemon.Addr()
	if e.Client, err = client.New(ctx, e.Addr); err != nil {
		return nil, fmt.Errorf("connect to buildkitd at %s: %w", e.Addr, err)
	}
	if err := checkWorkerPlatforms(ctx, e.Client); err != nil {
		return nil, err
	}
	return e, nil
}

// Platforms are the platforms the environment's base image and daemon support.
var Platforms = []string{"linux/amd64", "linux/arm64"}

func checkWorkerPlatforms(ctx context.Context, c *client.Client) error {
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("list buildkitd workers: %w", err)
	}
	var have []string
	for _, w := range ws {
		for _, p := range w.Platforms {
			have = append(have, platforms.Format(p))
		}
	}
	for _, want := range Platforms {
		m := platforms.OnlyStrict(platforms.MustParse(want))
		found := false
		for _, w := range ws {
			for _, p := range w.Platforms {
				found = found || m.Match(p)
			}
		}
		if !found {
			return &missingPart{
				what: fmt.Sprintf("buildkitd cannot run %s (its workers run %s): QEMU is not registered in binfmt_misc", want, strings.Join(have, ", ")),
				fix:  SetupHint,
			}
		}
	}
	return nil
}

// Preflight skips the test (fails it under CI=true) when a part the environment needs
// is not installed, without starting anything: for tests that start their own daemon,
// as the examples do. It also holds the binfmt_misc lock shared until the test ends.
func Preflight(t testing.TB) {
	t.Helper()
	if err := preflight(); err != nil {
		var m *missingPart
		if errors.As(err, &m) {
			Require(t, false, m.what, m.fix)
		}
		t.Fatal(err)
	}
	LockBinfmt(t, false)
}

// preflight finds what is missing before anything starts.
func preflight() error {
	if os.Geteuid() != 0 {
		return &missingPart{what: "integration tests need root (BuildKit's rootful OCI worker, binfmt_misc)", fix: "run the tests as root"}
	}
	if _, err := BuildkitdPath(); err != nil {
		return &missingPart{what: err.Error(), fix: SetupHint}
	}
	if _, err := exec.LookPath("runc"); err != nil {
		return &missingPart{what: "runc is not installed (BuildKit's OCI worker runs it)", fix: SetupHint}
	}
	for _, p := range Platforms {
		if _, err := debFor(DebDir(), platforms.MustParse(p)); err != nil {
			return &missingPart{what: err.Error(), fix: SetupHint}
		}
	}
	// The foreign platform runs under QEMU: its emulator must be installed (tests that
	// start their own daemon register it themselves, through the qemu package).
	if emu := foreignEmulator(runtime.GOARCH); emu != "" {
		if _, err := exec.LookPath(emu); err != nil {
			return &missingPart{what: emu + " is not installed (the foreign platform's builds run under QEMU)", fix: SetupHint}
		}
	}
	return nil
}

// foreignEmulator is the qemu-user-static binary that runs the one of Platforms that
// the host architecture goarch does not run natively.
func foreignEmulator(goarch string) string {
	switch goarch {
	case "amd64":
		return "qemu-aarch64-static"
	case "arm64":
		return "qemu-x86_64-static"
	}
	return ""
}

// CacheDir is where scripts/setup.sh keeps what it builds and downloads, outside the
// checkout: $MULTIARCH_CACHE, default /var/cache/multiarch.
func CacheDir() string {
	if d := os.Getenv("MULTIARCH_CACHE"); d != "" {
		return d
	}
	return "/var/cache/multiarch"
}

// DebDir holds the downloaded busybox-static packages.
func DebDir() string { return filepath.Join(CacheDir(), "debs") }

// BuildkitVersion is the github.com/moby/buildkit version that go.mod pins: from the
// binary's build information, or (test binaries carry none) from `go list -m`.
func BuildkitVersion() string {
	const mod = "github.com/moby/buildkit"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == mod {
				if m.Replace != nil {
					return m.Replace.Version
				}
				return m.Version
			}
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", mod).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// BuildkitdPath returns the buildkitd binary at the pinned version: $MULTIARCH_BUILDKITD,
// else the one scripts/setup.sh cached under CacheDir()/buildkit/<version>/.
func BuildkitdPath() (string, error) {
	if p := os.Getenv("MULTIARCH_BUILDKITD"); p != "" {
		return p, nil
	}
	v := BuildkitVersion()
	if v == "" {
		return "", fmt.Errorf("cannot tell which BuildKit version go.mod pins (no build info, `go list -m` failed)")
	}
	p := filepath.Join(CacheDir(), "buildkit", v, "buildkitd")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("buildkitd %s not found at %s", v, p)
	}
	return p, nil
}

func startDaemon(ctx context.Context, registry string) (*build.Daemon, error) {
	bin, err := BuildkitdPath()
	if err != nil {
		return nil, err
	}
	cfg := build.DaemonConfig{Binary: bin, InsecureRegistries: []string{registry}}
	if os.Getenv("MULTIARCH_BUILDKITD_LOG") != "" {
		cfg.Log = os.Stderr
	}
	return build.StartDaemon(ctx, cfg)
}

// NewDaemon starts a fresh isolated buildkitd (empty state) that reaches e's registry
// over plain HTTP, and stops it when the test ends. Use it for a second fleet node or to
// prove that a cache is imported from the registry and not found locally.
func NewDaemon(t testing.TB, e *Env) *build.Daemon {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := startDaemon(ctx, e.Registry)
	if err != nil {
		t.Fatalf("start a second buildkitd: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop buildkitd: %v", err)
		}
	})
	return d
}

func (e *Env) close() {
	if e.Client != nil {
		e.Client.Close()
	}
	if e.Daemon != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = e.Daemon.Stop(ctx)
		cancel()
	}
	if e.server != nil {
		e.server.Close()
	}
	if e.unlock != nil {
		e.unlock()
	}
}
