package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/buildkit/client"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/nodebase"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
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

// runPipeline runs the notes service's pipeline on the buildkitd at addr and returns
// its result and, per platform, the wall time of the deps step (`RUN node vendor.js`)
// read from BuildKit's raw progress.
func runPipeline(t *testing.T, e *testenv.Env, addr, dockerfile, repo string, tags ...string) (*multiarch.Result, map[string]time.Duration, error) {
	t.Helper()
	p, err := NewPipeline("app", dockerfile, nodeBase(t, e), repo, tags...)
	if err != nil {
		t.Fatal(err)
	}
	p.Nodes = []build.Node{{Name: "local", Address: addr}}
	// testenv made sure the daemon runs both platforms; a test holding its shared
	// binfmt_misc lock must not change the kernel's registrations.
	p.Emulation.Skip = true
	pr, pw := io.Pipe()
	p.Progress, p.ProgressMode = pw, "rawjson"
	steps := map[string]time.Duration{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		stepTimes(pr, "RUN node vendor.js", steps)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := p.Run(ctx)
	pw.Close()
	<-done
	return res, steps, err
}

// stepTimes reads BuildKit's rawjson progress (one client.SolveStatus a line; vertex
// names start with "[<platform>] ") and records the wall time of each completed,
// uncached step whose name contains substr, by platform.
func stepTimes(r io.Reader, substr string, into map[string]time.Duration) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var s client.SolveStatus
		if json.Unmarshal(sc.Bytes(), &s) != nil {
			continue // the pipeline's own "#multiarch ..." lines
		}
		for _, v := range s.Vertexes {
			if v.Started == nil || v.Completed == nil || v.Cached || !strings.Contains(v.Name, substr) {
				continue
			}
			if plat, _, ok := strings.Cut(strings.TrimPrefix(v.Name, "["), "] "); ok {
				into[plat] = v.Completed.Sub(*v.Started)
			}
		}
	}
	io.Copy(io.Discard, r)
}

func reportText(res *multiarch.Result) string {
	if res == nil || res.Smoke == nil {
		return "(no smoke report)"
	}
	var b bytes.Buffer
	res.Smoke.WriteText(&b)
	return b.String()
}

func stepDurations(res *multiarch.Result) string {
	var parts []string
	for _, s := range res.Steps {
		parts = append(parts, fmt.Sprintf("%s %s", s.Step, s.Duration.Round(10*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// TestGoodVariant runs the whole pipeline on the good Dockerfile: both platforms build,
// the addon loads and the HTTP check passes on both, the scan finds no mismatch while
// every image does hold .node addons of its own architecture, and the index is
// published with both platforms. A second run shows the daemon's cache at work.
func TestGoodVariant(t *testing.T) {
	e := testenv.Get(t)
	repo := e.Registry + "/examples/notes-good"
	// A daemon of its own with an empty cache, so the cold run really builds (also when
	// the test runs again in the same binary, -count=N).
	fresh := testenv.NewDaemon(t, e).Addr()
	start := time.Now()
	res, steps, err := runPipeline(t, e, fresh, "Dockerfile", repo, "v1")
	cold := time.Since(start)
	if err != nil {
		t.Fatalf("pipeline on the good Dockerfile: %v\n%s", err, reportText(res))
	}
	t.Logf("cold run (fresh daemon, base image cached): %s (%s)", cold.Round(10*time.Millisecond), stepDurations(res))
	native, emulated := steps["linux/amd64"], steps["linux/arm64"]
	if native > 0 && emulated > 0 {
		t.Logf("deps step `RUN node vendor.js`: linux/amd64 %s native, linux/arm64 %s emulated: ratio %.1f",
			native.Round(time.Millisecond), emulated.Round(time.Millisecond), float64(emulated)/float64(native))
	} else {
		t.Errorf("no timing of the deps step seen for both platforms in the progress: %v", steps)
	}

	if len(res.Images) != 2 {
		t.Fatalf("built %d images, want linux/amd64 and linux/arm64", len(res.Images))
	}
	for _, img := range res.Images {
		if want := img.Platform != "linux/amd64"; img.Emulated != want {
			t.Errorf("%s: Emulated = %t, want %t on this amd64 machine", img.Platform, img.Emulated, want)
		}
		if !img.SmokePassed {
			t.Errorf("%s: SmokePassed = false", img.Platform)
		}
	}
	if res.Smoke == nil || !res.Smoke.Passed() {
		t.Fatalf("smoke report did not pass:\n%s", reportText(res))
	}
	logCommandRatios(t, res.Smoke)
	for _, tr := range res.Smoke.Targets {
		names := map[string]bool{}
		nodeArch := map[string]string{"amd64": "x64", "arm64": "arm64"}[tr.Platform.Architecture]
		for _, r := range tr.Results {
			names[r.Name] = r.Passed
			// The suite's patterns accept either architecture; each image must report its own.
			if r.Kind == smoke.KindCommand && !strings.Contains(r.Output, nodeArch) {
				t.Errorf("%s: %q ran as another architecture than %s: %q", platforms.Format(tr.Platform), r.Name, nodeArch, r.Output)
			}
		}
		if !names["native addon loads"] || !names["HTTP check"] {
			t.Errorf("%s: the addon and HTTP checks did not both run and pass: %v", platforms.Format(tr.Platform), names)
		}
		if len(tr.Findings) != 0 {
			t.Errorf("%s: scan findings on the good variant: %+v", platforms.Format(tr.Platform), tr.Findings)
		}
		// The scan reporting nothing must mean the addons were there and matched.
		addons := nodeAddons(t, tr.Ref)
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[tr.Platform.Architecture]
		for path, m := range addons {
			if m != want {
				t.Errorf("%s: %s is built for %v", platforms.Format(tr.Platform), path, m)
			}
		}
		vendored := "/app/node_modules/sqlite3/lib/binding/napi-v6-linux-glibc-" + map[string]string{"amd64": "x64", "arm64": "arm64"}[tr.Platform.Architecture] + "/node_sqlite3.node"
		if _, ok := addons[vendored]; !ok {
			t.Errorf("%s: the vendored addon %s is missing; addons: %v", platforms.Format(tr.Platform), vendored, addons)
		}
	}

	// The tag points at an index of exactly the two tested images.
	if res.Index == nil || !slices.Contains(res.Index.Tags, repo+":v1") {
		t.Fatalf("index not published under %s:v1: %+v", repo, res.Index)
	}
	idx, err := remote.Index(mustRef(t, repo+":v1"))
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
	for _, img := range res.Images {
		if got[img.Platform] != img.Digest {
			t.Errorf("index %s:v1 lists %s as %q, want the tested digest %s", repo, img.Platform, got[img.Platform], img.Digest)
		}
	}
	if len(got) != 2 {
		t.Errorf("index %s:v1 has platforms %v, want exactly linux/amd64 and linux/arm64", repo, got)
	}

	// Warm: the same pipeline again on the same daemon builds nothing.
	start = time.Now()
	warm, _, err := runPipeline(t, e, fresh, "Dockerfile", repo, "v1")
	if err != nil {
		t.Fatalf("warm run: %v\n%s", err, reportText(warm))
	}
	t.Logf("warm run: %s (%s)", time.Since(start).Round(10*time.Millisecond), stepDurations(warm))
	for _, img := range warm.Images {
		if img.Cache.Executed != 0 {
			t.Errorf("warm run %s executed %d steps, want 0 (all cached)", img.Platform, img.Cache.Executed)
		}
	}
}

// TestBrokenVariantRefused is the SDK's reason to exist: the Dockerfile whose deps stage
// runs on $BUILDPLATFORM builds fine, but its arm64 image carries the x86-64 addon. The
// pipeline must refuse it with a finding naming the addon's path and both
// architectures, and tag nothing.
func TestBrokenVariantRefused(t *testing.T) {
	e := testenv.Get(t)
	repo := e.Registry + "/examples/notes-broken"
	res, _, err := runPipeline(t, e, e.Addr, "broken.Dockerfile", repo, "v1")
	if err == nil {
		t.Fatalf("the broken variant was published as %+v: the smoke test and the scan let an x86-64 addon into the arm64 image", res.Index)
	}
	var se *multiarch.StepError
	if !errors.As(err, &se) || se.Step != multiarch.StepSmoke || !errors.Is(err, smoke.ErrFailed) {
		t.Fatalf("broken variant failed for another reason than the smoke step (want a *StepError of step smoke wrapping smoke.ErrFailed): %v", err)
	}
	if res.Index != nil {
		t.Errorf("refused run reports a published index %+v", res.Index)
	}
	if !strings.Contains(err.Error(), brokenAddon) {
		t.Errorf("refusal does not name the addon %s:\n%v", brokenAddon, err)
	}

	// Nothing is tagged.
	_, herr := remote.Head(mustRef(t, repo+":v1"))
	var terr *transport.Error
	if !errors.As(herr, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD %s:v1 after a refused run = %v, want 404 (nothing tagged)", repo, herr)
	}

	var arm, amd *smoke.TargetReport
	for i := range res.Smoke.Targets {
		switch res.Smoke.Targets[i].Platform.Architecture {
		case "arm64":
			arm = &res.Smoke.Targets[i]
		case "amd64":
			amd = &res.Smoke.Targets[i]
		}
	}
	if arm == nil || amd == nil {
		t.Fatalf("report lacks a platform:\n%s", reportText(res))
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
	t.Logf("refused as expected: %v\n%s", err, reportText(res))
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
