package smoke

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// outputExcerpt is how much of a command's output a Result keeps.
const outputExcerpt = 4 << 10

// maxFailuresListed bounds the scan findings listed in a Result's Failures (all of them
// are in TargetReport.Findings).
const maxFailuresListed = 20

// Run runs suite against every target, platforms in parallel (WithConcurrency), and
// returns what it found. Each target is first resolved in its registry and pinned by
// digest (WithRemoteOptions), so that every check sees the same image; commands then run
// through r, one container each, in order; file, metadata and scan checks read that
// image's config and layers (every layer once, for files and scan together; a layer
// holding a file whose content is checked is read a second time, for that content).
//
// A check that fails is a result, not an error: use Report.Err or Report.Passed. Run
// returns an error, and no report, only for input it cannot run: an invalid suite
// (ErrInvalidTest), no targets, or command tests without a Runner. A target whose image
// is missing (ErrImageNotFound, ErrPlatformNotFound, ErrPlatformMismatch) is reported
// as an error result of each of its checks. When ctx ends, checks still running end as
// errors and Run returns the report with ctx's error.
func Run(ctx context.Context, r Runner, targets []Target, suite Test, opts ...Option) (*Report, error) {
	if err := suite.Validate(); err != nil {
		return nil, fmt.Errorf("smoke: %w", err)
	}
	if len(targets) == 0 {
		return nil, errors.New("smoke: no targets: give each platform image to test as a Target{Platform, Ref}")
	}
	if r == nil && len(suite.Commands) > 0 {
		return nil, errors.New("smoke: command tests need a Runner: pass smoke.NewBuildKitRunner(client)")
	}
	o := makeOptions(opts)
	start := time.Now()
	rep := &Report{Targets: make([]TargetReport, len(targets))}
	g := new(errgroup.Group)
	g.SetLimit(o.concurrency)
	for i, t := range targets {
		t.Platform = platforms.Normalize(t.Platform)
		g.Go(func() error {
			rep.Targets[i] = runTarget(ctx, r, t, suite, o)
			return nil
		})
	}
	_ = g.Wait()
	rep.Duration = Duration(time.Since(start))
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("smoke: %w", err)
	}
	return rep, nil
}

func runTarget(ctx context.Context, r Runner, t Target, suite Test, o options) TargetReport {
	start := time.Now()
	tr := TargetReport{Target: t}
	defer func() { tr.Duration = Duration(time.Since(start)) }()
	plat := platforms.Format(t.Platform)
	img, pinned, err := resolveImage(ctx, t, o.remote)
	if err != nil {
		tr.Error = err.Error()
		tr.Results = errorResults(suite, tr.Error)
		o.logger.DebugContext(ctx, "smoke: target unavailable", "platform", plat, "ref", t.Ref, "error", err)
		return tr
	}
	tr.Digest = pinned
	for _, c := range suite.Commands {
		tr.Results = append(tr.Results, runCommand(ctx, r, Target{Platform: t.Platform, Ref: pinned}, c))
	}
	tr.Results = append(tr.Results, checkImage(ctx, img, t, suite, &tr.Findings)...)
	o.logger.DebugContext(ctx, "smoke: target done", "platform", plat, "ref", pinned, "duration", time.Since(start))
	return tr
}

func runCommand(ctx context.Context, r Runner, t Target, c CommandTest) Result {
	res := Result{Name: c.name(), Kind: KindCommand}
	env := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		env = append(env, e.Key+"="+e.Value)
	}
	start := time.Now()
	out, err := r.Run(ctx, t, Command{
		Args: append([]string{c.Command}, c.Args...), Env: env,
		Workdir: c.Workdir, User: c.User, Timeout: c.timeout(),
	})
	res.Duration = Duration(time.Since(start))
	res.Output = outputText(out)
	switch {
	case errors.Is(err, ErrTimeout):
		res.Failures = []string{fmt.Sprintf("timed out after %s: raise timeout if the command needs longer", c.timeout())}
		return res
	case err != nil:
		res.Error = err.Error()
		return res
	}
	res.ExitCode = &out.ExitCode
	if out.ExitCode != c.ExitCode {
		res.Failures = append(res.Failures, fmt.Sprintf("exit code %d, want %d", out.ExitCode, c.ExitCode))
	}
	res.Failures = append(res.Failures, matchAll("stdout", out.Stdout, c.ExpectedOutput, c.ExcludedOutput)...)
	res.Failures = append(res.Failures, matchAll("stderr", out.Stderr, c.ExpectedError, c.ExcludedError)...)
	res.Passed = len(res.Failures) == 0
	return res
}

func outputText(out Output) string {
	var b strings.Builder
	b.WriteString(excerpt(string(out.Stdout), outputExcerpt))
	if len(out.Stderr) > 0 {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
		b.WriteString("[stderr]\n")
		b.WriteString(excerpt(string(out.Stderr), outputExcerpt))
	}
	return b.String()
}

// checkImage runs the file, metadata and scan checks, reading the layers once for the
// file tree and the scan together, then the layers that hold checked contents.
func checkImage(ctx context.Context, img v1.Image, t Target, suite Test, findings *[]Finding) []Result {
	var results []Result
	if m := suite.Metadata; m != nil {
		start := time.Now()
		res := Result{Name: "metadata", Kind: KindMetadata}
		if cf, err := img.ConfigFile(); err != nil {
			res.Error = fmt.Sprintf("read config: %v", err)
		} else {
			res.Failures = checkMetadata(*m, cf.Config)
			res.Passed = len(res.Failures) == 0
		}
		res.Duration = Duration(time.Since(start))
		results = append(results, res)
	}
	if len(suite.Files) == 0 && suite.Scan == nil {
		return results
	}
	// A platform the scan cannot check (no known ELF machine) fails the scan only: the
	// file tests still run.
	var scanErr error
	walked := suite
	if suite.Scan != nil {
		if _, scanErr = newScanner(*suite.Scan, t.Platform); scanErr != nil {
			walked.Scan = nil
		}
	}
	start := time.Now()
	var files fileState
	var scan []Finding
	var err error
	if len(walked.Files) > 0 || walked.Scan != nil {
		files, scan, err = walkImage(ctx, img, t, walked)
	}
	elapsed := Duration(time.Since(start))
	for _, f := range suite.Files {
		res := Result{Name: f.name(), Kind: KindFile, Duration: elapsed}
		if err != nil {
			res.Error = err.Error()
		} else {
			res.Failures = checkFile(f, files.tree, files.content)
			res.Passed = len(res.Failures) == 0
		}
		results = append(results, res)
	}
	if suite.Scan != nil {
		res := Result{Name: "ELF architecture", Kind: KindScan, Duration: elapsed}
		switch {
		case scanErr != nil:
			res.Error = scanErr.Error()
		case err != nil:
			res.Error = err.Error()
		default:
			*findings = scan
			for i, f := range scan {
				if i == maxFailuresListed {
					res.Failures = append(res.Failures, fmt.Sprintf("... and %d more", len(scan)-i))
					break
				}
				res.Failures = append(res.Failures, f.String())
			}
			res.Passed = len(scan) == 0
		}
		results = append(results, res)
	}
	return results
}

type fileState struct {
	tree    tree
	content map[string][]byte
}

func walkImage(ctx context.Context, img v1.Image, t Target, suite Test) (fileState, []Finding, error) {
	fsState := fileState{tree: tree{}}
	var s *scanner
	if suite.Scan != nil {
		var err error
		if s, err = newScanner(*suite.Scan, t.Platform); err != nil {
			return fsState, nil, err
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return fsState, nil, fmt.Errorf("layers of %s: %w", t.Ref, err)
	}
	err = walkLayers(ctx, layers, func(layer int, name string, h *tar.Header, r io.Reader) error {
		if len(suite.Files) > 0 {
			if err := fsState.tree.visit(layer, name, h, r); err != nil {
				return err
			}
		}
		if s != nil {
			return s.visit(layer, name, h, r)
		}
		return nil
	})
	if err != nil {
		return fsState, nil, fmt.Errorf("read %s: %w", t.Ref, err)
	}
	if fsState.content, err = readContents(ctx, suite.Files, fsState.tree, layers); err != nil {
		return fsState, nil, fmt.Errorf("read %s: %w", t.Ref, err)
	}
	var found []Finding
	if s != nil {
		found = s.findings(layers)
	}
	return fsState, found, nil
}

// errorResults marks every check of suite as unable to run, for the reason msg.
func errorResults(suite Test, msg string) []Result {
	var out []Result
	for _, c := range suite.Commands {
		out = append(out, Result{Name: c.name(), Kind: KindCommand, Error: msg})
	}
	if suite.Metadata != nil {
		out = append(out, Result{Name: "metadata", Kind: KindMetadata, Error: msg})
	}
	for _, f := range suite.Files {
		out = append(out, Result{Name: f.name(), Kind: KindFile, Error: msg})
	}
	if suite.Scan != nil {
		out = append(out, Result{Name: "ELF architecture", Kind: KindScan, Error: msg})
	}
	return out
}
