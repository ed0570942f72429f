package multiarch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/qemu"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// The users' vocabulary, as aliases of the packages' idiomatic names.
type (
	// Builder builds one Dockerfile for several platforms on a fleet of BuildKit nodes.
	Builder = build.Builder
	// CacheConfig is a build's cache: what to import and export, scoped per platform.
	CacheConfig = cache.Config
	// Manifest is an image index (or Docker manifest list) being assembled and verified.
	Manifest = manifest.Index
	// SmokeTest is the suite of checks run against every platform image.
	SmokeTest = smoke.Test
)

// DefaultPlatforms are built when Pipeline.Platforms is empty.
var DefaultPlatforms = []string{"linux/amd64", "linux/arm64"}

// Pipeline is the whole binfmt-to-manifest pipeline for one Dockerfile:
//
//  1. emulation: register QEMU in the local kernel for the platforms that neither this
//     host nor a node's declared Platforms run natively, when a node is local (a
//     unix:// address, or Daemon), and prove each runs (package qemu);
//  2. plan: start Daemon when set (after emulation, so its workers see the
//     emulators), then route each platform to a node, natively or through QEMU;
//  3. build: every platform in parallel, each pushed to Repository by digest, untagged
//     (package build);
//  4. smoke: the Smoke suite and an ELF architecture scan on every platform image
//     (package smoke);
//  5. verify and publish: assemble the index, verify every child's config platform and
//     that every platform is present, then write it under Tags (package manifest).
//
// The rule Run guarantees: no tag moves unless every platform built, passed its smoke
// tests and scan, and verified. On failure the per-platform images stay untagged in
// Repository and the error names the step and the platforms.
//
// The zero value is not runnable: Context and Repository are needed. Every other
// field has a default, written in its comment.
type Pipeline struct {
	// Platforms to build, as containerd/platforms strings. Default: DefaultPlatforms.
	Platforms []string `json:"platforms,omitempty"`

	// Context is the build context directory. Required.
	Context string `json:"context"`
	// Dockerfile is the Dockerfile's path; a relative path is taken from the current
	// directory, not from Context (as build.Request.Dockerfile and docker build -f).
	// Default: "Dockerfile" inside Context.
	Dockerfile string `json:"dockerfile,omitempty"`
	// Target is the stage to build. Default: the last stage.
	Target string `json:"target,omitempty"`
	// Args are build arguments; Labels are set on every image. Default: none.
	Args   map[string]string `json:"args,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`

	// Nodes are the BuildKit daemons to build on. Default: when Daemon is set, the
	// daemon it starts; else one node at build.DefaultAddress ($BUILDKIT_HOST, then
	// the standard socket).
	Nodes []build.Node `json:"nodes,omitempty"`
	// Daemon, when set and Nodes is empty, starts a local buildkitd for the run (after
	// emulation is set up, so its workers see the emulators) and stops it at the end.
	// Repository's registry is added to its plain-HTTP list when it is a loopback or
	// Insecure host. Default: nil, no daemon is started.
	Daemon *build.DaemonConfig `json:"daemon,omitempty"`
	// Emulation configures QEMU registration on this host.
	Emulation Emulation `json:"emulation,omitzero"`

	// Cache is the build cache. Default: none (the daemons' local caches still apply).
	Cache cache.Config `json:"cache,omitzero"`
	// Smoke is run against every platform image before anything is tagged. The ELF
	// architecture scan runs even when Smoke.Scan is nil, unless NoScan is set.
	Smoke  smoke.Test `json:"smoke,omitzero"`
	NoScan bool       `json:"noScan,omitempty"`

	// Repository receives the per-platform images by digest and then the index
	// ("registry.example.com/team/app"). Required.
	Repository string `json:"repository"`
	// Tags are written, all or none, once everything passed. Default: none (the index
	// is written by digest only).
	Tags []string `json:"tags,omitempty"`
	// Format of the index: manifest.OCI (default) or manifest.Docker.
	Format manifest.Format `json:"format,omitempty"`
	// Annotations are set on the index. Default: none.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Insecure lists registry hosts reached over plain HTTP besides loopback ones.
	Insecure []string `json:"insecure,omitempty"`

	// DryRun plans (routing, emulation to register, cache refs) without changing
	// anything: no registration, no daemon, no build, no push.
	DryRun bool `json:"dryRun,omitempty"`

	// Progress receives the build's progress display (ProgressMode: "plain" by
	// default, "tty", "auto", "rawjson") and one line per pipeline step.
	// Default: nothing is written anywhere.
	Progress     io.Writer `json:"-"`
	ProgressMode string    `json:"progressMode,omitempty"`
	// Logger receives the pipeline's and the packages' events. Default: none.
	Logger *slog.Logger `json:"-"`
	// Registry reads and writes manifests. Default: a manifest.Client with the Docker
	// keychain and Insecure.
	Registry *manifest.Client `json:"-"`
}

// Emulation configures the QEMU step.
type Emulation struct {
	// Skip leaves binfmt_misc alone: platforms must then be native to a node or
	// already emulated there. Default: false.
	Skip bool `json:"skip,omitempty"`
	// Binfmt is the binfmt_misc manager used (its Root, InterpreterDirs, flags,
	// Replace). Default: the kernel's, with qemu's defaults.
	Binfmt *qemu.Binfmt `json:"-"`
}

// Step names a stage of the pipeline in results and errors.
type Step string

// The pipeline's steps, in order.
const (
	StepEmulation Step = "emulation"
	StepPlan      Step = "plan"
	StepBuild     Step = "build"
	StepSmoke     Step = "smoke"
	StepVerify    Step = "verify"
	StepPublish   Step = "publish"
)

// StepError is the error of a failed Run: which step, which platforms (none when the
// failure is not tied to a platform) and why. Nothing was tagged.
type StepError struct {
	Step      Step
	Platforms []ocispec.Platform
	Err       error
}

func (e *StepError) Error() string {
	var on string
	if len(e.Platforms) > 0 {
		ps := make([]string, len(e.Platforms))
		for i, p := range e.Platforms {
			ps[i] = platforms.Format(p)
		}
		on = " for " + strings.Join(ps, ", ")
	}
	return fmt.Sprintf("multiarch: %s step failed%s, nothing was tagged: %v", e.Step, on, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// ErrInvalidPipeline is wrapped by the errors of a Pipeline that cannot run.
var ErrInvalidPipeline = errors.New("invalid pipeline")

// checkedPipeline is a validated Pipeline with its parsed values.
type checkedPipeline struct {
	plats []ocispec.Platform
	repo  name.Repository
}

func (p *Pipeline) check() (*checkedPipeline, error) {
	specs := p.Platforms
	if len(specs) == 0 {
		specs = DefaultPlatforms
	}
	plats, err := build.ParsePlatforms(specs...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPipeline, err)
	}
	for i, p := range plats {
		if slices.ContainsFunc(plats[:i], platforms.OnlyStrict(p).Match) {
			return nil, fmt.Errorf("%w: platform %s is listed twice (%q): list each platform once", ErrInvalidPipeline, platforms.Format(p), specs)
		}
	}
	if p.Context == "" {
		return nil, fmt.Errorf("%w: Context (the build context directory) is required", ErrInvalidPipeline)
	}
	if p.Repository == "" {
		return nil, fmt.Errorf("%w: Repository is required: the per-platform images are pushed there by digest before the index is published", ErrInvalidPipeline)
	}
	repo, err := name.NewRepository(p.Repository, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%w: Repository %q: %w", ErrInvalidPipeline, p.Repository, err)
	}
	for _, t := range p.Tags {
		if _, err := name.NewTag(repo.Name()+":"+t, name.StrictValidation); err != nil {
			return nil, fmt.Errorf("%w: tag %q: %w (manifest.SanitizeTag makes a valid one)", ErrInvalidPipeline, t, err)
		}
	}
	if err := p.Smoke.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPipeline, err)
	}
	if err := p.Cache.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPipeline, err)
	}
	return &checkedPipeline{plats: plats, repo: repo}, nil
}

// Run runs the pipeline and returns what it did. On failure the Result holds what was
// done up to the failing step and the error is a *StepError (or wraps
// ErrInvalidPipeline for a Pipeline that cannot run); no tag was written.
func (p *Pipeline) Run(ctx context.Context) (*Result, error) {
	started := time.Now()
	res := &Result{Repository: p.Repository, DryRun: p.DryRun}
	defer func() { res.Duration = time.Since(started) }()

	c, err := p.check()
	if err != nil {
		return res, err
	}
	for _, pl := range c.plats {
		res.Platforms = append(res.Platforms, platforms.Format(pl))
	}
	r := &run{p: p, c: c, res: res, log: p.logger()}
	err = r.all(ctx)
	r.closeAll()
	return res, err
}

// run is the state of one Run.
type run struct {
	p   *Pipeline
	c   *checkedPipeline
	res *Result
	log *slog.Logger

	native  []ocispec.Platform // what this host runs without emulation, once asked
	daemon  *build.Daemon
	builder *build.Builder
	index   *manifest.Index
	mc      *manifest.Client
}

func (r *run) all(ctx context.Context) error {
	if err := r.timed(StepEmulation, func() error { return r.emulation(ctx) }); err != nil {
		return err
	}
	if err := r.timed(StepPlan, func() error { return r.plan(ctx) }); err != nil {
		return err
	}
	if r.p.DryRun {
		r.say("dry run: nothing was registered, built or pushed")
		return nil
	}
	steps := []struct {
		step Step
		fn   func(context.Context) error
	}{{StepBuild, r.build}, {StepSmoke, r.smoke}, {StepVerify, r.verify}, {StepPublish, r.publish}}
	for _, s := range steps {
		if err := r.timed(s.step, func() error { return s.fn(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// timed runs one step, records its duration and turns its error into a *StepError.
func (r *run) timed(step Step, fn func() error) error {
	t := time.Now()
	err := fn()
	r.res.Steps = append(r.res.Steps, StepTiming{Step: step, Duration: time.Since(t)})
	if err == nil {
		return nil
	}
	var se *StepError
	if !errors.As(err, &se) {
		se = &StepError{Step: step, Err: err}
	}
	r.res.Failed = &Failure{Step: se.Step, Error: se.Err.Error()}
	for _, p := range se.Platforms {
		r.res.Failed.Platforms = append(r.res.Failed.Platforms, platforms.Format(p))
	}
	r.say("%s failed: %v", step, err)
	return se
}

func (r *run) say(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.log.Info(msg)
	if r.p.Progress != nil {
		fmt.Fprintf(r.p.Progress, "#multiarch %s\n", msg)
	}
}

// localNodes reports whether the builds run on this host, whose kernel's binfmt_misc
// the emulation step can change: a daemon the pipeline starts, or unix:// nodes.
func (r *run) localNodes() bool {
	if len(r.p.Nodes) == 0 {
		return r.p.Daemon != nil || strings.HasPrefix(build.DefaultAddress(), "unix://")
	}
	for _, n := range r.p.Nodes {
		addr := n.Address
		if addr == "" {
			addr = build.DefaultAddress() // as build.New fills it in
		}
		if strings.HasPrefix(addr, "unix://") {
			return true
		}
	}
	return false
}

// emulation registers QEMU for every wanted platform this host does not run natively
// and that no node declares native, then probes each.
func (r *run) emulation(ctx context.Context) error {
	if r.p.Emulation.Skip || !r.localNodes() {
		return nil
	}
	bf := r.binfmt()
	native, err := r.hostNative(ctx)
	if err != nil {
		return err
	}
	var need []ocispec.Platform
	for _, pl := range r.c.plats {
		if !runsNatively(pl, native) && !declaredNative(pl, r.p.Nodes) {
			need = append(need, pl)
		}
	}
	if len(need) == 0 {
		return nil
	}
	specs := make([]string, len(need))
	for i, pl := range need {
		specs[i] = platforms.Format(pl)
	}
	r.res.Emulated = specs
	if r.p.DryRun {
		r.say("emulation: would make sure QEMU runs %s", strings.Join(specs, ", "))
		return nil
	}
	results, err := bf.Install(ctx, specs...)
	for _, x := range results {
		r.say("emulation: %s %s (%s, flags %s)", platforms.Format(x.Platform), x.Action, x.Interpreter, x.Flags)
	}
	if err != nil {
		return &StepError{Step: StepEmulation, Platforms: need, Err: err}
	}
	probes, err := bf.ProbeAll(ctx, need, 0)
	if err != nil {
		return err
	}
	var broken []ocispec.Platform
	var errs []error
	for _, pr := range probes {
		if pr.Err != nil {
			broken = append(broken, pr.Platform)
			errs = append(errs, pr.Err)
		}
	}
	if len(errs) > 0 {
		return &StepError{Step: StepEmulation, Platforms: broken, Err: errors.Join(errs...)}
	}
	return nil
}

// binfmt is the caller's binfmt_misc manager, else the kernel's.
func (r *run) binfmt() *qemu.Binfmt {
	if r.p.Emulation.Binfmt != nil {
		return r.p.Emulation.Binfmt
	}
	return &qemu.Binfmt{Logger: r.p.Logger}
}

// hostNative returns the platforms this host runs without emulation, asked once a run
// (it executes a probe per companion architecture).
func (r *run) hostNative(ctx context.Context) ([]ocispec.Platform, error) {
	if r.native == nil {
		native, err := r.binfmt().Native(ctx)
		if err != nil {
			return nil, err
		}
		r.native = native
	}
	return r.native, nil
}

// runsNatively reports whether p runs without emulation where native are the native
// platforms: one of them exactly, or another level of the same architecture (amd64/v2 on
// an amd64 host: no emulator can help there, and build's routing treats it as native too).
func runsNatively(p ocispec.Platform, native []ocispec.Platform) bool {
	return slices.ContainsFunc(native, func(n ocispec.Platform) bool {
		return platforms.OnlyStrict(n).Match(p) || (n.OS == p.OS && n.Architecture == p.Architecture)
	})
}

func declaredNative(p ocispec.Platform, nodes []build.Node) bool {
	for _, n := range nodes {
		if runsNatively(p, n.Platforms) {
			return true
		}
	}
	return false
}

// plan connects to the nodes (starting the local daemon first when asked) and routes
// every platform; it also derives the cache refs each platform's solve will use.
func (r *run) plan(ctx context.Context) error {
	nodes := r.p.Nodes
	if len(nodes) == 0 && r.p.Daemon != nil {
		if r.p.DryRun {
			plan, err := r.dryDaemonPlan(ctx)
			if err != nil {
				return err
			}
			r.res.Plan = plan
			return r.cachePlan()
		}
		cfg := *r.p.Daemon
		if host := r.c.repo.RegistryStr(); r.registry().PlainHTTP(host) && !slices.Contains(cfg.InsecureRegistries, host) {
			cfg.InsecureRegistries = append(slices.Clone(cfg.InsecureRegistries), host)
		}
		if cfg.Logger == nil {
			cfg.Logger = r.p.Logger
		}
		d, err := build.StartDaemon(ctx, cfg)
		if err != nil {
			return err
		}
		r.daemon = d
		r.say("started buildkitd at %s", d.Addr())
		nodes = []build.Node{{Name: "local", Address: d.Addr()}}
	}
	b, err := build.New(ctx, nodes, build.WithLogger(r.log))
	if err != nil {
		return err
	}
	r.builder = b
	as, err := b.Plan(r.c.plats)
	if err != nil {
		var nn *build.NoNodeError
		if errors.As(err, &nn) {
			return &StepError{Step: StepPlan, Platforms: []ocispec.Platform{nn.Platform}, Err: err}
		}
		return err
	}
	for _, a := range as {
		r.res.Plan = append(r.res.Plan, PlannedPlatform{Platform: platforms.Format(a.Platform), Node: a.Node, Emulated: a.Emulated})
		how := "natively"
		if a.Emulated {
			how = "under emulation"
		}
		r.say("plan: %s on node %s, %s", platforms.Format(a.Platform), a.Node, how)
	}
	return r.cachePlan()
}

// dryDaemonPlan is the plan of a daemon that a dry run does not start: it runs the
// host's native platforms natively and the rest through the emulators the emulation
// step would register. The host's native platforms are read through Emulation.Binfmt.
func (r *run) dryDaemonPlan(ctx context.Context) ([]PlannedPlatform, error) {
	native, err := r.hostNative(ctx)
	if err != nil {
		return nil, err
	}
	var out []PlannedPlatform
	for _, pl := range r.c.plats {
		out = append(out, PlannedPlatform{Platform: platforms.Format(pl), Node: "local", Emulated: !runsNatively(pl, native)})
	}
	return out, nil
}

func (r *run) cachePlan() error {
	for i := range r.res.Plan {
		pl := r.c.plats[i]
		imports, exports, err := r.p.Cache.Solve(pl, r.c.plats, true)
		if err != nil {
			return &StepError{Step: StepPlan, Platforms: []ocispec.Platform{pl}, Err: err}
		}
		r.res.Plan[i].CacheImports = cacheRefs(imports)
		r.res.Plan[i].CacheExports = cacheRefs(exports)
	}
	return nil
}

func (r *run) build(ctx context.Context) error {
	req := build.Request{
		Context:      r.p.Context,
		Dockerfile:   r.p.Dockerfile,
		Target:       r.p.Target,
		Platforms:    r.c.plats,
		Args:         r.p.Args,
		Labels:       r.p.Labels,
		Cache:        r.p.Cache,
		Push:         r.c.repo.Name(),
		Progress:     r.p.Progress,
		ProgressMode: r.p.ProgressMode,
	}
	out, err := r.builder.Build(ctx, req)
	if out != nil {
		for _, img := range out.Images {
			r.res.Images = append(r.res.Images, imageResult(img))
		}
	}
	if err != nil {
		var failed []ocispec.Platform
		for _, e := range flatten(err) {
			var pe *build.PlatformError
			if errors.As(e, &pe) {
				failed = append(failed, pe.Platform)
			}
		}
		return &StepError{Step: StepBuild, Platforms: failed, Err: err}
	}
	for _, img := range r.res.Images {
		r.say("built %s: %s on %s in %s (%d steps cached, %d run)", img.Platform, img.Digest, img.Node, img.Duration.Round(time.Millisecond), img.Cache.Cached, img.Cache.Executed)
	}
	return nil
}

// flatten unwraps joined errors into their parts.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func (r *run) smoke(ctx context.Context) error {
	suite := r.p.Smoke
	if suite.Scan == nil && !r.p.NoScan {
		suite.Scan = &smoke.ScanOptions{}
	}
	targets := make([]smoke.Target, len(r.res.Images))
	byPlatform := map[string]smoke.Runner{}
	for i, img := range r.res.Images {
		targets[i] = smoke.Target{Platform: platforms.MustParse(img.Platform), Ref: img.Ref}
		byPlatform[img.Platform] = smoke.NewBuildKitRunner(r.builder.Client(img.Node), smoke.WithLogger(r.log))
	}
	rep, err := smoke.Run(ctx, nodeRunner(byPlatform), targets, suite, smoke.WithLogger(r.log))
	r.res.Smoke = rep
	if err != nil {
		return err
	}
	var failed []ocispec.Platform
	for i, t := range rep.Targets {
		ok := t.Error == "" && len(t.Findings) == 0
		for _, x := range t.Results {
			ok = ok && x.Passed
		}
		r.res.Images[i].SmokePassed = ok
		if !ok {
			failed = append(failed, t.Platform)
		}
		r.say("smoke %s: passed=%t (%d checks, %d scan findings)", platforms.Format(t.Platform), ok, len(t.Results), len(t.Findings))
	}
	if len(failed) > 0 {
		return &StepError{Step: StepSmoke, Platforms: failed, Err: rep.Err()}
	}
	return nil
}

// nodeRunner runs each target's commands on the node that built its platform, where
// the image (and, for a foreign platform, the emulator) already is.
type nodeRunner map[string]smoke.Runner

func (n nodeRunner) Run(ctx context.Context, t smoke.Target, c smoke.Command) (smoke.Output, error) {
	r, ok := n[platforms.Format(t.Platform)]
	if !ok {
		return smoke.Output{}, fmt.Errorf("no node built %s", platforms.Format(t.Platform))
	}
	return r.Run(ctx, t, c)
}

// registry is the caller's manifest client, or one made for this run and kept, so
// Publish reuses the connections Assemble opened.
func (r *run) registry() *manifest.Client {
	if r.p.Registry != nil {
		return r.p.Registry
	}
	if r.mc == nil {
		r.mc = &manifest.Client{Insecure: r.p.Insecure, Logger: r.p.Logger}
	}
	return r.mc
}

func (r *run) verify(ctx context.Context) error {
	children := make([]manifest.Child, len(r.res.Images))
	for i, img := range r.res.Images {
		pl := platforms.MustParse(img.Platform)
		children[i] = manifest.Child{Ref: img.Ref, Platform: &pl}
	}
	ix, err := r.registry().Assemble(ctx, manifest.Request{Children: children, Format: r.p.Format, Annotations: r.p.Annotations})
	if err != nil {
		return err
	}
	if err := manifest.Verify(ix, r.c.plats...); err != nil {
		return &StepError{Step: StepVerify, Platforms: mismatched(err), Err: err}
	}
	r.index = ix
	return nil
}

// mismatched lists the platforms that Verify's errors name.
func mismatched(err error) []ocispec.Platform {
	var out []ocispec.Platform
	for _, e := range flatten(err) {
		var pm *manifest.PlatformMismatchError
		var mp *manifest.MissingPlatformError
		switch {
		case errors.As(e, &pm):
			out = append(out, pm.Listed)
		case errors.As(e, &mp):
			out = append(out, mp.Platform)
		}
	}
	return out
}

func (r *run) publish(ctx context.Context) error {
	d, err := r.registry().Publish(ctx, r.index, r.c.repo.Name(), r.p.Tags...)
	if err != nil {
		return err
	}
	mt, _ := r.index.MediaType()
	raw, _ := r.index.RawManifest()
	r.res.Index = &IndexResult{
		Ref:       d.String(),
		Digest:    d.DigestStr(),
		MediaType: string(mt),
		Size:      int64(len(raw)),
	}
	for _, t := range r.p.Tags {
		r.res.Index.Tags = append(r.res.Index.Tags, r.c.repo.Tag(t).String())
	}
	r.say("published %s under %d tag(s)", d, len(r.p.Tags))
	return nil
}

func (r *run) closeAll() {
	if r.builder != nil {
		_ = r.builder.Close()
	}
	if r.daemon != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.daemon.Stop(ctx); err != nil {
			r.log.Warn("stop buildkitd", "err", err)
		}
	}
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}
