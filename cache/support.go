package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
)

// Support is what a BuildKit daemon offers for caches.
type Support struct {
	// Version is the BuildKit version the daemon reports ("v0.34.2"; a daemon built
	// without version stamping reports "v0.0.0+unknown").
	Version string `json:"version,omitempty"`
	// Exporters lists the cache backends the daemon can export to. It imports from the
	// same backends except inline (buildkitd registers both sets together).
	Exporters []Type `json:"exporters"`
	// Probed is true when Exporters came from asking the daemon, false when they come
	// from the documented list for Version ([SupportFor]).
	Probed bool `json:"probed"`
}

// since is the first BuildKit release of each backend, from BuildKit's release notes:
// registry, local and inline predate v0.8; gha came in v0.9.0; s3 and azblob in v0.11.0.
var since = map[Type][3]int{
	TypeRegistry: {0, 0, 0},
	TypeLocal:    {0, 0, 0},
	TypeInline:   {0, 0, 0},
	TypeGHA:      {0, 9, 0},
	TypeS3:       {0, 11, 0},
	TypeAzBlob:   {0, 11, 0},
}

// SupportFor returns the documented backends of a buildkitd of the given version. A
// version that cannot be read (such as "v0.0.0+unknown" from an unstamped build) is
// taken to be current: every backend.
func SupportFor(version string) Support {
	s := Support{Version: version}
	v, ok := parseVersion(version)
	for _, t := range Types {
		if !ok || !less(v, since[t]) {
			s.Exporters = append(s.Exporters, t)
		}
	}
	return s
}

// Probe asks the daemon c is connected to which cache backends it has. BuildKit's
// Info call reports only the daemon's version and ListWorkers nothing about caches
// (v0.34.2), so Probe sends, per backend, a solve request that the daemon turns down
// while configuring the cache exporter, before any build work: "unknown cache
// exporter" means the backend is missing, any other refusal that it exists. Each probe
// is paired with an empty registry export, so that even a backend that accepts empty
// settings fails fast. When the daemon answers in a way Probe cannot read, it falls
// back to [SupportFor] the reported version (Probed false).
func Probe(ctx context.Context, c *client.Client) (Support, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return Support{}, fmt.Errorf("cache: asking the BuildKit daemon for its version: %w", err)
	}
	return probeAll(ctx, c.ControlClient(), info.BuildkitVersion.Version)
}

func probeAll(ctx context.Context, cc controlapi.ControlClient, version string) (Support, error) {
	s := Support{Version: version, Probed: true}
	for _, t := range Types {
		has, err := probe(ctx, cc, t)
		if err != nil {
			if ctx.Err() != nil {
				return Support{}, fmt.Errorf("cache: probing the BuildKit daemon for %s: %w", t, ctx.Err())
			}
			return SupportFor(version), nil
		}
		if has {
			s.Exporters = append(s.Exporters, t)
		}
	}
	return s, nil
}

// probeAttrs make each exporter's configuration fail without touching the network.
var probeAttrs = map[Type]map[string]string{
	TypeS3:     {"bucket": "probe", "region": "probe", "upload_parallelism": "probe"},
	TypeAzBlob: {"account_url": "%"},
}

func probe(ctx context.Context, cc controlapi.ControlClient, t Type) (bool, error) {
	exports := []*controlapi.CacheOptionsEntry{{Type: string(t), Attrs: probeAttrs[t]}}
	if t != TypeRegistry {
		exports = append(exports, &controlapi.CacheOptionsEntry{Type: string(TypeRegistry)})
	}
	_, err := cc.Solve(ctx, &controlapi.SolveRequest{
		Ref:   "multiarch-cache-probe-" + identity.NewID(),
		Cache: &controlapi.CacheOptions{Exports: exports},
	})
	switch {
	case err == nil:
		return false, errors.New("probe solve was accepted")
	case strings.Contains(err.Error(), "unknown cache exporter: "+strconv.Quote(string(t))):
		return false, nil
	case strings.Contains(err.Error(), "failed to configure"),
		strings.Contains(err.Error(), "failed to create azblob config"):
		return true, nil
	}
	return false, err
}

// CheckSupport reports every entry of c whose backend the daemon lacks, as
// [*EntryError]s wrapping [ErrUnsupported], joined; nil when all are there.
func (c Config) CheckSupport(s Support) error {
	var errs []error
	check := func(export bool, i int, e Entry) {
		t := e.Type()
		if t == "" || slices.Contains(s.Exporters, t) {
			return
		}
		how := "asked"
		if !s.Probed {
			how = "by the documented list for its version"
		}
		errs = append(errs, &EntryError{Export: export, Index: i, Type: t, Err: fmt.Errorf(
			"%w: BuildKit %s has no %s cache (%s; it has %v); upgrade the daemon (gha needs v0.9+, s3 and azblob v0.11+) or use a registry cache",
			ErrUnsupported, s.Version, t, how, s.Exporters)})
	}
	for i, e := range c.Import {
		check(false, i, e)
	}
	for i, e := range c.Export {
		check(true, i, e)
	}
	return errors.Join(errs...)
}

// Check probes the daemon and checks c against it: [Probe] then [Config.CheckSupport].
// Call it before a build, once per node.
func (c Config) Check(ctx context.Context, bk *client.Client) error {
	s, err := Probe(ctx, bk)
	if err != nil {
		return err
	}
	return c.CheckSupport(s)
}

func parseVersion(v string) ([3]int, bool) {
	v, _, _ = strings.Cut(strings.TrimPrefix(v, "v"), "+")
	v, _, _ = strings.Cut(v, "-")
	parts := strings.Split(v, ".")
	var out [3]int
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, false
		}
		out[i] = n
	}
	if out == [3]int{} { // v0.0.0: unstamped build
		return out, false
	}
	return out, true
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
