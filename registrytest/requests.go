package registrytest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Kind groups registry requests by what they touch.
type Kind string

// The kinds of registry requests, from the path of the
// distribution API (https://github.com/opencontainers/distribution-spec).
const (
	KindPing      Kind = "ping"      // GET /v2/
	KindManifest  Kind = "manifest"  // /v2/<repo>/manifests/<tag or digest>
	KindBlob      Kind = "blob"      // /v2/<repo>/blobs/<digest>
	KindUpload    Kind = "upload"    // /v2/<repo>/blobs/uploads/...
	KindMount     Kind = "mount"     // POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<repo>
	KindTags      Kind = "tags"      // /v2/<repo>/tags/list
	KindCatalog   Kind = "catalog"   // /v2/_catalog
	KindReferrers Kind = "referrers" // /v2/<repo>/referrers/<digest>
	KindToken     Kind = "token"     // GET /token, the bearer token endpoint of WithBearerAuth
	KindOther     Kind = "other"
)

// Request is one request the registry received (seeding excluded).
type Request struct {
	Method string
	Path   string // URL path, without the query
	Query  string // raw query
	Kind   Kind
	Repo   string // repository, "" for ping and catalog
	Status int    // status sent; 0 when a fault dropped the connection
	// Duration is the time spent serving it, injected latency included.
	Duration time.Duration
}

// String formats r as "METHOD PATH -> STATUS".
func (r Request) String() string {
	return fmt.Sprintf("%s %s -> %d", r.Method, r.Path, r.Status)
}

// classify returns the kind and repository of a request path.
func classify(method, path, rawQuery string) (Kind, string) {
	if path == tokenPath {
		return KindToken, ""
	}
	p := strings.TrimPrefix(path, "/v2/")
	if p == path {
		return KindOther, ""
	}
	if p == "" {
		return KindPing, ""
	}
	if p == "_catalog" {
		return KindCatalog, ""
	}
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for i := len(parts) - 1; i >= 1; i-- {
		repo := strings.Join(parts[:i], "/")
		switch parts[i] {
		case "manifests":
			if i == len(parts)-2 {
				return KindManifest, repo
			}
		case "tags":
			if i == len(parts)-2 && parts[i+1] == "list" {
				return KindTags, repo
			}
		case "referrers":
			if i == len(parts)-2 {
				return KindReferrers, repo
			}
		case "blobs":
			if i == len(parts)-2 && parts[i+1] != "uploads" {
				return KindBlob, repo
			}
			if i+1 < len(parts) && parts[i+1] == "uploads" {
				if method == http.MethodPost && strings.Contains(rawQuery, "mount=") {
					return KindMount, repo
				}
				return KindUpload, repo
			}
		}
	}
	return KindOther, ""
}

func (r *Registry) record(req *http.Request, status int, d time.Duration) {
	kind, repo := classify(req.Method, req.URL.Path, req.URL.RawQuery)
	rec := Request{
		Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
		Kind: kind, Repo: repo, Status: status, Duration: d,
	}
	r.mu.Lock()
	r.requests = append(r.requests, rec)
	r.mu.Unlock()
	if r.logger != nil {
		r.logger.Debug("registrytest request", "method", rec.Method, "path", rec.Path, "status", status)
	}
}

// Requests returns a copy of the requests received so far, in order.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// Count returns how many requests matched method and kind; an empty method
// or kind matches any.
func (r *Registry) Count(method string, kind Kind) int {
	n := 0
	for _, q := range r.Requests() {
		if (method == "" || q.Method == method) && (kind == "" || q.Kind == kind) {
			n++
		}
	}
	return n
}

// Counts returns the number of requests by "METHOD PATH".
func (r *Registry) Counts() map[string]int {
	m := map[string]int{}
	for _, q := range r.Requests() {
		m[q.Method+" "+q.Path]++
	}
	return m
}

// CountsByKind returns the number of requests by "METHOD kind", for
// example "HEAD blob" or "PUT manifest".
func (r *Registry) CountsByKind() map[string]int {
	m := map[string]int{}
	for _, q := range r.Requests() {
		m[q.Method+" "+string(q.Kind)]++
	}
	return m
}

// ResetRequests forgets the requests recorded so far, for example after
// a test's setup.
func (r *Registry) ResetRequests() {
	r.mu.Lock()
	r.requests = nil
	r.mu.Unlock()
}
