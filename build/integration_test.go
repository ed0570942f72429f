package build_test

import (
	"archive/tar"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/ssh"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var amd64, arm64 = platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")

// contextDir writes files (name -> content) into a fresh build context.
func contextDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newBuilder(t testing.TB, nodes []build.Node, opts ...build.Option) *build.Builder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := build.New(ctx, nodes, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pulled fetches a pushed image by its reference.
func pulled(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatalf("result ref %q: %v", ref, err)
	}
	if _, ok := r.(name.Digest); !ok {
		t.Fatalf("result ref %q is not by digest", ref)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// fileIn reads a file from an image's flattened filesystem; ok is false when absent.
func fileIn(t *testing.T, img v1.Image, path string) (string, bool) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b), true
		}
	}
}

func byPlatform(t *testing.T, res *build.Result) map[string]build.Image {
	t.Helper()
	m := map[string]build.Image{}
	for _, img := range res.Images {
		m[platforms.Format(img.Platform)] = img
	}
	return m
}

func TestBuildTwoPlatformsPushedByDigest(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM " + e.Base + "\n" +
		"ARG TARGETPLATFORM TARGETARCH BUILDPLATFORM\n" +
		"RUN uname -m > /arch && echo \"$TARGETPLATFORM $TARGETARCH $BUILDPLATFORM\" > /args\n"})

	b := newBuilder(t, []build.Node{{Name: "local", Address: e.Addr}})
	var progress strings.Builder
	status := make(chan build.Status, 16)
	var mu sync.Mutex
	seenStatus := map[string]int{}
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		for s := range status {
			mu.Lock()
			seenStatus[platforms.Format(s.Platform)+" on "+s.Node] += len(s.Vertexes)
			mu.Unlock()
		}
	}()
	repo := e.Registry + "/build/two"
	res, err := b.Build(ctx, build.Request{
		Context:   dir,
		Platforms: []ocispec.Platform{amd64, arm64},
		Push:      repo,
		NoCache:   true,
		Progress:  &progress,
		Status:    status,
	})
	close(status)
	<-statusDone
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(res.Images) != 2 {
		t.Fatalf("%d images, want 2", len(res.Images))
	}
	want := map[string]struct{ uname, args string }{
		"linux/amd64": {"x86_64", "linux/amd64 amd64 linux/amd64"},
		"linux/arm64": {"aarch64", "linux/arm64 arm64 linux/amd64"},
	}
	for plat, img := range byPlatform(t, res) {
		w, ok := want[plat]
		if !ok {
			t.Errorf("unexpected platform %s", plat)
			continue
		}
		if !strings.HasPrefix(img.Ref, repo+"@sha256:") || !strings.HasSuffix(img.Ref, img.Digest.String()) {
			t.Errorf("%s: ref %q, want %s@%s", plat, img.Ref, repo, img.Digest)
		}
		if img.Descriptor.Digest != img.Digest || img.Descriptor.MediaType == "" || img.Descriptor.Size == 0 {
			t.Errorf("%s: descriptor %+v does not describe digest %s", plat, img.Descriptor, img.Digest)
		}
		if img.Node != "local" || img.Emulated != (plat == "linux/arm64") {
			t.Errorf("%s: node %q emulated %v, want local, emulated only for arm64", plat, img.Node, img.Emulated)
		}
		if img.Cache.Executed != 1 || img.Cache.Cached != 0 {
			t.Errorf("%s: cache stats %+v, want the one RUN step executed (NoCache)", plat, img.Cache)
		}
		if img.Duration <= 0 {
			t.Errorf("%s: duration %s", plat, img.Duration)
		}
		pi := pulled(t, img.Ref)
		if d, _ := pi.Digest(); d.String() != img.Digest.String() {
			t.Errorf("%s: registry serves digest %s for %s", plat, d, img.Ref)
		}
		cf, err := pi.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cf.OS + "/" + cf.Architecture; got != plat {
			t.Errorf("%s: pushed config says %s", plat, got)
		}
		if got, _ := fileIn(t, pi, "arch"); strings.TrimSpace(got) != w.uname {
			t.Errorf("%s: RUN uname -m wrote %q, want %q", plat, got, w.uname)
		}
		if got, _ := fileIn(t, pi, "args"); strings.TrimSpace(got) != w.args {
			t.Errorf("%s: TARGETPLATFORM TARGETARCH BUILDPLATFORM = %q, want %q (as buildx passes them)", plat, got, w.args)
		}
	}
	for _, s := range []string{"[linux/amd64] [2/2] RUN uname -m", "[linux/arm64] [2/2] RUN uname -m"} {
		if !strings.Contains(progress.String(), s) {
			t.Errorf("progress output lacks %q:\n%s", s, progress.String())
		}
	}
	if seenStatus["linux/amd64 on local"] == 0 || seenStatus["linux/arm64 on local"] == 0 {
		t.Errorf("status channel got %v, want vertices of both platforms", seenStatus)
	}
	// The tags list stays empty: pushing by digest never tags.
	r, _ := name.NewRepository(repo, name.Insecure)
	if tags, err := remote.List(r); err != nil || len(tags) != 0 {
		t.Errorf("repository tags %v (%v), want none", tags, err)
	}
}

func TestBuildArgsTargetLabelsAndCache(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := contextDir(t, map[string]string{
		"Dockerfile": "FROM " + e.Base + " AS app\nARG GREETING=unset\nCOPY hello.txt /hello.txt\nRUN echo \"$GREETING\" > /greeting\n\n" +
			"FROM app AS release\nRUN echo release > /release\n",
		"hello.txt": "hello\n",
	})
	b := newBuilder(t, []build.Node{{Name: "local", Address: e.Addr}})
	req := build.Request{
		Context: dir, Target: "app", Platforms: []ocispec.Platform{amd64},
		Args:   map[string]string{"GREETING": "bonjour-" + time.Now().Format(time.RFC3339Nano)},
		Labels: map[string]string{"org.opencontainers.image.source": "https://example.com/app"},
		Push:   e.Registry + "/build/args",
	}
	res, err := b.Build(ctx, req)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	img := pulled(t, res.Images[0].Ref)
	if got, _ := fileIn(t, img, "greeting"); strings.TrimSpace(got) != req.Args["GREETING"] {
		t.Errorf("/greeting = %q, want the build arg %q", got, req.Args["GREETING"])
	}
	if _, ok := fileIn(t, img, "release"); ok {
		t.Error("/release exists: the stage after target app was built too")
	}
	cf, _ := img.ConfigFile()
	if got := cf.Config.Labels["org.opencontainers.image.source"]; got != "https://example.com/app" {
		t.Errorf("label = %q", got)
	}
	// The unique build arg makes the RUN new; the COPY may come from earlier tests' cache.
	if st := res.Images[0].Cache; st.Executed < 1 || st.Cached+st.Executed != 2 {
		t.Errorf("first build cache stats %+v, want 2 steps, the RUN executed", st)
	}

	// The same request again: every step from the daemon's cache, same image.
	again, err := b.Build(ctx, req)
	if err != nil {
		t.Fatalf("second build: %v", err)
	}
	if st := again.Images[0].Cache; st != (build.CacheStats{Cached: 2}) {
		t.Errorf("second build cache stats %+v, want both steps cached", st)
	}
	if again.Images[0].Digest != res.Images[0].Digest {
		t.Errorf("cached rebuild gave digest %s, first %s", again.Images[0].Digest, res.Images[0].Digest)
	}
}

func TestBuildFailingPlatform(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b := newBuilder(t, []build.Node{{Name: "local", Address: e.Addr}})
	// arm64 fails at once with a message; amd64 takes amd64Secs.
	dockerfile := func(amd64Secs int) string {
		return "FROM " + e.Base + "\n" +
			"RUN if [ \"$(uname -m)\" = aarch64 ]; then echo 'no arm64 toolchain' >&2; exit 3; fi; sleep " + strconv.Itoa(amd64Secs) + "\n"
	}

	for _, tc := range []struct {
		name      string
		policy    build.FailurePolicy
		amd64Secs int
	}{
		{"complete-others", build.CompleteOthers, 2},
		{"cancel-others", build.CancelOthers, 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res, err := b.Build(ctx, build.Request{
				Context:   contextDir(t, map[string]string{"Dockerfile": dockerfile(tc.amd64Secs)}),
				Platforms: []ocispec.Platform{amd64, arm64},
				Push:      e.Registry + "/build/fail", NoCache: true, OnFailure: tc.policy,
			})
			took := time.Since(start)
			var pe *build.PlatformError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *PlatformError", err)
			}
			if platforms.Format(pe.Platform) != "linux/arm64" || pe.Node != "local" || !strings.Contains(pe.Step, "RUN if") {
				t.Errorf("PlatformError platform %s node %q step %q, want linux/arm64, local, the RUN step",
					platforms.Format(pe.Platform), pe.Node, pe.Step)
			}
			for _, s := range []string{"linux/arm64", `node "local"`, "exit code: 3", "no arm64 toolchain"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "linux/amd64") {
				t.Errorf("error %q blames amd64 too", err)
			}
			switch tc.policy {
			case build.CompleteOthers:
				if len(res.Images) != 1 || platforms.Format(res.Images[0].Platform) != "linux/amd64" || res.Images[0].Ref == "" {
					t.Errorf("images %+v, want the completed amd64 image", res.Images)
				}
			case build.CancelOthers:
				if len(res.Images) != 0 {
					t.Errorf("images %+v, want none: amd64 should have been cancelled", res.Images)
				}
				if took > 60*time.Second {
					t.Errorf("build took %s: amd64's 120s step was not cancelled", took)
				}
			}
		})
	}
}

func TestBuildTwoNodeFleet(t *testing.T) {
	e := testenv.Get(t)
	second := testenv.NewDaemon(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM " + e.Base + "\nRUN uname -m > /arch\n"})

	b := newBuilder(t, []build.Node{
		{Name: "amd-node", Address: e.Addr, Platforms: []ocispec.Platform{amd64}},
		{Name: "arm-node", Address: second.Addr(), Platforms: []ocispec.Platform{arm64}},
	})
	for _, n := range b.Nodes() {
		if len(n.Workers) == 0 {
			t.Errorf("node %s: no worker platforms listed", n.Name)
		}
	}
	res, err := b.Build(ctx, build.Request{
		Context: dir, Platforms: []ocispec.Platform{arm64, amd64},
		Push: e.Registry + "/build/fleet", NoCache: true,
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	got := byPlatform(t, res)
	for plat, node := range map[string]string{"linux/amd64": "amd-node", "linux/arm64": "arm-node"} {
		img := got[plat]
		if img.Node != node || img.Emulated {
			t.Errorf("%s built on %q (emulated %v), want %s natively", plat, img.Node, img.Emulated, node)
		}
		cf, err := pulled(t, img.Ref).ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != strings.TrimPrefix(plat, "linux/") {
			t.Errorf("%s: pushed config architecture %s", plat, cf.Architecture)
		}
	}
	if platforms.Format(res.Images[0].Platform) != "linux/arm64" {
		t.Errorf("images not in request order: first is %s", platforms.Format(res.Images[0].Platform))
	}
}

// A registry cache exported by the per-platform solves is found by a fresh daemon for
// every platform (each platform has its own cache tag, so none overwrites another).
func TestBuildCacheSplitPerPlatform(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM " + e.Base + "\nARG NONCE\nRUN echo $NONCE > /nonce && uname -m > /arch\n"})
	ref := e.Registry + "/build/cache:main"
	req := build.Request{
		Context: dir, Platforms: []ocispec.Platform{amd64, arm64},
		Args: map[string]string{"NONCE": time.Now().Format(time.RFC3339Nano)},
		Cache: cache.Config{
			Import: []cache.Entry{{Registry: &cache.Registry{Ref: ref}}},
			Export: []cache.Entry{{Registry: &cache.Registry{Ref: ref}}},
		},
		Push: e.Registry + "/build/cached",
	}
	first, err := newBuilder(t, []build.Node{{Name: "first", Address: e.Addr}}).Build(ctx, req)
	if err != nil {
		t.Fatalf("first build: %v", err)
	}
	for _, img := range first.Images {
		if img.Cache.Executed != 1 {
			t.Errorf("first build %s: cache stats %+v, want the RUN executed", platforms.Format(img.Platform), img.Cache)
		}
	}

	fresh := testenv.NewDaemon(t, e)
	second, err := newBuilder(t, []build.Node{{Name: "fresh", Address: fresh.Addr()}}).Build(ctx, req)
	if err != nil {
		t.Fatalf("second build: %v", err)
	}
	for i, img := range second.Images {
		if img.Cache != (build.CacheStats{Cached: 1}) {
			t.Errorf("fresh daemon %s: cache stats %+v, want the RUN from the registry cache", platforms.Format(img.Platform), img.Cache)
		}
		if img.Digest != first.Images[i].Digest {
			t.Errorf("%s: digest %s from cache, %s first", platforms.Format(img.Platform), img.Digest, first.Images[i].Digest)
		}
	}
}

// Secrets, SSH forwarding, a named local context and disk outputs reach the solve.
func TestBuildSessionFeaturesAndOutputs(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := contextDir(t, map[string]string{
		"Dockerfile": "FROM " + e.Base + "\n" +
			"RUN --mount=type=secret,id=token test \"$(cat /run/secrets/token)\" = from-env\n" +
			"RUN --mount=type=secret,id=npmrc test \"$(cat /run/secrets/npmrc)\" = from-file\n" +
			"RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\"\n" +
			"COPY --from=extra note.txt /note.txt\n",
	})
	extra := contextDir(t, map[string]string{"note.txt": "named context\n"})
	secretFile := filepath.Join(t.TempDir(), "npmrc")
	if err := os.WriteFile(secretFile, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MULTIARCH_TEST_TOKEN", "from-env")
	key := filepath.Join(t.TempDir(), "id_ed25519")
	writeSSHKey(t, key)
	out := t.TempDir()

	b := newBuilder(t, []build.Node{{Name: "local", Address: e.Addr}})
	res, err := b.Build(ctx, build.Request{
		Context: dir, Platforms: []ocispec.Platform{amd64}, NoCache: true,
		Secrets:  []build.Secret{{ID: "token", Env: "MULTIARCH_TEST_TOKEN"}, {ID: "npmrc", File: secretFile}},
		SSH:      []build.SSH{{Paths: []string{key}}},
		Contexts: map[string]string{"extra": extra},
		Outputs:  []build.Output{{Type: build.OutputOCI, Dir: out}, {Type: build.OutputLocal, Dir: out}},
	})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if got := res.Images[0].Cache.Executed; got != 4 {
		t.Errorf("%d steps executed, want 4 (3 RUN, 1 COPY)", got)
	}
	if res.Images[0].Ref != "" {
		t.Errorf("ref %q without Push", res.Images[0].Ref)
	}
	note, err := os.ReadFile(filepath.Join(out, "linux-amd64", "note.txt"))
	if err != nil || string(note) != "named context\n" {
		t.Errorf("local output note.txt = %q (%v), want the named context's file", note, err)
	}
	if _, err := os.Stat(filepath.Join(out, "linux-amd64", "run", "secrets", "token")); err == nil {
		t.Error("the secret's mount point holds a file in the output")
	}
	f, err := os.Open(filepath.Join(out, "linux-amd64.tar"))
	if err != nil {
		t.Fatalf("oci output: %v", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	found := false
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		found = found || h.Name == "index.json"
	}
	if !found {
		t.Error("oci output tarball has no index.json")
	}
}

// writeSSHKey writes a fresh unencrypted ed25519 private key in OpenSSH format.
func writeSSHKey(t *testing.T, path string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Cancelling the caller's context stops the solves promptly.
func TestBuildContextCancelled(t *testing.T) {
	e := testenv.Get(t)
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM " + e.Base + "\nRUN sleep 120\n"})
	b := newBuilder(t, []build.Node{{Name: "local", Address: e.Addr}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	res, err := b.Build(ctx, build.Request{Context: dir, Platforms: []ocispec.Platform{amd64, arm64}, NoCache: true})
	if err == nil {
		t.Fatal("build of a 120s step under a 3s deadline succeeded")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Build returned %s after the deadline, want promptly", took)
	}
	var pe *build.PlatformError
	if !errors.As(err, &pe) || len(res.Images) != 0 {
		t.Errorf("err = %v, images %d; want PlatformErrors and no images", err, len(res.Images))
	}
}
