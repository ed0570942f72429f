package build

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Builder builds Dockerfiles on a fleet of BuildKit nodes. It is safe for concurrent
// use. Close it to release the connections.
type Builder struct {
	nodes           []*node
	concurrency     int
	connectTimeout  time.Duration
	logger          *slog.Logger
	dockerConfigDir string

	mu sync.RWMutex // guards the nodes' cached NodeInfo
}

// Option configures a Builder.
type Option func(*Builder)

// WithConcurrency bounds how many platform solves run at once across the fleet.
// Default (or n <= 0): no bound, every platform at once.
func WithConcurrency(n int) Option { return func(b *Builder) { b.concurrency = n } }

// WithConnectTimeout bounds how long New (and Refresh) wait for a node to answer.
// Default: 10s.
func WithConnectTimeout(d time.Duration) Option { return func(b *Builder) { b.connectTimeout = d } }

// WithLogger sends the builder's events (connections, routing, solves) to l.
// Default: none.
func WithLogger(l *slog.Logger) Option { return func(b *Builder) { b.logger = l } }

// WithDockerConfigDir reads registry credentials (for pulls, pushes and cache) from
// the Docker config.json in dir, credential helpers included. Default: DOCKER_CONFIG,
// else ~/.docker. Credentials go to the daemon only on request, through the build
// session; they never appear in errors, logs or progress.
func WithDockerConfigDir(dir string) Option { return func(b *Builder) { b.dockerConfigDir = dir } }

// New connects to every node and asks each which platforms its workers run
// (ListWorkers), keeping the answer for routing. With no nodes it uses one node at
// [DefaultAddress]. A node that does not answer within the connect timeout fails New
// with an error wrapping [ErrNodeUnreachable] that names it.
func New(ctx context.Context, nodes []Node, opts ...Option) (*Builder, error) {
	b := &Builder{connectTimeout: 10 * time.Second, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(b)
	}
	if len(nodes) == 0 {
		nodes = []Node{{Name: "default"}}
	}
	checked := make([]Node, len(nodes))
	names := map[string]bool{}
	for i, n := range nodes {
		n.Platforms = append([]ocispec.Platform(nil), n.Platforms...)
		n, err := n.withDefaults()
		if err != nil {
			return nil, err
		}
		if names[n.Name] {
			return nil, fmt.Errorf("two nodes are named %q: give each node its own Name", n.Name)
		}
		names[n.Name] = true
		checked[i] = n
	}
	b.nodes = make([]*node, len(checked))
	g, gctx := errgroup.WithContext(ctx)
	for i, n := range checked {
		g.Go(func() error {
			nd, err := connect(gctx, n, b.connectTimeout)
			if err != nil {
				return err
			}
			b.nodes[i] = nd
			b.logger.Info("buildkit node connected", "node", n.Name, "address", n.Address,
				"workers", formatPlatforms(nd.info.Workers), "native", formatPlatforms(nd.info.Native))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Nodes returns what each node reported at connection (or the last Refresh).
func (b *Builder) Nodes() []NodeInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]NodeInfo, len(b.nodes))
	for i, n := range b.nodes {
		out[i] = n.info
	}
	return out
}

// Refresh asks every node again for its workers' platforms, for instance after a
// QEMU emulator was registered on a node's host.
func (b *Builder) Refresh(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, n := range b.nodes {
		ctx, cancel := context.WithTimeout(ctx, b.connectTimeout)
		if err := n.refresh(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%w: node %q at %s: %w", ErrNodeUnreachable, n.info.Name, n.info.Address, err))
		}
		cancel()
	}
	return errors.Join(errs...)
}

// Close closes the connections to the nodes.
func (b *Builder) Close() error {
	var errs []error
	for _, n := range b.nodes {
		if n != nil {
			errs = append(errs, n.c.Close())
		}
	}
	return errors.Join(errs...)
}
