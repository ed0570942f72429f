package cache

import (
	"fmt"
	"maps"
)

// Type names a cache backend the way BuildKit and buildx spell it in `type=`.
type Type string

// The cache backends BuildKit's buildkitd registers (cmd/buildkitd/main.go, v0.34.2).
const (
	TypeRegistry Type = "registry" // cache in an image repository
	TypeGHA      Type = "gha"      // GitHub Actions cache service
	TypeLocal    Type = "local"    // OCI layout directory on the client machine
	TypeInline   Type = "inline"   // cache metadata inside the built image (export only)
	TypeS3       Type = "s3"       // Amazon S3 bucket (or S3-compatible)
	TypeAzBlob   Type = "azblob"   // Azure Blob Storage container
)

// Types lists every backend type this package models, in a fixed order.
var Types = []Type{TypeRegistry, TypeGHA, TypeLocal, TypeInline, TypeS3, TypeAzBlob}

// Mode is how much of a build a cache export keeps.
type Mode string

const (
	// ModeMin exports only the layers of the final image: steps of other stages
	// (a builder stage that compiles) are not cached. Inline caches support only this.
	ModeMin Mode = "min"
	// ModeMax exports the result of every step of every stage. The default here.
	ModeMax Mode = "max"
)

// Config is the cache of one build: what to import before solving and what to export
// after. The zero value uses no cache.
//
// Config is JSON-friendly so CI programs can load it from a file; [ParseFlags] reads
// the buildx flag form (--cache-from / --cache-to) and [Config.Flags] writes it back.
type Config struct {
	// Import lists caches to read, in order. Default: none.
	Import []Entry `json:"import,omitempty"`
	// Export lists caches to write after a successful solve. Default: none.
	Export []Entry `json:"export,omitempty"`
	// AllowMixedExports permits exporting to both a registry and the GitHub Actions
	// cache in one build. Default false: refused with [ErrMixedExports], since each
	// export costs a full upload and the two copies drift apart.
	AllowMixedExports bool `json:"allowMixedExports,omitempty"`
}

// Entry is one cache backend: exactly one of the backend fields is set.
type Entry struct {
	Registry *Registry `json:"registry,omitempty"`
	GHA      *GHA      `json:"gha,omitempty"`
	Local    *Local    `json:"local,omitempty"`
	Inline   *Inline   `json:"inline,omitempty"`
	S3       *S3       `json:"s3,omitempty"`
	AzBlob   *AzBlob   `json:"azblob,omitempty"`

	// Mode applies to exports only. Default: [ModeMax] ([ModeMin] for inline, the only
	// mode inline supports). BuildKit itself defaults to min, which leaves every
	// intermediate stage uncached: the usual cause of a cache that never hits.
	Mode Mode `json:"mode,omitempty"`
	// IgnoreError applies to exports only: a failed cache export does not fail the
	// build. Default false.
	IgnoreError bool `json:"ignoreError,omitempty"`
	// Attrs holds further BuildKit attributes this type does not model (for example
	// gha "timeout" or s3 "touch_refresh"); they are passed through as given. A key that
	// a typed field writes is refused by [Config.Validate].
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Type reports which backend e uses, or "" when none or several are set.
func (e Entry) Type() Type {
	b, err := e.backend()
	if err != nil {
		return ""
	}
	return b.typ()
}

// backend returns the one backend set in e.
func (e Entry) backend() (backend, error) {
	var set []backend
	if e.Registry != nil {
		set = append(set, e.Registry)
	}
	if e.GHA != nil {
		set = append(set, e.GHA)
	}
	if e.Local != nil {
		set = append(set, e.Local)
	}
	if e.Inline != nil {
		set = append(set, e.Inline)
	}
	if e.S3 != nil {
		set = append(set, e.S3)
	}
	if e.AzBlob != nil {
		set = append(set, e.AzBlob)
	}
	switch len(set) {
	case 1:
		return set[0], nil
	case 0:
		return nil, fmt.Errorf("%w: set one of Registry, GHA, Local, Inline, S3 or AzBlob", ErrNoBackend)
	default:
		var types []Type
		for _, b := range set {
			types = append(types, b.typ())
		}
		return nil, fmt.Errorf("%w: %v are set; use one Entry per backend", ErrManyBackends, types)
	}
}

// withBackend returns a copy of e whose backend is b (and whose Attrs are copied).
func (e Entry) withBackend(b backend) Entry {
	out := Entry{Mode: e.Mode, IgnoreError: e.IgnoreError, Attrs: maps.Clone(e.Attrs)}
	switch b := b.(type) {
	case *Registry:
		out.Registry = b
	case *GHA:
		out.GHA = b
	case *Local:
		out.Local = b
	case *Inline:
		out.Inline = b
	case *S3:
		out.S3 = b
	case *AzBlob:
		out.AzBlob = b
	}
	return out
}

// newBackend returns an empty backend of type t.
func newBackend(t Type) (backend, error) {
	switch t {
	case TypeRegistry:
		return &Registry{}, nil
	case TypeGHA:
		return &GHA{}, nil
	case TypeLocal:
		return &Local{}, nil
	case TypeInline:
		return &Inline{}, nil
	case TypeS3:
		return &S3{}, nil
	case TypeAzBlob:
		return &AzBlob{}, nil
	}
	return nil, fmt.Errorf("%w %q: use one of %v", ErrUnknownType, t, Types)
}
