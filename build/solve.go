package build

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Result is what a Build made: one Image per requested platform that succeeded, in
// the order of Request.Platforms.
type Result struct {
	Images []Image `json:"images"`
}

// Image is one platform's build.
type Image struct {
	Platform ocispec.Platform `json:"platform"`
	// Ref is "<repository>@sha256:..." when the request pushed, else empty.
	Ref string `json:"ref,omitempty"`
	// Digest and Descriptor are those of the image manifest BuildKit exported (an
	// index instead when attestations were requested).
	Digest     digest.Digest      `json:"digest,omitempty"`
	Descriptor ocispec.Descriptor `json:"descriptor"`
	// Node is the name of the node that built it.
	Node string `json:"node"`
	// Emulated is true when that node ran the platform through emulation (QEMU).
	Emulated bool `json:"emulated"`
	// Duration is the solve's wall time, export and push included.
	Duration time.Duration `json:"duration"`
	Cache    CacheStats    `json:"cache"`
}

// errOtherFailed cancels the remaining solves under CancelOthers.
var errOtherFailed = errors.New("another platform failed")

// Build validates req, routes each platform to a node and runs one solve per platform,
// in parallel. On failure it returns the images that were built along with an error
// wrapping one *PlatformError per failed platform (solves cancelled because another
// platform failed are not reported). Requests that cannot work are rejected with
// ErrInvalidRequest before anything reaches BuildKit.
func (b *Builder) Build(ctx context.Context, req Request) (*Result, error) {
	nodes := b.Nodes()
	c, err := validate(req, nodes[0].Native[0])
	if err != nil {
		return nil, err
	}
	plan, err := route(nodes, c.Platforms)
	if err != nil {
		return nil, err
	}
	for _, a := range plan {
		b.logger.Info("platform routed", "platform", platforms.Format(a.Platform), "node", nodes[a.Node].Name, "emulated", a.Emulated)
	}
	if len(req.Cache.Import)+len(req.Cache.Export) > 0 {
		checked := map[int]bool{}
		for _, a := range plan {
			if !checked[a.Node] {
				checked[a.Node] = true
				if err := b.nodes[a.Node].checkCache(ctx, req.Cache); err != nil {
					return nil, err
				}
			}
		}
	}

	var display chan *client.SolveStatus
	var displayDone chan error
	if req.Progress != nil {
		mode := progressui.DisplayMode(req.ProgressMode)
		if mode == "" {
			mode = progressui.PlainMode
		}
		d, err := progressui.NewDisplay(req.Progress, mode)
		if err != nil {
			return nil, fmt.Errorf("%w: progress display: %w", ErrInvalidRequest, err)
		}
		display, displayDone = make(chan *client.SolveStatus, 64), make(chan error, 1)
		go func() {
			_, err := d.UpdateFrom(context.Background(), display)
			displayDone <- err
		}()
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	images := make([]*Image, len(plan))
	errs := make([]error, len(plan))
	g := new(errgroup.Group)
	if b.concurrency > 0 {
		g.SetLimit(b.concurrency)
	}
	for i, a := range plan {
		g.Go(func() error {
			img, err := b.solve(runCtx, c, a, nodes[a.Node], display)
			if err != nil {
				if req.OnFailure == CancelOthers && context.Cause(runCtx) == errOtherFailed && ctx.Err() == nil {
					return nil // cancelled by another platform's failure
				}
				errs[i] = err
				if req.OnFailure == CancelOthers {
					cancel(errOtherFailed)
				}
				return nil
			}
			images[i] = img
			return nil
		})
	}
	_ = g.Wait()
	if display != nil { // every solve has returned, so nothing sends to it any more
		close(display)
		<-displayDone
	}
	res := &Result{}
	for _, img := range images {
		if img != nil {
			res.Images = append(res.Images, *img)
		}
	}
	return res, errors.Join(errs...)
}

// solve runs one platform's solve on its node.
func (b *Builder) solve(ctx context.Context, c *checked, a assignment, n NodeInfo, display chan<- *client.SolveStatus) (*Image, error) {
	perr := func(err error) error {
		return &PlatformError{Platform: a.Platform, Node: n.Name, Err: err}
	}
	opt, err := solveOpt(c, a.Platform, b.dockerConfigDir)
	if err != nil {
		return nil, perr(err)
	}
	nd := b.nodes[a.Node] // route indexes the same node list, in the same order
	tr := newTracker()
	ch := make(chan *client.SolveStatus)
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for s := range ch {
			tr.update(s)
			if display != nil {
				display <- prefixed(s, a.Platform)
			}
			if c.Status != nil {
				select {
				case c.Status <- Status{Platform: a.Platform, Node: n.Name, SolveStatus: s}:
				case <-ctx.Done():
				}
			}
		}
	}()
	start := time.Now()
	b.logger.Info("solve started", "platform", platforms.Format(a.Platform), "node", n.Name)
	resp, err := nd.c.Solve(ctx, nil, opt, ch) // closes ch
	dur := time.Since(start)
	<-forwarded
	if err != nil {
		b.logger.Info("solve failed", "platform", platforms.Format(a.Platform), "node", n.Name, "error", err)
		step, log := tr.failedStep()
		return nil, &PlatformError{Platform: a.Platform, Node: n.Name, Step: step, Log: log, Hint: hintFor(err, c), Err: err}
	}
	img := &Image{Platform: a.Platform, Node: n.Name, Emulated: a.Emulated, Duration: dur, Cache: tr.stats()}
	if err := readExporterResponse(resp.ExporterResponse, img); err != nil {
		return nil, perr(err)
	}
	if c.Push != "" {
		if img.Digest == "" {
			return nil, perr(fmt.Errorf("BuildKit pushed to %s but returned no %s", c.Push, exptypes.ExporterImageDigestKey))
		}
		img.Ref = c.repo.Name() + "@" + img.Digest.String()
	}
	b.logger.Info("solve done", "platform", platforms.Format(a.Platform), "node", n.Name, "digest", img.Digest,
		"duration", dur, "cached", img.Cache.Cached, "executed", img.Cache.Executed)
	return img, nil
}

// readExporterResponse takes the image digest and descriptor from BuildKit's
// exporter response.
func readExporterResponse(resp map[string]string, img *Image) error {
	if s := resp[exptypes.ExporterImageDigestKey]; s != "" {
		d, err := digest.Parse(s)
		if err != nil {
			return fmt.Errorf("exporter response %s=%q: %w", exptypes.ExporterImageDigestKey, s, err)
		}
		img.Digest = d
	}
	if s := resp[exptypes.ExporterImageDescriptorKey]; s != "" {
		dt, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("exporter response %s: %w", exptypes.ExporterImageDescriptorKey, err)
		}
		if err := json.Unmarshal(dt, &img.Descriptor); err != nil {
			return fmt.Errorf("exporter response %s: %w", exptypes.ExporterImageDescriptorKey, err)
		}
		if img.Digest == "" {
			img.Digest = img.Descriptor.Digest
		}
		if img.Descriptor.Digest != img.Digest {
			return fmt.Errorf("exporter response: descriptor digest %s differs from image digest %s", img.Descriptor.Digest, img.Digest)
		}
	}
	return nil
}
