package cache

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// ParseImport reads one --cache-from value in buildx's CSV form:
// "type=registry,ref=REPO:buildcache", "type=gha,scope=app", "type=local,src=DIR",
// or a bare reference "REPO:buildcache", which means a registry cache. Keys are case
// insensitive and the last of a repeated key wins, as in buildx; keys this package
// does not model are kept in Entry.Attrs. Fields are CSV (encoding/csv), so a value
// holding a comma is quoted: `type=s3,"name=a,b"`.
func ParseImport(s string) (Entry, error) { return parse(s, importing) }

// ParseExport reads one --cache-to value: "type=registry,ref=REPO:buildcache,mode=max",
// "type=local,dest=DIR", "type=inline". Note that an export without mode= is mode=max
// here ([Entry.Mode]), where buildx would export mode=min.
func ParseExport(s string) (Entry, error) { return parse(s, exporting) }

// ParseFlags reads buildx's --cache-from and --cache-to values into a Config. A value
// without "=" may list several references separated by commas, as in buildx.
func ParseFlags(cacheFrom, cacheTo []string) (Config, error) {
	var c Config
	for _, s := range cacheFrom {
		es, err := parseFlag(s, importing)
		if err != nil {
			return Config{}, err
		}
		c.Import = append(c.Import, es...)
	}
	for _, s := range cacheTo {
		es, err := parseFlag(s, exporting)
		if err != nil {
			return Config{}, err
		}
		c.Export = append(c.Export, es...)
	}
	return c, nil
}

// Flags writes c back as --cache-from and --cache-to values that buildx and
// [ParseFlags] read. Exports always carry their mode, so buildx exports what Solve does.
func (c Config) Flags() (cacheFrom, cacheTo []string) {
	for _, e := range c.Import {
		cacheFrom = append(cacheFrom, e.FormatImport())
	}
	for _, e := range c.Export {
		cacheTo = append(cacheTo, e.FormatExport())
	}
	return cacheFrom, cacheTo
}

// FormatImport writes e in the --cache-from CSV form. Secrets (tokens, keys) are
// included: do not log the result.
func (e Entry) FormatImport() string { return e.format(importing) }

// FormatExport writes e in the --cache-to CSV form, with its mode (default max).
// Secrets (tokens, keys) are included: do not log the result.
func (e Entry) FormatExport() string { return e.format(exporting) }

func (e Entry) format(d direction) string {
	b, err := e.backend()
	if err != nil {
		return ""
	}
	fields := []string{"type=" + string(b.typ())}
	for _, f := range b.fields(d) {
		if v, ok := f.get(); ok {
			fields = append(fields, f.key+"="+v)
		}
	}
	mode := e.Mode
	if d == exporting {
		mode = e.exportMode()
	}
	if mode != "" {
		fields = append(fields, "mode="+string(mode))
	}
	if e.IgnoreError {
		fields = append(fields, "ignore-error=true")
	}
	for _, k := range slices.Sorted(maps.Keys(e.Attrs)) {
		fields = append(fields, k+"="+e.Attrs[k])
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	_ = w.Write(fields) // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(sb.String(), "\n")
}

func parseFlag(s string, d direction) ([]Entry, error) {
	if s == "" {
		return nil, nil
	}
	if strings.Contains(s, "=") {
		e, err := parse(s, d)
		return []Entry{e}, err
	}
	refs, err := fields(s)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, r := range refs {
		out = append(out, Entry{Registry: &Registry{Ref: r}})
	}
	return out, nil
}

func fields(s string) ([]string, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("%w: cache flag %q spans several lines; give one entry per flag", ErrInvalidValue, redacted(s))
	}
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: empty cache flag: write type=TYPE,key=value,...", ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cache flag %q is not valid CSV: %v", ErrInvalidValue, redacted(s), err)
	}
	return rec, nil
}

func parse(s string, d direction) (Entry, error) {
	fs, err := fields(s)
	if err != nil {
		return Entry{}, err
	}
	shown := redacted(s) // the flag as errors quote it
	if len(fs) == 1 && !strings.Contains(fs[0], "=") {
		return Entry{Registry: &Registry{Ref: fs[0]}}, nil
	}
	kv := map[string]string{}
	var order []string
	for i, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return Entry{}, fmt.Errorf("%w: cache flag %q: field %d is not key=value (quote a value holding a comma)", ErrInvalidValue, shown, i+1)
		}
		k = strings.ToLower(k)
		if _, seen := kv[k]; !seen {
			order = append(order, k)
		}
		kv[k] = v
	}
	t, ok := kv["type"]
	if !ok {
		return Entry{}, fmt.Errorf("%w: cache flag %q has no type=: add type=registry, gha, local, inline, s3 or azblob", ErrMissing, shown)
	}
	b, err := newBackend(Type(t))
	if err != nil {
		return Entry{}, fmt.Errorf("cache flag %q: %w", shown, err)
	}
	var e Entry
	for _, k := range order {
		v := kv[k]
		switch k {
		case "type":
			continue
		case "mode":
			e.Mode = Mode(v)
			continue
		case "ignore-error":
			if e.IgnoreError, err = parseBool(k, v); err != nil {
				return Entry{}, fmt.Errorf("cache flag %q: %w", shown, err)
			}
			continue
		}
		if f, ok := fieldFor(b, d, k); ok {
			if err := f.set(v); err != nil {
				return Entry{}, fmt.Errorf("cache flag %q: %w", shown, err)
			}
			continue
		}
		if e.Attrs == nil {
			e.Attrs = map[string]string{}
		}
		e.Attrs[k] = v
	}
	return e.withBackend(b), nil
}

// secretKeys are the attributes whose values are credentials.
var secretKeys = []string{"token", "ghtoken", "access_key_id", "secret_access_key", "session_token"}

// secretAttr finds the first credential key=value in a flag that is not valid CSV.
var secretAttr = regexp.MustCompile(`(?is)\b(` + strings.Join(secretKeys, "|") + `)=.*`)

// redacted is a cache flag as errors quote it: the value of every credential attribute
// replaced by "***", and so is any field without "=" after one (the rest of a value
// holding an unquoted comma). A flag that is not CSV is cut after its first credential key.
func redacted(s string) string {
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil || strings.ContainsAny(s, "\r\n") {
		return secretAttr.ReplaceAllString(s, "${1}=***")
	}
	secret := false
	for i, f := range rec {
		k, _, ok := strings.Cut(f, "=")
		if ok {
			secret = slices.Contains(secretKeys, strings.ToLower(k))
		}
		switch {
		case ok && secret:
			rec[i] = k + "=***"
		case secret:
			rec[i] = "***"
		}
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	_ = w.Write(rec) // a strings.Builder does not fail
	w.Flush()
	return strings.TrimSuffix(sb.String(), "\n")
}
