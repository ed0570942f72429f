package smoke_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/multiarch-sdk/multiarch/registrytest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// machineRunner is a Runner for unit tests: it knows `uname -m`, `false`, `echo` and
// `sleep`, answering for the target's platform as a real container would.
type machineRunner struct {
	mu   sync.Mutex
	refs []string
}

func (r *machineRunner) Run(ctx context.Context, t smoke.Target, c smoke.Command) (smoke.Output, error) {
	r.mu.Lock()
	r.refs = append(r.refs, t.Ref)
	r.mu.Unlock()
	switch strings.Join(c.Args, " ") {
	case "uname -m":
		m := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[t.Platform.Architecture]
		return smoke.Output{Stdout: []byte(m + "\n")}, nil
	case "false":
		return smoke.Output{ExitCode: 1, Stderr: []byte("false: failed on purpose\n")}, nil
	case "sleep 60":
		select {
		case <-time.After(c.Timeout):
			return smoke.Output{Stdout: []byte("partial")}, fmt.Errorf("sleep: %w", smoke.ErrTimeout)
		case <-ctx.Done():
			return smoke.Output{}, ctx.Err()
		}
	}
	if len(c.Args) > 1 && c.Args[0] == "echo" {
		return smoke.Output{Stdout: []byte(strings.Join(c.Args[1:], " ") + "\n")}, nil
	}
	return smoke.Output{ExitCode: 127}, fmt.Errorf("%s: executable file not found in $PATH", c.Args[0])
}

// pushIndex pushes one image per platform, each with its own layers, as an index.
func pushIndex(t *testing.T, reg *registrytest.Registry, repoTag string, imgs map[string]v1.Image) string {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, plat := range slices.Sorted(mapsKeys(imgs)) {
		p, _ := v1.ParsePlatform(plat)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: imgs[plat], Descriptor: v1.Descriptor{Platform: p}})
	}
	ref, err := reg.Reference(repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	return reg.Host() + "/" + repoTag
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func withConfig(t *testing.T, img v1.Image, f func(*v1.Config)) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	f(&cf.Config)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// appImage is a small image for plat whose /app/hello is built for binArch.
func appImage(t *testing.T, plat, binArch string) v1.Image {
	img := image(t, plat,
		layer(t, file{name: "etc/"}, file{name: "etc/os-release", data: []byte("ID=smoke\nVERSION_ID=1\n")},
			file{name: "bin/"}, file{name: "bin/busybox", data: []byte("not really"), mode: 0o755},
			file{name: "bin/sh", link: "busybox"}, file{name: "usr/", link: ""}, file{name: "etc/motd", data: []byte("old")}),
		layer(t, file{name: "app/", mode: 0o755}, file{name: "app/hello", data: goBinary(t, binArch), mode: 0o755, uid: 1000},
			file{name: "etc/.wh.motd"}, file{name: "app/current", link: "/app/hello"}))
	return withConfig(t, img, func(c *v1.Config) {
		c.Env = []string{"PATH=/bin:/app", "APP_MODE=prod"}
		c.Entrypoint = []string{"/app/hello"}
		c.WorkingDir = "/app"
		c.User = "1000"
		c.Labels = map[string]string{"org.opencontainers.image.version": "1.2.3"}
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	})
}

func TestRun(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{
		"linux/amd64": appImage(t, "linux/amd64", "amd64"),
		"linux/arm64": appImage(t, "linux/arm64", "amd64"), // the bug the scan exists for
	})
	no := false
	uid := 1000
	suite := smoke.Test{
		Commands: []smoke.CommandTest{
			{Name: "arch", Command: "uname", Args: []string{"-m"}, ExpectedOutput: []string{`^(x86_64|aarch64)\n$`}},
			{Command: "false", ExpectedError: []string{"on purpose"}},
		},
		Files: []smoke.FileTest{
			{Path: "/app/hello", Permissions: "-rwxr-xr-x", UID: &uid},
			{Path: "/etc/os-release", ExpectedContents: []string{`ID=smoke`}, ExcludedContents: []string{`ubuntu`}},
			{Path: "/etc/motd", ShouldExist: &no},
			{Path: "/bin/sh", Permissions: "Lrwxr-xr-x"},
			{Name: "wrong owner", Path: "/etc/os-release", UID: &uid},
			{Name: "through a symlink", Path: "/app/current", ExpectedContents: []string{"^\x7fELF"}},
		},
		Metadata: &smoke.MetadataTest{
			Env:          []smoke.EnvVar{{Key: "APP_MODE", Value: "prod"}, {Key: "PATH", Value: `(^|:)/app(:|$)`, IsRegex: true}},
			Labels:       []smoke.EnvVar{{Key: "org.opencontainers.image.version", Value: "1.2.3"}},
			ExposedPorts: []string{"8080"},
			Entrypoint:   &[]string{"/app/hello"},
			Workdir:      "/app",
			User:         "1000",
		},
		Scan: &smoke.ScanOptions{},
	}
	runner := &machineRunner{}
	targets := []smoke.Target{
		{Platform: platforms.MustParse("linux/amd64"), Ref: ref},
		{Platform: platforms.MustParse("linux/arm64"), Ref: ref},
	}
	rep, err := smoke.Run(context.Background(), runner, targets, suite, smoke.WithRemoteOptions(reg.RemoteOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 2 {
		t.Fatalf("%d target reports, want 2", len(rep.Targets))
	}
	// Expected outcome per check, both platforms, except the scan.
	want := map[string]bool{
		"arch": true, "false": false, // exit code 1, want 0
		"/app/hello": true, "/etc/os-release": true, "/etc/motd": true, "/bin/sh": false, "wrong owner": false,
		"through a symlink": true,
		"metadata":          true,
	}
	for i, tr := range rep.Targets {
		plat := platforms.Format(tr.Platform)
		if tr.Error != "" {
			t.Fatalf("%s: %s", plat, tr.Error)
		}
		if !strings.Contains(tr.Digest, "@sha256:") {
			t.Errorf("%s: digest %q is not pinned", plat, tr.Digest)
		}
		for _, res := range tr.Results {
			if res.Kind == smoke.KindScan {
				if wantPass := i == 0; res.Passed != wantPass {
					t.Errorf("%s: scan passed=%v, want %v: %v", plat, res.Passed, wantPass, res.Failures)
				}
				continue
			}
			w, ok := want[res.Name]
			if !ok {
				t.Errorf("%s: unexpected result %q", plat, res.Name)
			}
			if res.Passed != w {
				t.Errorf("%s: %s %q passed=%v, want %v (failures %q, error %q)", plat, res.Kind, res.Name, res.Passed, w, res.Failures, res.Error)
			}
		}
		if n := len(tr.Results); n != len(want)+1 {
			t.Errorf("%s: %d results, want %d", plat, n, len(want)+1)
		}
	}
	arm := rep.Targets[1]
	if len(arm.Findings) != 1 || arm.Findings[0].Path != "/app/hello" || arm.Findings[0].Arch != "amd64" {
		t.Errorf("arm64 findings = %+v, want exactly /app/hello built for amd64", arm.Findings)
	}
	if len(rep.Targets[0].Findings) != 0 {
		t.Errorf("amd64 findings = %+v, want none", rep.Targets[0].Findings)
	}
	out := rep.Targets[1].Results[0].Output
	if out != "aarch64\n" {
		t.Errorf("arm64 uname output = %q", out)
	}
	for _, r := range runner.refs {
		if !strings.Contains(r, "@sha256:") {
			t.Errorf("runner got %q, want a reference pinned by digest", r)
		}
	}
	err = rep.Err()
	if !errors.Is(err, smoke.ErrFailed) || rep.Passed() {
		t.Fatalf("Err() = %v, want ErrFailed", err)
	}
	for _, s := range []string{"linux/arm64: scan", "/app/hello: ET_EXEC built for amd64 (ELF 64-bit LSB EM_X86_64), but a linux/arm64 image needs ELF 64-bit LSB EM_AARCH64", "exit code 1, want 0", "/bin/sh has permissions Lrw-r--r--, want Lrwxr-xr-x"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Err() does not say %q:\n%v", s, err)
		}
	}
}

func TestRunBadTargets(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{"linux/amd64": appImage(t, "linux/amd64", "amd64")})
	amdImage, err := remote.Index(mustRef(t, ref), reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := amdImage.IndexManifest()
	child := reg.Host() + "/team/app@" + im.Manifests[0].Digest.String()
	suite := smoke.Test{Commands: []smoke.CommandTest{{Command: "uname", Args: []string{"-m"}}}, Scan: &smoke.ScanOptions{}}
	for _, tc := range []struct {
		name   string
		target smoke.Target
		want   error
		says   string
	}{
		{"not found", smoke.Target{Platform: platforms.MustParse("linux/amd64"), Ref: reg.Host() + "/team/nothing:v1"}, smoke.ErrImageNotFound, "team/nothing:v1"},
		{"platform missing", smoke.Target{Platform: platforms.MustParse("linux/arm64"), Ref: ref}, smoke.ErrPlatformNotFound, "has no linux/arm64 image, only [linux/amd64]"},
		{"image of another platform", smoke.Target{Platform: platforms.MustParse("linux/arm64"), Ref: child}, smoke.ErrPlatformMismatch, "is a linux/amd64 image, not linux/arm64"},
		{"bad reference", smoke.Target{Platform: platforms.MustParse("linux/amd64"), Ref: "UPPER/case::x"}, nil, "UPPER/case::x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner := &machineRunner{}
			rep, err := smoke.Run(context.Background(), runner, []smoke.Target{tc.target}, suite, smoke.WithRemoteOptions(reg.RemoteOptions()...))
			if err != nil {
				t.Fatal(err)
			}
			tr := rep.Targets[0]
			if tc.want != nil && !strings.Contains(tr.Error, tc.want.Error()) || !strings.Contains(tr.Error, tc.says) {
				t.Errorf("target error = %q, want %q saying %q", tr.Error, tc.want, tc.says)
			}
			if len(tr.Results) != 2 || tr.Results[0].Error == "" || tr.Results[1].Error == "" || tr.Results[0].Passed {
				t.Errorf("results = %+v, want both checks as errors", tr.Results)
			}
			if len(runner.refs) != 0 {
				t.Errorf("runner ran %v for a target that is not there", runner.refs)
			}
			if rep.Passed() {
				t.Error("report passed")
			}
		})
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunTimeout(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{"linux/amd64": appImage(t, "linux/amd64", "amd64")})
	suite := smoke.Test{Commands: []smoke.CommandTest{
		{Command: "sleep", Args: []string{"60"}, Timeout: smoke.Duration(50 * time.Millisecond)},
		{Command: "echo", Args: []string{"after"}, ExpectedOutput: []string{"after"}},
	}}
	rep, err := smoke.Run(context.Background(), &machineRunner{}, []smoke.Target{{Platform: platforms.MustParse("linux/amd64"), Ref: ref}}, suite,
		smoke.WithRemoteOptions(reg.RemoteOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Targets[0].Results
	if res[0].Passed || len(res[0].Failures) != 1 || !strings.Contains(res[0].Failures[0], "timed out after 50ms") || res[0].Output != "partial" {
		t.Errorf("sleep result = %+v, want a timeout failure with its partial output", res[0])
	}
	if !res[1].Passed {
		t.Errorf("the command after a timeout did not run: %+v", res[1])
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	target := []smoke.Target{{Platform: platforms.MustParse("linux/amd64"), Ref: "127.0.0.1:1/x:y"}}
	for _, tc := range []struct {
		name    string
		runner  smoke.Runner
		targets []smoke.Target
		suite   smoke.Test
		want    string
	}{
		{"invalid regex", &machineRunner{}, target, smoke.Test{Commands: []smoke.CommandTest{{Name: "re", Command: "x", ExpectedOutput: []string{"("}}}}, `command test 0 ("re"): invalid regular expression "("`},
		{"no targets", &machineRunner{}, nil, smoke.Test{}, "no targets"},
		{"no runner", nil, target, smoke.Test{Commands: []smoke.CommandTest{{Command: "x"}}}, "need a Runner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := smoke.Run(context.Background(), tc.runner, tc.targets, tc.suite)
			if err == nil || rep != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, %v; want no report and an error saying %q", rep, err, tc.want)
			}
		})
	}
}

func TestIndexTargets(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{
		"linux/amd64":     appImage(t, "linux/amd64", "amd64"),
		"linux/arm64":     appImage(t, "linux/arm64", "arm64"),
		"unknown/unknown": image(t, "unknown/unknown", layer(t, file{name: "attestation.json", data: []byte("{}")})),
	})
	ro := smoke.WithRemoteOptions(reg.RemoteOptions()...)
	targets, err := smoke.IndexTargets(context.Background(), ref, ro)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, platforms.Format(tg.Platform))
		if !strings.HasPrefix(tg.Ref, reg.Host()+"/team/app@sha256:") {
			t.Errorf("target %s ref %q is not pinned by digest", platforms.Format(tg.Platform), tg.Ref)
		}
	}
	if !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("IndexTargets platforms = %v, want [linux/amd64 linux/arm64]", got)
	}
	// A child reference gives its own platform, read from its config.
	child, err := smoke.IndexTargets(context.Background(), targets[1].Ref, ro)
	if err != nil || len(child) != 1 || platforms.Format(child[0].Platform) != "linux/arm64" || child[0].Ref != targets[1].Ref {
		t.Fatalf("IndexTargets(child) = %+v, %v", child, err)
	}
	// The targets run as they are: the scan of each platform passes.
	rep, err := smoke.Run(context.Background(), nil, targets, smoke.Test{Scan: &smoke.ScanOptions{}}, ro)
	if err != nil || !rep.Passed() {
		t.Fatalf("Run on IndexTargets: %v, %v", err, rep.Err())
	}
	if _, err := smoke.IndexTargets(context.Background(), reg.Host()+"/team/none:v1", ro); !errors.Is(err, smoke.ErrImageNotFound) {
		t.Errorf("IndexTargets(absent) = %v, want ErrImageNotFound", err)
	}
}

func TestRunCancelled(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{"linux/amd64": appImage(t, "linux/amd64", "amd64")})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	suite := smoke.Test{Commands: []smoke.CommandTest{{Command: "sleep", Args: []string{"60"}}}}
	start := time.Now()
	rep, err := smoke.Run(ctx, &machineRunner{}, []smoke.Target{{Platform: platforms.MustParse("linux/amd64"), Ref: ref}}, suite,
		smoke.WithRemoteOptions(reg.RemoteOptions()...), smoke.WithConcurrency(1))
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("Run = %v, %v; want the report and context.Canceled", rep, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned %s after cancel", d)
	}
	if r := rep.Targets[0].Results[0]; r.Passed || !strings.Contains(r.Error, "context canceled") {
		t.Errorf("result = %+v, want an error saying the context was cancelled", r)
	}
}

// TestRunContextWinsOverRemoteOptions: WithRemoteOptions says the context given to Run
// always applies, even when the options carry a context of their own.
func TestRunContextWinsOverRemoteOptions(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{"linux/amd64": appImage(t, "linux/amd64", "amd64")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ro := smoke.WithRemoteOptions(append(reg.RemoteOptions(), remote.WithContext(context.Background()))...)
	if _, err := smoke.IndexTargets(ctx, ref, ro); !errors.Is(err, context.Canceled) {
		t.Errorf("IndexTargets with a cancelled context = %v, want context.Canceled", err)
	}
	rep, err := smoke.Run(ctx, nil, []smoke.Target{{Platform: platforms.MustParse("linux/amd64"), Ref: ref}},
		smoke.Test{Scan: &smoke.ScanOptions{}}, ro)
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("Run = %v, %v; want the report and context.Canceled", rep, err)
	}
	if tr := rep.Targets[0]; !strings.Contains(tr.Error, "context canceled") || tr.Digest != "" {
		t.Errorf("target = %+v, want it unresolved because the context was cancelled", tr)
	}
}

// TestRunScanOfUnknownArchitecture: a platform whose ELF machine the scan does not know
// fails the scan check with ErrUnsupportedPlatform, and its file tests still run.
func TestRunScanOfUnknownArchitecture(t *testing.T) {
	reg := registrytest.New(t)
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{
		"linux/sparc64": image(t, "linux/sparc64", layer(t, file{name: "etc/"}, file{name: "etc/os-release", data: []byte("ID=smoke\n")})),
	})
	suite := smoke.Test{
		Files: []smoke.FileTest{{Path: "/etc/os-release", ExpectedContents: []string{"ID=smoke"}}},
		Scan:  &smoke.ScanOptions{},
	}
	rep, err := smoke.Run(context.Background(), nil, []smoke.Target{{Platform: platforms.MustParse("linux/sparc64"), Ref: ref}}, suite,
		smoke.WithRemoteOptions(reg.RemoteOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Targets[0].Results
	if len(res) != 2 {
		t.Fatalf("results = %+v, want a file and a scan result", res)
	}
	if !res[0].Passed {
		t.Errorf("file test = %+v, want it to pass although the scan cannot run", res[0])
	}
	if res[1].Passed || !strings.Contains(res[1].Error, smoke.ErrUnsupportedPlatform.Error()) {
		t.Errorf("scan = %+v, want an error naming ErrUnsupportedPlatform", res[1])
	}
}

// TestRunDirectoriesImpliedByUpperLayers: an upper layer whose entries have no parent
// entries (as ko and crane append them) keeps the mode of a lower layer's directory, and
// replaces a lower layer's file by a directory.
func TestRunDirectoriesImpliedByUpperLayers(t *testing.T) {
	reg := registrytest.New(t)
	img := image(t, "linux/arm64",
		layer(t, file{name: "app/", mode: 0o700}, file{name: "lib", data: goBinary(t, "amd64"), mode: 0o755}),
		layer(t, file{name: "app/new", data: []byte("new")}, file{name: "lib/x.so", data: goBinary(t, "arm64")}))
	ref := pushIndex(t, reg, "team/app:v1", map[string]v1.Image{"linux/arm64": img})
	suite := smoke.Test{
		Files: []smoke.FileTest{
			{Path: "/app", Permissions: "drwx------"},
			{Path: "/app/new", ExpectedContents: []string{"^new$"}},
			{Path: "/lib", Permissions: "drwxr-xr-x"},
		},
		Scan: &smoke.ScanOptions{},
	}
	rep, err := smoke.Run(context.Background(), nil, []smoke.Target{{Platform: platforms.MustParse("linux/arm64"), Ref: ref}}, suite,
		smoke.WithRemoteOptions(reg.RemoteOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Targets[0].Results {
		if !res.Passed {
			t.Errorf("%s %q: failures %q, error %q", res.Kind, res.Name, res.Failures, res.Error)
		}
	}
	if n := len(rep.Targets[0].Results); n != 4 {
		t.Errorf("%d results, want 4", n)
	}
}
