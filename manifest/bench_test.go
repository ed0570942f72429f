package manifest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

const craneVersion = "v0.22.1"

// craneBinary returns crane at craneVersion, built once from the Go module
// proxy in a throwaway module and cached outside the checkout.
func craneBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(testenv.CacheDir(), "tools", "crane-"+craneVersion, "crane")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	err := func() error {
		tmp := b.TempDir()
		goCmd := func(args ...string) error {
			cmd := exec.Command("go", args...)
			cmd.Dir = tmp
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		if err := goCmd("mod", "init", "x"); err != nil {
			return err
		}
		if err := goCmd("get", "github.com/google/go-containerregistry/cmd/crane@"+craneVersion); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			return err
		}
		if err := goCmd("build", "-o", bin+".tmp", "github.com/google/go-containerregistry/cmd/crane"); err != nil {
			return err
		}
		return os.Rename(bin+".tmp", bin)
	}()
	if err != nil {
		b.Log(err)
	}
	testenv.Require(b, err == nil, "crane "+craneVersion+" to compare with",
		"make the Go module proxy reachable (the benchmark builds crane into "+bin+")")
	return bin
}

// BenchmarkIndexAppend compares a two-platform assemble+verify+publish
// with `crane index append -m <amd64> -m <arm64> -t <tag>` on the same
// seeded images in the same registry. A fresh Client per iteration, like a
// fresh crane process, so both pay their auth discovery.
func BenchmarkIndexAppend(b *testing.B) {
	crane := craneBinary(b)
	ctx := context.Background()
	reg := registrytest.New(b)
	children := seedImages(b, reg, "team/app", []ocispec.Platform{amd64, arm64})

	b.Run("multiarch", func(b *testing.B) {
		reg.ResetRequests()
		for b.Loop() {
			c := newClient(reg)
			ix, err := c.Assemble(ctx, manifest.Request{Children: children})
			if err != nil {
				b.Fatal(err)
			}
			if err := manifest.Verify(ix, amd64, arm64); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Publish(ctx, ix, reg.Host()+"/team/app", "bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(reg.Requests()))/float64(b.N), "requests/op")
	})
	b.Run("crane", func(b *testing.B) {
		reg.ResetRequests()
		for b.Loop() {
			cmd := exec.Command(crane, "index", "append", "--insecure",
				"-m", children[0].Ref, "-m", children[1].Ref, "-t", reg.Host()+"/team/app:bench-crane")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+b.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("crane: %v\n%s", err, out)
			}
		}
		b.ReportMetric(float64(len(reg.Requests()))/float64(b.N), "requests/op")
	})
	// The floor of the crane figure: starting the process at all.
	b.Run("crane-version", func(b *testing.B) {
		for b.Loop() {
			if out, err := exec.Command(crane, "version").CombinedOutput(); err != nil {
				b.Fatalf("crane version: %v\n%s", err, out)
			}
		}
	})
}
