package smoke

import (
	"log/slog"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Option configures Run and NewBuildKitRunner; each ignores the options it has no use for.
type Option func(*options)

type options struct {
	logger      *slog.Logger
	concurrency int
	remote      []remote.Option
	dockerDir   string
}

func makeOptions(opts []Option) options {
	o := options{concurrency: 4}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// WithLogger logs what is run and how long it took at debug level. Default: no logs.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithConcurrency sets how many platforms Run tests at once. Default: 4.
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.concurrency = n
		}
	}
}

// WithRemoteOptions sets the go-containerregistry options Run uses to read images for
// targets and run file, metadata and scan tests (credentials, transport); the context
// given to Run always applies. Default: the Docker config's credentials
// (remote.WithAuthFromKeychain(authn.DefaultKeychain)).
func WithRemoteOptions(ro ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, ro...) }
}

// WithDockerConfigDir makes NewBuildKitRunner offer the daemon the registry credentials of
// the Docker config in dir, for pulling the images it runs. Default: the Docker config
// of DOCKER_CONFIG, else ~/.docker.
func WithDockerConfigDir(dir string) Option { return func(o *options) { o.dockerDir = dir } }
