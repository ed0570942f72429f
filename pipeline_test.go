package multiarch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/qemu"
	"github.com/multiarch-sdk/multiarch/smoke"
)

func TestPipelineRejectsBadInput(t *testing.T) {
	ok := Pipeline{Context: t.TempDir(), Repository: "127.0.0.1:5000/app"}
	for _, tc := range []struct {
		name   string
		change func(*Pipeline)
		want   string
	}{
		{"no context", func(p *Pipeline) { p.Context = "" }, "Context"},
		{"no repository", func(p *Pipeline) { p.Repository = "" }, "Repository is required"},
		{"bad repository", func(p *Pipeline) { p.Repository = "127.0.0.1:5000/App" }, `Repository "127.0.0.1:5000/App"`},
		{"bad platform", func(p *Pipeline) { p.Platforms = []string{"linux/amd64", "linux/not-an-arch/x/y"} }, "not-an-arch"},
		{"bad tag", func(p *Pipeline) { p.Tags = []string{"v1", "feature/x"} }, `tag "feature/x"`},
		{"platform twice", func(p *Pipeline) { p.Platforms = []string{"linux/arm64", "linux/amd64", "linux/aarch64"} }, "linux/arm64 is listed twice"},
		{"bad smoke regex", func(p *Pipeline) {
			p.Smoke.Commands = []smoke.CommandTest{{Command: "true", ExpectedOutput: []string{"(unclosed"}}}
		}, "unclosed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.change(&p)
			res, err := p.Run(context.Background())
			if !errors.Is(err, ErrInvalidPipeline) {
				t.Fatalf("err = %v, want ErrInvalidPipeline", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			if res == nil || res.Index != nil || len(res.Images) != 0 {
				t.Errorf("result = %+v, want nothing built or published", res)
			}
		})
	}
}

func TestStepErrorNamesStepAndPlatforms(t *testing.T) {
	cause := errors.New("exit code 1")
	err := error(&StepError{Step: StepBuild, Platforms: []ocispec.Platform{platforms.MustParse("linux/arm64")}, Err: cause})
	if got := err.Error(); !strings.Contains(got, "build step failed for linux/arm64") || !strings.Contains(got, "nothing was tagged") {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(err, cause) {
		t.Error("StepError does not unwrap to its cause")
	}
}

func TestResultMetadataUsesBuildxKeys(t *testing.T) {
	r := &Result{
		Images: []ImageResult{{Platform: "linux/amd64", Digest: "sha256:aa"}, {Platform: "linux/arm64", Digest: "sha256:bb"}},
		Index: &IndexResult{
			Ref: "127.0.0.1:5000/app@sha256:cc", Digest: "sha256:cc", MediaType: ocispec.MediaTypeImageIndex, Size: 123,
			Tags: []string{"127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:latest"},
		},
	}
	var buf bytes.Buffer
	if err := r.WriteMetadata(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["containerimage.digest"] != "sha256:cc" {
		t.Errorf("containerimage.digest = %v", m["containerimage.digest"])
	}
	if m["image.name"] != "127.0.0.1:5000/app:v1,127.0.0.1:5000/app:latest" {
		t.Errorf("image.name = %v", m["image.name"])
	}
	desc, _ := m["containerimage.descriptor"].(map[string]any)
	if desc["mediaType"] != ocispec.MediaTypeImageIndex || desc["size"] != float64(123) {
		t.Errorf("containerimage.descriptor = %v", desc)
	}
	imgs, _ := m["multiarch.images"].(map[string]any)
	if imgs["linux/arm64"] != "sha256:bb" {
		t.Errorf("multiarch.images = %v", imgs)
	}
	if len((&Result{}).Metadata()) != 0 {
		t.Error("an unpublished result has metadata")
	}
}

func TestResultSummary(t *testing.T) {
	r := &Result{
		Images: []ImageResult{
			{Platform: "linux/amd64", Digest: "sha256:0123456789abcdef", Node: "local", Duration: time.Second, SmokePassed: true},
			{Platform: "linux/arm64", Digest: "sha256:fedcba9876543210", Node: "local", Emulated: true, SmokePassed: false},
		},
		Smoke:  &smoke.Report{},
		Failed: &Failure{Step: StepSmoke, Platforms: []string{"linux/arm64"}},
		Steps:  []StepTiming{{StepBuild, time.Second}},
	}
	var buf bytes.Buffer
	if err := r.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"linux/amd64", "sha256:0123456789ab", "native", "emulated", "passed", "FAILED", "NOT PUBLISHED: smoke step failed for linux/arm64"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// A dry run with a Daemon plans from the host's native platforms as Emulation.Binfmt
// reads them: an unreadable binfmt_misc is an error, not a plan that calls every
// platform, the host's own included, emulated.
func TestPipelineDryRunDaemonPlanReadsBinfmt(t *testing.T) {
	root := t.TempDir()
	for name, data := range map[string]string{
		"register":     "",
		"status":       "enabled\n",
		"qemu-aarch64": "enabled\ndisabled\n", // two status lines: ParseEntry refuses it
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := Pipeline{
		Context:    t.TempDir(),
		Repository: "127.0.0.1:5000/app",
		Daemon:     &build.DaemonConfig{},
		Emulation:  Emulation{Skip: true, Binfmt: &qemu.Binfmt{Root: root}},
		DryRun:     true,
	}
	res, err := p.Run(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepPlan || !strings.Contains(err.Error(), "qemu-aarch64") {
		t.Fatalf("err = %v, want a plan StepError naming the unreadable entry", err)
	}
	if len(res.Plan) != 0 {
		t.Errorf("plan = %+v, want none from an unreadable binfmt_misc", res.Plan)
	}
}

// A node without an Address is at build.DefaultAddress: local only when that is a
// unix socket, so a remote $BUILDKIT_HOST does not make Run register QEMU here.
func TestLocalNodesFollowsDefaultAddress(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		p          Pipeline
		want       bool
	}{
		{"addressless node, remote BUILDKIT_HOST", "tcp://10.0.0.1:1234", Pipeline{Nodes: []build.Node{{Name: "ci"}}}, false},
		{"addressless node, default socket", "", Pipeline{Nodes: []build.Node{{Name: "ci"}}}, true},
		{"no nodes, remote BUILDKIT_HOST", "tcp://10.0.0.1:1234", Pipeline{}, false},
		{"no nodes, a daemon started here", "tcp://10.0.0.1:1234", Pipeline{Daemon: &build.DaemonConfig{}}, true},
		{"remote and unix nodes", "", Pipeline{Nodes: []build.Node{{Address: "tcp://10.0.0.2:1234"}, {Address: "unix:///run/b.sock"}}}, true},
		{"remote nodes only", "", Pipeline{Nodes: []build.Node{{Address: "tcp://10.0.0.2:1234"}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BUILDKIT_HOST", tc.host)
			r := &run{p: &tc.p}
			if got := r.localNodes(); got != tc.want {
				t.Errorf("localNodes() = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestRunsNatively(t *testing.T) {
	native := []ocispec.Platform{platforms.MustParse("linux/amd64"), platforms.MustParse("linux/386")}
	for spec, want := range map[string]bool{
		"linux/amd64": true, "linux/amd64/v2": true, "linux/386": true,
		"linux/arm64": false, "linux/arm/v7": false, "windows/amd64": false,
	} {
		if got := runsNatively(platforms.MustParse(spec), native); got != want {
			t.Errorf("runsNatively(%s) = %t, want %t", spec, got, want)
		}
	}
}
