// Command deploycheck refuses a rollout before it starts: it exits 1 when the image
// lacks a platform of the fleet, lists a child under the wrong platform, or holds
// binaries its platform cannot run (see package deploycheck).
//
//	deploycheck -fleet linux/amd64,linux/arm64 registry.example.com/team/app:v1.4.2
//
// On success it prints the reference pinned to the digest that was checked; deploy
// that. Exit status: 0 deployable, 1 not deployable, 2 the check could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/examples/deploycheck"
	"github.com/multiarch-sdk/multiarch/manifest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], nil, os.Stdout, os.Stderr))
}

// run is the command; opts, when not nil, replaces the registry access built from
// the flags (tests pass registrytest's). It returns the exit status.
func run(ctx context.Context, args []string, opts *deploycheck.Options, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("deploycheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fleet := fs.String("fleet", "linux/amd64,linux/arm64", "platforms the fleet runs, comma-separated")
	noScan := fs.Bool("no-scan", false, "skip the ELF scan of the layers (index and configs only)")
	ignore := fs.String("ignore", "", "comma-separated path patterns the scan does not report (path.Match syntax)")
	insecure := fs.String("insecure", "", "comma-separated registry hosts reached over plain HTTP (loopback always is)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: deploycheck [flags] REFERENCE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	plats, err := build.ParsePlatforms(strings.Split(*fleet, ",")...)
	if err != nil {
		fmt.Fprintln(stderr, "deploycheck: -fleet:", err)
		return 2
	}
	o := deploycheck.Options{}
	if opts != nil {
		o = *opts
	} else if *insecure != "" {
		o.Client = &manifest.Client{Insecure: strings.Split(*insecure, ",")}
	}
	o.NoScan = *noScan
	if *ignore != "" {
		o.Scan.Ignore = strings.Split(*ignore, ",")
	}

	rep, err := deploycheck.Check(ctx, fs.Arg(0), plats, o)
	if *jsonOut {
		_ = rep.WriteJSON(stdout)
	} else {
		_ = rep.WriteText(stdout)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, deploycheck.ErrNotDeployable):
		return 1
	default:
		fmt.Fprintln(stderr, "deploycheck:", err)
		return 2
	}
}
