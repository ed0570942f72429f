package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Validate checks c against the rules below and returns every violation (joined with
// errors.Join, each an [*EntryError] wrapping a sentinel), or nil. GitHub Actions
// settings are completed from the environment first, as [Config.Solve] does.
//
// The rules:
//   - each Entry sets exactly one backend ([ErrNoBackend], [ErrManyBackends]);
//   - each backend has what BuildKit needs: a registry ref (a tag for exports), a local
//     directory, a gha token and URL ([ErrMissing]), and values BuildKit accepts
//     ([ErrInvalidValue]): mode is min or max, known compression, image-manifest only
//     with oci-mediatypes, no line breaks, and no Attrs key that a typed field writes;
//   - inline is export only ([ErrInlineImport]) and supports only mode=min
//     ([ErrInlineMode]); an export's mode otherwise defaults to max;
//   - exporting to both a registry and gha is refused unless AllowMixedExports
//     ([ErrMixedExports]);
//   - two exports may not write the same place ([ErrInvalidValue]).
//
// Whether the daemon has each backend is checked separately, against the daemon:
// see [Probe] and [Config.CheckSupport].
func (c Config) Validate() error {
	return c.validate(os.Getenv)
}

func (c Config) validate(getenv func(string) string) error {
	var errs []error
	for i, e := range c.Import {
		if err := e.validate(importing, getenv); err != nil {
			errs = append(errs, &EntryError{Index: i, Type: e.Type(), Err: err})
		}
	}
	var registry, gha = -1, -1
	places := map[string]int{}
	for i, e := range c.Export {
		if err := e.validate(exporting, getenv); err != nil {
			errs = append(errs, &EntryError{Export: true, Index: i, Type: e.Type(), Err: err})
		} else if p := e.place(getenv); p != "" {
			if j, dup := places[p]; dup {
				errs = append(errs, &EntryError{Export: true, Index: i, Type: e.Type(), Err: fmt.Errorf(
					"%w: exports %d and %d both write %s, so one would overwrite the other; remove one or give it another place", ErrInvalidValue, j, i, p)})
			}
			places[p] = i
		}
		switch e.Type() {
		case TypeRegistry:
			registry = i
		case TypeGHA:
			gha = i
		}
	}
	if registry >= 0 && gha >= 0 && !c.AllowMixedExports {
		errs = append(errs, &EntryError{Export: true, Index: gha, Type: TypeGHA, Err: fmt.Errorf(
			"%w: export %d goes to a registry and export %d to gha; keep one, or set AllowMixedExports to pay for both uploads",
			ErrMixedExports, registry, gha)})
	}
	return errors.Join(errs...)
}

// reserved are attribute keys written from Entry's own fields.
var reserved = []string{"type", "mode", "ignore-error"}

func (e Entry) validate(d direction, getenv func(string) string) error {
	b, err := e.resolved(getenv)
	if err != nil {
		return err
	}
	for k, v := range e.Attrs {
		if _, typed := fieldFor(b, d, k); typed || slices.Contains(reserved, k) {
			return fmt.Errorf("%w: Attrs[%q] duplicates a typed field; set the field instead", ErrInvalidValue, k)
		}
		if k == "" || k != strings.ToLower(k) || strings.ContainsAny(k, "=,\"\r\n") {
			return fmt.Errorf("%w: Attrs key %q: keys are lower case, without '=', ',', quotes or line breaks", ErrInvalidValue, k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("%w: Attrs[%q] contains a line break", ErrInvalidValue, k)
		}
	}
	for _, f := range b.fields(d) {
		if v, _ := f.get(); strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("%w: %s contains a line break", ErrInvalidValue, f.key)
		}
	}
	switch e.Mode {
	case "", ModeMin, ModeMax:
	default:
		return fmt.Errorf("%w: mode=%q: use min or max", ErrInvalidValue, e.Mode)
	}
	if d == exporting && b.typ() == TypeInline && e.Mode == ModeMax {
		return fmt.Errorf("%w: inline keeps only the final stage; for mode=max export to a registry cache (type=registry,ref=REPO:buildcache,mode=max)", ErrInlineMode)
	}
	return b.check(d)
}

// resolved returns e's backend with GitHub Actions settings completed from getenv.
func (e Entry) resolved(getenv func(string) string) (backend, error) {
	b, err := e.backend()
	if err != nil {
		return nil, err
	}
	if g, ok := b.(*GHA); ok && getenv != nil {
		return g.withEnv(getenv), nil
	}
	return b, nil
}

// exportMode is the mode written for an export: Mode, else max (nothing for inline).
func (e Entry) exportMode() Mode {
	if e.Mode != "" {
		return e.Mode
	}
	if e.Inline != nil {
		return ""
	}
	return ModeMax
}

// place names where an export writes, to find two exports that overwrite each other.
func (e Entry) place(getenv func(string) string) string {
	b, err := e.resolved(getenv)
	if err != nil {
		return ""
	}
	switch b := b.(type) {
	case *Registry:
		return "registry ref " + b.Ref
	case *GHA:
		return "gha scope " + b.scopeName()
	case *Local:
		return "local directory " + filepath.Clean(b.Dir) + " tag " + b.Tag
	case *Inline:
		return "the inline cache"
	case *S3:
		return "s3 " + b.EndpointURL + " bucket " + b.Bucket + " " + b.Prefix + " name " + manifestName(b.Name)
	case *AzBlob:
		return "azblob " + b.AccountURL + " container " + b.Container + " " + b.Prefix + " name " + manifestName(b.Name)
	}
	return ""
}
