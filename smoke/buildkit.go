package smoke

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver/pb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/bkauth"
)

// defaultPath is the PATH of an image whose config sets none (as Docker does).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// releaseTimeout bounds the release of a container after its command ended or timed out.
const releaseTimeout = 10 * time.Second

// NewBuildKitRunner returns a Runner that runs each command in a new container of the
// target image on the BuildKit daemon c is connected to: no Docker engine is needed, and
// an image of a foreign platform runs under the daemon's QEMU emulation. Each command
// gets a fresh container (BuildKit removes a container when its first process exits);
// the image's Env, WorkingDir and User apply. The daemon pulls the images with the
// registry credentials of the Docker config, as builds push them. Options used:
// WithLogger, WithDockerConfigDir.
func NewBuildKitRunner(c *client.Client, opts ...Option) Runner {
	o := makeOptions(opts)
	return &buildkitRunner{c: c, log: o.logger, dockerDir: o.dockerDir}
}

type buildkitRunner struct {
	c         *client.Client
	log       *slog.Logger
	dockerDir string

	authOnce sync.Once
	auth     []session.Attachable
	authErr  error
}

// session returns what each solve offers the daemon: registry credentials from the
// Docker config, loaded once.
func (r *buildkitRunner) session() ([]session.Attachable, error) {
	r.authOnce.Do(func() {
		auth, err := bkauth.FromDockerConfig(r.dockerDir)
		if err != nil {
			r.authErr = fmt.Errorf("smoke: %w", err)
			return
		}
		r.auth = []session.Attachable{auth}
	})
	return r.auth, r.authErr
}

func (r *buildkitRunner) Run(ctx context.Context, t Target, c Command) (Output, error) {
	plat := platforms.Format(t.Platform)
	if len(c.Args) == 0 {
		return Output{}, fmt.Errorf("smoke: run in %s (%s): no command: set Command.Args", t.Ref, plat)
	}
	limit := c.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	att, err := r.session()
	if err != nil {
		return Output{}, err
	}
	stdout, stderr := &limitedBuffer{max: limit}, &limitedBuffer{max: limit}
	var out Output
	var runErr error
	start := time.Now()
	_, err = r.c.Build(ctx, client.SolveOpt{Session: att}, "smoke", func(ctx context.Context, gw gateway.Client) (*gateway.Result, error) {
		out.ExitCode, runErr = r.exec(ctx, gw, t, c, stdout, stderr)
		return gateway.NewResult(), nil
	}, nil)
	out.Duration = time.Since(start)
	out.Stdout, out.Stderr, out.Truncated = stdout.buf, stderr.buf, stdout.truncated || stderr.truncated
	if err == nil {
		err = runErr
	}
	r.log.DebugContext(ctx, "smoke: command", "ref", t.Ref, "platform", plat, "args", c.Args,
		"exit", out.ExitCode, "duration", out.Duration, "error", err)
	if err != nil {
		return out, fmt.Errorf("smoke: run %q in %s (%s): %w", strings.Join(c.Args, " "), t.Ref, plat, err)
	}
	return out, nil
}

// exec runs c in a container of t's image, within a gateway build.
func (r *buildkitRunner) exec(ctx context.Context, gw gateway.Client, t Target, c Command, stdout, stderr *limitedBuffer) (int, error) {
	// Resolve the config first: it names the image's digest for the platform (a missing
	// platform or reference fails here, clearly) and gives Env, WorkingDir and User.
	resolved, _, cfgJSON, err := gw.ResolveImageConfig(ctx, t.Ref, sourceresolver.Opt{
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &t.Platform},
	})
	if err != nil {
		return 0, fmt.Errorf("resolve image: %w", err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return 0, fmt.Errorf("image config: %w", err)
	}
	def, err := llb.Image(resolved, llb.Platform(t.Platform)).Marshal(ctx, llb.Platform(t.Platform))
	if err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	res, err := gw.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true})
	if err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	ref, err := res.SingleRef()
	if err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	env, dir, user := runtimeConfig(cfg.Config, c)
	ctr, err := gw.NewContainer(ctx, gateway.NewContainerRequest{
		Mounts:   []gateway.Mount{{Dest: "/", MountType: pb.MountType_BIND, Ref: ref}},
		Platform: &pb.Platform{OS: t.Platform.OS, Architecture: t.Platform.Architecture, Variant: t.Platform.Variant},
	})
	if err != nil {
		return 0, fmt.Errorf("new container: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := ctr.Release(rctx); err != nil {
			r.log.DebugContext(ctx, "smoke: release container", "ref", t.Ref, "error", err)
		}
	}()

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	defer cancel()
	// expired reports whether c's own timeout, not the caller's context, ended the run.
	expired := func() bool { return runCtx.Err() != nil && ctx.Err() == nil }
	proc, err := ctr.Start(runCtx, gateway.StartRequest{
		Args: c.Args, Env: env, Cwd: dir, User: user, Stdout: stdout, Stderr: stderr,
	})
	if err != nil {
		if expired() { // while the container was still starting
			return -1, fmt.Errorf("%w after %s (before the command started: %v)", ErrTimeout, c.Timeout, err)
		}
		return 0, fmt.Errorf("start: %w", err)
	}
	err = proc.Wait()
	if err == nil {
		return 0, nil
	}
	if expired() {
		// Wait returned because the timeout expired; the process may still run.
		kctx, kcancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer kcancel()
		_ = proc.Signal(kctx, syscall.SIGKILL)
		return -1, fmt.Errorf("%w after %s (killed)", ErrTimeout, c.Timeout)
	}
	var exit *gwpb.ExitError
	if errors.As(err, &exit) && exit.ExitCode != gwpb.UnknownExitStatus {
		return int(exit.ExitCode), nil
	}
	return 0, err
}

// runtimeConfig merges the image config's environment, working directory and user
// with the command's.
func runtimeConfig(img ocispec.ImageConfig, c Command) (env []string, dir, user string) {
	env = slices.Clone(img.Env)
	for _, kv := range c.Env {
		k, _, _ := strings.Cut(kv, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		env = append(env, kv)
	}
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append(env, defaultPath)
	}
	dir, user = cmp.Or(c.Workdir, img.WorkingDir, "/"), cmp.Or(c.User, img.User)
	return env, dir, user
}
