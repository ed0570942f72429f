package build_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"golang.org/x/sync/errgroup"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// Daemons started at the same moment must not share any path: go test runs packages in
// parallel and each starts its own buildkitd (buildkitd's default trace socket is one
// per host, and made concurrent starts fail with "address already in use").
func TestDaemonsStartConcurrently(t *testing.T) {
	testenv.Preflight(t)
	bin, err := testenv.BuildkitdPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	daemons := make([]*build.Daemon, 3)
	var g errgroup.Group
	for i := range daemons {
		g.Go(func() error {
			d, err := build.StartDaemon(ctx, build.DaemonConfig{Binary: bin})
			daemons[i] = d
			return err
		})
	}
	err = g.Wait()
	// Each daemon's trace socket is its own, beside its API socket.
	for _, d := range daemons {
		if d == nil {
			continue
		}
		otel := filepath.Join(filepath.Dir(strings.TrimPrefix(d.Addr(), "unix://")), "otel-grpc.sock")
		if _, serr := os.Stat(otel); serr != nil {
			t.Errorf("daemon at %s has no trace socket of its own: %v", d.Addr(), serr)
		}
	}
	for _, d := range daemons {
		if d != nil {
			if serr := d.Stop(context.Background()); serr != nil {
				t.Errorf("stop %s: %v", d.Addr(), serr)
			}
		}
	}
	if err != nil {
		t.Fatalf("three daemons started at once: %v", err)
	}
	seen := map[string]bool{}
	for _, d := range daemons {
		if seen[d.Addr()] {
			t.Errorf("two daemons share %s", d.Addr())
		}
		seen[d.Addr()] = true
	}
}

// The daemon must outlive the OS thread that called StartDaemon: Pdeathsig is tied to
// the starting thread (Go issue 27505), and Go retires threads (here forced: a
// goroutine that exits while locked to its thread takes the thread with it). On this
// machine's kernel and Go the stray signal was not seen even without StartDaemon's
// locked thread, so this guards the behaviour rather than reproducing the old failure.
func TestDaemonSurvivesItsStartingThread(t *testing.T) {
	testenv.Preflight(t)
	bin, err := testenv.BuildkitdPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type started struct {
		d   *build.Daemon
		err error
	}
	ch := make(chan started)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		d, err := build.StartDaemon(ctx, build.DaemonConfig{Binary: bin})
		ch <- started{d, err}
	}()
	s := <-ch
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer s.d.Stop(context.Background())
	select {
	case <-s.d.Exited():
		t.Fatal("buildkitd exited when the thread that started it ended (Pdeathsig)")
	case <-time.After(3 * time.Second):
	}
	c, err := client.New(ctx, s.d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ListWorkers(ctx); err != nil {
		t.Fatalf("buildkitd no longer answers after the thread that started it ended: %v", err)
	}
}
