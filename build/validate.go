package build

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/util/progress/progressui"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ParsePlatforms parses platform strings ("linux/arm64", "linux/arm/v7") with
// containerd's platforms package and normalises them; the error names the bad string.
func ParsePlatforms(specs ...string) ([]ocispec.Platform, error) {
	out := make([]ocispec.Platform, 0, len(specs))
	for _, s := range specs {
		p, err := platforms.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w (expected os/arch[/variant], e.g. linux/arm64)", s, err)
		}
		out = append(out, platforms.Normalize(p))
	}
	return out, nil
}

// checked is a validated request with its defaults filled in.
type checked struct {
	Request
	dockerfileDir  string
	dockerfileName string
	repo           name.Repository // zero when not pushing
	localContexts  map[string]string
}

// validate checks everything about req that can be checked without BuildKit and
// fills in defaults. defaultPlatform is used when req.Platforms is empty.
func validate(req Request, defaultPlatform ocispec.Platform) (*checked, error) {
	c := &checked{Request: req}
	if req.Context == "" {
		return nil, invalidf("no build context: set Request.Context to the context directory")
	}
	if err := isDir(req.Context, "build context"); err != nil {
		return nil, err
	}
	df := req.Dockerfile
	if df == "" {
		df = filepath.Join(req.Context, "Dockerfile")
	}
	fi, err := os.Stat(df)
	if err != nil {
		return nil, invalidf("Dockerfile %s: %v (set Request.Dockerfile, default is Dockerfile in the context)", df, err)
	}
	if fi.IsDir() {
		return nil, invalidf("Dockerfile %s is a directory, not a file", df)
	}
	c.dockerfileDir, c.dockerfileName = filepath.Dir(df), filepath.Base(df)
	if err := checkTarget(df, req.Target); err != nil {
		return nil, err
	}

	if len(req.Platforms) == 0 {
		c.Platforms = []ocispec.Platform{defaultPlatform}
	} else {
		c.Platforms = make([]ocispec.Platform, len(req.Platforms))
		for i, p := range req.Platforms {
			if p.OS == "" || p.Architecture == "" {
				return nil, invalidf("platform %d (%+v) needs os and architecture: parse platform strings with ParsePlatforms", i, p)
			}
			p = platforms.Normalize(p)
			for _, q := range c.Platforms[:i] {
				if platforms.OnlyStrict(p).Match(q) {
					return nil, invalidf("platform %s is listed twice", platforms.Format(p))
				}
			}
			c.Platforms[i] = p
		}
	}

	for k := range req.Args {
		if k == "" || strings.ContainsAny(k, "= ") {
			return nil, invalidf("build arg name %q is not valid", k)
		}
	}
	for k := range req.Labels {
		if k == "" {
			return nil, invalidf("empty label key")
		}
	}
	c.localContexts = map[string]string{}
	for k, v := range req.Contexts {
		if k == "" || k == "context" || k == "dockerfile" {
			return nil, invalidf("named context %q: name is empty or reserved", k)
		}
		if hasScheme(v) {
			continue
		}
		if err := isDir(v, "named context "+k); err != nil {
			return nil, err
		}
		c.localContexts[k] = v
	}
	if err := req.Cache.Validate(); err != nil {
		return nil, fmt.Errorf("%w: cache: %w", ErrInvalidRequest, err)
	}
	if err := checkSecrets(req.Secrets); err != nil {
		return nil, err
	}
	for _, s := range req.SSH {
		for _, p := range s.Paths {
			if _, err := os.Stat(p); err != nil {
				return nil, invalidf("ssh %q: %v", s.ID, err)
			}
		}
		if len(s.Paths) == 0 && os.Getenv("SSH_AUTH_SOCK") == "" {
			return nil, invalidf("ssh %q: no Paths and SSH_AUTH_SOCK is not set: start an ssh agent or list key files", s.ID)
		}
	}
	switch req.Attestations.Provenance {
	case "", "min", "max":
	default:
		return nil, invalidf("provenance mode %q: want \"\", \"min\" or \"max\"", req.Attestations.Provenance)
	}
	if req.Push != "" {
		if c.repo, err = name.NewRepository(req.Push); err != nil {
			return nil, invalidf("push repository %q: %v (want registry/path, without tag or digest)", req.Push, err)
		}
	}
	for _, o := range req.Outputs {
		switch o.Type {
		case OutputOCI, OutputDocker, OutputTar, OutputLocal:
		default:
			return nil, invalidf("output type %q: want oci, docker, tar or local", o.Type)
		}
		if o.Dir == "" {
			return nil, invalidf("output %s has no Dir", o.Type)
		}
	}
	switch progressui.DisplayMode(req.ProgressMode) {
	case "", progressui.PlainMode, progressui.TtyMode, progressui.AutoMode, progressui.RawJSONMode:
	default:
		return nil, invalidf("progress mode %q: want plain, tty, auto or rawjson", req.ProgressMode)
	}
	switch req.OnFailure {
	case CancelOthers, CompleteOthers:
	default:
		return nil, invalidf("failure policy %q: want \"\" (cancel others) or %q", req.OnFailure, CompleteOthers)
	}
	return c, nil
}

func isDir(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return invalidf("%s %s: %v", what, path, err)
	}
	if !fi.IsDir() {
		return invalidf("%s %s is not a directory", what, path)
	}
	return nil
}

// hasScheme reports whether a named context value is a reference for the frontend
// rather than a local directory.
func hasScheme(v string) bool {
	return strings.Contains(v, "://") || strings.HasPrefix(v, "git@") ||
		strings.HasPrefix(v, "target:") || strings.HasPrefix(v, "input:")
}

func checkSecrets(secrets []Secret) error {
	seen := map[string]bool{}
	for _, s := range secrets {
		if s.ID == "" {
			return invalidf("secret without an ID")
		}
		if seen[s.ID] {
			return invalidf("secret %q is listed twice", s.ID)
		}
		seen[s.ID] = true
		switch {
		case (s.Env == "") == (s.File == ""):
			return invalidf("secret %q: set exactly one of Env and File", s.ID)
		case s.Env != "":
			if _, ok := os.LookupEnv(s.Env); !ok {
				return invalidf("secret %q: environment variable %s is not set", s.ID, s.Env)
			}
		default:
			fi, err := os.Stat(s.File)
			if err != nil {
				return invalidf("secret %q: %v", s.ID, err)
			}
			if fi.IsDir() {
				return invalidf("secret %q: %s is a directory, not a file", s.ID, s.File)
			}
		}
	}
	return nil
}

// checkTarget parses the Dockerfile with BuildKit's own parser and checks that target
// names one of its stages.
func checkTarget(dockerfile, target string) error {
	if target == "" {
		return nil
	}
	dt, err := os.ReadFile(dockerfile)
	if err != nil {
		return invalidf("Dockerfile %s: %v", dockerfile, err)
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return invalidf("Dockerfile %s: %v", dockerfile, err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return invalidf("Dockerfile %s: %v", dockerfile, err)
	}
	var names []string
	for _, s := range stages {
		if strings.EqualFold(s.Name, target) {
			return nil
		}
		if s.Name != "" {
			names = append(names, s.Name)
		}
	}
	return invalidf("target %q is not a stage of %s (its named stages: %s)", target, dockerfile, strings.Join(names, ", "))
}
