package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
)

// DaemonConfig describes a local buildkitd process started by [StartDaemon]: what
// buildx's docker-container driver does, without Docker. The zero value starts
// "buildkitd" from PATH with a fresh temporary state directory.
type DaemonConfig struct {
	// Binary is the buildkitd executable. Default: "buildkitd" looked up in PATH.
	Binary string `json:"binary,omitempty"`

	// Root is the daemon's state directory (snapshots, cache, metadata). Default: a new
	// temporary directory, removed by Stop. A caller-given Root is kept, so a later
	// daemon on the same Root reuses its local cache.
	Root string `json:"root,omitempty"`

	// Socket is the path of the unix socket the daemon listens on.
	// Default: "buildkitd.sock" inside Root (or inside the temporary directory).
	// Unix socket paths are limited to 107 bytes. The daemon's generated config and
	// trace socket go to a temporary directory of its own either way, removed by Stop.
	Socket string `json:"socket,omitempty"`

	// InsecureRegistries lists registry hosts ("host:port") that the daemon pulls from
	// and pushes to over plain HTTP. Use it only for loopback or trusted local
	// registries: a registry reached over the network must use TLS.
	InsecureRegistries []string `json:"insecureRegistries,omitempty"`

	// ExtraConfig is TOML appended to the generated buildkitd.toml, for settings this
	// type does not model (GC policy, registry mirrors).
	ExtraConfig string `json:"extraConfig,omitempty"`

	// Log receives the daemon's own output (stdout and stderr). Default: discarded.
	// The last lines are kept either way and quoted in start errors.
	Log io.Writer `json:"-"`

	// ReadyTimeout bounds the wait for the daemon to answer. Default: 60s.
	ReadyTimeout time.Duration `json:"readyTimeout,omitempty"`

	// Logger receives lifecycle events (start, ready, stop). Default: none.
	Logger *slog.Logger `json:"-"`
}

// Daemon is a running buildkitd started by [StartDaemon]. Stop it with [Daemon.Stop].
type Daemon struct {
	cfg     DaemonConfig
	addr    string
	tmpDir  string // config, trace socket, default Root and Socket; removed by Stop
	cmd     *exec.Cmd
	tail    *tailBuffer
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// ErrDaemonExited is returned (wrapped) when buildkitd exits before it is ready.
var ErrDaemonExited = errors.New("buildkitd exited")

// StartDaemon starts buildkitd with an OCI worker (runc, overlayfs snapshotter), the
// containerd worker disabled, its own state directory and unix socket, and waits until it
// answers a ListWorkers call. It must run as root (BuildKit's rootful OCI worker).
//
// Cancelling ctx during the start stops the daemon (SIGTERM, then SIGKILL after 10s);
// so does a daemon not ready within ReadyTimeout. Once StartDaemon has returned, the
// daemon lives until [Daemon.Stop] (or until the calling process dies: it gets SIGTERM
// then).
func StartDaemon(ctx context.Context, cfg DaemonConfig) (*Daemon, error) {
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	bin := cfg.Binary
	if bin == "" {
		bin = "buildkitd"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("buildkitd binary %q not found: %w (build it at the BuildKit version go.mod pins; scripts/setup.sh does that)", bin, err)
	}
	d := &Daemon{cfg: cfg, tail: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	// The daemon's own directory, always made: its config and trace socket live there
	// (never beside a caller's Socket, where another daemon's would collide), and so do
	// the default Root and Socket. Short on purpose: unix socket paths are limited.
	if d.tmpDir, err = os.MkdirTemp("", "bkd"); err != nil {
		return nil, fmt.Errorf("buildkitd state dir: %w", err)
	}
	root := cfg.Root
	if root == "" {
		root = filepath.Join(d.tmpDir, "root")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		d.cleanupTmp()
		return nil, fmt.Errorf("buildkitd state dir %s: %w", root, err)
	}
	sock := cfg.Socket
	if sock == "" {
		sock = filepath.Join(d.tmpDir, "buildkitd.sock")
		if cfg.Root != "" {
			sock = filepath.Join(root, "buildkitd.sock")
		}
	}
	if len(sock) > 107 {
		d.cleanupTmp()
		return nil, fmt.Errorf("buildkitd socket path %s is %d bytes, over the 107-byte unix socket limit: give a shorter DaemonConfig.Socket", sock, len(sock))
	}
	// A stale socket from a killed daemon blocks the listener: remove it, but never the
	// socket of a daemon that still listens there.
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		c.Close()
		d.cleanupTmp()
		return nil, fmt.Errorf("buildkitd socket %s: a process already listens there: stop it, or give DaemonConfig.Socket another path", sock)
	}
	_ = os.Remove(sock)
	d.addr = "unix://" + sock

	confPath := filepath.Join(d.tmpDir, "buildkitd.toml")
	otelSock := filepath.Join(d.tmpDir, "otel-grpc.sock")
	if len(otelSock) > 107 {
		d.cleanupTmp()
		return nil, fmt.Errorf("buildkitd trace socket path %s is %d bytes, over the 107-byte unix socket limit: set TMPDIR to a shorter directory", otelSock, len(otelSock))
	}
	if err := os.WriteFile(confPath, []byte(daemonTOML(root, d.addr, otelSock, cfg)), 0o600); err != nil {
		d.cleanupTmp()
		return nil, fmt.Errorf("buildkitd config: %w", err)
	}

	cmd := exec.Command(path, "--config", confPath)
	var out io.Writer = d.tail
	if cfg.Log != nil {
		out = io.MultiWriter(d.tail, cfg.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group, so a signal to the caller's group (Ctrl-C) reaches the caller
	// first and Stop can shut the daemon down in order; Pdeathsig stops it if the caller dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	// Pdeathsig fires when the OS thread that started the child exits, not the process:
	// start and wait on one locked thread, which lives as long as the daemon does, so the
	// Go runtime retiring a thread never sends the daemon a stray SIGTERM.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.waitErr = cmd.Wait()
		close(d.exited)
	}()
	if err := <-started; err != nil {
		d.cleanupTmp()
		return nil, fmt.Errorf("start buildkitd %s: %w", path, err)
	}
	d.cmd = cmd
	d.logger().Info("buildkitd started", "pid", cmd.Process.Pid, "addr", d.addr, "root", root)

	if err := d.waitReady(ctx); err != nil {
		// Bounded: a daemon that ignores SIGTERM while starting is killed.
		stopCtx, cancel := context.WithTimeout(context.Background(), startStopGrace)
		defer cancel()
		_ = d.Stop(stopCtx)
		return nil, err
	}
	d.logger().Info("buildkitd ready", "addr", d.addr)
	return d, nil
}

// startStopGrace is how long a daemon that failed to start gets to exit after SIGTERM
// before it is killed.
var startStopGrace = 10 * time.Second

// daemonTOML is the daemon's configuration. Every path is the daemon's own: buildkitd's
// default trace socket (/run/buildkit/otel-grpc.sock) is shared by all daemons on a host,
// and two daemons starting at once fail on it ("address already in use").
func daemonTOML(root, addr, otelSock string, cfg DaemonConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "root = %s\n\n[grpc]\n  address = [%s]\n\n", strconv.Quote(root), strconv.Quote(addr))
	fmt.Fprintf(&b, "[otel]\n  socketPath = %s\n\n", strconv.Quote(otelSock))
	b.WriteString("[worker.oci]\n  enabled = true\n  snapshotter = \"overlayfs\"\n\n[worker.containerd]\n  enabled = false\n")
	for _, r := range cfg.InsecureRegistries {
		fmt.Fprintf(&b, "\n[registry.%s]\n  http = true\n", strconv.Quote(r))
	}
	if cfg.ExtraConfig != "" {
		b.WriteString("\n" + cfg.ExtraConfig + "\n")
	}
	return b.String()
}

func (d *Daemon) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-d.exited:
			return fmt.Errorf("%w before it was ready (%v); its last output:\n%s", ErrDaemonExited, d.waitErr, d.tail.String())
		case <-ctx.Done():
			return fmt.Errorf("buildkitd at %s not ready after %s (last error: %v); its last output:\n%s", d.addr, d.cfg.ReadyTimeout, last, d.tail.String())
		case <-tick.C:
		}
		last = ping(ctx, d.addr)
		if last == nil {
			return nil
		}
	}
}

func ping(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.New(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ListWorkers(ctx)
	return err
}

// Addr is the daemon's BuildKit address ("unix:///path/buildkitd.sock"), ready for
// [github.com/moby/buildkit/client.New] or a [Node].
func (d *Daemon) Addr() string { return d.addr }

// Exited is closed when the daemon process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

// Stop sends SIGTERM, waits for the daemon to exit (until ctx is done, then SIGKILL)
// and removes the temporary state directory if StartDaemon made it. Stop is idempotent.
func (d *Daemon) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.exited:
			case <-ctx.Done():
				_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
				<-d.exited
				d.stopErr = fmt.Errorf("buildkitd (pid %d) did not stop in time and was killed: %w", d.cmd.Process.Pid, ctx.Err())
			}
		}
		d.logger().Info("buildkitd stopped", "addr", d.addr)
		if err := d.cleanupTmp(); err != nil && d.stopErr == nil {
			d.stopErr = err
		}
	})
	return d.stopErr
}

func (d *Daemon) cleanupTmp() error {
	if d.tmpDir == "" {
		return nil
	}
	if err := os.RemoveAll(d.tmpDir); err != nil {
		return fmt.Errorf("remove buildkitd state dir %s: %w", d.tmpDir, err)
	}
	return nil
}

func (d *Daemon) logger() *slog.Logger {
	if d.cfg.Logger != nil {
		return d.cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
		if i := bytes.IndexByte(t.buf, '\n'); i >= 0 {
			t.buf = t.buf[i+1:]
		}
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
