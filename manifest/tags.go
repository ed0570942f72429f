package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// Metadata is the CI context tags are computed from.
type Metadata struct {
	// Ref is the git ref built: "refs/heads/<branch>", "refs/tags/<tag>" or
	// "refs/pull/<n>/merge". A bare name is taken as a branch.
	Ref string `json:"ref"`
	// SHA is the commit built (full or short).
	SHA string `json:"sha"`
	// DefaultBranch is the repository's default branch. Empty: unknown, and
	// then "latest" is never computed (a tag from a feature branch must not
	// move latest).
	DefaultBranch string `json:"defaultBranch,omitempty"`
}

// LatestMode says when the "latest" tag is computed.
type LatestMode string

const (
	LatestAuto   LatestMode = "auto"   // on the default branch only (also "")
	LatestAlways LatestMode = "always" // on every ref
	LatestNever  LatestMode = "never"
)

// TagRules are the rules of [Tags], after docker/metadata-action's common
// cases. The zero value computes, in this order: the semver tags of a
// release ({{version}}, {{major}}.{{minor}}, {{major}}) or the git tag name,
// the branch name, "pr-<n>" for a pull request, "sha-<7 hex>" and "latest"
// on the default branch.
type TagRules struct {
	Prefix string `json:"prefix,omitempty"` // before every tag but latest
	Suffix string `json:"suffix,omitempty"` // after every tag but latest
	// AffixLatest applies Prefix and Suffix to latest too
	// (metadata-action's onlatest).
	AffixLatest bool `json:"affixLatest,omitempty"`
	// SHALength is the length of the short commit in "sha-<short>".
	// Default 7.
	SHALength int  `json:"shaLength,omitempty"`
	NoSHA     bool `json:"noSHA,omitempty"`    // no sha-<short> tag
	NoBranch  bool `json:"noBranch,omitempty"` // no branch-name tag
	NoPR      bool `json:"noPR,omitempty"`     // no pr-<n> tag
	// NoSemver tags a release with its git tag name only (sanitised), not
	// {{version}}, {{major}}.{{minor}} and {{major}}.
	NoSemver bool       `json:"noSemver,omitempty"`
	Latest   LatestMode `json:"latest,omitempty"`
}

const maxTag = 128

var (
	validTag   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	invalidRun = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
	prRef      = regexp.MustCompile(`^refs/pull/([0-9]+)/(merge|head)$`)
	hexSHA     = regexp.MustCompile(`^[0-9a-fA-F]{4,64}$`)
)

// Tags computes the tags for m under rules r. Every tag is sanitised to
// the tag syntax ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}): runs of other
// characters become "-", leading "." and "-" are dropped, and the result is
// cut to 128 characters with its prefix and suffix kept. Duplicates are
// dropped, order kept.
//
// A semver release tag (v1.2.3 or 1.2.3) yields 1.2.3, 1.2 and 1; a
// pre-release (v1.2.3-rc.1) only its full version; a 0.x release no
// major-only tag (0 would be meaningless).
func Tags(m Metadata, r TagRules) ([]string, error) {
	var core []string
	latest := false
	ref := m.Ref
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		core = append(core, releaseTags(strings.TrimPrefix(ref, "refs/tags/"), r.NoSemver)...)
	case prRef.MatchString(ref):
		if !r.NoPR {
			core = append(core, "pr-"+prRef.FindStringSubmatch(ref)[1])
		}
	case ref != "" && (strings.HasPrefix(ref, "refs/heads/") || !strings.HasPrefix(ref, "refs/")):
		branch := strings.TrimPrefix(ref, "refs/heads/")
		if !r.NoBranch {
			core = append(core, branch)
		}
		latest = m.DefaultBranch != "" && branch == m.DefaultBranch
	}
	if !r.NoSHA && m.SHA != "" {
		if !hexSHA.MatchString(m.SHA) {
			return nil, fmt.Errorf("manifest: commit %q is not a hex SHA: pass the full commit id (GITHUB_SHA)", m.SHA)
		}
		n := r.SHALength
		if n <= 0 {
			n = 7
		}
		core = append(core, "sha-"+strings.ToLower(m.SHA[:min(n, len(m.SHA))]))
	}
	switch r.Latest {
	case "", LatestAuto:
	case LatestAlways:
		latest = true
	case LatestNever:
		latest = false
	default:
		return nil, fmt.Errorf("manifest: TagRules.Latest %q: use %q, %q or %q", r.Latest, LatestAuto, LatestAlways, LatestNever)
	}

	var out []string
	seen := map[string]bool{}
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, t := range core {
		// A branch or git tag called "latest" must not move latest.
		if t := affix(r.Prefix, t, r.Suffix); t != "latest" {
			add(t)
		}
	}
	if latest {
		if r.AffixLatest {
			add(affix(r.Prefix, "latest", r.Suffix))
		} else {
			add("latest")
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("manifest: no tag for ref %q and commit %q: set Metadata.Ref or Metadata.SHA", m.Ref, m.SHA)
	}
	return out, nil
}

// releaseTags returns the tags of a git tag: semver ones when it is semver.
func releaseTags(tag string, noSemver bool) []string {
	v := tag
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if noSemver || !semver.IsValid(v) || semver.Canonical(v) != strings.SplitN(v, "+", 2)[0] {
		return []string{tag}
	}
	version := strings.TrimPrefix(v, "v")
	if semver.Prerelease(v) != "" {
		return []string{version}
	}
	tags := []string{version, strings.TrimPrefix(semver.MajorMinor(v), "v")}
	if major := strings.TrimPrefix(semver.Major(v), "v"); major != "0" {
		tags = append(tags, major)
	}
	return tags
}

// SanitizeTag turns s into valid tag syntax, "" if nothing is left.
func SanitizeTag(s string) string {
	s = invalidRun.ReplaceAllString(s, "-")
	s = strings.TrimLeft(s, ".-")
	if len(s) > maxTag {
		s = s[:maxTag]
	}
	return s
}

// affix sanitises core and joins it with prefix and suffix, cutting core so
// that the whole fits in 128 characters.
func affix(prefix, core, suffix string) string {
	p, s := invalidRun.ReplaceAllString(prefix, "-"), invalidRun.ReplaceAllString(suffix, "-")
	c := invalidRun.ReplaceAllString(core, "-")
	if p == "" {
		c = strings.TrimLeft(c, ".-")
	} else {
		p = strings.TrimLeft(p, ".-")
	}
	room := maxTag - len(p) - len(s)
	if room < 1 {
		return SanitizeTag(p + c + s)
	}
	if len(c) > room {
		c = c[:room]
	}
	if c == "" {
		return ""
	}
	t := p + c + s
	if !validTag.MatchString(t) {
		return SanitizeTag(t)
	}
	return t
}

// GitHubMetadata reads the Metadata of a GitHub Actions run from its
// environment: GITHUB_REF, GITHUB_SHA and the default branch from the
// event payload at GITHUB_EVENT_PATH (repository.default_branch). For pull
// requests the head commit (pull_request.head.sha) is used, like
// metadata-action, and the ref is the pull request's even when GITHUB_REF
// is the base branch (pull_request_target): a pull request's code never
// gets the branch's tag or latest. getenv nil means os.Getenv.
func GitHubMetadata(getenv func(string) string) (Metadata, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	m := Metadata{Ref: getenv("GITHUB_REF"), SHA: getenv("GITHUB_SHA")}
	if m.Ref == "" && m.SHA == "" {
		return m, fmt.Errorf("manifest: GITHUB_REF and GITHUB_SHA are unset: not a GitHub Actions run; fill Metadata yourself")
	}
	if path := getenv("GITHUB_EVENT_PATH"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return m, fmt.Errorf("manifest: read GitHub event payload: %w", err)
		}
		var ev struct {
			Repository struct {
				DefaultBranch string `json:"default_branch"`
			} `json:"repository"`
			PullRequest *struct {
				Number int `json:"number"`
				Head   struct {
					SHA string `json:"sha"`
				} `json:"head"`
			} `json:"pull_request"`
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			return m, fmt.Errorf("manifest: GitHub event payload %s: %w", path, err)
		}
		m.DefaultBranch = ev.Repository.DefaultBranch
		if pr := ev.PullRequest; pr != nil {
			if pr.Head.SHA != "" {
				m.SHA = pr.Head.SHA
			}
			if !prRef.MatchString(m.Ref) {
				if pr.Number <= 0 {
					return m, fmt.Errorf("manifest: GitHub event payload %s: a pull request without a number on ref %q: pass Metadata yourself", path, m.Ref)
				}
				m.Ref = fmt.Sprintf("refs/pull/%d/merge", pr.Number)
			}
		}
	}
	return m, nil
}
