package smoke_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/client"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/registrytest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// These tests run commands in the busybox base image of both platforms through the real
// buildkitd of internal/testenv: arm64 runs under QEMU.

func baseTargets(e *testenv.Env) []smoke.Target {
	return []smoke.Target{
		{Platform: platforms.MustParse("linux/amd64"), Ref: e.Base},
		{Platform: platforms.MustParse("linux/arm64"), Ref: e.Base},
	}
}

func TestBuildKitRunnerUname(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := smoke.NewBuildKitRunner(e.Client)
	for _, tc := range []struct{ platform, want string }{{"linux/amd64", "x86_64\n"}, {"linux/arm64", "aarch64\n"}} {
		t.Run(tc.platform, func(t *testing.T) {
			out, err := r.Run(ctx, smoke.Target{Platform: platforms.MustParse(tc.platform), Ref: e.Base},
				smoke.Command{Args: []string{"uname", "-m"}, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Stdout) != tc.want || out.ExitCode != 0 {
				t.Errorf("uname -m: stdout %q stderr %q exit %d, want %q exit 0", out.Stdout, out.Stderr, out.ExitCode, tc.want)
			}
		})
	}
}

// A timeout that expires before the process has even started is still a timeout
// (ErrTimeout, exit -1), never a plain start error.
func TestBuildKitRunnerTimeoutBeforeStart(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := smoke.NewBuildKitRunner(e.Client)
	target := smoke.Target{Platform: platforms.MustParse("linux/arm64"), Ref: e.Base}
	out, err := r.Run(ctx, target, smoke.Command{Args: []string{"true"}, Timeout: time.Nanosecond})
	if !errors.Is(err, smoke.ErrTimeout) || out.ExitCode != -1 {
		t.Fatalf("Run with a 1ns timeout: exit %d, err %v; want exit -1 and ErrTimeout", out.ExitCode, err)
	}
	if ctx.Err() != nil {
		t.Fatal("the test's own context expired: the runner hung")
	}
}

func TestRunBuildKit(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	suite := smoke.Test{
		Commands: []smoke.CommandTest{
			{Name: "arch", Command: "uname", Args: []string{"-m"}, ExpectedOutput: []string{`^(x86_64|aarch64)\n$`}},
			{Name: "fails", Command: "sh", Args: []string{"-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, ExpectedOutput: []string{"never printed"}},
			{Name: "env and workdir", Command: "sh", Args: []string{"-c", `echo "$GREETING from $(pwd) as $(id -u)"`},
				Env: []smoke.EnvVar{{Key: "GREETING", Value: "hello"}}, Workdir: "/tmp", ExpectedOutput: []string{`^hello from /tmp as 0\n$`}},
			{Name: "hangs", Command: "sleep", Args: []string{"600"}, Timeout: smoke.Duration(2 * time.Second)},
			{Name: "missing executable", Command: "no-such-command", ExitCode: 127},
		},
		Files:    []smoke.FileTest{{Path: "/bin/busybox", Permissions: "-rwxr-xr-x"}, {Path: "/etc/passwd", ExpectedContents: []string{"^root:x:0:0:"}}},
		Metadata: &smoke.MetadataTest{Env: []smoke.EnvVar{{Key: "PATH", Value: "/bin"}}},
		Scan:     &smoke.ScanOptions{},
	}
	start := time.Now()
	rep, err := smoke.Run(ctx, smoke.NewBuildKitRunner(e.Client), baseTargets(e), suite)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 90*time.Second {
		t.Errorf("Run took %s: a 2s timeout must not hang", d)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	for _, tr := range rep.Targets {
		plat := platforms.Format(tr.Platform)
		byName := map[string]smoke.Result{}
		for _, r := range tr.Results {
			byName[r.Name] = r
		}
		wantArch := map[string]string{"linux/amd64": "x86_64\n", "linux/arm64": "aarch64\n"}[plat]
		if r := byName["arch"]; !r.Passed || r.Output != wantArch {
			t.Errorf("%s arch: %+v, want passed with output %q", plat, r, wantArch)
		}
		r := byName["fails"]
		if r.Passed || r.Error != "" || r.ExitCode == nil || *r.ExitCode != 3 ||
			!strings.Contains(r.Output, "to-stdout") || !strings.Contains(r.Output, "to-stderr") {
			t.Errorf("%s fails: %+v, want a failure with exit code 3 and both outputs", plat, r)
		}
		if !strings.Contains(strings.Join(r.Failures, "\n"), "exit code 3, want 0") {
			t.Errorf("%s fails: failures %q do not name the exit code", plat, r.Failures)
		}
		if r := byName["env and workdir"]; !r.Passed {
			t.Errorf("%s env and workdir: %+v", plat, r)
		}
		if r := byName["hangs"]; r.Passed || !strings.Contains(strings.Join(r.Failures, ""), "timed out after 2s") ||
			time.Duration(r.Duration) > 45*time.Second {
			t.Errorf("%s hangs: %+v, want a timeout failure soon after 2s", plat, r)
		}
		if r := byName["missing executable"]; r.Passed || !strings.Contains(r.Output, `"no-such-command": executable file not found`) {
			t.Errorf("%s missing executable: %+v, want a failure whose output says it was not found", plat, r)
		}
		for _, n := range []string{"/bin/busybox", "/etc/passwd", "metadata", "ELF architecture"} {
			if r := byName[n]; !r.Passed {
				t.Errorf("%s %s: %+v", plat, n, r)
			}
		}
	}
	if err := rep.Err(); !errors.Is(err, smoke.ErrFailed) {
		t.Errorf("Err() = %v, want ErrFailed", err)
	}
}

func TestRunBuildKitMissingPlatform(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := smoke.NewBuildKitRunner(e.Client)
	_, err := r.Run(ctx, smoke.Target{Platform: platforms.MustParse("linux/s390x"), Ref: e.Base}, smoke.Command{Args: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "linux/s390x") {
		t.Fatalf("err = %v, want an error naming linux/s390x", err)
	}
	t.Logf("missing platform: %v", err)
	_, err = r.Run(ctx, smoke.Target{Platform: platforms.MustParse("linux/amd64"), Ref: e.Registry + "/smoke/absent:1"}, smoke.Command{Args: []string{"true"}})
	if err == nil || !strings.Contains(err.Error(), "smoke/absent:1") {
		t.Fatalf("err = %v, want an error naming the reference", err)
	}
	t.Logf("missing image: %v", err)
}

// TestScanCatchesWhatRunningMisses puts an amd64 program into the arm64 image of the
// base index. On an x86-64 host that program runs fine in the arm64 container (the
// kernel runs it natively), so a command test passes; the scan reports it.
func TestScanCatchesWhatRunningMisses(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base, err := name.ParseReference(e.Base)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(base, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	app := layer(t, file{name: "app/", mode: 0o755}, file{name: "app/hello", data: goBinary(t, "amd64"), mode: 0o755})
	out := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, app); err != nil {
			t.Fatal(err)
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: d.Platform}})
	}
	ref, err := name.ParseReference(e.Registry + "/smoke/wrong-arch:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, out, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	suite := smoke.Test{
		Commands: []smoke.CommandTest{{Command: "/app/hello", ExpectedError: []string{"hello"}}},
		Scan:     &smoke.ScanOptions{},
	}
	targets, err := smoke.IndexTargets(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := smoke.Run(ctx, smoke.NewBuildKitRunner(e.Client), targets, suite)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	for _, tr := range rep.Targets {
		plat := platforms.Format(tr.Platform)
		if r := tr.Results[0]; !r.Passed {
			t.Errorf("%s: /app/hello did not run: %+v", plat, r)
		}
		wantFindings := 0
		if tr.Platform.Architecture == "arm64" {
			wantFindings = 1
		}
		if len(tr.Findings) != wantFindings || wantFindings == 1 && (tr.Findings[0].Path != "/app/hello" || tr.Findings[0].Arch != "amd64") {
			t.Errorf("%s: findings %+v, want %d (/app/hello built for amd64)", plat, tr.Findings, wantFindings)
		}
	}
}

// TestBuildKitRunnerPrivateRegistry: the daemon pulls the image to run from a registry
// that requires credentials, with those of the Docker config given to the runner; without
// them the run fails instead of pulling anonymously.
func TestBuildKitRunnerPrivateRegistry(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg := registrytest.New(t, registrytest.WithBasicAuth("ci", "s3cret"))
	base, err := name.ParseReference(e.Base)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(base, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	private, err := reg.Reference("smoke/private:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(private, idx, append(reg.RemoteOptions(), remote.WithContext(ctx))...); err != nil {
		t.Fatal(err)
	}

	bin, err := testenv.BuildkitdPath()
	testenv.Require(t, err == nil, "buildkitd", testenv.SetupHint)
	d, err := build.StartDaemon(ctx, build.DaemonConfig{Binary: bin, InsecureRegistries: []string{reg.Host()}})
	if err != nil {
		t.Fatalf("start buildkitd: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop buildkitd: %v", err)
		}
	})
	c, err := client.New(ctx, d.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	withCreds := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	cfg := `{"auths":{"` + reg.Host() + `":{"auth":"` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(withCreds, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	target := smoke.Target{Platform: platforms.MustParse("linux/amd64"), Ref: private.String()}
	cmd := smoke.Command{Args: []string{"uname", "-m"}, Timeout: time.Minute}

	out, err := smoke.NewBuildKitRunner(c, smoke.WithDockerConfigDir(withCreds)).Run(ctx, target, cmd)
	if err != nil || string(out.Stdout) != "x86_64\n" {
		t.Fatalf("with the Docker config's credentials: stdout %q, err %v; want x86_64", out.Stdout, err)
	}
	_, err = smoke.NewBuildKitRunner(c, smoke.WithDockerConfigDir(t.TempDir())).Run(ctx, target, cmd)
	if err == nil {
		t.Fatal("without credentials the image was pulled from a registry that requires them")
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), auth) {
		t.Errorf("error shows the credentials: %v", err)
	}
}
