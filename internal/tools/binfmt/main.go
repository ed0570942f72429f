// Command binfmt manages QEMU's binfmt_misc registrations through package qemu. It is
// what scripts/setup.sh runs, and a quick way to look at or repair a machine:
//
//	go run ./internal/tools/binfmt status
//	go run ./internal/tools/binfmt install linux/arm64 [linux/riscv64 ... | all]
//	go run ./internal/tools/binfmt probe linux/arm64
//	go run ./internal/tools/binfmt uninstall linux/arm64 | all
//
// install is idempotent (a platform installed and working is left alone) and probes
// every platform it was asked for: it exits 0 only if all of them run. Flags go before
// the command: -replace (replace unusable entries), -credentials (flag C),
// -root (binfmt_misc mount point), -dirs (interpreter directories, comma-separated).
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
	"time"

	"github.com/containerd/platforms"
	"github.com/multiarch-sdk/multiarch/qemu"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "binfmt:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("binfmt", flag.ContinueOnError)
	var b qemu.Binfmt
	fs.StringVar(&b.Root, "root", "", "binfmt_misc mount point (default "+qemu.DefaultRoot+")")
	dirs := fs.String("dirs", "", "comma-separated interpreter directories (default /usr/bin)")
	fs.BoolVar(&b.Replace, "replace", false, "replace existing unusable entries")
	fs.BoolVar(&b.Credentials, "credentials", false, "register with flag C")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dirs != "" {
		b.InterpreterDirs = strings.Split(*dirs, ",")
	}
	cmd, specs := fs.Arg(0), fs.Args()[min(1, fs.NArg()):]
	switch cmd {
	case "status":
		return status(ctx, &b, out)
	case "install":
		start := time.Now()
		res, err := b.Install(ctx, specs...)
		for _, r := range res {
			fmt.Fprintf(out, "%-16s %-18s %s %s\n", platforms.Format(r.Platform), r.Action, r.Name, r.Interpreter)
		}
		if err != nil {
			return err
		}
		ps := make([]ocispec.Platform, len(res))
		for i, r := range res {
			ps[i] = r.Platform
		}
		if err := probe(ctx, &b, ps, out); err != nil {
			return err
		}
		fmt.Fprintf(out, "install+probe took %s\n", time.Since(start).Round(time.Millisecond))
		return nil
	case "uninstall":
		res, err := b.Uninstall(ctx, specs...)
		for _, r := range res {
			fmt.Fprintf(out, "%-16s %-18s %s\n", platforms.Format(r.Platform), r.Action, r.Name)
		}
		return err
	case "probe":
		var ps []ocispec.Platform
		for _, s := range specs {
			if s == "all" {
				for _, a := range qemu.Archs() {
					ps = append(ps, a.Platform)
				}
				continue
			}
			p, err := platforms.Parse(s)
			if err != nil {
				return fmt.Errorf("platform %q: %w", s, err)
			}
			ps = append(ps, p)
		}
		if len(ps) == 0 {
			return errors.New("probe: name platforms, e.g. probe linux/arm64, or all")
		}
		return probe(ctx, &b, ps, out)
	default:
		return fmt.Errorf("unknown command %q; usage: binfmt [-replace] [-credentials] [-root DIR] [-dirs DIRS] status|install|uninstall|probe [platform...|all]", cmd)
	}
}

func probe(ctx context.Context, b *qemu.Binfmt, ps []ocispec.Platform, out io.Writer) error {
	res, err := b.ProbeAll(ctx, ps, 0)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range res {
		verdict := "runs"
		if r.Err != nil {
			verdict, errs = "FAILS", append(errs, r.Err)
		}
		fmt.Fprintf(out, "probe %-16s %s (%s)\n", platforms.Format(r.Platform), verdict, r.Duration.Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

func status(ctx context.Context, b *qemu.Binfmt, out io.Writer) error {
	st, err := b.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "binfmt_misc at %s: mounted=%t enabled=%t\n", st.Root, st.Mounted, st.Enabled)
	native, err := b.Native(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "native: %s\n", formatAll(native))
	for _, e := range st.Entries {
		state := "enabled"
		if !e.Enabled {
			state = "disabled"
		}
		fmt.Fprintf(out, "entry %-16s %-8s flags=%-4s %s\n", e.Name, state, e.Flags, e.Interpreter)
	}
	for _, em := range st.Emulators {
		health := "usable"
		if !em.Usable() {
			health = fmt.Sprint(em.Problems)
		}
		fmt.Fprintf(out, "emulator %-16s via %s: %s\n", platforms.Format(em.Platform), em.Entry.Name, health)
	}
	return nil
}

func formatAll(ps []ocispec.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = platforms.Format(p)
	}
	return strings.Join(s, ", ")
}
