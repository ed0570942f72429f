package build_test

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// BenchmarkTwoPlatformBuild builds the same two-platform Dockerfile, pushed by digest
// with no cache, through this package (two parallel solves) and through buildctl (one
// two-platform solve), against the same daemon in the same run, and logs the
// wall-time ratio. Run it with:
//
//	go test ./build/ -run '^$' -bench TwoPlatformBuild -benchtime 10x -count 3
func BenchmarkTwoPlatformBuild(b *testing.B) {
	e := testenv.Get(b)
	buildctl, err := exec.LookPath("buildctl")
	testenv.Require(b, err == nil, "buildctl is not on PATH", testenv.SetupHint)
	want := testenv.BuildkitVersion()
	bi, err := buildinfo.ReadFile(buildctl)
	testenv.Require(b, err == nil && moduleVersion(bi, "github.com/moby/buildkit") == want,
		fmt.Sprintf("%s is not BuildKit %s (the version go.mod pins)", buildctl, want), testenv.SetupHint)

	dir := contextDir(b, map[string]string{
		"Dockerfile": "FROM " + e.Base + "\nCOPY app.txt /app/\nRUN uname -m > /arch\nRUN ls -l /bin > /bin-list\n",
		"app.txt":    "hello\n",
	})
	repo := e.Registry + "/bench/two"
	builder := newBuilder(b, []build.Node{{Address: e.Addr}})
	ctx := context.Background()
	viaPackage := func(b *testing.B) {
		_, err := builder.Build(ctx, build.Request{
			Context: dir, Platforms: []ocispec.Platform{amd64, arm64},
			Push: repo, NoCache: true, Progress: io.Discard, ProgressMode: "plain",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	viaBuildctl := func(b *testing.B) {
		cmd := exec.CommandContext(ctx, buildctl, "--addr", e.Addr, "build",
			"--frontend", "dockerfile.v0", "--local", "context="+dir, "--local", "dockerfile="+dir,
			"--opt", "platform=linux/amd64,linux/arm64", "--no-cache", "--progress", "plain",
			"--output", "type=image,name="+repo+",push=true,push-by-digest=true,unpack=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("buildctl: %v\n%s", err, out)
		}
	}

	b.Run("multiarch", func(b *testing.B) {
		for b.Loop() {
			viaPackage(b)
		}
	})
	b.Run("buildctl", func(b *testing.B) {
		for b.Loop() {
			viaBuildctl(b)
		}
	})
	// The machine is shared and its load drifts within seconds, so the ratio is taken
	// from builds that alternate (the order flipping every iteration), not from the two
	// sub-benchmarks above, which run a minute apart.
	b.Run("ratio", func(b *testing.B) {
		var pkg, ctl time.Duration
		i := 0
		for b.Loop() {
			for _, first := range []bool{i%2 == 0, i%2 != 0} {
				start := time.Now()
				if first {
					viaPackage(b)
					pkg += time.Since(start)
				} else {
					viaBuildctl(b)
					ctl += time.Since(start)
				}
			}
			i++
		}
		b.ReportMetric(float64(pkg)/float64(ctl), "multiarch/buildctl")
		b.ReportMetric(float64(pkg.Milliseconds())/float64(b.N), "multiarch-ms/op")
		b.ReportMetric(float64(ctl.Milliseconds())/float64(b.N), "buildctl-ms/op")
	})
}

func moduleVersion(bi *buildinfo.BuildInfo, path string) string {
	if bi.Main.Path == path {
		return bi.Main.Version
	}
	for _, m := range bi.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Version
			}
			return m.Version
		}
	}
	return ""
}
