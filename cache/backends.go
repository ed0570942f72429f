package cache

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Registry keeps the cache in an image repository, apart from the image itself.
// Attributes: ref, image-manifest, oci-mediatypes, compression, compression-level,
// force-compression, registry.insecure.
type Registry struct {
	// Ref is the cache reference, e.g. "registry.example.com/team/app:buildcache".
	// Required. An export needs a tag (a digest cannot be written to); an import may
	// name a digest, which is then never scoped per platform.
	Ref string `json:"ref"`
	// ImageManifest stores the cache as an OCI image manifest instead of an index,
	// which registries such as ECR require. Default: the daemon's (true since BuildKit
	// v0.21). Needs OCIMediaTypes.
	ImageManifest *bool `json:"imageManifest,omitempty"`
	// OCIMediaTypes uses OCI media types in the cache manifests. Default: the daemon's (true).
	OCIMediaTypes *bool `json:"ociMediaTypes,omitempty"`
	// Compression of the exported cache layers. Default: the daemon's (gzip).
	Compression Compression `json:"compression,omitzero"`
	// Insecure allows plain HTTP and unverified TLS to this registry. Default false.
	Insecure bool `json:"insecure,omitempty"`
}

// Compression is how exported cache layers are compressed.
type Compression struct {
	// Type is "gzip", "zstd", "estargz" or "uncompressed". Default: the daemon's (gzip).
	Type string `json:"type,omitempty"`
	// Level is the compression level. Default: the algorithm's.
	Level *int `json:"level,omitempty"`
	// Force recompresses layers that already exist with another compression. Default false.
	Force bool `json:"force,omitempty"`
}

func (c *Compression) fields() []field {
	return []field{
		strField("compression", &c.Type),
		optIntField("compression-level", &c.Level),
		boolField("force-compression", &c.Force),
	}
}

func (c Compression) check() error {
	if c.Type == "" {
		if c.Level != nil || c.Force {
			return fmt.Errorf("%w: compression-level or force-compression given without compression (add compression=gzip or zstd)", ErrInvalidValue)
		}
		return nil
	}
	// The names BuildKit's util/compression.Parse accepts (not imported: it would pull
	// the estargz and tar-split modules into every user's build for four words).
	if !slices.Contains([]string{"uncompressed", "gzip", "estargz", "zstd"}, c.Type) {
		return fmt.Errorf("%w: compression=%q: use gzip, zstd, estargz or uncompressed", ErrInvalidValue, c.Type)
	}
	return nil
}

func (r *Registry) typ() Type { return TypeRegistry }

func (r *Registry) fields(direction) []field {
	return append([]field{
		strField("ref", &r.Ref),
		optBoolField("image-manifest", &r.ImageManifest),
		optBoolField("oci-mediatypes", &r.OCIMediaTypes),
		boolField("registry.insecure", &r.Insecure),
	}, r.Compression.fields()...)
}

func (r *Registry) check(d direction) error {
	if r.Ref == "" {
		return fmt.Errorf("%w: registry cache %s needs ref=REPOSITORY:TAG", ErrMissing, d)
	}
	ref, err := name.ParseReference(r.Ref)
	if err != nil {
		return fmt.Errorf("%w: registry cache ref %q: %v", ErrInvalidValue, r.Ref, err)
	}
	if _, ok := ref.(name.Digest); ok && d == exporting {
		return fmt.Errorf("%w: registry cache export ref %q names a digest: give a tag to write to, e.g. REPOSITORY:buildcache", ErrInvalidValue, r.Ref)
	}
	if r.ImageManifest != nil && *r.ImageManifest && r.OCIMediaTypes != nil && !*r.OCIMediaTypes {
		return fmt.Errorf("%w: registry cache %q: image-manifest=true needs oci-mediatypes=true", ErrInvalidValue, r.Ref)
	}
	return r.Compression.check()
}

func (r *Registry) scope(suffix string) (backend, error) {
	out := *r
	ref, err := scopedRef(r.Ref, suffix)
	if err != nil {
		return nil, err
	}
	out.Ref = ref
	return &out, nil
}

// scopedRef appends "-suffix" to ref's tag ("app:cache" -> "app:cache-linux-arm64"),
// or uses the suffix as the tag when ref has none ("app" -> "app:linux-arm64").
// A reference by digest is returned unchanged: it names one fixed cache.
func scopedRef(ref, suffix string) (string, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("%w: registry cache ref %q: %v", ErrInvalidValue, ref, err)
	}
	if _, ok := parsed.(name.Digest); ok {
		return ref, nil
	}
	base, tag := ref, suffix
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		base, tag = ref[:i], ref[i+1:]+"-"+suffix
	}
	if len(tag) > 128 {
		return "", fmt.Errorf("%w: registry cache ref %q: the per-platform tag %q is longer than 128 characters; use a shorter tag", ErrInvalidValue, ref, tag)
	}
	out := base + ":" + tag
	if _, err := name.NewTag(out); err != nil {
		return "", fmt.Errorf("%w: registry cache ref %q: per-platform ref %q: %v", ErrInvalidValue, ref, out, err)
	}
	return out, nil
}

// GHA keeps the cache in the GitHub Actions cache service. Attributes: scope, url,
// url_v2, token, version, timeout, repository, ghtoken.
//
// URL, URLv2, Token and Version are taken from the environment when not given, as
// buildx does: ACTIONS_CACHE_URL (else ACTIONS_RESULTS_URL), ACTIONS_RESULTS_URL,
// ACTIONS_RUNTIME_TOKEN, and version 2 when ACTIONS_CACHE_SERVICE_V2 is true. GitHub
// sets them for actions, not for run steps: expose them with
// crazy-max/ghaction-github-runtime, or use docker/build-push-action's variables.
type GHA struct {
	// Scope names the cache object. Default "buildkit". Builds of different images
	// should use different scopes or they overwrite each other.
	Scope string `json:"scope,omitempty"`
	// URL is the cache service URL (API v1). Default: $ACTIONS_CACHE_URL, else $ACTIONS_RESULTS_URL.
	URL string `json:"url,omitempty"`
	// URLv2 is the cache service URL for API v2. Default: $ACTIONS_RESULTS_URL.
	URLv2 string `json:"urlV2,omitempty"`
	// Token is the runtime token. Default: $ACTIONS_RUNTIME_TOKEN. Never logged.
	Token string `json:"token,omitempty"`
	// Version is the cache API version, 1 or 2. Default: 2 when
	// $ACTIONS_CACHE_SERVICE_V2 is true, else the daemon's choice from the URL.
	Version int `json:"version,omitempty"`
	// Timeout bounds the import or export (in JSON: nanoseconds). Default: the
	// daemon's (10m).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Repository ("owner/name") and GHToken let BuildKit check cache keys through the
	// GitHub REST API instead of the rate-limited cache API. Default: not used.
	Repository string `json:"repository,omitempty"`
	GHToken    string `json:"ghToken,omitempty"`
}

func (g *GHA) typ() Type { return TypeGHA }

func (g *GHA) fields(direction) []field {
	return []field{
		strField("scope", &g.Scope),
		strField("url", &g.URL),
		strField("url_v2", &g.URLv2),
		strField("token", &g.Token),
		intField("version", &g.Version),
		durationField("timeout", &g.Timeout),
		strField("repository", &g.Repository),
		strField("ghtoken", &g.GHToken),
	}
}

// withEnv fills what is not given from the GitHub Actions environment.
func (g *GHA) withEnv(getenv func(string) string) *GHA {
	out := *g
	if out.URL == "" {
		out.URL = getenv("ACTIONS_CACHE_URL")
		if out.URL == "" {
			out.URL = getenv("ACTIONS_RESULTS_URL")
		}
	}
	if out.URLv2 == "" {
		out.URLv2 = getenv("ACTIONS_RESULTS_URL")
	}
	if out.Token == "" {
		out.Token = getenv("ACTIONS_RUNTIME_TOKEN")
	}
	if out.Version == 0 {
		switch strings.ToLower(getenv("ACTIONS_CACHE_SERVICE_V2")) {
		case "1", "true", "yes":
			out.Version = 2
		}
	}
	return &out
}

func (g *GHA) check(d direction) error {
	if g.Token == "" {
		return fmt.Errorf("%w: gha cache %s (scope %q) has no token: set GHA.Token or ACTIONS_RUNTIME_TOKEN (expose it to run steps with crazy-max/ghaction-github-runtime)", ErrMissing, d, g.scopeName())
	}
	if g.URL == "" && g.URLv2 == "" {
		return fmt.Errorf("%w: gha cache %s (scope %q) has no URL: set GHA.URL or ACTIONS_CACHE_URL / ACTIONS_RESULTS_URL", ErrMissing, d, g.scopeName())
	}
	if g.Version != 0 && g.Version != 1 && g.Version != 2 {
		return fmt.Errorf("%w: gha cache version=%d: use 1 or 2", ErrInvalidValue, g.Version)
	}
	if (g.Repository == "") != (g.GHToken == "") {
		return fmt.Errorf("%w: gha cache (scope %q): repository and ghtoken go together; set both or neither", ErrInvalidValue, g.scopeName())
	}
	return nil
}

func (g *GHA) scopeName() string {
	if g.Scope == "" {
		return "buildkit"
	}
	return g.Scope
}

func (g *GHA) scope(suffix string) (backend, error) {
	out := *g
	out.Scope = g.scopeName() + "-" + suffix
	return &out, nil
}

// Local keeps the cache in an OCI layout directory on the machine running the client;
// BuildKit reads and writes it through the client's session. Attributes: src (import),
// dest (export), tag, digest (import), image-manifest, oci-mediatypes, compression...
type Local struct {
	// Dir is the directory: src= for an import, dest= for an export. Required.
	Dir string `json:"dir"`
	// Tag is the index.json tag to read or write. Default "latest".
	Tag string `json:"tag,omitempty"`
	// Digest pins the cache manifest to import. Default: the one Tag names.
	Digest string `json:"digest,omitempty"`
	// ImageManifest, OCIMediaTypes and Compression are as for [Registry] (export only).
	ImageManifest *bool       `json:"imageManifest,omitempty"`
	OCIMediaTypes *bool       `json:"ociMediaTypes,omitempty"`
	Compression   Compression `json:"compression,omitzero"`
}

func (l *Local) typ() Type { return TypeLocal }

func (l *Local) fields(d direction) []field {
	if d == importing {
		return []field{strField("src", &l.Dir), strField("tag", &l.Tag), strField("digest", &l.Digest)}
	}
	return append([]field{
		strField("dest", &l.Dir),
		strField("tag", &l.Tag),
		optBoolField("image-manifest", &l.ImageManifest),
		optBoolField("oci-mediatypes", &l.OCIMediaTypes),
	}, l.Compression.fields()...)
}

func (l *Local) check(d direction) error {
	key := map[direction]string{importing: "src", exporting: "dest"}[d]
	if l.Dir == "" {
		return fmt.Errorf("%w: local cache %s needs %s=DIRECTORY", ErrMissing, d, key)
	}
	if d == exporting && l.Digest != "" {
		return fmt.Errorf("%w: local cache export to %q: digest applies to imports only; remove it", ErrInvalidValue, l.Dir)
	}
	if d == importing && (l.ImageManifest != nil || l.OCIMediaTypes != nil || l.Compression != (Compression{})) {
		return fmt.Errorf("%w: local cache import from %q: image-manifest, oci-mediatypes and compression apply to exports only; remove them", ErrInvalidValue, l.Dir)
	}
	return l.Compression.check()
}

func (l *Local) scope(suffix string) (backend, error) {
	out := *l
	out.Dir = filepath.Join(l.Dir, suffix)
	return &out, nil
}

// Inline writes cache metadata into the exported image's config, so the image itself
// can be imported as a cache with a [Registry] entry naming it. Export only, and only
// in [ModeMin]: it caches the final stage's steps and nothing of other stages.
type Inline struct{}

func (*Inline) typ() Type                       { return TypeInline }
func (*Inline) fields(direction) []field        { return nil }
func (i *Inline) scope(string) (backend, error) { return i, nil }
func (*Inline) check(d direction) error {
	if d == importing {
		return fmt.Errorf("%w: an inline cache is imported from the image: use type=registry,ref=IMAGE", ErrInlineImport)
	}
	return nil
}

// blobFields are the prefix layout and manifest name attributes S3 and AzBlob share.
func blobFields(prefix, manifests, blobs, name *string) []field {
	return []field{
		strField("prefix", prefix),
		strField("manifests_prefix", manifests),
		strField("blobs_prefix", blobs),
		strField("name", name),
	}
}

// manifestName is n or BuildKit's default manifest name.
func manifestName(n string) string {
	if n == "" {
		return "buildkit"
	}
	return n
}

// scopedName suffixes every ";"-separated manifest name (default "buildkit").
func scopedName(n, suffix string) string {
	names := strings.Split(manifestName(n), ";")
	for i := range names {
		names[i] += "-" + suffix
	}
	return strings.Join(names, ";")
}

// S3 keeps the cache in an S3 bucket. Bucket, Region and credentials may instead come
// from the daemon's environment (AWS_BUCKET, AWS_REGION, the AWS credential chain).
type S3 struct {
	Bucket string `json:"bucket,omitempty"`
	Region string `json:"region,omitempty"`
	// Prefix is prepended to every object name. Default "".
	Prefix string `json:"prefix,omitempty"`
	// ManifestsPrefix and BlobsPrefix default to "manifests/" and "blobs/".
	ManifestsPrefix string `json:"manifestsPrefix,omitempty"`
	BlobsPrefix     string `json:"blobsPrefix,omitempty"`
	// Name is the cache manifest name; several may be given separated by ";".
	// Default "buildkit". Scoped per platform like [GHA.Scope].
	Name string `json:"name,omitempty"`
	// EndpointURL selects an S3-compatible service. Default: AWS.
	EndpointURL string `json:"endpointURL,omitempty"`
	// UsePathStyle uses path-style URLs (most S3-compatible services need it).
	UsePathStyle bool `json:"usePathStyle,omitempty"`
	// AccessKeyID, SecretAccessKey and SessionToken are static credentials. Default:
	// the daemon's credential chain. Never logged.
	AccessKeyID     string `json:"accessKeyID,omitempty"`
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
	SessionToken    string `json:"sessionToken,omitempty"`
	// UploadParallelism bounds concurrent uploads. Default: the daemon's (4).
	UploadParallelism int         `json:"uploadParallelism,omitempty"`
	Compression       Compression `json:"compression,omitzero"`
}

func (s *S3) typ() Type { return TypeS3 }

func (s *S3) fields(direction) []field {
	f := []field{strField("bucket", &s.Bucket), strField("region", &s.Region)}
	f = append(f, blobFields(&s.Prefix, &s.ManifestsPrefix, &s.BlobsPrefix, &s.Name)...)
	f = append(f,
		strField("endpoint_url", &s.EndpointURL),
		boolField("use_path_style", &s.UsePathStyle),
		strField("access_key_id", &s.AccessKeyID),
		strField("secret_access_key", &s.SecretAccessKey),
		strField("session_token", &s.SessionToken),
		intField("upload_parallelism", &s.UploadParallelism),
	)
	return append(f, s.Compression.fields()...)
}

func (s *S3) check(d direction) error {
	if (s.AccessKeyID == "") != (s.SecretAccessKey == "") {
		return fmt.Errorf("%w: s3 cache %s (bucket %q): access_key_id and secret_access_key go together", ErrInvalidValue, d, s.Bucket)
	}
	if s.UploadParallelism < 0 {
		return fmt.Errorf("%w: s3 cache upload_parallelism=%d must be positive", ErrInvalidValue, s.UploadParallelism)
	}
	return s.Compression.check()
}

func (s *S3) scope(suffix string) (backend, error) {
	out := *s
	out.Name = scopedName(s.Name, suffix)
	return &out, nil
}

// AzBlob keeps the cache in an Azure Blob Storage container. AccountURL, AccountName
// and Container may instead come from the daemon's environment
// (BUILDKIT_AZURE_STORAGE_ACCOUNT_URL, ..._ACCOUNT_NAME, ..._CONTAINER).
type AzBlob struct {
	AccountURL  string `json:"accountURL,omitempty"`
	AccountName string `json:"accountName,omitempty"`
	// Container defaults to "buildkit-cache".
	Container string `json:"container,omitempty"`
	// Prefix is prepended to every object name. Default "".
	Prefix string `json:"prefix,omitempty"`
	// ManifestsPrefix and BlobsPrefix default to "manifests/" and "blobs/".
	ManifestsPrefix string `json:"manifestsPrefix,omitempty"`
	BlobsPrefix     string `json:"blobsPrefix,omitempty"`
	// Name is the cache manifest name; several may be given separated by ";".
	// Default "buildkit". Scoped per platform like [GHA.Scope].
	Name string `json:"name,omitempty"`
	// SecretAccessKey is the account key. Default: Azure's credential chain. Never logged.
	SecretAccessKey string `json:"secretAccessKey,omitempty"`
}

func (a *AzBlob) typ() Type { return TypeAzBlob }

func (a *AzBlob) fields(direction) []field {
	f := []field{
		strField("account_url", &a.AccountURL),
		strField("account_name", &a.AccountName),
		strField("container", &a.Container),
	}
	f = append(f, blobFields(&a.Prefix, &a.ManifestsPrefix, &a.BlobsPrefix, &a.Name)...)
	return append(f, strField("secret_access_key", &a.SecretAccessKey))
}

func (a *AzBlob) check(direction) error { return nil }

func (a *AzBlob) scope(suffix string) (backend, error) {
	out := *a
	out.Name = scopedName(a.Name, suffix)
	return &out, nil
}
