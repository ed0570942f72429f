package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/client"
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

// multiStage has four steps, two of them in a builder stage that only mode=max keeps.
const multiStage = `FROM %[1]s AS gen
ARG NONCE
RUN echo "$NONCE" > /nonce && seq 1 5000 > /data
RUN sha256sum /nonce /data > /sums
FROM %[1]s
COPY --from=gen /sums /sums
RUN uname -m > /arch && cat /sums /arch > /report
`

const stepsPerPlatform = 4

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

func buildSplit(t testing.TB, ctx context.Context, addr, dir, nonce string, cfg cache.Config) *build.Result {
	t.Helper()
	b, err := build.New(ctx, []build.Node{{Name: "n", Address: addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := b.Build(ctx, build.Request{Context: dir, Platforms: both, Args: map[string]string{"NONCE": nonce}, Cache: cfg})
	if err != nil {
		t.Fatalf("build on %s: %v", addr, err)
	}
	return res
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

	first := buildSplit(t, ctx, e.Addr, dir, nonce, cacheConfig(ref, false))
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
	second := buildSplit(t, ctx, fresh.Addr(), dir, nonce, cacheConfig(ref, true))
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
		if got := first[platforms.Format(p)]; got.executed != stepsPerPlatform {
			t.Errorf("first solve %s: %+v, want all %d steps executed", platforms.Format(p), got, stepsPerPlatform)
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
		if got := second[platforms.Format(p)]; got != (counts{cached: stepsPerPlatform}) {
			t.Errorf("fresh daemon %s: %+v, want all %d steps cached", platforms.Format(p), got, stepsPerPlatform)
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

type counts struct{ cached, executed int }

// stepName matches a step vertex of a multi-platform solve: "[linux/arm64 gen 2/3] RUN ...".
var stepName = regexp.MustCompile(`^\[(\S+/\S+)(?: \S+)? \d+/\d+\] (RUN|COPY|ADD|WORKDIR)\b`)

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
	ch := make(chan *client.SolveStatus)
	var (
		mu    sync.Mutex
		steps = map[string]*client.Vertex{}
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for s := range ch {
			mu.Lock()
			for _, v := range s.Vertexes {
				if stepName.MatchString(v.Name) {
					steps[v.Digest.String()] = v
				}
			}
			mu.Unlock()
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
	out := map[string]counts{}
	for _, v := range steps {
		if v.Completed == nil || v.Error != "" {
			continue
		}
		p := stepName.FindStringSubmatch(v.Name)[1]
		n := out[p]
		if v.Cached {
			n.cached++
		} else {
			n.executed++
		}
		out[p] = n
	}
	return out
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
