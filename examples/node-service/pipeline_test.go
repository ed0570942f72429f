package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/nodebase"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The addon file the broken variant puts into the arm64 image: the build machine's.
const brokenAddon = "/app/node_modules/sqlite3/lib/binding/napi-v6-linux-glibc-x64/node_sqlite3.node"

var (
	baseOnce sync.Once
	baseRef  string
	baseErr  error
)

// nodeBase pushes the Node.js base index (made by internal/nodebase, from the machine's
// cache when it is there) into the test registry, once per test binary.
func nodeBase(t *testing.T, e *testenv.Env) string {
	t.Helper()
	_, err := exec.LookPath("mmdebstrap")
	testenv.Require(t, err == nil, "mmdebstrap is not installed (it makes the Node.js base images)", testenv.SetupHint)
	_, err = exec.LookPath("arch-test")
	testenv.Require(t, err == nil, "arch-test is not installed (mmdebstrap needs it for arm64)", testenv.SetupHint)
	baseOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		start := time.Now()
		ref := e.Registry + "/multiarch/node:18"
		res, err := nodebase.Config{}.Push(ctx, ref)
		if err != nil {
			baseErr = err
			return
		}
		for _, im := range res.Images {
			t.Logf("base %s: cached=%t mmdebstrap=%s", platforms.Format(im.Platform), im.Cached, im.Duration.Round(time.Second))
		}
		t.Logf("base image %s ready in %s", ref, time.Since(start).Round(10*time.Millisecond))
		baseRef = ref
	})
	if baseErr != nil {
		t.Fatalf("node base image: %v", baseErr)
	}
	return baseRef
}

func newBuilder(t *testing.T, e *testenv.Env) *build.Builder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := build.New(ctx, []build.Node{{Name: "local", Address: e.Addr}})
	if err != nil {
		t.Fatalf("build.New(%s): %v", e.Addr, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// stepTimes collects, per platform, the wall time of each completed build step whose
// name contains substr.
type stepTimes struct {
	mu sync.Mutex
	d  map[string]time.Duration
}

func watchStep(substr string) (chan build.Status, *stepTimes, func()) {
	ch := make(chan build.Status, 64)
	st := &stepTimes{d: map[string]time.Duration{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			for _, v := range s.Vertexes {
				if v.Started != nil && v.Completed != nil && !v.Cached && strings.Contains(v.Name, substr) {
					st.mu.Lock()
					st.d[platforms.Format(s.Platform)] = v.Completed.Sub(*v.Started)
					st.mu.Unlock()
				}
			}
		}
	}()
	return ch, st, func() { close(ch); <-done }
}

func reportText(o *Outcome) string {
	if o == nil || o.Report == nil {
		return "(no smoke report)"
	}
	var b bytes.Buffer
	o.Report.WriteText(&b)
	return b.String()
}

// TestGoodVariant runs the whole pipeline on the good Dockerfile: both platforms build,
// the addon loads and the HTTP check passes on both, the scan finds no mismatch while
// every image does hold .node addons of its own architecture, and the index is
// published with both platforms. A second run shows the daemon's cache at work.
func TestGoodVariant(t *testing.T) {
	e := testenv.Get(t)
	base := nodeBase(t, e)
	b := newBuilder(t, e)
	runner := smoke.NewBuildKitRunner(e.Client)
	mc := &manifest.Client{}
	repo := e.Registry + "/examples/notes-good"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	status, steps, stop := watchStep("RUN node vendor.js")
	start := time.Now()
	out, err := Run(ctx, b, runner, mc, Job{Dir: "app", Base: base, Repository: repo, Tags: []string{"v1"}, NoCache: true, Status: status})
	cold := time.Since(start)
	stop()
	if err != nil {
		t.Fatalf("pipeline on the good Dockerfile: %v\n%s", err, reportText(out))
	}
	t.Logf("cold run (base cached, --no-cache build): %s = build %s + smoke %s + publish %s",
		cold.Round(10*time.Millisecond), out.Timings.Build.Round(10*time.Millisecond), out.Timings.Smoke.Round(10*time.Millisecond), out.Timings.Publish.Round(10*time.Millisecond))
	native, emulated := steps.d["linux/amd64"], steps.d["linux/arm64"]
	if native > 0 && emulated > 0 {
		t.Logf("deps step `RUN node vendor.js`: linux/amd64 %s native, linux/arm64 %s emulated: ratio %.1f",
			native.Round(time.Millisecond), emulated.Round(time.Millisecond), float64(emulated)/float64(native))
	} else {
		t.Errorf("no timing of the deps step seen for both platforms: %v", steps.d)
	}

	if len(out.Build.Images) != 2 {
		t.Fatalf("built %d images, want linux/amd64 and linux/arm64", len(out.Build.Images))
	}
	for _, img := range out.Build.Images {
		wantEmulated := img.Platform.Architecture != "amd64"
		if img.Emulated != wantEmulated {
			t.Errorf("%s: Emulated = %t, want %t on this amd64 machine", platforms.Format(img.Platform), img.Emulated, wantEmulated)
		}
	}
	if !out.Report.Passed() {
		t.Fatalf("smoke report did not pass:\n%s", reportText(out))
	}
	logCommandRatios(t, out.Report)
	for _, tr := range out.Report.Targets {
		names := map[string]bool{}
		for _, r := range tr.Results {
			names[r.Name] = r.Passed
		}
		if !names["native addon loads"] || !names["HTTP check"] {
			t.Errorf("%s: the addon and HTTP checks did not both run and pass: %v", platforms.Format(tr.Platform), names)
		}
		if len(tr.Findings) != 0 {
			t.Errorf("%s: scan findings on the good variant: %+v", platforms.Format(tr.Platform), tr.Findings)
		}
		// The scan reporting nothing must mean the addons were there and matched.
		addons := nodeAddons(t, tr.Ref)
		if len(addons) == 0 {
			t.Errorf("%s: image %s holds no .node addon", platforms.Format(tr.Platform), tr.Ref)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[tr.Platform.Architecture]
		for path, m := range addons {
			if m != want {
				t.Errorf("%s: %s is built for %v", platforms.Format(tr.Platform), path, m)
			}
		}
		if _, ok := addons["/app/node_modules/sqlite3/lib/binding/napi-v6-linux-glibc-"+map[string]string{"amd64": "x64", "arm64": "arm64"}[tr.Platform.Architecture]+"/node_sqlite3.node"]; !ok {
			t.Errorf("%s: the vendored addon is missing from /app/node_modules; addons: %v", platforms.Format(tr.Platform), addons)
		}
	}

	// The tag points at an index of exactly the two tested images.
	idx, err := remote.Index(mustRef(t, repo+":v1"), remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("published tag %s:v1: %v", repo, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range im.Manifests {
		if d.Platform != nil {
			got[d.Platform.OS+"/"+d.Platform.Architecture] = d.Digest.String()
		}
	}
	for _, img := range out.Build.Images {
		if got[platforms.Format(img.Platform)] != img.Digest.String() {
			t.Errorf("index %s:v1 lists %s as %q, want the tested digest %s", repo, platforms.Format(img.Platform), got[platforms.Format(img.Platform)], img.Digest)
		}
	}
	if len(got) != 2 {
		t.Errorf("index %s:v1 has platforms %v, want exactly linux/amd64 and linux/arm64", repo, got)
	}

	// Warm: the same job again on the same daemon builds nothing.
	start = time.Now()
	warm, err := Run(ctx, b, runner, mc, Job{Dir: "app", Base: base, Repository: repo, Tags: []string{"v1"}})
	if err != nil {
		t.Fatalf("warm run: %v\n%s", err, reportText(warm))
	}
	t.Logf("warm run: %s = build %s + smoke %s + publish %s", time.Since(start).Round(10*time.Millisecond),
		warm.Timings.Build.Round(10*time.Millisecond), warm.Timings.Smoke.Round(10*time.Millisecond), warm.Timings.Publish.Round(10*time.Millisecond))
	for _, img := range warm.Build.Images {
		if img.Cache.Executed != 0 {
			t.Errorf("warm run %s executed %d steps, want 0 (all cached)", platforms.Format(img.Platform), img.Cache.Executed)
		}
	}
}

// TestBrokenVariantRefused is the SDK's reason to exist: the Dockerfile whose deps stage
// runs on $BUILDPLATFORM builds fine, but its arm64 image carries the x86-64 addon. The
// pipeline must refuse it with a finding naming the addon's path and both
// architectures, and tag nothing.
func TestBrokenVariantRefused(t *testing.T) {
	e := testenv.Get(t)
	base := nodeBase(t, e)
	b := newBuilder(t, e)
	repo := e.Registry + "/examples/notes-broken"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	out, err := Run(ctx, b, smoke.NewBuildKitRunner(e.Client), &manifest.Client{},
		Job{Dir: "app", Dockerfile: "broken.Dockerfile", Base: base, Repository: repo, Tags: []string{"v1"}})
	if err == nil {
		t.Fatalf("the broken variant was published as %s: the smoke test and the scan let an x86-64 addon into the arm64 image", out.Published)
	}
	if !errors.Is(err, ErrRefused) || !errors.Is(err, smoke.ErrFailed) {
		t.Fatalf("broken variant failed for another reason than the smoke test (want ErrRefused wrapping smoke.ErrFailed): %v", err)
	}
	if out.Published != "" {
		t.Errorf("refused run reports a published index %s", out.Published)
	}
	if !strings.Contains(err.Error(), brokenAddon) {
		t.Errorf("refusal does not name the addon %s:\n%v", brokenAddon, err)
	}

	// Nothing is tagged.
	_, herr := remote.Head(mustRef(t, repo+":v1"), remote.WithContext(ctx))
	var terr *transport.Error
	if !errors.As(herr, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD %s:v1 after a refused run = %v, want 404 (nothing tagged)", repo, herr)
	}

	var arm, amd *smoke.TargetReport
	for i := range out.Report.Targets {
		switch out.Report.Targets[i].Platform.Architecture {
		case "arm64":
			arm = &out.Report.Targets[i]
		case "amd64":
			amd = &out.Report.Targets[i]
		}
	}
	if arm == nil || amd == nil {
		t.Fatalf("report lacks a platform:\n%s", reportText(out))
	}
	var found *smoke.Finding
	for i, f := range arm.Findings {
		if f.Path == brokenAddon {
			found = &arm.Findings[i]
		}
	}
	if found == nil {
		t.Fatalf("the scan did not report %s in the linux/arm64 image; findings: %+v", brokenAddon, arm.Findings)
	}
	if found.Arch != "amd64" || found.Platform != "linux/arm64" || !strings.Contains(found.BuiltFor, "X86_64") || !strings.Contains(found.Want, "AARCH64") {
		t.Errorf("finding for %s = %+v, want it built for amd64 (EM_X86_64) in the linux/arm64 image (wants EM_AARCH64)", brokenAddon, *found)
	}
	for _, r := range arm.Results {
		if r.Name == "native addon loads" && r.Passed {
			t.Errorf("linux/arm64: `require('sqlite3')` passed with an x86-64 addon: %s", r.Output)
		}
	}
	// The amd64 image of the broken variant is genuinely fine: the refusal is about arm64.
	if len(amd.Findings) != 0 {
		t.Errorf("linux/amd64 findings on the broken variant: %+v", amd.Findings)
	}
	for _, r := range amd.Results {
		if !r.Passed {
			t.Errorf("linux/amd64 %s failed: %v %s %s", r.Name, r.Failures, r.Error, r.Output)
		}
	}
	t.Logf("refused as expected:\n%s", reportText(out))
}

// nodeAddons reads the image ref and returns the ELF machine of every *.node file in
// its flattened file system, independently of package smoke.
func nodeAddons(t *testing.T, ref string) map[string]elf.Machine {
	t.Helper()
	img, err := remote.Image(mustRef(t, ref))
	if err != nil {
		t.Fatalf("read %s: %v", ref, err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	addons := map[string]elf.Machine{}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".node") {
				continue
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %s is not ELF: %v", ref, h.Name, err)
			}
			addons["/"+strings.TrimPrefix(h.Name, "./")] = f.Machine
		}
		rc.Close()
	}
	return addons
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatalf("reference %q: %v", s, err)
	}
	return r
}

// logCommandRatios logs, for each smoke command, its linux/arm64 (emulated) time over
// its linux/amd64 (native) time.
func logCommandRatios(t *testing.T, r *smoke.Report) {
	t.Helper()
	byName := map[string]map[string]time.Duration{}
	for _, tr := range r.Targets {
		for _, res := range tr.Results {
			if res.Kind != smoke.KindCommand {
				continue
			}
			if byName[res.Name] == nil {
				byName[res.Name] = map[string]time.Duration{}
			}
			byName[res.Name][tr.Platform.Architecture] = time.Duration(res.Duration)
		}
	}
	for n, d := range byName {
		if d["amd64"] > 0 && d["arm64"] > 0 {
			t.Logf("smoke command %q: linux/amd64 %s, linux/arm64 %s: ratio %.1f", n,
				d["amd64"].Round(time.Millisecond), d["arm64"].Round(time.Millisecond), float64(d["arm64"])/float64(d["amd64"]))
		}
	}
}
