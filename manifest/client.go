package manifest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Client reads and writes image manifests in registries through
// go-containerregistry. Its zero value is ready to use: credentials from
// [authn.DefaultKeychain] (the Docker config and credential helpers),
// [remote.DefaultTransport], TLS for every registry except loopback ones,
// 4 parallel requests and the [Retry] defaults.
//
// A Client keeps authenticated connections between calls, so Assemble
// followed by Publish reuses them. Do not copy a Client after first use.
type Client struct {
	// Keychain resolves credentials. Default: authn.DefaultKeychain.
	Keychain authn.Keychain
	// Transport carries the requests. Default: remote.DefaultTransport.
	Transport http.RoundTripper
	// Insecure lists registry hosts ("host:port") reached over plain HTTP.
	// Loopback hosts (127.0.0.0/8, [::1], localhost) always are; every
	// other host, private addresses included, gets TLS.
	Insecure []string
	// Retry says how transient registry errors are retried.
	Retry Retry
	// Jobs bounds concurrent registry requests. Default 4.
	Jobs int
	// Logger receives debug logs. Default: none.
	Logger *slog.Logger

	once   sync.Once
	err    error
	puller *remote.Puller
	pusher *remote.Pusher
}

// Retry is the backoff for transient registry errors: 5xx, 429, 408 and
// dropped or reset connections. 4xx answers (401, 403, 404, ...) are never
// retried. The zero value means 4 attempts, waiting 200ms, then 600ms, then
// 1.8s (Factor 3, 10% jitter).
type Retry struct {
	Attempts int           // total tries of one request, first included; 1 disables retries
	Initial  time.Duration // wait before the second try
	Factor   float64       // growth of the wait per try
}

// backoff returns the go-containerregistry backoff for r.
func (r Retry) backoff() remote.Backoff {
	b := remote.Backoff{Duration: 200 * time.Millisecond, Factor: 3, Jitter: 0.1, Steps: 4}
	if r.Attempts > 0 {
		b.Steps = r.Attempts
	}
	if r.Initial > 0 {
		b.Duration = r.Initial
	}
	if r.Factor > 0 {
		b.Factor = r.Factor
	}
	return b
}

// retryStatus are the HTTP statuses retried: transient server errors and
// rate limiting, never client or auth errors.
var retryStatus = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests,
	http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// transient reports whether err is worth retrying: a transient HTTP status
// or a broken connection.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return slices.Contains(retryStatus, terr.StatusCode)
	}
	var nerr net.Error
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || (errors.As(err, &nerr) && nerr.Timeout())
}

func (c *Client) init() error {
	c.once.Do(func() {
		kc := c.Keychain
		if kc == nil {
			kc = authn.DefaultKeychain
		}
		base := c.Transport
		if base == nil {
			base = remote.DefaultTransport
		}
		jobs := c.Jobs
		if jobs <= 0 {
			jobs = 4
		}
		opts := []remote.Option{
			remote.WithAuthFromKeychain(kc),
			remote.WithTransport(&tlsOnly{base: base, insecure: c.Insecure}),
			remote.WithJobs(jobs),
			remote.WithRetryBackoff(c.Retry.backoff()),
			remote.WithRetryStatusCodes(retryStatus...),
			remote.WithRetryPredicate(transient),
			remote.WithUserAgent("multiarch-manifest"),
		}
		if c.puller, c.err = remote.NewPuller(opts...); c.err != nil {
			return
		}
		c.pusher, c.err = remote.NewPusher(opts...)
	})
	return c.err
}

func (c *Client) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) jobs() int {
	if c.Jobs > 0 {
		return c.Jobs
	}
	return 4
}

// parse parses a reference, marking it insecure (plain HTTP) when its
// registry is listed in c.Insecure.
func (c *Client) parse(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("manifest: reference %q: %w", ref, err)
	}
	if slices.Contains(c.Insecure, r.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

func (c *Client) parseRepo(repo string) (name.Repository, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return name.Repository{}, fmt.Errorf("manifest: repository %q: %w", repo, err)
	}
	if slices.Contains(c.Insecure, r.RegistryStr()) {
		return name.NewRepository(repo, name.Insecure)
	}
	return r, nil
}

// tlsOnly upgrades plain-HTTP requests to HTTPS unless the host is a
// loopback address or listed as insecure. go-containerregistry on its own
// also speaks plain HTTP to private (RFC 1918) addresses.
type tlsOnly struct {
	base     http.RoundTripper
	insecure []string
}

func (t *tlsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !plainHTTPAllowed(req.URL.Host, t.insecure) {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return t.base.RoundTrip(req)
}

// PlainHTTP reports whether c reaches the registry host ("host:port") over plain HTTP:
// loopback hosts (127.0.0.0/8, [::1], localhost) and the hosts in c.Insecure. Others
// get TLS. A program that starts a BuildKit daemon uses it to list the same hosts as
// plain HTTP there.
func (c *Client) PlainHTTP(host string) bool { return plainHTTPAllowed(host, c.Insecure) }

func plainHTTPAllowed(host string, insecure []string) bool {
	if slices.Contains(insecure, host) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
