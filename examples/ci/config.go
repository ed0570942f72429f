package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// errUsage is wrapped by the errors of flags or an environment the program cannot use.
var errUsage = errors.New("usage")

// config is what one run does, read from flags and the Actions environment.
type config struct {
	Pipeline multiarch.Pipeline
	// Event is the GitHub event name ("push", "pull_request", ...).
	Event string
	// PullRequest is set for pull_request and pull_request_target events: the run
	// pushes by digest only and Pipeline.Tags is empty.
	PullRequest bool
	// Meta is the CI context the tags were computed from.
	Meta manifest.Metadata
	// Computed are the tags the rules give for Meta, short form ("1.2.3", "main");
	// on a pull request they are reported but not written.
	Computed []string
	// Outputs and Summary are the files of $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY
	// ("" when unset: nothing is written); MetadataFile is -metadata-file.
	Outputs, Summary, MetadataFile string
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// mapFlag is a repeatable KEY=VALUE flag.
type mapFlag map[string]string

func (m mapFlag) String() string { return fmt.Sprint(map[string]string(m)) }
func (m mapFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	m[k] = val
	return nil
}

// rawFlags holds the flag values that need the environment or post-processing.
type rawFlags struct {
	platforms, repo, prRepo, buildkitd, smokeFile, progress, format string
	event, ref, sha, defaultBranch, latest, prefix, suffix          string
	cacheFrom, cacheTo, extraTags, insecure                         listFlag
	args, labels                                                    mapFlag
	nodes                                                           build.Nodes
	noSHA, noScan, dryRun, prCacheTo                                bool
}

// newFlagSet declares the program's flags, into c and f; getenv gives the defaults
// that come from the Actions environment.
func newFlagSet(c *config, f *rawFlags, getenv func(string) string) *flag.FlagSet {
	fs := flag.NewFlagSet("ci", flag.ContinueOnError)
	f.args, f.labels = mapFlag{}, mapFlag{}
	p := &c.Pipeline
	fs.StringVar(&f.platforms, "platforms", "linux/amd64,linux/arm64", "platforms to build, comma-separated")
	fs.StringVar(&p.Context, "context", ".", "build context directory")
	fs.StringVar(&p.Dockerfile, "file", "", "Dockerfile (default: Dockerfile in the context)")
	fs.StringVar(&p.Target, "target", "", "stage to build (default: the last)")
	fs.Var(f.args, "build-arg", "build argument `KEY=VALUE` (repeatable)")
	fs.Var(f.labels, "label", "image label `KEY=VALUE` (repeatable; OCI source/revision/version labels are added)")
	fs.StringVar(&f.repo, "repository", "", "repository to push to (default: ghcr.io/$GITHUB_REPOSITORY, lower-cased)")
	fs.StringVar(&f.prRepo, "pr-repository", "", "repository pull requests push to by digest (default: -repository)")
	fs.Var(&f.nodes, "node", "BuildKit node `[name=]address` (repeatable; default: $BUILDKIT_HOST or the standard socket, or -buildkitd)")
	fs.StringVar(&f.buildkitd, "buildkitd", "", "start this buildkitd binary for the run when no -node is given (needs root)")
	fs.Var(&f.cacheFrom, "cache-from", "cache to import, buildx CSV such as `type=registry,ref=REF` (repeatable)")
	fs.Var(&f.cacheTo, "cache-to", "cache to export, buildx CSV such as `type=registry,ref=REF,mode=max` (repeatable)")
	fs.BoolVar(&f.prCacheTo, "pr-cache-to", false, "also export the cache on pull requests (default: import only, so a pull request cannot write the cache that releases build from)")
	fs.StringVar(&f.smokeFile, "smoke", "", "smoke suite, YAML or JSON (default: only the ELF architecture scan)")
	fs.BoolVar(&f.noScan, "no-scan", false, "skip the ELF architecture scan")
	fs.Var(&f.extraTags, "tag", "extra tag written with the computed ones (repeatable)")
	fs.StringVar(&f.prefix, "tag-prefix", "", "prefix of every computed tag but latest")
	fs.StringVar(&f.suffix, "tag-suffix", "", "suffix of every computed tag but latest")
	fs.StringVar(&f.latest, "latest", "auto", "when to tag latest: auto (default branch only), always or never")
	fs.BoolVar(&f.noSHA, "no-sha-tag", false, "no sha-<short> tag")
	fs.StringVar(&f.event, "event", getenv("GITHUB_EVENT_NAME"), "GitHub event name (default: $GITHUB_EVENT_NAME)")
	fs.StringVar(&f.ref, "ref", "", "git ref built (default: $GITHUB_REF)")
	fs.StringVar(&f.sha, "sha", "", "commit built (default: $GITHUB_SHA, or the pull request's head)")
	fs.StringVar(&f.defaultBranch, "default-branch", "", "default branch (default: from the event payload)")
	fs.StringVar(&f.format, "format", "oci", "index format: oci or docker")
	fs.Var(&f.insecure, "insecure", "registry `host:port` reached over plain HTTP (repeatable; loopback always is)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "plan only: no emulation change, build or push")
	fs.StringVar(&f.progress, "progress", "plain", "build progress on stderr: plain, tty, auto, rawjson or none")
	fs.StringVar(&c.Outputs, "github-output", getenv("GITHUB_OUTPUT"), "file step outputs are appended to (default: $GITHUB_OUTPUT)")
	fs.StringVar(&c.Summary, "step-summary", getenv("GITHUB_STEP_SUMMARY"), "file the Markdown summary is appended to (default: $GITHUB_STEP_SUMMARY)")
	fs.StringVar(&c.MetadataFile, "metadata-file", "", "write buildx-style metadata JSON to this file")
	return fs
}

// parseConfig reads args and the Actions environment (through getenv) into a config.
// stderr receives the flag package's usage text.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &config{}
	var f rawFlags
	fs := newFlagSet(c, &f, getenv)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q: every input is a flag", errUsage, fs.Args())
	}
	p := &c.Pipeline
	c.Event = f.event
	c.PullRequest = f.event == "pull_request" || f.event == "pull_request_target"

	var err error
	if c.Meta, err = metadata(f, getenv); err != nil {
		return nil, err
	}
	rules := manifest.TagRules{Prefix: f.prefix, Suffix: f.suffix, NoSHA: f.noSHA, Latest: manifest.LatestMode(f.latest)}
	if !slices.Contains([]manifest.LatestMode{manifest.LatestAuto, manifest.LatestAlways, manifest.LatestNever}, rules.Latest) {
		return nil, fmt.Errorf("%w: -latest %q: want auto, always or never", errUsage, f.latest)
	}
	if c.Computed, err = manifest.Tags(c.Meta, rules); err != nil {
		return nil, fmt.Errorf("%w: tags for ref %q: %w", errUsage, c.Meta.Ref, err)
	}
	for _, t := range f.extraTags {
		if !slices.Contains(c.Computed, t) {
			c.Computed = append(c.Computed, t)
		}
	}
	if !c.PullRequest {
		p.Tags = c.Computed
	}

	p.Platforms = strings.Split(f.platforms, ",")
	p.Repository = f.repo
	if p.Repository == "" {
		gr := getenv("GITHUB_REPOSITORY")
		if gr == "" {
			return nil, fmt.Errorf("%w: no -repository and no $GITHUB_REPOSITORY: name the repository to push to, e.g. -repository ghcr.io/acme/app", errUsage)
		}
		p.Repository = "ghcr.io/" + strings.ToLower(gr)
	}
	if c.PullRequest && f.prRepo != "" {
		p.Repository = f.prRepo
	}
	if len(f.args) > 0 {
		p.Args = f.args
	}
	p.Labels = ociLabels(c, getenv)
	for k, v := range f.labels {
		p.Labels[k] = v
	}
	p.Nodes = f.nodes
	if len(f.nodes) == 0 && f.buildkitd != "" {
		p.Daemon = &build.DaemonConfig{Binary: f.buildkitd}
	}
	if p.Cache, err = cache.ParseFlags(f.cacheFrom, f.cacheTo); err == nil {
		err = p.Cache.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: -cache-from/-cache-to: %w", errUsage, err)
	}
	if c.PullRequest && !f.prCacheTo {
		p.Cache.Export = nil
	}
	if f.smokeFile != "" {
		if p.Smoke, err = smoke.Load(f.smokeFile); err != nil {
			return nil, fmt.Errorf("%w: -smoke %s: %w", errUsage, f.smokeFile, err)
		}
	}
	p.NoScan = f.noScan
	switch manifest.Format(f.format) {
	case manifest.OCI, manifest.Docker:
		p.Format = manifest.Format(f.format)
	default:
		return nil, fmt.Errorf("%w: -format %q: want oci or docker", errUsage, f.format)
	}
	p.Insecure = f.insecure
	p.DryRun = f.dryRun
	if f.progress != "none" {
		p.ProgressMode = f.progress
	}
	return c, nil
}

// metadata is the CI context: the Actions environment, overridden by -ref, -sha and
// -default-branch.
func metadata(f rawFlags, getenv func(string) string) (manifest.Metadata, error) {
	m, err := manifest.GitHubMetadata(getenv)
	inActions := getenv("GITHUB_REF") != "" || getenv("GITHUB_SHA") != ""
	if err != nil && inActions {
		return m, fmt.Errorf("%w: %w", errUsage, err)
	}
	if f.ref != "" {
		m.Ref = f.ref
	}
	if f.sha != "" {
		m.SHA = f.sha
	}
	if f.defaultBranch != "" {
		m.DefaultBranch = f.defaultBranch
	}
	if m.Ref == "" || m.SHA == "" {
		return m, fmt.Errorf("%w: the git ref and commit are unknown: run in GitHub Actions (GITHUB_REF, GITHUB_SHA) or pass -ref and -sha", errUsage)
	}
	return m, nil
}

// ociLabels are the labels metadata-action adds: where the source is, its revision and
// the version (the first computed tag).
func ociLabels(c *config, getenv func(string) string) map[string]string {
	l := map[string]string{"org.opencontainers.image.revision": c.Meta.SHA}
	if server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"); server != "" && repo != "" {
		l["org.opencontainers.image.source"] = server + "/" + repo
	}
	if len(c.Computed) > 0 {
		l["org.opencontainers.image.version"] = c.Computed[0]
	}
	return l
}
