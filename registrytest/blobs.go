package registrytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// blobStore is an in-memory registry.BlobHandler whose blobs belong to
// repositories (unless shared), so a blob pushed to one repository is
// unknown in another until it is copied or mounted there.
type blobStore struct {
	shared bool
	mu     sync.RWMutex
	data   map[string][]byte          // digest -> content
	repos  map[string]map[string]bool // repo -> digest -> present
}

func newBlobStore(shared bool) *blobStore {
	return &blobStore{shared: shared, data: map[string][]byte{}, repos: map[string]map[string]bool{}}
}

func (b *blobStore) has(repo string, h v1.Hash) bool {
	_, ok := b.data[h.String()]
	return ok && (b.shared || b.repos[repo][h.String()])
}

func (b *blobStore) Stat(ctx context.Context, repo string, h v1.Hash) (int64, error) {
	repo = repoOf(ctx, repo)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if !b.has(repo, h) {
		return 0, registry.ErrNotFound
	}
	return int64(len(b.data[h.String()])), nil
}

func (b *blobStore) Get(ctx context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	repo = repoOf(ctx, repo)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if !b.has(repo, h) {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b.data[h.String()])), nil
}

func (b *blobStore) Put(ctx context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	repo = repoOf(ctx, repo)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data[h.String()] = data
	b.link(repo, h.String())
	return nil
}

func (b *blobStore) link(repo, digest string) {
	if b.repos[repo] == nil {
		b.repos[repo] = map[string]bool{}
	}
	b.repos[repo][digest] = true
}

// mount links digest from repository from into repo; false if from does
// not hold it.
func (b *blobStore) mount(repo, from string, h v1.Hash) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.has(from, h) {
		return false
	}
	b.link(repo, h.String())
	return true
}

// serveMount answers a cross-repository mount request
// (POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<repo>) with 201 when
// the source repository holds the blob. Otherwise the request falls through
// to an ordinary upload session, as the distribution spec says.
func (r *Registry) serveMount(w http.ResponseWriter, req *http.Request) bool {
	if r.cfg.noMount || req.Method != http.MethodPost {
		return false
	}
	kind, repo := classify(req.Method, req.URL.Path, req.URL.RawQuery)
	if kind != KindMount {
		return false
	}
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return false
	}
	h, err := v1.NewHash(q.Get("mount"))
	if err != nil || q.Get("from") == "" || !r.blobs.mount(repo, strings.TrimSpace(q.Get("from")), h) {
		return false
	}
	w.Header().Set("Location", fmt.Sprintf("/v2/%s/blobs/%s", repo, h))
	w.Header().Set("Docker-Content-Digest", h.String())
	w.WriteHeader(http.StatusCreated)
	return true
}
