package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch"
	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/smoke"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// actions fakes a GitHub Actions run's environment for event on ref, with the event
// payload a runner writes, and returns the $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY
// files (in t.TempDir).
func actions(t *testing.T, event, ref, sha, payload string) (outputFile, summaryFile string) {
	t.Helper()
	dir := t.TempDir()
	ev := filepath.Join(dir, "event.json")
	if err := os.WriteFile(ev, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	outputFile, summaryFile = filepath.Join(dir, "output"), filepath.Join(dir, "summary.md")
	for k, v := range map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_REF": ref, "GITHUB_SHA": sha,
		"GITHUB_EVENT_PATH": ev, "GITHUB_REPOSITORY": "Acme/App", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_OUTPUT": outputFile, "GITHUB_STEP_SUMMARY": summaryFile,
	} {
		t.Setenv(k, v)
	}
	return outputFile, summaryFile
}

const (
	sha     = "0123456789abcdef0123456789abcdef01234567"
	headSHA = "fedcba9876543210fedcba9876543210fedcba98"
	onMain  = `{"repository": {"default_branch": "main"}}`
	onPR    = `{"repository": {"default_branch": "main"}, "pull_request": {"number": 7, "head": {"sha": "` + headSHA + `"}}}`
)

func TestParseConfigFromActions(t *testing.T) {
	for _, tc := range []struct {
		name, event, ref, payload string
		args                      []string
		wantRepo                  string
		wantPR                    bool
		wantComputed              []string
		wantTags                  []string // written; nil on a pull request
		wantCacheExports          int
	}{{
		name: "push to the default branch", event: "push", ref: "refs/heads/main", payload: onMain,
		wantRepo:         "ghcr.io/acme/app",
		wantComputed:     []string{"main", "sha-0123456", "latest"},
		wantTags:         []string{"main", "sha-0123456", "latest"},
		wantCacheExports: 1,
	}, {
		name: "release tag", event: "push", ref: "refs/tags/v1.2.3", payload: onMain,
		args:             []string{"-repository", "registry.example.com/team/app", "-no-sha-tag"},
		wantRepo:         "registry.example.com/team/app",
		wantComputed:     []string{"1.2.3", "1.2", "1"},
		wantTags:         []string{"1.2.3", "1.2", "1"},
		wantCacheExports: 1,
	}, {
		name: "feature branch with prefix and an extra tag", event: "push", ref: "refs/heads/feat/x", payload: onMain,
		args:             []string{"-tag-prefix", "app-", "-tag", "nightly"},
		wantRepo:         "ghcr.io/acme/app",
		wantComputed:     []string{"app-feat-x", "app-sha-0123456", "nightly"},
		wantTags:         []string{"app-feat-x", "app-sha-0123456", "nightly"},
		wantCacheExports: 1,
	}, {
		name: "pull request builds but tags nothing and imports the cache only", event: "pull_request", ref: "refs/pull/7/merge", payload: onPR,
		wantRepo:     "ghcr.io/acme/app",
		wantPR:       true,
		wantComputed: []string{"pr-7", "sha-fedcba9"},
	}, {
		name: "pull request exporting the cache when asked", event: "pull_request", ref: "refs/pull/7/merge", payload: onPR,
		args:             []string{"-pr-cache-to"},
		wantRepo:         "ghcr.io/acme/app",
		wantPR:           true,
		wantComputed:     []string{"pr-7", "sha-fedcba9"},
		wantCacheExports: 1,
	}, {
		name: "pull request from a fork pushes to a scratch repository", event: "pull_request_target", ref: "refs/pull/7/merge", payload: onPR,
		args:         []string{"-pr-repository", "ghcr.io/acme/app-pr"},
		wantRepo:     "ghcr.io/acme/app-pr",
		wantPR:       true,
		wantComputed: []string{"pr-7", "sha-fedcba9"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			actions(t, tc.event, tc.ref, sha, tc.payload)
			cacheFlags := []string{"-cache-from", "type=registry,ref=ghcr.io/acme/app:cache", "-cache-to", "type=registry,ref=ghcr.io/acme/app:cache,mode=max"}
			c, err := parseConfig(append(cacheFlags, tc.args...), os.Getenv, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			p := c.Pipeline
			if len(p.Cache.Import) != 1 || len(p.Cache.Export) != tc.wantCacheExports {
				t.Errorf("cache %+v: want the import and %d export(s)", p.Cache, tc.wantCacheExports)
			}
			if p.Repository != tc.wantRepo || c.PullRequest != tc.wantPR || c.Event != tc.event {
				t.Errorf("repository %q, pull request %t, event %q; want %q, %t, %q", p.Repository, c.PullRequest, c.Event, tc.wantRepo, tc.wantPR, tc.event)
			}
			if !slices.Equal(c.Computed, tc.wantComputed) || !slices.Equal(p.Tags, tc.wantTags) {
				t.Errorf("computed tags %q, written %q; want %q, %q", c.Computed, p.Tags, tc.wantComputed, tc.wantTags)
			}
			wantSHA := sha
			if tc.wantPR {
				wantSHA = headSHA
			}
			if p.Labels["org.opencontainers.image.revision"] != wantSHA ||
				p.Labels["org.opencontainers.image.source"] != "https://github.com/Acme/App" ||
				p.Labels["org.opencontainers.image.version"] != tc.wantComputed[0] {
				t.Errorf("labels %v: want revision %s, the source URL and version %s", p.Labels, wantSHA, tc.wantComputed[0])
			}
			if c.Outputs == "" || c.Summary == "" {
				t.Errorf("outputs %q, summary %q: want $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY", c.Outputs, c.Summary)
			}
		})
	}
}

func TestParseConfigFlags(t *testing.T) {
	actions(t, "push", "refs/heads/main", sha, onMain)
	suite := filepath.Join(t.TempDir(), "smoke.yaml")
	if err := os.WriteFile(suite, []byte("commandTests:\n  - name: arch\n    command: uname\n    args: [-m]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig([]string{
		"-platforms", "linux/amd64,linux/arm/v7", "-context", "app", "-file", "app/Dockerfile.prod",
		"-build-arg", "VERSION=1.4", "-build-arg", "EMPTY=", "-label", "org.opencontainers.image.source=https://example.com/x",
		"-node", "amd=tcp://amd:1234", "-node", "unix:///run/buildkit/buildkitd.sock",
		"-cache-from", "type=registry,ref=ghcr.io/acme/app:cache",
		"-cache-to", "type=registry,ref=ghcr.io/acme/app:cache,mode=max",
		"-smoke", suite, "-format", "docker", "-insecure", "registry.lan:5000", "-progress", "none",
	}, os.Getenv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Pipeline
	if !slices.Equal(p.Platforms, []string{"linux/amd64", "linux/arm/v7"}) || p.Context != "app" || p.Dockerfile != "app/Dockerfile.prod" {
		t.Errorf("platforms %q, context %q, dockerfile %q", p.Platforms, p.Context, p.Dockerfile)
	}
	if p.Args["VERSION"] != "1.4" || len(p.Args) != 2 || p.Labels["org.opencontainers.image.source"] != "https://example.com/x" {
		t.Errorf("args %v, labels %v: want the flags, a -label overriding the computed one", p.Args, p.Labels)
	}
	if len(p.Nodes) != 2 || p.Nodes[0].Name != "amd" || p.Nodes[0].Address != "tcp://amd:1234" ||
		p.Nodes[1].Name != "" || p.Nodes[1].Address != "unix:///run/buildkit/buildkitd.sock" || p.Daemon != nil {
		t.Errorf("nodes %+v, daemon %v", p.Nodes, p.Daemon)
	}
	want, err := cache.ParseFlags([]string{"type=registry,ref=ghcr.io/acme/app:cache"}, []string{"type=registry,ref=ghcr.io/acme/app:cache,mode=max"})
	if err != nil {
		t.Fatal(err)
	}
	gotFrom, gotTo := p.Cache.Flags()
	wantFrom, wantTo := want.Flags()
	if len(p.Cache.Import) != 1 || len(p.Cache.Export) != 1 || !slices.Equal(gotFrom, wantFrom) || !slices.Equal(gotTo, wantTo) {
		t.Errorf("cache %+v, want %+v", p.Cache, want)
	}
	if len(p.Smoke.Commands) != 1 || p.Smoke.Commands[0].Command != "uname" {
		t.Errorf("smoke suite %+v, want the file's one command", p.Smoke)
	}
	if p.Format != "docker" || !slices.Equal(p.Insecure, []string{"registry.lan:5000"}) || p.ProgressMode != "" {
		t.Errorf("format %q, insecure %q, progress %q", p.Format, p.Insecure, p.ProgressMode)
	}
}

func TestParseConfigOutsideActions(t *testing.T) {
	for _, k := range []string{"GITHUB_REF", "GITHUB_SHA", "GITHUB_EVENT_PATH", "GITHUB_EVENT_NAME", "GITHUB_REPOSITORY", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_SERVER_URL"} {
		t.Setenv(k, "")
	}
	c, err := parseConfig([]string{"-repository", "registry.example.com/app", "-ref", "refs/heads/dev", "-sha", sha, "-default-branch", "dev", "-buildkitd", "/usr/local/bin/buildkitd"}, os.Getenv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Pipeline.Tags, []string{"dev", "sha-0123456", "latest"}) || c.Outputs != "" || c.Summary != "" {
		t.Errorf("tags %q, outputs %q, summary %q", c.Pipeline.Tags, c.Outputs, c.Summary)
	}
	if c.Pipeline.Daemon == nil || c.Pipeline.Daemon.Binary != "/usr/local/bin/buildkitd" {
		t.Errorf("daemon %+v, want -buildkitd started", c.Pipeline.Daemon)
	}
}

func TestParseConfigErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("comandTests: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no repository", map[string]string{"GITHUB_REPOSITORY": ""}, nil, "-repository ghcr.io/acme/app"},
		{"not in Actions", map[string]string{"GITHUB_REF": "", "GITHUB_SHA": ""}, nil, "pass -ref and -sha"},
		{"unreadable event payload", map[string]string{"GITHUB_EVENT_PATH": "/nonexistent/event.json"}, nil, "/nonexistent/event.json"},
		{"bad cache CSV", nil, []string{"-cache-to", "type=registry,mode=max"}, "-cache-from/-cache-to"},
		{"misspelt smoke field", nil, []string{"-smoke", bad}, "comandTests"},
		{"missing smoke file", nil, []string{"-smoke", "/nonexistent/smoke.yaml"}, "/nonexistent/smoke.yaml"},
		{"bad latest mode", nil, []string{"-latest", "sometimes"}, `-latest "sometimes"`},
		{"bad format", nil, []string{"-format", "zip"}, `-format "zip"`},
		{"bad build arg", nil, []string{"-build-arg", "NOVALUE"}, "KEY=VALUE"},
		{"stray argument", nil, []string{"."}, "every input is a flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			actions(t, "push", "refs/heads/main", sha, onMain)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := parseConfig(tc.args, os.Getenv, &bytes.Buffer{})
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want a usage error naming %q", err, tc.wantErr)
			}
		})
	}
}

// readOutputs parses a $GITHUB_OUTPUT file the way the runner does.
func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if k, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(k, "=") {
			var v []string
			for sc.Scan() && sc.Text() != delim {
				v = append(v, sc.Text())
			}
			out[k] = strings.Join(v, "\n")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("output line %q is neither name=value nor name<<delimiter", line)
		}
		out[k] = v
	}
	return out
}

// published is the Result of a run that published repo@sha256:1111... under two tags.
func published() *multiarch.Result {
	return &multiarch.Result{
		Repository: "ghcr.io/acme/app",
		Platforms:  []string{"linux/amd64", "linux/arm64"},
		Images: []multiarch.ImageResult{
			{Platform: "linux/amd64", Digest: "sha256:" + strings.Repeat("a", 64), Node: "local", SmokePassed: true, Duration: 1200 * time.Millisecond},
			{Platform: "linux/arm64", Digest: "sha256:" + strings.Repeat("b", 64), Node: "local", Emulated: true, SmokePassed: true},
		},
		Smoke: &smoke.Report{Targets: []smoke.TargetReport{
			{Target: smoke.Target{Platform: platforms.MustParse("linux/amd64")}, Results: []smoke.Result{{Name: "arch", Kind: smoke.KindCommand, Passed: true}}},
			{Target: smoke.Target{Platform: platforms.MustParse("linux/arm64")}, Results: []smoke.Result{{Name: "arch", Kind: smoke.KindCommand, Passed: true}}},
		}},
		Index: &multiarch.IndexResult{
			Ref:       "ghcr.io/acme/app@sha256:" + strings.Repeat("1", 64),
			Digest:    "sha256:" + strings.Repeat("1", 64),
			MediaType: "application/vnd.oci.image.index.v1+json",
			Size:      700,
			Tags:      []string{"ghcr.io/acme/app:main", "ghcr.io/acme/app:latest"},
		},
	}
}

// failedSmoke is the Result of a run whose arm64 image failed its smoke test.
func failedSmoke() *multiarch.Result {
	res := published()
	res.Index = nil
	res.Images[1].SmokePassed = false
	res.Smoke.Targets[1].Results[0] = smoke.Result{Name: "arch", Kind: smoke.KindCommand, Failures: []string{"stdout does not match ^aarch64|arm64$"}}
	res.Failed = &multiarch.Failure{Step: multiarch.StepSmoke, Platforms: []string{"linux/arm64"}, Error: "smoke test failed: linux/arm64 arch"}
	return res
}

func TestOutputs(t *testing.T) {
	c := &config{Event: "push"}
	for _, tc := range []struct {
		name string
		res  *multiarch.Result
		want map[string]string
	}{{
		name: "published",
		res:  published(),
		want: map[string]string{
			"event": "push", "tagged": "true", "digest": "sha256:" + strings.Repeat("1", 64),
			"ref":                "ghcr.io/acme/app@sha256:" + strings.Repeat("1", 64),
			"tags":               "ghcr.io/acme/app:main\nghcr.io/acme/app:latest",
			"digest-linux-amd64": "sha256:" + strings.Repeat("a", 64), "digest-linux-arm64": "sha256:" + strings.Repeat("b", 64),
			"smoke-passed": "true", "failed-step": "",
		},
	}, {
		name: "smoke failed",
		res:  failedSmoke(),
		want: map[string]string{
			"event": "push", "tagged": "false", "digest": "", "ref": "", "tags": "",
			"digest-linux-arm64": "sha256:" + strings.Repeat("b", 64), "smoke-passed": "false", "failed-step": "smoke",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "output")
			if err := os.WriteFile(file, []byte("earlier=step\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			kv, err := outputs(c, tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if err := appendFile(file, func(w io.Writer) error { return writeOutputs(w, kv) }); err != nil {
				t.Fatal(err)
			}
			got := readOutputs(t, file)
			if got["earlier"] != "step" {
				t.Errorf("an earlier output was lost: the file must be appended to")
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("output %s = %q, want %q", k, got[k], v)
				}
			}
			var digests map[string]string
			if err := json.Unmarshal([]byte(got["digests"]), &digests); err != nil || digests["linux/arm64"] != tc.res.Images[1].Digest {
				t.Errorf("digests output %q (%v): want JSON by platform", got["digests"], err)
			}
			var meta map[string]any
			if err := json.Unmarshal([]byte(got["metadata"]), &meta); err != nil {
				t.Fatalf("metadata output %q: %v", got["metadata"], err)
			}
			if tc.res.Index != nil && (meta["containerimage.digest"] != tc.res.Index.Digest || meta["image.name"] != "ghcr.io/acme/app:main,ghcr.io/acme/app:latest") {
				t.Errorf("metadata %v: want buildx's keys for the index", meta)
			}
			if tc.res.Index == nil && len(meta) != 0 {
				t.Errorf("metadata %v: want empty when nothing was published", meta)
			}
		})
	}
}

func TestWriteOutputsDelimiter(t *testing.T) {
	var b bytes.Buffer
	// A value holding a line that looks like a delimiter must not end the value early.
	v := "line one\nghadelimiter_0000\nEOF"
	if err := writeOutputs(&b, [][2]string{{"single", "a=b c"}, {"multi", v}}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "output")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got := readOutputs(t, file)
	if got["single"] != "a=b c" || got["multi"] != v {
		t.Errorf("read back %q from:\n%s", got, b.String())
	}
	if !strings.HasPrefix(b.String(), "single=a=b c\nmulti<<ghadelimiter_") {
		t.Errorf("format:\n%s", b.String())
	}
}

func TestWriteSummary(t *testing.T) {
	pr := published()
	pr.Index.Tags = nil
	dry := &multiarch.Result{Repository: "ghcr.io/acme/app", DryRun: true, Plan: []multiarch.PlannedPlatform{
		{Platform: "linux/arm64", Node: "local", Emulated: true, CacheImports: []string{"registry ref=r:c-linux-arm64"}, CacheExports: []string{"registry ref=r:c-linux-arm64"}},
	}}
	pipes := failedSmoke()
	pipes.Failed.Error = "exit status 1 | pipe"
	for _, tc := range []struct {
		name string
		c    *config
		res  *multiarch.Result
		want []string
	}{
		{"published", &config{Event: "push"}, published(), []string{
			"### multiarch: `ghcr.io/acme/app` (push)",
			"| Platform | Digest | Node | Runs | Build | Cached steps | Smoke |",
			"| linux/amd64 | `sha256:" + strings.Repeat("a", 64) + "` | local | native | 1.2s | 0/0 | ✅ passed |",
			"| linux/arm64 | `sha256:" + strings.Repeat("b", 64) + "` | local | emulated (QEMU) |",
			"**Published** `ghcr.io/acme/app@sha256:" + strings.Repeat("1", 64) + "` as `ghcr.io/acme/app:main`, `ghcr.io/acme/app:latest`.",
		}},
		{"pull request", &config{Event: "pull_request", PullRequest: true, Computed: []string{"pr-7", "sha-fedcba9"}}, pr, []string{
			"**Pull request**: index `ghcr.io/acme/app@sha256:" + strings.Repeat("1", 64) + "` pushed by digest, not tagged (a push would tag `pr-7`, `sha-fedcba9`).",
		}},
		{"smoke failed", &config{Event: "push"}, failedSmoke(), []string{
			"| linux/arm64 | `sha256:" + strings.Repeat("b", 64) + "` | local | emulated (QEMU) | 0s | 0/0 | ❌ failed |",
			"- ❌ linux/arm64 command `arch`: stdout does not match ^aarch64\\|arm64$",
			"**Not published**: the smoke step failed for linux/arm64; no tag was written.",
		}},
		{"dry run", &config{Event: "push", Computed: []string{"main"}}, dry, []string{
			"| Platform | Node | Runs | Cache imports | Cache exports |",
			"| linux/arm64 | local | emulated (QEMU) | registry ref=r:c-linux-arm64 | registry ref=r:c-linux-arm64 |",
			"**Dry run**: nothing was built or pushed; would tag `main`.",
		}},
		{"error text kept in a code block", &config{Event: "push"}, pipes, []string{"```\nexit status 1 | pipe\n```"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeSummary(&b, tc.c, tc.res); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

// TestRunFailureStillWritesOutputs: a run that cannot reach its BuildKit node fails
// at the plan step, exits non-zero and still reports that in the outputs and summary.
func TestRunFailureStillWritesOutputs(t *testing.T) {
	out, summary := actions(t, "push", "refs/heads/main", sha, onMain)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, []string{"-context", t.TempDir(), "-node", "tcp://127.0.0.1:1", "-progress", "none"}, os.Getenv, &stdout, &stderr)
	var se *multiarch.StepError
	if !errors.As(err, &se) || se.Step != multiarch.StepPlan {
		t.Fatalf("err = %v, want the plan step's error", err)
	}
	got := readOutputs(t, out)
	if got["failed-step"] != "plan" || got["tagged"] != "false" || got["digest"] != "" {
		t.Errorf("outputs %q: want failed-step=plan, tagged=false, no digest", got)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "**Not published**: the plan step failed") {
		t.Errorf("step summary:\n%s", b)
	}
	if !strings.Contains(stdout.String(), "NOT PUBLISHED: plan step failed") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// TestRunDryRun is what the workflow does for a pull request from a fork: plan only,
// with a daemon that is not started, nothing pushed; the cache is imported, not
// exported.
func TestRunDryRun(t *testing.T) {
	out, summary := actions(t, "pull_request", "refs/pull/7/merge", sha, onPR)
	var stdout, stderr bytes.Buffer
	args := []string{"-dry-run", "-buildkitd", "/nonexistent/buildkitd", "-context", t.TempDir(), "-progress", "none",
		"-cache-from", "type=registry,ref=ghcr.io/acme/app:buildcache", "-cache-to", "type=registry,ref=ghcr.io/acme/app:buildcache,mode=max"}
	if err := run(context.Background(), args, os.Getenv, &stdout, &stderr); err != nil {
		t.Fatalf("dry run: %v\n%s", err, stderr.String())
	}
	got := readOutputs(t, out)
	if got["tagged"] != "false" || got["digest"] != "" || got["failed-step"] != "" {
		t.Errorf("outputs %q: want nothing pushed, nothing failed", got)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| linux/amd64 | local |", "| linux/arm64 | local |", "registry ref=ghcr.io/acme/app:buildcache |  |", "**Dry run**", "`pr-7`"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("step summary lacks %q:\n%s", want, b)
		}
	}
	if !strings.Contains(stdout.String(), "PLAN") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}
