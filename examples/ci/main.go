package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/multiarch-sdk/multiarch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ci:", err)
		os.Exit(1)
	}
}

// run is the whole program: parse the inputs, run the pipeline, then write the
// summary to stdout, the step outputs, the Markdown step summary and the metadata
// file, even when the pipeline failed (with what it did up to the failing step).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	if c.Pipeline.ProgressMode != "" {
		c.Pipeline.Progress = stderr
	}
	if c.PullRequest {
		fmt.Fprintf(stdout, "%s event: pushing by digest to %s, no tag is written\n", c.Event, c.Pipeline.Repository)
	}
	res, runErr := c.Pipeline.Run(ctx)
	if res == nil {
		return runErr
	}
	errs := []error{runErr}
	if res.DryRun {
		errs = append(errs, writePlan(stdout, res))
	} else {
		errs = append(errs, res.WriteSummary(stdout))
	}
	if c.Outputs != "" {
		kv, err := outputs(c, res)
		if err == nil {
			err = appendFile(c.Outputs, func(w io.Writer) error { return writeOutputs(w, kv) })
		}
		errs = append(errs, err)
	}
	if c.Summary != "" {
		errs = append(errs, appendFile(c.Summary, func(w io.Writer) error { return writeSummary(w, c, res) }))
	}
	if c.MetadataFile != "" {
		errs = append(errs, writeMetadataFile(c.MetadataFile, res))
	}
	return errors.Join(errs...)
}

// writePlan writes a dry run's plan: where each platform would build, how, and with
// which cache refs.
func writePlan(w io.Writer, res *multiarch.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tNODE\tRUNS\tCACHE FROM\tCACHE TO")
	for _, p := range res.Plan {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Platform, p.Node, runs(p.Emulated), strings.Join(p.CacheImports, " "), strings.Join(p.CacheExports, " "))
	}
	return tw.Flush()
}

func writeMetadataFile(name string, res *multiarch.Result) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("-metadata-file: %w", err)
	}
	if err := res.WriteMetadata(f); err != nil {
		f.Close()
		return fmt.Errorf("-metadata-file %s: %w", name, err)
	}
	return f.Close()
}
