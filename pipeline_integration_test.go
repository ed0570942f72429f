package multiarch_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/smoke"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// archCheck is a smoke suite that passes only where the RUN step recorded the same
// machine the image runs on: amd64 says x86_64, arm64 (under QEMU) says aarch64.
var archCheck = smoke.Test{Commands: []smoke.CommandTest{{
	Name:           "built and runs on the same machine",
	Command:        "sh",
	Args:           []string{"-c", `test "$(cat /arch)" = "$(uname -m)" && echo "ok $(uname -m)"`},
	ExpectedOutput: []string{`^ok (x86_64|aarch64)\n$`},
}}}

func writeContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPipelineEndToEnd(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var progress bytes.Buffer
	p := multiarch.Pipeline{
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		Context:    writeContext(t, "FROM "+e.Base+"\nRUN uname -m > /arch\n"),
		Nodes:      []build.Node{{Name: "shared", Address: e.Addr}},
		Smoke:      archCheck,
		Repository: e.Registry + "/pipeline/ok",
		Tags:       []string{"v1.0.0", "latest"},
		Progress:   &progress,
	}
	res, err := p.Run(ctx)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if res.Index == nil || len(res.Index.Tags) != 2 {
		t.Fatalf("index = %+v, want it published under 2 tags", res.Index)
	}
	for _, tag := range []string{"v1.0.0", "latest"} {
		ref, _ := name.NewTag(p.Repository + ":" + tag)
		desc, err := remote.Head(ref, remote.WithContext(ctx))
		if err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
		if desc.Digest.String() != res.Index.Digest {
			t.Errorf("tag %s points at %s, want the index %s", tag, desc.Digest, res.Index.Digest)
		}
	}
	if len(res.Images) != 2 {
		t.Fatalf("images = %+v, want 2", res.Images)
	}
	for _, img := range res.Images {
		if !img.SmokePassed || img.Digest == "" || img.Node != "shared" {
			t.Errorf("image %+v: want a digest, node shared, smoke passed", img)
		}
		if wantEmulated := img.Platform == "linux/arm64"; img.Emulated != wantEmulated {
			t.Errorf("%s: emulated = %t, want %t", img.Platform, img.Emulated, wantEmulated)
		}
		if img.Cache.Executed+img.Cache.Cached != 1 {
			t.Errorf("%s: cache stats %+v, want the one RUN step counted", img.Platform, img.Cache)
		}
	}
	if res.Smoke == nil || !res.Smoke.Passed() {
		t.Errorf("smoke report = %+v, want passed", res.Smoke)
	}
	var summary bytes.Buffer
	if err := res.WriteSummary(&summary); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary.String(), "tagged "+p.Repository+":latest") {
		t.Errorf("summary:\n%s", summary.String())
	}
	if !strings.Contains(progress.String(), "#multiarch plan: linux/arm64 on node shared, under emulation") {
		t.Errorf("progress lacks the plan line:\n%s", progress.String())
	}
}

// assertNoTag fails when any of tags exists in repo.
func assertNoTag(t *testing.T, repo string, tags ...string) {
	t.Helper()
	for _, tag := range tags {
		ref, _ := name.NewTag(repo + ":" + tag)
		_, err := remote.Head(ref)
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
			t.Errorf("tag %s: err = %v, want 404: a failed pipeline must not tag", ref, err)
		}
	}
}

func TestPipelineFailedPlatformTagsNothing(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	p := multiarch.Pipeline{
		Context:    writeContext(t, "FROM "+e.Base+"\nRUN uname -m > /arch\nRUN [ \"$(uname -m)\" != aarch64 ] || { echo arm64 is broken >&2; exit 3; }\n"),
		Nodes:      []build.Node{{Name: "shared", Address: e.Addr}},
		Repository: e.Registry + "/pipeline/broken-build",
		Tags:       []string{"v1", "latest"},
	}
	res, err := p.Run(ctx)
	var se *multiarch.StepError
	if !errors.As(err, &se) || se.Step != multiarch.StepBuild {
		t.Fatalf("err = %v, want a build StepError", err)
	}
	if res.Failed == nil || strings.Join(res.Failed.Platforms, ",") != "linux/arm64" {
		t.Errorf("failed = %+v, want the build step for linux/arm64", res.Failed)
	}
	if !strings.Contains(err.Error(), "arm64 is broken") {
		t.Errorf("err = %v, want BuildKit's output of the failing step", err)
	}
	if res.Index != nil {
		t.Errorf("index published: %+v", res.Index)
	}
	assertNoTag(t, p.Repository, p.Tags...)
}

func TestPipelineFailedSmokeTagsNothing(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// The classic mistake: the arch file is written for the build platform, not the
	// target, so the arm64 image claims x86_64.
	p := multiarch.Pipeline{
		Context:    writeContext(t, "FROM --platform=$BUILDPLATFORM "+e.Base+" AS gen\nRUN uname -m > /arch\nFROM "+e.Base+"\nCOPY --from=gen /arch /arch\n"),
		Nodes:      []build.Node{{Name: "shared", Address: e.Addr}},
		Smoke:      archCheck,
		Repository: e.Registry + "/pipeline/broken-smoke",
		Tags:       []string{"v1"},
	}
	res, err := p.Run(ctx)
	var se *multiarch.StepError
	if !errors.As(err, &se) || se.Step != multiarch.StepSmoke {
		t.Fatalf("err = %v, want a smoke StepError", err)
	}
	if res.Failed == nil || strings.Join(res.Failed.Platforms, ",") != "linux/arm64" {
		t.Errorf("failed = %+v, want the smoke step for linux/arm64 only", res.Failed)
	}
	if len(res.Images) != 2 || res.Images[0].Digest == "" {
		t.Errorf("images = %+v, want both pushed by digest (untagged)", res.Images)
	}
	assertNoTag(t, p.Repository, p.Tags...)
}

func TestPipelineDryRun(t *testing.T) {
	e := testenv.Get(t)
	p := multiarch.Pipeline{
		Context:    writeContext(t, "FROM "+e.Base+"\n"),
		Nodes:      []build.Node{{Name: "shared", Address: e.Addr}},
		Repository: e.Registry + "/pipeline/dry",
		Tags:       []string{"v1"},
		DryRun:     true,
	}
	var err error
	if p.Cache, err = cache.ParseFlags(nil, []string{"type=registry,ref=" + e.Registry + "/pipeline/cache:build,mode=max"}); err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan) != 2 || res.Plan[0].Emulated || !res.Plan[1].Emulated || res.Plan[1].Node != "shared" {
		t.Errorf("plan = %+v, want amd64 native and arm64 emulated on shared", res.Plan)
	}
	if got := strings.Join(res.Plan[1].CacheExports, " "); !strings.Contains(got, "linux-arm64") {
		t.Errorf("arm64 cache exports = %q, want a per-platform ref", got)
	}
	if len(res.Images) != 0 || res.Index != nil {
		t.Errorf("dry run built or published: %+v", res)
	}
	assertNoTag(t, p.Repository, p.Tags...)
}
