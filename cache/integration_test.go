package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var (
	amd64 = ocispec.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = ocispec.Platform{OS: "linux", Architecture: "arm64"}
	both  = []ocispec.Platform{amd64, arm64}
)

// multiStage has four steps: three RUNs, two of them in a builder stage.
const multiStage = `FROM %[1]s AS gen
ARG NONCE
RUN echo multiarch-step-ran && echo "$NONCE" > /nonce && seq 1 5000 > /data
RUN echo multiarch-step-ran && sha256sum /nonce /data > /sums
FROM %[1]s
COPY --from=gen /sums /sums
RUN echo multiarch-step-ran && uname -m > /arch && cat /sums /arch > /report
`

const stepsPerPlatform, runsPerPlatform = 4, 3

func contextDir(t testing.TB, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cacheConfig imports and exports one registry cache ref; importOnly drops the export.
func cacheConfig(ref string, importOnly bool) cache.Config {
	c := cache.Config{Import: []cache.Entry{{Registry: &cache.Registry{Ref: ref}}}}
	if !importOnly {
		c.Export = []cache.Entry{{Registry: &cache.Registry{Ref: ref}}}
	}
	return c
}

// buildSplit builds both platforms with build.Builder (one solve per platform) and
// also counts each platform's steps from the raw solve status.
func buildSplit(t testing.TB, ctx context.Context, addr, dir, nonce string, cfg cache.Config) (*build.Result, map[string]counts) {
	t.Helper()
	b, err := build.New(ctx, []build.Node{{Name: "n", Address: addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var steps stepCounter
	ch := make(chan build.Status)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			steps.add(platforms.Format(s.Platform), s.SolveStatus)
		}
	}()
	res, err := b.Build(ctx, build.Request{Context: dir, Platforms: both, Args: map[string]string{"NONCE": nonce}, Cache: cfg, Status: ch})
	close(ch)
	<-done
	if err != nil {
		t.Fatalf("build on %s: %v", addr, err)
	}
	return res, steps.counts()
}

// Split solves (build's one solve per platform): the first daemon exports a registry
// cache, a fresh daemon with empty state imports it and must run no step at all.
func TestRegistryCacheSplitSolvesFreshDaemon(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := contextDir(t, fmt.Sprintf(multiStage, e.Base))
	nonce := time.Now().Format(time.RFC3339Nano)
	ref := e.Registry + "/cache-it/split:cache"

	first, _ := buildSplit(t, ctx, e.Addr, dir, nonce, cacheConfig(ref, false))
	for _, img := range first.Images {
		if img.Cache.Executed != stepsPerPlatform {
			t.Errorf("first build %s: %+v, want all %d steps executed (unique NONCE)", platforms.Format(img.Platform), img.Cache, stepsPerPlatform)
		}
	}
	tags := listTags(t, e.Registry+"/cache-it/split")
	for _, want := range []string{"cache-linux-amd64", "cache-linux-arm64"} {
		if !slices.Contains(tags, want) {
			t.Errorf("registry tags %v: missing the per-platform cache tag %s", tags, want)
		}
	}

	fresh := testenv.NewDaemon(t, e)
	second, steps := buildSplit(t, ctx, fresh.Addr(), dir, nonce, cacheConfig(ref, true))
	for _, p := range both {
		if got := steps[platforms.Format(p)]; got != (counts{cached: runsPerPlatform}) {
			t.Errorf("fresh daemon %s: RUN steps %+v, want all %d cached", platforms.Format(p), got, runsPerPlatform)
		}
	}
	for i, img := range second.Images {
		if img.Cache != (build.CacheStats{Cached: stepsPerPlatform}) {
			t.Errorf("fresh daemon %s: %+v, want all %d steps cached from %s", platforms.Format(img.Platform), img.Cache, stepsPerPlatform, ref)
		}
		if img.Digest != first.Images[i].Digest {
			t.Errorf("%s: image %s from cache, %s built", platforms.Format(img.Platform), img.Digest, first.Images[i].Digest)
		}
	}
}

// One two-platform solve: no suffix, one cache ref holds both platforms, and a fresh
// daemon hits cache on every step of both.
func TestRegistryCacheOneSolveFreshDaemon(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := contextDir(t, fmt.Sprintf(multiStage, e.Base))
	nonce := time.Now().Format(time.RFC3339Nano)
	ref := e.Registry + "/cache-it/together:cache"

	first := solveTogether(t, ctx, e.Client, dir, nonce, cacheConfig(ref, false))
	for _, p := range both {
		if got := first[platforms.Format(p)]; got != (counts{ran: runsPerPlatform}) {
			t.Errorf("first solve %s: RUN steps %+v, want all %d run", platforms.Format(p), got, runsPerPlatform)
		}
	}
	if tags := listTags(t, e.Registry+"/cache-it/together"); !slices.Equal(tags, []string{"cache"}) {
		t.Errorf("registry tags %v, want only the unsuffixed cache tag", tags)
	}

	fresh := testenv.NewDaemon(t, e)
	c, err := client.New(ctx, fresh.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	second := solveTogether(t, ctx, c, dir, nonce, cacheConfig(ref, true))
	for _, p := range both {
		if got := second[platforms.Format(p)]; got != (counts{cached: runsPerPlatform}) {
			t.Errorf("fresh daemon %s: RUN steps %+v, want all %d cached", platforms.Format(p), got, runsPerPlatform)
		}
	}
}

// The daemon is asked which backends it has: buildkitd v0.34.2 registers all six.
func TestProbeRealDaemon(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := cache.Probe(ctx, e.Client)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Probed {
		t.Fatalf("probe fell back to the documented list (%+v): the daemon's answers were not understood", s)
	}
	if !slices.Equal(s.Exporters, cache.Types) {
		t.Errorf("daemon %s exporters %v, want %v", s.Version, s.Exporters, cache.Types)
	}
	cfg := cache.Config{Export: []cache.Entry{{S3: &cache.S3{Bucket: "b"}}, {Inline: &cache.Inline{}}}}
	if err := cfg.Check(ctx, e.Client); err != nil {
		t.Errorf("Check refused backends the daemon has: %v", err)
	}
}

// counts are one platform's RUN steps: ran (the command ran) or cached (the step
// completed and its command never ran).
type counts struct{ cached, ran int }

// runStep matches a RUN vertex, "[deps 2/3] RUN ..." in a one-platform solve and
// "[linux/arm64 deps 2/3] RUN ..." in a multi-platform one.
var runStep = regexp.MustCompile(`^\[(?:(\w+/[\w/]+) )?(?:[^\s\]]+ )?\d+/\d+\] RUN\b`)

// ranMarker is printed by every RUN command of the test Dockerfiles. Whether a RUN
// ran is read from its output rather than from the status's Cached flag: BuildKit
// reports a result pulled from an imported cache as cached when it loads the record,
// then sends updates without the flag while it pulls the layers, and marks inputs
// cached by inference; the command's own output cannot be mistaken.
const ranMarker = "multiarch-step-ran"

// stepCounter counts RUN steps from raw solve status.
type stepCounter struct {
	mu       sync.Mutex
	platform map[digest.Digest]string // RUN vertex -> platform
	done     map[digest.Digest]bool   // completed without error
	ran      map[digest.Digest]bool   // printed ranMarker
}

// add records s; platform is "" when the platform is in the vertex names.
func (c *stepCounter) add(platform string, s *client.SolveStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.platform == nil {
		c.platform, c.done, c.ran = map[digest.Digest]string{}, map[digest.Digest]bool{}, map[digest.Digest]bool{}
	}
	for _, v := range s.Vertexes {
		m := runStep.FindStringSubmatch(v.Name)
		if m == nil {
			continue
		}
		p := platform
		if m[1] != "" {
			p = m[1]
		}
		c.platform[v.Digest] = p
		if v.Completed != nil && v.Error == "" {
			c.done[v.Digest] = true
		}
	}
	for _, l := range s.Logs {
		if strings.Contains(string(l.Data), ranMarker) {
			c.ran[l.Vertex] = true
		}
	}
}

func (c *stepCounter) counts() map[string]counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]counts{}
	for d, p := range c.platform {
		n := out[p]
		switch {
		case c.ran[d]:
			n.ran++
		case c.done[d]:
			n.cached++
		}
		out[p] = n
	}
	return out
}

// solveTogether builds all platforms in one solve with the raw BuildKit client and
// counts each platform's cached and executed steps from the solve status.
func solveTogether(t *testing.T, ctx context.Context, c *client.Client, dir, nonce string, cfg cache.Config) map[string]counts {
	t.Helper()
	imports, exports, err := cfg.Solve(amd64, both, false)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	var steps stepCounter
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			steps.add("", s)
		}
	}()
	_, err = c.Solve(ctx, nil, client.SolveOpt{
		Frontend: "dockerfile.v0",
		FrontendAttrs: map[string]string{
			"platform":        platforms.Format(amd64) + "," + platforms.Format(arm64),
			"build-arg:NONCE": nonce,
		},
		LocalMounts:  map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		CacheImports: imports,
		CacheExports: exports,
	}, ch)
	<-done
	if err != nil {
		t.Fatalf("solve: %v", err)
	}
	return steps.counts()
}

func listTags(t testing.TB, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil {
		t.Fatalf("list %s: %v", repo, err)
	}
	return tags
}
