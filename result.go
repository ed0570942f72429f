package multiarch

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/smoke"
)

// Result is everything a CI step needs from a Run: the plan, each platform's image,
// the smoke report, the published index and its tags, and the time each step took.
type Result struct {
	Repository string   `json:"repository"`
	Platforms  []string `json:"platforms"`
	DryRun     bool     `json:"dryRun,omitempty"`
	// Emulated lists the platforms the emulation step made sure QEMU runs on this host.
	Emulated []string `json:"emulated,omitempty"`
	// Plan says where each platform builds and which cache refs it uses.
	Plan []PlannedPlatform `json:"plan"`
	// Images are the per-platform images pushed by digest (untagged).
	Images []ImageResult `json:"images,omitempty"`
	// Smoke is the smoke-test report, scan findings included.
	Smoke *smoke.Report `json:"smoke,omitempty"`
	// Index is the published index; nil unless every step passed.
	Index *IndexResult `json:"index,omitempty"`
	// Failed says which step failed, for which platforms; nil on success.
	Failed   *Failure      `json:"failed,omitempty"`
	Steps    []StepTiming  `json:"steps"`
	Duration time.Duration `json:"duration"`
}

// PlannedPlatform is one platform's place in the plan.
type PlannedPlatform struct {
	Platform     string   `json:"platform"`
	Node         string   `json:"node"`
	Emulated     bool     `json:"emulated"`
	CacheImports []string `json:"cacheImports,omitempty"`
	CacheExports []string `json:"cacheExports,omitempty"`
}

// ImageResult is one platform's image.
type ImageResult struct {
	Platform    string             `json:"platform"`
	Ref         string             `json:"ref"`
	Digest      string             `json:"digest"`
	Descriptor  ocispec.Descriptor `json:"descriptor"`
	Node        string             `json:"node"`
	Emulated    bool               `json:"emulated"`
	Duration    time.Duration      `json:"duration"`
	Cache       build.CacheStats   `json:"cache"`
	SmokePassed bool               `json:"smokePassed"`
}

// IndexResult is the published index.
type IndexResult struct {
	Ref       string   `json:"ref"` // repository@sha256:...
	Digest    string   `json:"digest"`
	MediaType string   `json:"mediaType"`
	Size      int64    `json:"size"`
	Tags      []string `json:"tags,omitempty"` // full references, repository:tag
}

// Failure is the step a failed Run stopped at.
type Failure struct {
	Step      Step     `json:"step"`
	Platforms []string `json:"platforms,omitempty"`
	Error     string   `json:"error"`
}

// StepTiming is how long one step took.
type StepTiming struct {
	Step     Step          `json:"step"`
	Duration time.Duration `json:"duration"`
}

func imageResult(img build.Image) ImageResult {
	return ImageResult{
		Platform:   platforms.Format(img.Platform),
		Ref:        img.Ref,
		Digest:     img.Digest.String(),
		Descriptor: img.Descriptor,
		Node:       img.Node,
		Emulated:   img.Emulated,
		Duration:   img.Duration,
		Cache:      img.Cache,
	}
}

// cacheRefs describes BuildKit cache entries for the plan: the ref, scope or
// directory each names, prefixed by its type.
func cacheRefs(entries []client.CacheOptionsEntry) []string {
	var out []string
	for _, e := range entries {
		where := ""
		for _, k := range []string{"ref", "scope", "src", "dest", "name", "prefix"} {
			if v := e.Attrs[k]; v != "" {
				where = k + "=" + v
				break
			}
		}
		out = append(out, strings.TrimSuffix(e.Type+" "+where, " "))
	}
	return out
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Metadata returns r in the shape of buildx's --metadata-file where the keys overlap:
// "containerimage.digest" and "containerimage.descriptor" of the published index,
// "image.name" (the tagged references, comma-separated, as buildx writes them), plus
// "multiarch.images": each platform's digest. Empty when nothing was published.
func (r *Result) Metadata() map[string]any {
	m := map[string]any{}
	if r.Index == nil {
		return m
	}
	m["containerimage.digest"] = r.Index.Digest
	m["containerimage.descriptor"] = map[string]any{
		"mediaType": r.Index.MediaType,
		"digest":    r.Index.Digest,
		"size":      r.Index.Size,
	}
	names := r.Index.Tags
	if len(names) == 0 {
		names = []string{r.Index.Ref}
	}
	m["image.name"] = strings.Join(names, ",")
	imgs := map[string]string{}
	for _, img := range r.Images {
		imgs[img.Platform] = img.Digest
	}
	m["multiarch.images"] = imgs
	return m
}

// WriteMetadata writes Metadata as JSON, for tools that read buildx's metadata file.
func (r *Result) WriteMetadata(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.Metadata())
}

// WriteSummary writes a short table: one row per platform (digest, node, native or
// emulated, build time, cached steps, smoke result), then the index and its tags.
func (r *Result) WriteSummary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLATFORM\tDIGEST\tNODE\tRUNS\tBUILD\tCACHED/STEPS\tSMOKE")
	smokeRan := r.Smoke != nil
	for _, img := range r.Images {
		runs := "native"
		if img.Emulated {
			runs = "emulated"
		}
		sm := "not run"
		if smokeRan {
			sm = map[bool]string{true: "passed", false: "FAILED"}[img.SmokePassed]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", img.Platform, short(img.Digest), img.Node, runs,
			img.Duration.Round(10*time.Millisecond), img.Cache.Cached, img.Cache.Cached+img.Cache.Executed, sm)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Smoke != nil {
		for _, t := range r.Smoke.Targets {
			for _, f := range t.Findings {
				fmt.Fprintf(w, "scan: %s\n", f)
			}
		}
	}
	switch {
	case r.Index != nil:
		fmt.Fprintf(w, "index %s\n", r.Index.Ref)
		tags := append([]string(nil), r.Index.Tags...)
		sort.Strings(tags)
		for _, t := range tags {
			fmt.Fprintf(w, "  tagged %s\n", t)
		}
	case r.Failed != nil:
		fmt.Fprintf(w, "NOT PUBLISHED: %s step failed", r.Failed.Step)
		if len(r.Failed.Platforms) > 0 {
			fmt.Fprintf(w, " for %s", strings.Join(r.Failed.Platforms, ", "))
		}
		fmt.Fprintln(w, "; no tag was written")
	}
	var steps []string
	for _, s := range r.Steps {
		steps = append(steps, fmt.Sprintf("%s %s", s.Step, s.Duration.Round(10*time.Millisecond)))
	}
	_, err := fmt.Fprintf(w, "took %s (%s)\n", r.Duration.Round(10*time.Millisecond), strings.Join(steps, ", "))
	return err
}

func short(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
