package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/multiarch-sdk/multiarch"
)

// outputs returns the step outputs of res, in a stable order:
//
//	event          the GitHub event name
//	tagged         "true" when the index was written under tags
//	digest, ref    the index's digest and repository@digest ("" when not published)
//	tags           the full tag references written, one per line
//	digests        {"linux/amd64": "sha256:...", ...} as JSON
//	digest-<plat>  each platform's digest, e.g. digest-linux-arm64
//	smoke-passed   "true" when every smoke check and the scan passed
//	failed-step    the step that failed ("" on success)
//	metadata       buildx's --metadata-file JSON (multiarch.Result.Metadata)
func outputs(c *config, res *multiarch.Result) ([][2]string, error) {
	var out [][2]string
	add := func(k, v string) { out = append(out, [2]string{k, v}) }
	add("event", c.Event)
	var digest, ref string
	var tags []string
	if res.Index != nil {
		digest, ref, tags = res.Index.Digest, res.Index.Ref, res.Index.Tags
	}
	add("tagged", fmt.Sprint(len(tags) > 0))
	add("digest", digest)
	add("ref", ref)
	add("tags", strings.Join(tags, "\n"))
	digests := map[string]string{}
	for _, img := range res.Images {
		digests[img.Platform] = img.Digest
	}
	b, err := json.Marshal(digests)
	if err != nil {
		return nil, err
	}
	add("digests", string(b))
	for _, img := range res.Images {
		add("digest-"+outputName(img.Platform), img.Digest)
	}
	add("smoke-passed", fmt.Sprint(res.Smoke != nil && res.Smoke.Passed()))
	failed := ""
	if res.Failed != nil {
		failed = string(res.Failed.Step)
	}
	add("failed-step", failed)
	var meta bytes.Buffer
	if err := res.WriteMetadata(&meta); err != nil {
		return nil, err
	}
	add("metadata", strings.TrimSuffix(meta.String(), "\n"))
	return out, nil
}

var notName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// outputName turns a platform into an output name: linux/arm/v7 -> linux-arm-v7.
func outputName(platform string) string { return notName.ReplaceAllString(platform, "-") }

// writeOutputs appends kv to w in the $GITHUB_OUTPUT format: name=value, or for a
// value with a newline name<<DELIMITER, the lines, DELIMITER, with a random delimiter
// that the value does not contain.
func writeOutputs(w io.Writer, kv [][2]string) error {
	var b strings.Builder
	for _, p := range kv {
		k, v := p[0], p[1]
		if !strings.ContainsAny(v, "\r\n") {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
			continue
		}
		delim := "ghadelimiter_" + randomHex()
		for strings.Contains(v, delim) {
			delim = "ghadelimiter_" + randomHex()
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", k, delim, v, delim)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeSummary writes res as GitHub-flavoured Markdown: a table with one row per
// platform, then what was published, or why nothing was tagged.
func writeSummary(w io.Writer, c *config, res *multiarch.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### multiarch: `%s`", res.Repository)
	if c.Event != "" {
		fmt.Fprintf(&b, " (%s)", c.Event)
	}
	b.WriteString("\n\n")
	if res.DryRun && len(res.Plan) > 0 {
		b.WriteString("| Platform | Node | Runs | Cache imports | Cache exports |\n| --- | --- | --- | --- | --- |\n")
		for _, p := range res.Plan {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Platform, cell(p.Node), runs(p.Emulated),
				cell(strings.Join(p.CacheImports, "<br>")), cell(strings.Join(p.CacheExports, "<br>")))
		}
		b.WriteString("\n")
	}
	if len(res.Images) > 0 {
		b.WriteString("| Platform | Digest | Node | Runs | Build | Cached steps | Smoke |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, img := range res.Images {
			sm := "not run"
			if res.Smoke != nil {
				sm = map[bool]string{true: "✅ passed", false: "❌ failed"}[img.SmokePassed]
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %d/%d | %s |\n", img.Platform, img.Digest, cell(img.Node), runs(img.Emulated),
				img.Duration.Round(10*time.Millisecond), img.Cache.Cached, img.Cache.Cached+img.Cache.Executed, sm)
		}
		b.WriteString("\n")
	}
	if res.Smoke != nil {
		for _, t := range res.Smoke.Targets {
			for _, r := range t.Results {
				if !r.Passed {
					why := strings.Join(append(r.Failures, r.Error), "; ")
					fmt.Fprintf(&b, "- ❌ %s %s `%s`: %s\n", t.Platform.OS+"/"+t.Platform.Architecture, r.Kind, cell(r.Name), cell(strings.Trim(why, "; ")))
				}
			}
			for _, f := range t.Findings {
				fmt.Fprintf(&b, "- ❌ scan: %s\n", cell(f.String()))
			}
		}
	}
	switch {
	case res.Failed != nil:
		fmt.Fprintf(&b, "**Not published**: the %s step failed", res.Failed.Step)
		if len(res.Failed.Platforms) > 0 {
			fmt.Fprintf(&b, " for %s", strings.Join(res.Failed.Platforms, ", "))
		}
		fmt.Fprintf(&b, "; no tag was written.\n\n```\n%s\n```\n", strings.ReplaceAll(res.Failed.Error, "```", "'''"))
	case res.DryRun:
		fmt.Fprintf(&b, "**Dry run**: nothing was built or pushed; would tag %s.\n", codeList(c.Computed))
	case res.Index != nil && c.PullRequest:
		fmt.Fprintf(&b, "**Pull request**: index `%s` pushed by digest, not tagged (a push would tag %s).\n", res.Index.Ref, codeList(c.Computed))
	case res.Index != nil:
		fmt.Fprintf(&b, "**Published** `%s` as %s.\n", res.Index.Ref, codeList(res.Index.Tags))
	}
	fmt.Fprintf(&b, "\nTook %s.\n", res.Duration.Round(10*time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

func runs(emulated bool) string {
	if emulated {
		return "emulated (QEMU)"
	}
	return "native"
}

// cell makes s safe inside a Markdown table cell or list item: one line, no pipe.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ").Replace(s)
}

func codeList(ss []string) string {
	if len(ss) == 0 {
		return "nothing"
	}
	return "`" + strings.Join(ss, "`, `") + "`"
}

// appendFile appends what write produces to the file name, creating it if needed.
func appendFile(name string, write func(io.Writer) error) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}
