package build

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/connhelper"
	_ "github.com/moby/buildkit/client/connhelper/dockercontainer" // registers docker-container://
	_ "github.com/moby/buildkit/client/connhelper/kubepod"         // registers kube-pod://
	"github.com/moby/buildkit/util/appdefaults"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/cache"
)

// Node is one BuildKit daemon of a fleet.
type Node struct {
	// Name identifies the node in results, errors and logs. Default: the address.
	Name string `json:"name,omitempty"`

	// Address is the daemon's BuildKit address, as buildctl and buildx name them:
	//
	//	unix:///run/buildkit/buildkitd.sock
	//	tcp://buildkit.example.com:1234            (TLS settings in TLS)
	//	docker-container://buildx_buildkit_default (needs the docker CLI)
	//	kube-pod://buildkitd-0?namespace=ci        (needs kubectl)
	//
	// Default: $BUILDKIT_HOST, else unix:///run/buildkit/buildkitd.sock.
	Address string `json:"address,omitempty"`

	// Platforms are the platforms the node runs natively (its CPU). Routing prefers
	// them over platforms the node only emulates. Default: the first platform its
	// first worker reports, which BuildKit makes the host's own.
	Platforms []ocispec.Platform `json:"platforms,omitempty"`

	// TLS configures TLS or mutual TLS for a tcp:// address. Default: plain gRPC.
	TLS *TLSConfig `json:"tls,omitempty"`
}

// TLSConfig holds the files for a TLS connection to a tcp:// node.
type TLSConfig struct {
	// ServerName overrides the name checked in the server certificate.
	// Default: the address's host.
	ServerName string `json:"serverName,omitempty"`
	// CACert is the PEM file of the CA that signed the server certificate.
	// Default: the system's roots.
	CACert string `json:"caCert,omitempty"`
	// Cert and Key are the client certificate and key PEM files for mutual TLS.
	// Both or neither. Default: no client certificate.
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
}

// DefaultAddress is BuildKit's default address: $BUILDKIT_HOST, else the standard
// socket unix:///run/buildkit/buildkitd.sock.
func DefaultAddress() string {
	if a := os.Getenv("BUILDKIT_HOST"); a != "" {
		return a
	}
	return appdefaults.Address
}

// NodeInfo is what a node reported when the builder connected to it.
type NodeInfo struct {
	Node
	// Workers are the platforms the node's workers support, natively or emulated,
	// as ListWorkers returned them (the host's own first).
	Workers []ocispec.Platform
	// Native is the node's declared Platforms, or the default taken from Workers.
	Native []ocispec.Platform
}

// withDefaults fills in the defaults of a node and checks what can be checked offline.
func (n Node) withDefaults() (Node, error) {
	if n.Address == "" {
		n.Address = DefaultAddress()
	}
	if n.Name == "" {
		n.Name = n.Address
	}
	u, err := url.Parse(n.Address)
	if err != nil {
		return n, fmt.Errorf("node %q: address %q: %w", n.Name, n.Address, err)
	}
	switch u.Scheme {
	case "unix", "tcp":
	default:
		h, err := connhelper.GetConnectionHelper(n.Address)
		if err != nil {
			return n, fmt.Errorf("node %q: address %q: %w", n.Name, n.Address, err)
		}
		if h == nil {
			return n, fmt.Errorf("node %q: address %q has unsupported scheme %q: use unix://, tcp://, docker-container:// or kube-pod://", n.Name, n.Address, u.Scheme)
		}
	}
	if n.TLS != nil {
		if u.Scheme != "tcp" {
			return n, fmt.Errorf("node %q: TLS settings need a tcp:// address, not %q", n.Name, n.Address)
		}
		if (n.TLS.Cert == "") != (n.TLS.Key == "") {
			return n, fmt.Errorf("node %q: TLS client Cert and Key go together (cert %q, key %q)", n.Name, n.TLS.Cert, n.TLS.Key)
		}
		for _, f := range []string{n.TLS.CACert, n.TLS.Cert, n.TLS.Key} {
			if f == "" {
				continue
			}
			if _, err := os.Stat(f); err != nil {
				return n, fmt.Errorf("node %q: TLS file: %w", n.Name, err)
			}
		}
	}
	for i, p := range n.Platforms {
		if p.OS == "" || p.Architecture == "" {
			return n, fmt.Errorf("node %q: native platform %d (%+v) needs os and architecture", n.Name, i, p)
		}
		n.Platforms[i] = platforms.Normalize(p)
	}
	return n, nil
}

// clientOpts turns the node's TLS settings into BuildKit client options.
func (n Node) clientOpts() []client.ClientOpt {
	if n.TLS == nil {
		return nil
	}
	serverName := n.TLS.ServerName
	if serverName == "" {
		if u, err := url.Parse(n.Address); err == nil {
			serverName = u.Hostname()
		}
	}
	var opts []client.ClientOpt
	if n.TLS.CACert != "" {
		opts = append(opts, client.WithServerConfig(serverName, n.TLS.CACert))
	} else {
		opts = append(opts, client.WithServerConfigSystem(serverName))
	}
	if n.TLS.Cert != "" {
		opts = append(opts, client.WithCredentials(n.TLS.Cert, n.TLS.Key))
	}
	return opts
}

// node is a connected node.
type node struct {
	info NodeInfo
	c    *client.Client

	cacheMu      sync.Mutex
	cacheSupport *cache.Support // the daemon's answer, nil until a probe succeeded
	// probeCache asks the daemon which cache backends it has. Default: cache.Probe.
	probeCache func(context.Context) (cache.Support, error)
}

// checkCache reports a cache backend of cfg that the node's daemon lacks, before any
// build work. The daemon is asked on the first build with a cache (cache.Probe) and
// the answer kept; a failed probe (a cancelled build, a daemon restarting) is not
// kept, so the next build asks again.
func (nd *node) checkCache(ctx context.Context, cfg cache.Config) error {
	nd.cacheMu.Lock()
	defer nd.cacheMu.Unlock()
	if nd.cacheSupport == nil {
		probe := nd.probeCache
		if probe == nil {
			probe = func(ctx context.Context) (cache.Support, error) { return cache.Probe(ctx, nd.c) }
		}
		s, err := probe(ctx)
		if err != nil {
			return fmt.Errorf("node %q: ask which cache backends it has: %w", nd.info.Name, err)
		}
		nd.cacheSupport = &s
	}
	if err := cfg.CheckSupport(*nd.cacheSupport); err != nil {
		return fmt.Errorf("%w: node %q: %w", ErrInvalidRequest, nd.info.Name, err)
	}
	return nil
}

// connect dials the node and lists its workers, bounded by timeout.
func connect(ctx context.Context, n Node, timeout time.Duration) (*node, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := client.New(ctx, n.Address, n.clientOpts()...)
	if err != nil {
		return nil, fmt.Errorf("%w: node %q at %s: %w", ErrNodeUnreachable, n.Name, n.Address, err)
	}
	nd := &node{info: NodeInfo{Node: n}, c: c}
	if err := nd.refresh(ctx); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: node %q at %s did not answer within %s (is buildkitd running there?): %w", ErrNodeUnreachable, n.Name, n.Address, timeout, err)
		}
		return nil, fmt.Errorf("%w: node %q at %s: %w (%s)", ErrNodeUnreachable, n.Name, n.Address, err, connectHint(err, n.TLS != nil))
	}
	return nd, nil
}

// connectHint suggests the likely fix for a failed connection.
func connectHint(err error, tls bool) string {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"tls", "x509", "certificate", "handshake"} {
		if strings.Contains(msg, s) {
			return "check the node's TLS settings: CACert must sign the server certificate, ServerName must match it, and Cert/Key must be a client certificate the daemon's CA accepts"
		}
	}
	if tls {
		// TLS 1.3 reports a refused client certificate after the handshake, so the
		// client may see only a broken connection.
		return "is buildkitd running there, and do the node's TLS settings match it: CA, ServerName, client Cert/Key?"
	}
	return "is buildkitd running there and listening on that address?"
}

// refresh asks the node for its workers' platforms.
func (nd *node) refresh(ctx context.Context) error {
	ws, err := nd.c.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("list workers: %w", err)
	}
	var all []ocispec.Platform
	for _, w := range ws {
		for _, p := range w.Platforms {
			p = platforms.Normalize(p)
			if !slices.ContainsFunc(all, func(q ocispec.Platform) bool { return platforms.OnlyStrict(p).Match(q) }) {
				all = append(all, p)
			}
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("node %q at %s reports no worker platforms", nd.info.Name, nd.info.Address)
	}
	nd.info.Workers = all
	nd.info.Native = nd.info.Platforms
	if len(nd.info.Native) == 0 {
		nd.info.Native = all[:1]
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
