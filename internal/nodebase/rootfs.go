package nodebase

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layerFile is the name of the cached layer inside a Key folder.
const layerFile = "rootfs.tar.gz"

// sourceDateEpoch makes mmdebstrap's output reproducible (file times clamped, no
// random files): the same packages give the same layer, hence the same base image
// digest, on every machine. It is Debian 12's release day, 2023-06-10.
const sourceDateEpoch = "1686355200"

// Rootfs returns the root filesystem layer for p, from the cache or made with
// mmdebstrap and then cached. Concurrent callers (also in other processes) wait for
// one another instead of making the same layer twice.
func (c Config) Rootfs(ctx context.Context, p ocispec.Platform) (Image, error) {
	p = platforms.Normalize(p)
	img := Image{Platform: p}
	arch, err := DebianArch(p)
	if err != nil {
		return img, err
	}
	dir := filepath.Join(c.cacheDir(), Key(c.release(), c.packages(), arch))
	img.Layer = filepath.Join(dir, layerFile)
	if _, err := os.Stat(img.Layer); err == nil {
		img.Cached = true
		return img, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return img, fmt.Errorf("nodebase: cache folder for %s: %w", platforms.Format(p), err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return img, err
	}
	defer unlock()
	if _, err := os.Stat(img.Layer); err == nil { // made while we waited
		img.Cached = true
		return img, nil
	}
	start := time.Now()
	c.logger().InfoContext(ctx, "making Debian root filesystem", "platform", platforms.Format(p), "release", c.release(), "packages", c.packages(), "cache", dir)
	if err := c.mmdebstrap(ctx, arch, img.Layer); err != nil {
		return img, fmt.Errorf("nodebase: root filesystem for %s: %w", platforms.Format(p), err)
	}
	img.Duration = time.Since(start)
	c.logger().InfoContext(ctx, "root filesystem cached", "platform", platforms.Format(p), "layer", img.Layer, "duration", img.Duration)
	return img, nil
}

// mmdebstrapArgs are the arguments that make arch's root filesystem as a tar on stdout.
func (c Config) mmdebstrapArgs(arch string) []string {
	args := []string{
		"--mode=root",
		"--variant=essential",
		"--architectures=" + arch,
		"--include=" + strings.Join(c.packages(), ","),
		// Debian 12 is merged-/usr: set the links up front instead of pulling the
		// usrmerge converter (and all of perl) into the image.
		"--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
		// Device nodes come from the container runtime, not from the image.
		"--skip=output/dev", "--skip=output/mknod",
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/info/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-include=/usr/share/doc/*/copyright",
		c.release(),
		"-", // the tar goes to stdout
		c.sources(),
	}
	return args
}

// hostDebianArch is the Debian name of the machine's own architecture.
func hostDebianArch() string {
	a, _ := DebianArch(ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH})
	return a
}

// preflight finds a missing tool or sources file before mmdebstrap starts.
func (c Config) preflight(arch string) error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("%w: mmdebstrap (Debian package mmdebstrap); run `sudo scripts/setup.sh`", ErrMissingTool)
	}
	if arch != hostDebianArch() {
		if _, err := exec.LookPath("arch-test"); err != nil {
			return fmt.Errorf("%w: arch-test (Debian package arch-test), which mmdebstrap needs for the foreign architecture %s; run `sudo scripts/setup.sh`", ErrMissingTool, arch)
		}
	}
	if _, err := os.Stat(c.sources()); err != nil {
		return fmt.Errorf("apt sources file %s (it names the Debian mirror): %w; set Config.Sources to a deb822 .sources file", c.sources(), err)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("mmdebstrap runs in root mode: run as root")
	}
	return nil
}

// mmdebstrap runs mmdebstrap for arch and writes its filtered, compressed output to
// dst through a temporary file renamed into place, so dst is complete or absent.
func (c Config) mmdebstrap(ctx context.Context, arch, dst string) (err error) {
	if err := c.preflight(arch); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".rootfs-*.tar.gz")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	tail := &tailWriter{max: 4096}
	var stderr io.Writer = tail
	if c.Log != nil {
		stderr = io.MultiWriter(tail, c.Log)
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", c.mmdebstrapArgs(arch)...)
	cmd.Stderr = stderr
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "SOURCE_DATE_EPOCH="+sourceDateEpoch)
	// On cancellation ask mmdebstrap to clean up (unmount and remove its temporary root)
	// before it is killed. Its main process only waits for its setup process, which is
	// the one that cleans up: signal the whole process group, as Ctrl-C would.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mmdebstrap: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(tmp, gzip.BestSpeed)
	ferr := filterRootfs(zw, out)
	if ferr != nil {
		io.Copy(io.Discard, out) // let mmdebstrap finish writing before Wait
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case werr != nil:
		return fmt.Errorf("mmdebstrap --architectures=%s %s: %w; its last output:\n%s", arch, c.release(), werr, tail.String())
	case ferr != nil:
		return fmt.Errorf("reading mmdebstrap's tar for %s: %w", arch, ferr)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// lockFile takes an exclusive flock on path, waiting until ctx is done.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("nodebase: cache lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("nodebase: cache lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("nodebase: waiting for cache lock %s: %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max int
	buf bytes.Buffer
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return t.buf.String() }
