package cache

import (
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Solve returns the BuildKit cache entries for the solve that builds platform p, one
// of all, the platforms of the whole build. split reports whether the platforms are
// solved separately (one solve per platform or per node, build's default) rather than
// together in one solve.
//
// Together (split false, or only one platform), BuildKit keys cache records by
// platform itself, so every entry is passed as configured: no suffix is added.
//
// Split, each export of p goes to a place of its own, so that the solves do not
// overwrite each other's cache (the last writer would win and every other platform
// would miss): the suffix [Suffix](p), e.g. "linux-arm64", is appended to a registry
// ref's tag ("app:cache" -> "app:cache-linux-arm64", "app" -> "app:linux-arm64"), to a
// gha scope ("buildkit-linux-arm64"), to s3 and azblob manifest names, and joined to
// a local directory ("dir/linux-arm64"). Each import is read from p's own place, then
// from the unsuffixed place (a cache written by one together-solve, e.g. by buildx);
// BuildKit skips places that do not exist yet. Another platform's place is never
// imported: it can hold p's cache keys without their results (solves of two platforms
// on one daemon share records), and BuildKit picks, per key, whichever import answers
// first, so p's steps would miss at random (BuildKit's solver/combinedcache.go). The
// unsuffixed place risks the same only if it was exported with mode=min. Registry
// imports by digest and local imports by digest name one fixed cache and are passed
// unchanged; inline exports go into the image itself and are never suffixed.
//
// Exports carry mode=max unless Entry.Mode says otherwise (inline: min). GitHub
// Actions URL and token are completed from the environment (see [GHA]). Solve
// validates c first ([Config.Validate]); it returns ErrPlatform when p is not in all.
// The returned maps are new on every call: BuildKit's client writes into them.
func (c Config) Solve(p ocispec.Platform, all []ocispec.Platform, split bool) (imports, exports []client.CacheOptionsEntry, err error) {
	return c.solve(p, all, split, os.Getenv)
}

// Suffix is the per-platform scope suffix of p: containerd's platform format of the
// normalised platform with "/" and any character not allowed in an image tag replaced
// by "-": "linux/arm64" -> "linux-arm64", "linux/arm/v7" -> "linux-arm-v7".
func Suffix(p ocispec.Platform) string {
	s := platforms.Format(platforms.Normalize(p))
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
}

func (c Config) solve(p ocispec.Platform, all []ocispec.Platform, split bool, getenv func(string) string) (imports, exports []client.CacheOptionsEntry, err error) {
	if err := c.validate(getenv); err != nil {
		return nil, nil, err
	}
	own, others, err := scopeOf(p, all)
	if err != nil {
		return nil, nil, err
	}
	scoped := split && others

	for i, e := range c.Export {
		b, _ := e.resolved(getenv)
		if scoped {
			sb, err := b.scope(own)
			if err != nil {
				return nil, nil, &EntryError{Export: true, Index: i, Type: b.typ(), Err: err}
			}
			b = sb
		}
		attrs := e.attrs(b, exporting)
		if m := e.exportMode(); m != "" {
			attrs["mode"] = string(m)
		}
		if e.IgnoreError {
			attrs["ignore-error"] = "true"
		}
		exports = append(exports, client.CacheOptionsEntry{Type: string(b.typ()), Attrs: attrs})
	}

	for i, e := range c.Import {
		b, _ := e.resolved(getenv)
		if !scoped || fixed(b) {
			imports = append(imports, client.CacheOptionsEntry{Type: string(b.typ()), Attrs: e.attrs(b, importing)})
			continue
		}
		sb, err := b.scope(own)
		if err != nil {
			return nil, nil, &EntryError{Index: i, Type: b.typ(), Err: err}
		}
		imports = append(imports,
			client.CacheOptionsEntry{Type: string(b.typ()), Attrs: e.attrs(sb, importing)},
			client.CacheOptionsEntry{Type: string(b.typ()), Attrs: e.attrs(b, importing)})
	}
	return imports, exports, nil
}

// attrs are b's typed attributes plus e.Attrs, in a new map.
func (e Entry) attrs(b backend, d direction) map[string]string {
	m := attrsOf(b, d)
	maps.Copy(m, e.Attrs)
	return m
}

// fixed reports whether an import names one exact cache, which no suffix may change.
func fixed(b backend) bool {
	switch b := b.(type) {
	case *Registry:
		return strings.Contains(b.Ref, "@")
	case *Local:
		return b.Digest != ""
	}
	return false
}

// scopeOf returns p's suffix and whether all holds another platform (after
// normalisation); it is an error when p is not one of all (an empty all means p alone).
func scopeOf(p ocispec.Platform, all []ocispec.Platform) (own string, others bool, err error) {
	own = Suffix(p)
	found := len(all) == 0
	for _, q := range all {
		if Suffix(q) == own {
			found = true
		} else {
			others = true
		}
	}
	if !found {
		var names []string
		for _, q := range all {
			names = append(names, platforms.Format(q))
		}
		return "", false, fmt.Errorf("%w: %s is not one of %v; pass the platform being solved and all the build's platforms", ErrPlatform, platforms.Format(p), names)
	}
	return own, others, nil
}
