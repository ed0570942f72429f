package cache

import (
	"fmt"
	"strconv"
	"time"
)

// direction says whether an entry is read (import, --cache-from) or written
// (export, --cache-to): a few attributes differ, such as local's src and dest.
type direction int

const (
	importing direction = iota
	exporting
)

func (d direction) String() string {
	if d == exporting {
		return "export"
	}
	return "import"
}

// backend is one typed cache backend. Its fields() table is the single place that maps
// typed fields to BuildKit attribute keys, in both directions.
type backend interface {
	typ() Type
	fields(d direction) []field
	// scope returns a copy that stores the cache of one platform apart from the others.
	scope(suffix string) (backend, error)
	// check reports what is missing or wrong, after environment defaults are applied.
	check(d direction) error
}

// field maps one BuildKit attribute to a typed field.
type field struct {
	key string
	get func() (value string, set bool)
	set func(value string) error
}

func strField(key string, p *string) field {
	return field{key,
		func() (string, bool) { return *p, *p != "" },
		func(v string) error { *p = v; return nil }}
}

func boolField(key string, p *bool) field {
	return field{key,
		func() (string, bool) { return "true", *p },
		func(v string) (err error) { *p, err = parseBool(key, v); return err }}
}

// optBoolField is a *bool: nil leaves BuildKit's default.
func optBoolField(key string, p **bool) field {
	return field{key,
		func() (string, bool) {
			if *p == nil {
				return "", false
			}
			return strconv.FormatBool(**p), true
		},
		func(v string) error {
			b, err := parseBool(key, v)
			*p = &b
			return err
		}}
}

func intField(key string, p *int) field {
	return field{key,
		func() (string, bool) { return strconv.Itoa(*p), *p != 0 },
		func(v string) (err error) { *p, err = parseInt(key, v); return err }}
}

func optIntField(key string, p **int) field {
	return field{key,
		func() (string, bool) {
			if *p == nil {
				return "", false
			}
			return strconv.Itoa(**p), true
		},
		func(v string) error {
			n, err := parseInt(key, v)
			*p = &n
			return err
		}}
}

func durationField(key string, p *time.Duration) field {
	return field{key,
		func() (string, bool) { return p.String(), *p != 0 },
		func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%w: %s=%q is not a duration (write it like 10m or 90s)", ErrInvalidValue, key, v)
			}
			*p = d
			return nil
		}}
}

func parseBool(key, v string) (bool, error) {
	if v == "" && key == "force-compression" { // BuildKit reads it empty as true
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not a boolean (use true or false)", ErrInvalidValue, key, v)
	}
	return b, nil
}

func parseInt(key, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not an integer", ErrInvalidValue, key, v)
	}
	return n, nil
}

// attrsOf writes the fields that are set.
func attrsOf(b backend, d direction) map[string]string {
	m := map[string]string{}
	for _, f := range b.fields(d) {
		if v, ok := f.get(); ok {
			m[f.key] = v
		}
	}
	return m
}

// fieldFor finds the typed field for key, if b models it.
func fieldFor(b backend, d direction, key string) (field, bool) {
	for _, f := range b.fields(d) {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}
