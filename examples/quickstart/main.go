// Command quickstart is multiarch's main job: one Dockerfile built for linux/amd64 and
// linux/arm64 in parallel, each platform smoke-tested and scanned, then published as
// one image index under a tag, all from Go.
//
// With no flags it needs nothing but this machine (after scripts/setup.sh): it starts
// an in-process registry and a local buildkitd, registers QEMU for arm64, builds the
// small app bundled in app/, smoke-tests both images, publishes the index and prints
// a summary:
//
//	go run ./examples/quickstart
//
// Flags point it at a real registry and real BuildKit nodes instead:
//
//	go run ./examples/quickstart -repo registry.example.com/team/hello -tag v1 \
//	    -node amd=tcp://amd64-builder:1234 -node arm=tcp://arm64-builder:1234
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/registrytest"
	"github.com/multiarch-sdk/multiarch/smoke"
)

//go:embed Dockerfile app/main.go
var bundle embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	plats := fs.String("platforms", "linux/amd64,linux/arm64", "platforms to build, comma-separated")
	repo := fs.String("repo", "", "repository to push to (default: an in-process registry's quickstart/hello)")
	tag := fs.String("tag", "latest", "tag for the published index")
	var nodes build.Nodes
	fs.Var(&nodes, "node", "BuildKit node `[name=]address` (repeatable; default: start a local buildkitd)")
	buildkitd := fs.String("buildkitd", "buildkitd", "buildkitd binary for the local daemon")
	progress := fs.String("progress", "plain", "build progress on stderr: plain, tty, auto, rawjson or none")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}

	if *repo == "" {
		reg := registrytest.NewServer()
		defer reg.Close()
		*repo = reg.Host() + "/quickstart/hello"
		fmt.Fprintf(stdout, "in-process registry at %s\n", reg.Host())
	}
	ctxDir, err := os.MkdirTemp("", "quickstart")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	if err := prepareContext(ctx, ctxDir, strings.Split(*plats, ",")); err != nil {
		return err
	}

	p := multiarch.Pipeline{
		Platforms:  strings.Split(*plats, ","),
		Context:    ctxDir,
		Nodes:      nodes,
		Repository: *repo,
		Tags:       []string{*tag},
		Smoke: multiarch.SmokeTest{
			Commands: []smoke.CommandTest{{
				Name:           "hello runs on its own architecture",
				Command:        "/hello",
				ExpectedOutput: []string{`^hello from linux/\S+, machine \S+\n$`},
			}},
			Files:    []smoke.FileTest{{Path: "/built-on.txt", ExpectedContents: []string{"^hello from linux/"}}},
			Metadata: &smoke.MetadataTest{Entrypoint: &[]string{"/hello"}},
		},
	}
	if len(nodes) == 0 {
		p.Daemon = &build.DaemonConfig{Binary: *buildkitd}
	}
	if *progress != "none" {
		p.Progress, p.ProgressMode = stderr, *progress
	}
	res, err := p.Run(ctx)
	if res == nil {
		return err
	}
	fmt.Fprintln(stdout)
	errs := []error{err, res.WriteSummary(stdout)}
	if *jsonOut != "" {
		errs = append(errs, writeJSONFile(*jsonOut, res))
	}
	return errors.Join(errs...)
}

// writeJSONFile writes res as JSON to the file name (the -json flag).
func writeJSONFile(name string, res *multiarch.Result) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	if err := res.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("-json %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("-json %s: %w", name, err)
	}
	return nil
}

// prepareContext writes the Dockerfile and cross-compiles the bundled app for every
// platform into dir/bin/hello-<arch><variant>, the names the Dockerfile copies.
func prepareContext(ctx context.Context, dir string, plats []string) error {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	for from, to := range map[string]string{"Dockerfile": filepath.Join(dir, "Dockerfile"), "app/main.go": filepath.Join(src, "main.go")} {
		b, err := bundle.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("src\n"), 0o644); err != nil {
		return err
	}
	for _, s := range plats {
		pl, err := platforms.Parse(s)
		if err != nil {
			return err
		}
		pl = platforms.Normalize(pl)
		env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl.OS, "GOARCH="+pl.Architecture, "GOFLAGS=-trimpath")
		switch pl.Architecture {
		case "arm":
			env = append(env, "GOARM="+strings.TrimPrefix(pl.Variant, "v"))
		case "amd64":
			if pl.Variant != "" {
				env = append(env, "GOAMD64="+pl.Variant)
			}
		}
		out := filepath.Join(dir, "bin", "hello-"+pl.Architecture+pl.Variant)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
		cmd.Dir, cmd.Env = src, env
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("cross-compile the app for %s: %w\n%s", platforms.Format(pl), err, b)
		}
	}
	return nil
}
