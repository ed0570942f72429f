package registrytest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault describes a failure the registry injects into matching requests.
//
// The zero value matches every request and does nothing; set Status, Drop
// or Latency. Which matching requests fail:
//
//   - Nth > 0: the Nth matching request (1-based) and, when Times > 1, the
//     Times-1 after it;
//   - else Fraction in (0, 1): each matching request with that probability
//     (see [WithSeed] for reproducible runs);
//   - else every matching request (Times > 0 limits it to the first Times).
type Fault struct {
	Method string // match only this HTTP method; "" matches any
	Kind   Kind   // match only this kind of request; "" matches any
	// Repo matches only requests for this repository; "" matches any.
	Repo string
	// PathContains matches only paths containing it; "" matches any.
	PathContains string

	Nth      int
	Times    int
	Fraction float64

	// Status is the HTTP status answered instead of serving the request,
	// with a distribution-spec error body; 0 serves it normally (after
	// Latency).
	Status int
	// RetryAfter, when set with Status, sends a Retry-After header.
	RetryAfter time.Duration
	// Drop closes the connection without any response, like a connection
	// reset by a proxy. It wins over Status.
	Drop bool
	// Latency delays every selected request before it is served.
	Latency time.Duration
}

func (f Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fault{%s %s", orAny(f.Method), orAny(string(f.Kind)))
	if f.Repo != "" {
		fmt.Fprintf(&b, " repo=%s", f.Repo)
	}
	switch {
	case f.Drop:
		b.WriteString(" drop")
	case f.Status != 0:
		fmt.Fprintf(&b, " status=%d", f.Status)
	}
	if f.Latency > 0 {
		fmt.Fprintf(&b, " latency=%s", f.Latency)
	}
	b.WriteString("}")
	return b.String()
}

func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

type faultState struct {
	Fault
	seen, fired int
}

// Inject adds a fault; it applies to requests received from now on, after
// the registry's auth check (the bearer token endpoint is never faulted). The returned function removes it. Faults are
// checked in the order they were injected; the first that fires decides.
func (r *Registry) Inject(f Fault) (remove func()) {
	fs := &faultState{Fault: f}
	r.mu.Lock()
	r.faults = append(r.faults, fs)
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, g := range r.faults {
			if g == fs {
				r.faults = append(r.faults[:i], r.faults[i+1:]...)
				return
			}
		}
	}
}

// Fired returns how many requests the injected faults have hit so far, those of
// faults removed since included.
func (r *Registry) Fired() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fired
}

func (fs *faultState) matches(req *http.Request, kind Kind, repo string) bool {
	return (fs.Method == "" || fs.Method == req.Method) &&
		(fs.Kind == "" || fs.Kind == kind) &&
		(fs.Repo == "" || fs.Repo == repo) &&
		(fs.PathContains == "" || strings.Contains(req.URL.Path, fs.PathContains))
}

// selectFault returns the fault to apply to req, if any.
func (r *Registry) selectFault(req *http.Request) *Fault {
	kind, repo := classify(req.Method, req.URL.Path, req.URL.RawQuery)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, fs := range r.faults {
		if !fs.matches(req, kind, repo) {
			continue
		}
		fs.seen++
		fire := false
		switch {
		case fs.Nth > 0:
			fire = fs.seen >= fs.Nth && fs.seen < fs.Nth+max(fs.Times, 1)
		case fs.Fraction > 0 && fs.Fraction < 1:
			fire = r.rng.Float64() < fs.Fraction
		default:
			fire = fs.Times == 0 || fs.fired < fs.Times
		}
		if fire {
			fs.fired++
			r.fired++
			f := fs.Fault
			return &f
		}
	}
	return nil
}

// applyFault serves an injected fault; it reports whether the request was
// answered (or dropped) by it.
func (r *Registry) applyFault(w *statusWriter, req *http.Request) bool {
	f := r.selectFault(req)
	if f == nil {
		return false
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
		}
	}
	if f.Drop {
		if conn, _, err := w.Hijack(); err == nil {
			w.recordNow()
			conn.Close()
			return true
		}
		panic(http.ErrAbortHandler) // HTTP/2 or no hijack: abort the stream
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
	}
	writeError(w, f.Status, codeFor(f.Status), fmt.Sprintf("registrytest: injected %s", f))
	return true
}

func codeFor(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "DENIED"
	case http.StatusNotFound:
		return "NAME_UNKNOWN"
	default:
		return "UNKNOWN"
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}
