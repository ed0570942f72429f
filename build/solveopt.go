package build

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/multiarch-sdk/multiarch/internal/bkauth"
)

// frontendAttrs are the dockerfile.v0 frontend's options for one platform's solve.
func frontendAttrs(c *checked, p ocispec.Platform) map[string]string {
	attrs := map[string]string{
		"filename": c.dockerfileName,
		"platform": platforms.Format(p),
	}
	if c.Target != "" {
		attrs["target"] = c.Target
	}
	for k, v := range c.Args {
		attrs["build-arg:"+k] = v
	}
	for k, v := range c.Labels {
		attrs["label:"+k] = v
	}
	for k, v := range c.Contexts {
		if _, local := c.localContexts[k]; local {
			v = "local:" + k
		}
		attrs["context:"+k] = v
	}
	if c.NoCache {
		attrs["no-cache"] = ""
	}
	if c.Attestations.Provenance != "" {
		attrs["attest:provenance"] = "mode=" + c.Attestations.Provenance
	}
	if c.Attestations.SBOM {
		attrs["attest:sbom"] = ""
	}
	return attrs
}

// platformSlug names a platform's files and directories: "linux-arm64", "linux-arm-v7".
func platformSlug(p ocispec.Platform) string {
	return strings.ReplaceAll(platforms.Format(p), "/", "-")
}

// exports are the exporters for one platform's solve.
func exports(c *checked, p ocispec.Platform) []client.ExportEntry {
	var out []client.ExportEntry
	if c.Push != "" {
		out = append(out, client.ExportEntry{
			Type: client.ExporterImage,
			Attrs: map[string]string{
				"name":           c.repo.Name(),
				"push":           "true",
				"push-by-digest": "true",
				"unpack":         "false",
			},
		})
	}
	for _, o := range c.Outputs {
		slug := platformSlug(p)
		switch o.Type {
		case OutputLocal:
			out = append(out, client.ExportEntry{Type: client.ExporterLocal, OutputDir: filepath.Join(o.Dir, slug)})
		default:
			path := filepath.Join(o.Dir, slug+".tar")
			out = append(out, client.ExportEntry{
				Type:   string(o.Type),
				Attrs:  map[string]string{},
				Output: createFile(path),
			})
		}
	}
	return out
}

func createFile(path string) func(map[string]string) (io.WriteCloser, error) {
	return func(map[string]string) (io.WriteCloser, error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("output %s: %w", path, err)
		}
		return os.Create(path)
	}
}

// localMounts opens the context, the Dockerfile's directory and local named contexts.
func localMounts(c *checked) (map[string]fsutil.FS, error) {
	dirs := map[string]string{"context": c.Context, "dockerfile": c.dockerfileDir}
	maps.Copy(dirs, c.localContexts)
	m := make(map[string]fsutil.FS, len(dirs))
	for k, dir := range dirs {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: %s directory %s: %w", ErrInvalidRequest, k, dir, err)
		}
		m[k] = fs
	}
	return m, nil
}

// attachables are the session services one solve offers the daemon: registry
// credentials from the Docker config (in dockerConfigDir, default DOCKER_CONFIG or
// ~/.docker), secrets, SSH agents.
func attachables(c *checked, dockerConfigDir string) ([]session.Attachable, error) {
	auth, err := bkauth.FromDockerConfig(dockerConfigDir)
	if err != nil {
		return nil, err
	}
	out := []session.Attachable{auth}
	if len(c.Secrets) > 0 {
		src := make([]secretsprovider.Source, len(c.Secrets))
		for i, s := range c.Secrets {
			src[i] = secretsprovider.Source{ID: s.ID, Env: s.Env, FilePath: s.File}
		}
		store, err := secretsprovider.NewStore(src)
		if err != nil {
			return nil, fmt.Errorf("%w: secrets: %w", ErrInvalidRequest, err)
		}
		out = append(out, secretsprovider.NewSecretProvider(store))
	}
	if len(c.SSH) > 0 {
		confs := make([]sshprovider.AgentConfig, len(c.SSH))
		for i, s := range c.SSH {
			confs[i] = sshprovider.AgentConfig{ID: s.ID, Paths: s.Paths}
		}
		sp, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, fmt.Errorf("%w: ssh: %w", ErrInvalidRequest, err)
		}
		out = append(out, sp)
	}
	return out, nil
}

// solveOpt is the complete BuildKit solve for one platform of a checked request.
func solveOpt(c *checked, p ocispec.Platform, dockerConfigDir string) (client.SolveOpt, error) {
	mounts, err := localMounts(c)
	if err != nil {
		return client.SolveOpt{}, err
	}
	att, err := attachables(c, dockerConfigDir)
	if err != nil {
		return client.SolveOpt{}, err
	}
	// One solve per platform: split, so each platform exports to its own place.
	imports, cacheExports, err := c.Cache.Solve(p, c.Platforms, true)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("cache for %s: %w", platforms.Format(p), err)
	}
	return client.SolveOpt{
		CacheImports:  imports,
		CacheExports:  cacheExports,
		Frontend:      "dockerfile.v0",
		FrontendAttrs: frontendAttrs(c, p),
		LocalMounts:   mounts,
		Exports:       exports(c, p),
		Session:       att,
	}, nil
}
