package registrytest

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is a running in-process OCI registry on 127.0.0.1, plain HTTP.
//
// It is safe for concurrent use. Its zero value is not usable: create it
// with [New] in tests or [NewServer] in programs.
type Registry struct {
	srv    *httptest.Server
	blobs  *blobStore
	cfg    config
	logger *slog.Logger

	mu       sync.Mutex
	requests []Request
	faults   []*faultState
	fired    int // requests hit by faults, removed ones included
	rng      *rand.Rand
	tokens   map[string]bool
	seedKey  string // value of seedHeader that exempts seeding requests
}

// Option configures a Registry.
type Option func(*config)

type config struct {
	auth       authMode
	user, pass string
	noMount    bool
	sharedBlob bool
	seed       uint64
	logger     *slog.Logger
	faults     []Fault
}

// WithBasicAuth makes every /v2/ request require HTTP basic auth with the
// given user and password (401 with a Basic challenge otherwise).
// [Registry.RemoteOptions] includes the credentials.
func WithBasicAuth(user, password string) Option {
	return func(c *config) { c.auth, c.user, c.pass = authBasic, user, password }
}

// WithBearerAuth makes every /v2/ request require a bearer token, issued by
// the registry's own token endpoint (/token) in exchange for basic
// credentials user and password, the way Docker Hub and most cloud
// registries work. [Registry.RemoteOptions] includes the credentials.
func WithBearerAuth(user, password string) Option {
	return func(c *config) { c.auth, c.user, c.pass = authBearer, user, password }
}

// WithoutMount makes the registry ignore cross-repository mount requests
// (POST .../blobs/uploads/?mount=...&from=...), answering with an ordinary
// upload session, as registries that do not support mounting do. Clients
// must then copy the blob.
func WithoutMount() Option { return func(c *config) { c.noMount = true } }

// WithSharedBlobs makes every blob visible in every repository, as
// go-containerregistry's pkg/registry does on its own. By default blobs
// are scoped to the repository they were pushed to (like real registries),
// so cross-repository copies and mounts are observable.
func WithSharedBlobs() Option { return func(c *config) { c.sharedBlob = true } }

// WithSeed sets the seed of the random source used to pick requests for
// fractional faults, making a test reproducible. Default: a random seed.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLogger sends the registry's request log to l at debug level.
// Default: no logging.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithFault injects f from the start; see [Registry.Inject].
func WithFault(f Fault) Option { return func(c *config) { c.faults = append(c.faults, f) } }

// New starts a Registry for the test t and closes it when t ends.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	r := NewServer(opts...)
	t.Cleanup(r.Close)
	return r
}

// NewServer starts a Registry listening on 127.0.0.1 on a random port, for
// programs and for tests that manage its lifetime. Call Close to stop it.
// Like [httptest.NewServer], it panics if it cannot listen.
func NewServer(opts ...Option) *Registry {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.seed == 0 {
		c.seed = rand.Uint64()
	}
	r := &Registry{
		cfg:    c,
		blobs:  newBlobStore(c.sharedBlob),
		rng:    rand.New(rand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15)),
		tokens: map[string]bool{},
	}
	r.seedKey = fmt.Sprintf("%016x", r.rng.Uint64()^rand.Uint64())
	for _, f := range c.faults {
		r.Inject(f)
	}
	logw := io.Discard
	if c.logger != nil {
		r.logger = c.logger
		logw = slogWriter{c.logger}
	}
	inner := registry.New(
		registry.Logger(log.New(logw, "", 0)),
		registry.WithReferrersSupport(true),
		registry.WithBlobHandler(r.blobs),
	)
	// The server's own error log (bad requests, dropped connections) goes where the
	// registry's log goes: a library never writes to stderr unasked.
	r.srv = httptest.NewUnstartedServer(r.handler(inner))
	r.srv.Config.ErrorLog = log.New(logw, "", 0)
	r.srv.Start()
	return r
}

// Close shuts the registry down and blocks until all requests finish.
func (r *Registry) Close() { r.srv.Close() }

// Host returns "127.0.0.1:PORT", the registry part of references.
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// URL returns the base URL, "http://127.0.0.1:PORT".
func (r *Registry) URL() string { return r.srv.URL }

// Repository returns the repository repo (for example "team/app") on this
// registry, marked insecure so go-containerregistry uses plain HTTP.
// It panics if repo is not a valid repository name.
func (r *Registry) Repository(repo string) name.Repository {
	n, err := name.NewRepository(r.Host()+"/"+repo, name.Insecure)
	if err != nil {
		panic("registrytest: " + err.Error())
	}
	return n
}

// Reference parses ref, relative to this registry ("team/app:v1" or
// "team/app@sha256:..."), as an insecure go-containerregistry reference.
func (r *Registry) Reference(ref string) (name.Reference, error) {
	return name.ParseReference(r.Host()+"/"+ref, name.Insecure)
}

// Authenticator returns the credentials the registry requires, or
// [authn.Anonymous] when it requires none.
func (r *Registry) Authenticator() authn.Authenticator {
	if r.cfg.auth == authNone {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.cfg.user, Password: r.cfg.pass}
}

// Client returns an *http.Client whose transport reaches the registry.
func (r *Registry) Client() *http.Client { return r.srv.Client() }

// RemoteOptions returns the go-containerregistry remote options that reach
// this registry: its transport and, when auth is required, its credentials.
// Add remote.WithContext and others as needed.
func (r *Registry) RemoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithTransport(r.srv.Client().Transport),
		remote.WithAuth(r.Authenticator()),
	}
}

// seedOptions are the options seeding uses: the same transport with a
// header that exempts the request from counting, faults and auth.
func (r *Registry) seedOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(seedTransport{r.srv.Client().Transport, r.seedKey}),
	}
}

const seedHeader = "X-Registrytest-Seed"

type seedTransport struct {
	base http.RoundTripper
	key  string
}

func (s seedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(seedHeader, s.key)
	return s.base.RoundTrip(req)
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)), "component", "registrytest")
	return len(p), nil
}
