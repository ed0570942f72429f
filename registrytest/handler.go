package registrytest

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// handler wraps the go-containerregistry registry with, in order: request
// recording, required auth, injected faults and cross-repository mounts.
// Requests made by the Seed methods skip all four.
func (r *Registry) handler(inner http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// pkg/registry derives a wrong repository for PUT .../uploads/<id>:
		// tell the blob store the right one.
		_, repo := classify(req.Method, req.URL.Path, req.URL.RawQuery)
		req = req.WithContext(context.WithValue(req.Context(), repoKey{}, repo))
		if r.seedKey != "" && req.Header.Get(seedHeader) == r.seedKey {
			inner.ServeHTTP(w, req)
			return
		}
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		var once sync.Once
		rw.recordNow = func() { once.Do(func() { r.record(req, rw.status, time.Since(start)) }) }
		defer rw.recordNow()
		if req.URL.Path == tokenPath {
			r.serveToken(rw, req)
			return
		}
		if !r.authorized(rw, req) {
			return
		}
		if r.applyFault(rw, req) {
			return
		}
		if r.serveMount(rw, req) {
			return
		}
		inner.ServeHTTP(rw, req)
	})
}

// statusWriter remembers the status code written, 0 when the connection
// was dropped without a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	// recordNow records the request (once). A dropped connection records before it
	// closes, so a client that sees the drop also sees the request in Requests.
	recordNow func()
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

type repoKey struct{}

// repoOf returns the repository of the request whose context is ctx.
func repoOf(ctx context.Context, fallback string) string {
	if repo, ok := ctx.Value(repoKey{}).(string); ok && repo != "" {
		return repo
	}
	return fallback
}
