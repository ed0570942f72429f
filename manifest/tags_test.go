package manifest_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/multiarch-sdk/multiarch/manifest"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestTags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     manifest.Metadata
		r     manifest.TagRules
		want  []string
		fails bool
	}{
		{"default branch", manifest.Metadata{Ref: "refs/heads/main", SHA: sha, DefaultBranch: "main"}, manifest.TagRules{}, []string{"main", "sha-0123456", "latest"}, false},
		{"feature branch never latest", manifest.Metadata{Ref: "refs/heads/feature/Login_v2", SHA: sha, DefaultBranch: "main"}, manifest.TagRules{}, []string{"feature-Login_v2", "sha-0123456"}, false},
		{"unknown default branch", manifest.Metadata{Ref: "refs/heads/main", SHA: sha}, manifest.TagRules{}, []string{"main", "sha-0123456"}, false},
		{"release", manifest.Metadata{Ref: "refs/tags/v1.2.3", SHA: sha, DefaultBranch: "main"}, manifest.TagRules{}, []string{"1.2.3", "1.2", "1", "sha-0123456"}, false},
		{"release without v", manifest.Metadata{Ref: "refs/tags/2.0.1"}, manifest.TagRules{}, []string{"2.0.1", "2.0", "2"}, false},
		{"pre-release", manifest.Metadata{Ref: "refs/tags/v1.2.3-rc.1", SHA: sha}, manifest.TagRules{}, []string{"1.2.3-rc.1", "sha-0123456"}, false},
		{"0.x release", manifest.Metadata{Ref: "refs/tags/v0.4.0"}, manifest.TagRules{}, []string{"0.4.0", "0.4"}, false},
		{"build metadata", manifest.Metadata{Ref: "refs/tags/v1.0.0+linux"}, manifest.TagRules{}, []string{"1.0.0-linux", "1.0", "1"}, false},
		{"non-semver tag", manifest.Metadata{Ref: "refs/tags/release/2026-12"}, manifest.TagRules{}, []string{"release-2026-12"}, false},
		{"semver off", manifest.Metadata{Ref: "refs/tags/v1.2.3"}, manifest.TagRules{NoSemver: true}, []string{"v1.2.3"}, false},
		{"pull request", manifest.Metadata{Ref: "refs/pull/42/merge", SHA: sha, DefaultBranch: "main"}, manifest.TagRules{}, []string{"pr-42", "sha-0123456"}, false},
		{"prefix suffix", manifest.Metadata{Ref: "refs/heads/main", SHA: sha, DefaultBranch: "main"}, manifest.TagRules{Prefix: "app-", Suffix: "-slim"}, []string{"app-main-slim", "app-sha-0123456-slim", "latest"}, false},
		{"affix latest", manifest.Metadata{Ref: "refs/heads/main", DefaultBranch: "main"}, manifest.TagRules{Suffix: "-slim", AffixLatest: true}, []string{"main-slim", "latest-slim"}, false},
		{"sha length, no branch", manifest.Metadata{Ref: "refs/heads/dev", SHA: strings.ToUpper(sha)}, manifest.TagRules{SHALength: 12, NoBranch: true}, []string{"sha-0123456789ab"}, false},
		{"latest always", manifest.Metadata{Ref: "refs/heads/dev", DefaultBranch: "main"}, manifest.TagRules{Latest: manifest.LatestAlways}, []string{"dev", "latest"}, false},
		{"latest never", manifest.Metadata{Ref: "refs/heads/main", DefaultBranch: "main"}, manifest.TagRules{Latest: manifest.LatestNever}, []string{"main"}, false},
		{"bare branch name", manifest.Metadata{Ref: "main", DefaultBranch: "main"}, manifest.TagRules{}, []string{"main", "latest"}, false},
		{"leading dots and dashes", manifest.Metadata{Ref: "refs/heads/--.hotfix"}, manifest.TagRules{}, []string{"hotfix"}, false},
		{"long branch cut", manifest.Metadata{Ref: "refs/heads/" + strings.Repeat("b", 200)}, manifest.TagRules{Suffix: "-x"}, []string{strings.Repeat("b", 126) + "-x"}, false},
		{"branch named latest", manifest.Metadata{Ref: "refs/heads/latest", SHA: sha, DefaultBranch: "main"}, manifest.TagRules{}, []string{"sha-0123456"}, false},
		{"bad sha", manifest.Metadata{Ref: "refs/heads/main", SHA: "not-a-sha"}, manifest.TagRules{}, nil, true},
		{"bad latest mode", manifest.Metadata{Ref: "refs/heads/main"}, manifest.TagRules{Latest: "sometimes"}, nil, true},
		{"nothing", manifest.Metadata{}, manifest.TagRules{}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := manifest.Tags(tc.m, tc.r)
			if tc.fails {
				if err == nil {
					t.Fatalf("Tags = %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Tags = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGitHubMetadata(t *testing.T) {
	dir := t.TempDir()
	push := filepath.Join(dir, "push.json")
	pr := filepath.Join(dir, "pr.json")
	os.WriteFile(push, []byte(`{"repository":{"default_branch":"trunk"}}`), 0o600)
	os.WriteFile(pr, []byte(`{"repository":{"default_branch":"trunk"},"pull_request":{"number":7,"head":{"sha":"feedfacefeedfacefeedfacefeedfacefeedface"}}}`), 0o600)
	noNumber := filepath.Join(dir, "pr-no-number.json")
	os.WriteFile(noNumber, []byte(`{"repository":{"default_branch":"trunk"},"pull_request":{"head":{"sha":"feedfacefeedfacefeedfacefeedfacefeedface"}}}`), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want manifest.Metadata
		tags []string
	}{
		{"push to default", map[string]string{"GITHUB_REF": "refs/heads/trunk", "GITHUB_SHA": sha, "GITHUB_EVENT_PATH": push},
			manifest.Metadata{Ref: "refs/heads/trunk", SHA: sha, DefaultBranch: "trunk"}, []string{"trunk", "sha-0123456", "latest"}},
		{"pull request uses head sha", map[string]string{"GITHUB_REF": "refs/pull/7/merge", "GITHUB_SHA": sha, "GITHUB_EVENT_PATH": pr},
			manifest.Metadata{Ref: "refs/pull/7/merge", SHA: "feedfacefeedfacefeedfacefeedfacefeedface", DefaultBranch: "trunk"}, []string{"pr-7", "sha-feedfac"}},
		// pull_request_target: GITHUB_REF is the base branch, the code is the pull
		// request's; it must not get the branch's tag, nor latest.
		{"pull_request_target is tagged as its pull request", map[string]string{"GITHUB_REF": "refs/heads/trunk", "GITHUB_SHA": sha, "GITHUB_EVENT_PATH": pr},
			manifest.Metadata{Ref: "refs/pull/7/merge", SHA: "feedfacefeedfacefeedfacefeedfacefeedface", DefaultBranch: "trunk"}, []string{"pr-7", "sha-feedfac"}},
		{"no payload", map[string]string{"GITHUB_REF": "refs/tags/v3.1.0", "GITHUB_SHA": sha},
			manifest.Metadata{Ref: "refs/tags/v3.1.0", SHA: sha}, []string{"3.1.0", "3.1", "3", "sha-0123456"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := manifest.GitHubMetadata(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if m != tc.want {
				t.Errorf("metadata %+v, want %+v", m, tc.want)
			}
			tags, err := manifest.Tags(m, manifest.TagRules{})
			if err != nil || !slices.Equal(tags, tc.tags) {
				t.Errorf("Tags = %q, %v; want %q", tags, err, tc.tags)
			}
		})
	}
	if _, err := manifest.GitHubMetadata(func(k string) string {
		return map[string]string{"GITHUB_REF": "refs/heads/trunk", "GITHUB_SHA": sha, "GITHUB_EVENT_PATH": noNumber}[k]
	}); err == nil {
		t.Error("a pull request payload without a number on a branch ref accepted")
	}
	if _, err := manifest.GitHubMetadata(func(string) string { return "" }); err == nil {
		t.Error("no GitHub environment accepted")
	}
	if _, err := manifest.GitHubMetadata(func(k string) string {
		return map[string]string{"GITHUB_SHA": sha, "GITHUB_EVENT_PATH": filepath.Join(dir, "absent.json")}[k]
	}); err == nil {
		t.Error("unreadable payload accepted")
	}
}

// FuzzTags: whatever the CI metadata, every tag computed is valid tag
// syntax (as go-containerregistry parses it) and appears once.
func FuzzTags(f *testing.F) {
	f.Add("refs/heads/main", sha, "main", "", "", 0)
	f.Add("refs/tags/v1.2.3-rc.1+b", sha, "", "p.", ".s", 3)
	f.Add("refs/pull/9/merge", "ABC", "", "-", "-", 40)
	f.Add("refs/heads/../..//--", "", "", "", "", 0)
	f.Add("refs/heads/latest", "", "main", "", "", 0)
	f.Add("refs/tags/"+strings.Repeat("é", 100), sha, "", strings.Repeat("x", 130), "", 0)
	f.Fuzz(func(t *testing.T, ref, commit, def, prefix, suffix string, n int) {
		tags, err := manifest.Tags(manifest.Metadata{Ref: ref, SHA: commit, DefaultBranch: def},
			manifest.TagRules{Prefix: prefix, Suffix: suffix, SHALength: n})
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, tag := range tags {
			if _, err := name.NewTag("example.com/app:"+tag, name.StrictValidation); err != nil {
				t.Errorf("invalid tag %q from ref %q: %v", tag, ref, err)
			}
			if seen[tag] {
				t.Errorf("tag %q twice in %q", tag, tags)
			}
			seen[tag] = true
		}
		if slices.Contains(tags, "latest") && (def == "" || strings.TrimPrefix(ref, "refs/heads/") != def) {
			t.Errorf("latest computed for ref %q with default branch %q", ref, def)
		}
	})
}
