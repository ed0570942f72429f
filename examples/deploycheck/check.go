package deploycheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// ErrNotDeployable is wrapped by Check's error when the image must not be rolled out
// to the fleet: a missing platform, a config or binary of the wrong platform.
var ErrNotDeployable = errors.New("not deployable")

// Options configures Check. The zero value reads registries with the Docker
// keychain, scans every fleet platform's image with smoke's defaults, two images at
// a time, and logs nothing.
type Options struct {
	// Client reads manifests and image configs. Default: a manifest.Client with the
	// Docker keychain (TLS for every registry but loopback ones).
	Client *manifest.Client
	// Remote are the go-containerregistry options the scan reads layers with
	// (credentials, transport). Default: the Docker keychain. The context of Check
	// always applies.
	Remote []remote.Option
	// Scan configures the ELF scan (paths to ignore, object files). Default: smoke's.
	Scan smoke.ScanOptions
	// NoScan skips the ELF scan: only the index and the configs are checked, with a
	// few small requests instead of reading every layer. Default: false.
	NoScan bool
	// Jobs bounds the images scanned at once. Default: 2.
	Jobs int
	// Logger receives what is checked, at debug level. Default: none.
	Logger *slog.Logger
}

// Report is what Check found.
type Report struct {
	// Ref is the reference given; Pinned is the same repository at the digest that
	// was checked ("registry/repo@sha256:..."): deploy Pinned.
	Ref    string `json:"ref"`
	Pinned string `json:"pinned"`
	// Index is false when Ref names a single image rather than an index.
	Index bool `json:"index"`
	// Platforms are the runnable platforms the image offers (attestations excluded).
	Platforms []string `json:"platforms"`
	// Fleet are the platforms checked for.
	Fleet []string `json:"fleet"`
	// Scanned are the platforms whose image's binaries were scanned.
	Scanned []string `json:"scanned,omitempty"`
	// Findings are the binaries built for another architecture than their image's.
	Findings []smoke.Finding `json:"findings,omitempty"`
	// Problems describe, one line each, why the image is not deployable.
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the image may be rolled out to the fleet.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// BinaryMismatchError: the image of Platform holds ELF files that Platform cannot
// run. Findings name each file, its layer and what it is built for.
type BinaryMismatchError struct {
	Ref      string // the platform image, repository@sha256:...
	Platform ocispec.Platform
	Findings []smoke.Finding
}

func (e *BinaryMismatchError) Error() string {
	s := fmt.Sprintf("%s (%s): %d binaries built for another architecture", e.Ref, platforms.Format(e.Platform), len(e.Findings))
	if len(e.Findings) > 0 {
		s += ", first " + e.Findings[0].String()
	}
	return s + ": rebuild the image so each platform's stage builds or copies binaries for $TARGETPLATFORM"
}

// Check reads ref (an index, or a single image) and checks it against the fleet's
// platforms: every one present (matched as containerd/platforms does: linux/arm64
// and linux/arm64/v8 are one platform), every child's config declaring the platform
// it is listed under, and, unless Options.NoScan, every binary of each fleet
// platform's image built for that platform.
//
// The error wraps ErrNotDeployable, and the errors found (errors.As finds
// *manifest.MissingPlatformError, *manifest.PlatformMismatchError,
// *BinaryMismatchError), when the image must not be rolled out; any other error
// means the check could not run. The Report says what was found either way, as far
// as the check went.
func Check(ctx context.Context, ref string, fleet []ocispec.Platform, opts Options) (*Report, error) {
	rep := &Report{Ref: ref, Platforms: []string{}}
	if len(fleet) == 0 {
		return rep, fmt.Errorf("deploycheck %s: no fleet platforms given: name the platforms the image is deployed to", ref)
	}
	for _, p := range fleet {
		rep.Fleet = append(rep.Fleet, platforms.Format(p))
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := opts.Client
	if c == nil {
		c = &manifest.Client{Logger: opts.Logger}
	}

	// Resolve the tag once; everything below reads that digest.
	desc, err := c.Inspect(ctx, ref)
	if err != nil {
		return rep, fmt.Errorf("deploycheck %s: %w", ref, err)
	}
	pinned, err := pin(ref, desc.Digest.String())
	if err != nil {
		return rep, err
	}
	rep.Pinned, rep.Index, rep.Platforms = pinned, desc.Index, desc.Platforms
	log.Debug("deploycheck: resolved", "ref", ref, "pinned", pinned, "platforms", desc.Platforms)

	format := manifest.OCI
	if desc.MediaType == types.DockerManifestList || desc.MediaType == types.DockerManifestSchema2 {
		format = manifest.Docker
	}
	ix, err := c.Assemble(ctx, manifest.Request{Children: []manifest.Child{{Ref: pinned}}, Format: format})
	if err != nil {
		return rep, fmt.Errorf("deploycheck %s: %w", ref, err)
	}
	var problems []error
	if err := manifest.Verify(ix, fleet...); err != nil {
		problems = append(problems, split(err)...)
	}
	if !opts.NoScan {
		found, err := scan(ctx, ix, fleet, opts, rep, log)
		if err != nil {
			return rep, fmt.Errorf("deploycheck %s: %w", ref, err)
		}
		problems = append(problems, found...)
	}
	if len(problems) == 0 {
		return rep, nil
	}
	for _, p := range problems {
		rep.Problems = append(rep.Problems, p.Error())
	}
	return rep, fmt.Errorf("%w: %s for fleet %v: %w", ErrNotDeployable, pinned, rep.Fleet, errors.Join(problems...))
}

// scan reads the image of every entry whose listed platform the fleet runs and
// returns a *BinaryMismatchError for each with findings, in entry order.
func scan(ctx context.Context, ix *manifest.Index, fleet []ocispec.Platform, opts Options, rep *Report, log *slog.Logger) ([]error, error) {
	ro := opts.Remote
	if ro == nil {
		ro = []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 2
	}
	wanted := platforms.Any(fleet...)
	var entries []manifest.Entry
	for _, e := range ix.Entries {
		if !e.Attestation() && e.Descriptor.MediaType.IsImage() && wanted.Match(e.Platform()) {
			entries = append(entries, e)
		}
	}
	found := make([]error, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	// Built once, then only read: goroutines appending to a shared slice with spare
	// capacity would write the same element at once.
	ro = append(slices.Clone(ro), remote.WithContext(gctx))
	for i, e := range entries {
		g.Go(func() error {
			p := e.Platform()
			img, err := remote.Image(e.Source, ro...)
			if err != nil {
				return fmt.Errorf("read %s (%s) for the scan: %w", e.Source, platforms.Format(p), err)
			}
			fs, err := opts.Scan.Scan(gctx, img, p)
			if err != nil {
				return fmt.Errorf("scan %s (%s): %w", e.Source, platforms.Format(p), err)
			}
			log.Debug("deploycheck: scanned", "image", e.Source.String(), "platform", platforms.Format(p), "findings", len(fs))
			if len(fs) > 0 {
				found[i] = &BinaryMismatchError{Ref: e.Source.String(), Platform: p, Findings: fs}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []error
	for i, e := range entries {
		rep.Scanned = append(rep.Scanned, platforms.Format(e.Platform()))
		if found[i] != nil {
			out = append(out, found[i])
			var bm *BinaryMismatchError
			errors.As(found[i], &bm)
			rep.Findings = append(rep.Findings, bm.Findings...)
		}
	}
	return out, nil
}

// split unwraps the joined errors of manifest.Verify.
func split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
