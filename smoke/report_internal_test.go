package smoke

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCutsKeepUTF8: output excerpts and one-line summaries are cut on whole characters,
// so reports (text, JSON, JUnit) never carry half of a multi-byte character.
func TestCutsKeepUTF8(t *testing.T) {
	s := strings.Repeat("é→ü", 50) // 2-, 3- and 2-byte characters
	for n := 1; n < 40; n++ {
		if got := excerpt(s, n); !utf8.ValidString(got) || !strings.HasSuffix(s, strings.TrimPrefix(got, "…")) || len(got) > n+len("…") {
			t.Errorf("excerpt(_, %d) = %q: want a valid suffix of at most %d bytes", n, got, n)
		}
		if got := oneLine(s, n); !utf8.ValidString(got) || !strings.HasPrefix(s, strings.TrimSuffix(got, "…")) || len(got) > n-1+len("…") {
			t.Errorf("oneLine(_, %d) = %q: want a valid prefix of at most %d bytes", n, got, n-1)
		}
	}
	if got := excerpt("short", 10); got != "short" {
		t.Errorf("excerpt of a short string = %q", got)
	}
	if got := oneLine("a\n  b", 10); got != "a b" {
		t.Errorf("oneLine = %q, want %q", got, "a b")
	}
}
