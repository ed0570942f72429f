package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Probe proves that the host runs binaries of platform p, natively or through a
// registered emulator: it writes the platform's ProbeBinary to a temporary directory,
// executes it and checks that it exits with ProbeExitCode, the way BuildKit's archutil
// checks its emulators. When the process is root the probe runs chrooted into that
// directory, where no interpreter exists: it then also proves that the registration has
// flag F and will work inside containers.
//
// A nil error means p runs. Otherwise the error is a *ProbeError (errors.Is
// ErrProbeFailed) naming the entry that claimed the binary, if any.
func (b *Binfmt) Probe(ctx context.Context, p ocispec.Platform) error {
	a, err := LookupArch(p)
	if err != nil {
		return err
	}
	code, runErr := runProbe(ctx, a)
	if runErr == nil && code == ProbeExitCode {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	pe := &ProbeError{Platform: platforms.Format(p), ExitCode: code, Err: runErr}
	if st, err := b.Status(ctx); err == nil {
		if em, ok := st.emulator(a); ok && em.Entry.Enabled {
			pe.Entry = em.Entry.Name
		}
	}
	return pe
}

// ProbeResult is the outcome of probing one platform.
type ProbeResult struct {
	Platform ocispec.Platform
	Duration time.Duration
	Err      error // nil when the platform runs
}

// ProbeAll probes every platform, at most limit at a time (limit <= 0 means 4), and
// returns one result per platform in the same order. It returns an error only when ctx
// ends; failed probes are reported in the results.
func (b *Binfmt) ProbeAll(ctx context.Context, ps []ocispec.Platform, limit int) ([]ProbeResult, error) {
	if limit <= 0 {
		limit = 4
	}
	out := make([]ProbeResult, len(ps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, p := range ps {
		g.Go(func() error {
			start := time.Now()
			err := b.Probe(gctx, p)
			out[i] = ProbeResult{Platform: p, Duration: time.Since(start), Err: err}
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return out, err
	}
	return out, ctx.Err()
}

// runProbe executes a's probe and returns its exit code (-1 when it did not run to exit).
func runProbe(ctx context.Context, a Arch) (int, error) {
	dir, err := os.MkdirTemp("", "multiarch-probe-")
	if err != nil {
		return -1, err
	}
	defer os.RemoveAll(dir)
	// Readable and searchable by anyone: the process may change credentials (flag C).
	if err := os.Chmod(dir, 0o755); err != nil {
		return -1, err
	}
	path := filepath.Join(dir, "probe")
	if err := os.WriteFile(path, buildProbe(a), 0o755); err != nil {
		return -1, err
	}
	for attempt := 0; ; attempt++ {
		var cmd *exec.Cmd
		if os.Geteuid() == 0 {
			cmd = exec.CommandContext(ctx, "/probe")
			cmd.Dir = "/"
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
		} else {
			cmd = exec.CommandContext(ctx, path)
		}
		err = cmd.Run()
		// ETXTBSY: another goroutine forked while our write fd was still open; the
		// child closes it at exec, so a short wait is enough (golang/go#22315).
		if errors.Is(err, syscall.ETXTBSY) && attempt < 20 {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		if cmd.ProcessState == nil {
			return -1, err
		}
		code := cmd.ProcessState.ExitCode()
		if code == ProbeExitCode {
			return code, nil
		}
		return code, err
	}
}
