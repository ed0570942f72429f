package manifest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PlatformMismatchError: an entry is listed under one platform while its
// image config declares another (an arm64 image listed as amd64 makes
// "exec format error" in production).
type PlatformMismatchError struct {
	Entry  int         // index of the entry in Index.Entries
	Digest v1.Hash     // the child's digest
	Source name.Digest // where it was read
	Listed ocispec.Platform
	Config ocispec.Platform
}

func (e *PlatformMismatchError) Error() string {
	what := e.Digest.String()
	if e.Source.DigestStr() != "" {
		what = e.Source.String()
	}
	return fmt.Sprintf("manifest: entry %d (%s) is listed as %s but its config says %s: rebuild it for %s or list it as %s",
		e.Entry, what, format(e.Listed), format(e.Config), format(e.Listed), format(e.Config))
}

// MissingPlatformError: a required platform is not in the index (or, in
// Assemble, not in an index child selected by platform).
type MissingPlatformError struct {
	Platform  ocispec.Platform
	Ref       string // the index or child concerned, when known
	Available []ocispec.Platform
}

func (e *MissingPlatformError) Error() string {
	where := "the index"
	if e.Ref != "" {
		where = e.Ref
	}
	return fmt.Sprintf("manifest: %s has no %s image (it has %s): build that platform or stop requiring it",
		where, format(e.Platform), formatList(e.Available))
}

// DuplicatePlatformError: two entries are listed under the same platform
// (normally two different manifests, and a pull would pick one
// arbitrarily; the same manifest listed twice is reported too).
type DuplicatePlatformError struct {
	Platform ocispec.Platform
	Entries  []int     // entry indexes
	Digests  []v1.Hash // their digests
}

func (e *DuplicatePlatformError) Error() string {
	ds := make([]string, len(e.Digests))
	for i, d := range e.Digests {
		ds[i] = fmt.Sprintf("entry %d %s", e.Entries[i], d)
	}
	return fmt.Sprintf("manifest: %s is listed %d times (%s): keep one image per platform",
		format(e.Platform), len(e.Entries), strings.Join(ds, ", "))
}

// MediaTypeError: a child's media type is not of the index's family, and
// Request.Convert is off.
type MediaTypeError struct {
	Entry     int    // index in Index.Entries; 0 when found by Assemble
	Ref       string // the Child it came from, when known
	Digest    v1.Hash
	MediaType types.MediaType
	Format    Format
}

func (e *MediaTypeError) Error() string {
	what := fmt.Sprintf("entry %d (%s)", e.Entry, e.Digest)
	if e.Ref != "" {
		what = fmt.Sprintf("%s (%s)", e.Ref, e.Digest)
	}
	return fmt.Sprintf("manifest: %s is a %s, which does not belong in a %s index: set Request.Convert to rewrite it, or Request.Format to match it",
		what, e.MediaType, e.Format)
}

// ErrNoPlatforms: the index has no runnable image (only attestations, or
// nothing).
var ErrNoPlatforms = errors.New("manifest: the index has no runnable platform image")

// ErrNotVerified wraps the problems that made Publish refuse an index.
var ErrNotVerified = errors.New("manifest: index failed verification, nothing was published")

func formatList(ps []ocispec.Platform) string {
	if len(ps) == 0 {
		return "no platform"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = format(p)
	}
	return strings.Join(s, ", ")
}
