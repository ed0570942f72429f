package build

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDaemonTOML(t *testing.T) {
	got := daemonTOML("/state", "unix:///state/b.sock", "/state/otel.sock", DaemonConfig{
		InsecureRegistries: []string{"127.0.0.1:5000", "localhost:5001"},
		ExtraConfig:        "[worker.oci.gc]\n  enabled = false",
	})
	for _, want := range []string{
		`root = "/state"`,
		`address = ["unix:///state/b.sock"]`,
		"[otel]\n  socketPath = \"/state/otel.sock\"",
		"[worker.oci]\n  enabled = true\n  snapshotter = \"overlayfs\"",
		"[worker.containerd]\n  enabled = false",
		"[registry.\"127.0.0.1:5000\"]\n  http = true",
		"[registry.\"localhost:5001\"]\n  http = true",
		"[worker.oci.gc]\n  enabled = false",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
}

func TestStartDaemonErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := StartDaemon(ctx, DaemonConfig{Binary: "no-such-buildkitd"}); err == nil || !strings.Contains(err.Error(), "no-such-buildkitd") {
		t.Errorf("missing binary: err = %v, want one naming the binary", err)
	}

	// A "daemon" that exits at once must be reported with its output, not waited for.
	_, err := StartDaemon(ctx, DaemonConfig{Binary: "false", ReadyTimeout: 20 * time.Second})
	if !errors.Is(err, ErrDaemonExited) {
		t.Errorf("daemon exiting early: err = %v, want ErrDaemonExited", err)
	}

	_, err = StartDaemon(ctx, DaemonConfig{Binary: "true", Socket: "/" + strings.Repeat("s", 120)})
	if err == nil || !strings.Contains(err.Error(), "107-byte") {
		t.Errorf("long socket path: err = %v, want the unix socket limit named", err)
	}
}

func TestTailBufferKeepsLastLines(t *testing.T) {
	tb := &tailBuffer{max: 16}
	for _, l := range []string{"first line\n", "second line\n", "third\n"} {
		tb.Write([]byte(l))
	}
	if got := tb.String(); got != "third\n" {
		t.Errorf("tail = %q, want %q", got, "third\n")
	}
}

// A caller-given Socket's directory receives only the socket: the generated config and
// the trace socket are the daemon's own (two daemons with sockets in one directory
// shared them and collided), and a failed start leaves nothing behind.
func TestStartDaemonWritesNothingBesideCallerSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	for _, name := range []string{"a.sock", "b.sock"} {
		_, err := StartDaemon(ctx, DaemonConfig{Binary: "false", Socket: filepath.Join(dir, name), ReadyTimeout: 20 * time.Second})
		if !errors.Is(err, ErrDaemonExited) {
			t.Fatalf("%s: err = %v, want ErrDaemonExited", name, err)
		}
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		t.Errorf("StartDaemon left %s in the directory of the caller's socket", de.Name())
	}
}

// A Socket where a process still listens is refused, and left in place: StartDaemon
// removes only stale sockets, never a running daemon's.
func TestStartDaemonKeepsLiveSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "live.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = StartDaemon(ctx, DaemonConfig{Binary: "true", Socket: sock})
	if err == nil || !strings.Contains(err.Error(), "already listens") || !strings.Contains(err.Error(), sock) {
		t.Errorf("err = %v, want the live socket %s refused", err, sock)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the live socket was removed: %v", err)
	}
	// A stale socket (nothing listens) is still cleared for the daemon.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	_, err = StartDaemon(ctx, DaemonConfig{Binary: "false", Socket: stale, ReadyTimeout: 20 * time.Second})
	if !errors.Is(err, ErrDaemonExited) {
		t.Errorf("stale socket: err = %v, want the daemon started (and, being false, exited)", err)
	}
}

// A "daemon" that never answers and ignores SIGTERM must not hang StartDaemon: once
// ReadyTimeout passes it is stopped, and killed after the grace period.
func TestStartDaemonKillsDaemonIgnoringSIGTERM(t *testing.T) {
	defer func(g time.Duration) { startStopGrace = g }(startStopGrace)
	startStopGrace = time.Second
	bin := filepath.Join(t.TempDir(), "stubborn-buildkitd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntrap '' TERM\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := StartDaemon(context.Background(), DaemonConfig{Binary: bin, ReadyTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "not ready after 1s") {
		t.Errorf("err = %v, want the ready timeout reported", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("StartDaemon returned after %s, want about ReadyTimeout + grace (2s)", took)
	}
}

// The trace socket lives in the daemon's temporary directory: a TMPDIR too long for a
// unix socket is reported by name, even when the caller's Socket is short.
func TestStartDaemonLongTMPDIR(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	sock := filepath.Join(t.TempDir(), "b.sock")
	_, err := StartDaemon(context.Background(), DaemonConfig{Binary: "true", Socket: sock})
	if err == nil || !strings.Contains(err.Error(), "107-byte") || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("err = %v, want the trace socket's length and TMPDIR named", err)
	}
	if des, _ := os.ReadDir(long); len(des) != 0 {
		t.Errorf("StartDaemon left %d entries in TMPDIR", len(des))
	}
}
