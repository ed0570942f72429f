package registrytest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

type authMode int

const (
	authNone authMode = iota
	authBasic
	authBearer
)

const tokenPath = "/token"

// authorized checks the credentials a request carries and answers 401 with
// a challenge when they are missing or wrong.
func (r *Registry) authorized(w http.ResponseWriter, req *http.Request) bool {
	switch r.cfg.auth {
	case authBasic:
		if r.basicOK(req) {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
	case authBearer:
		if tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
			r.mu.Lock()
			valid := r.tokens[tok]
			r.mu.Unlock()
			if valid {
				return true
			}
		}
		w.Header().Set("WWW-Authenticate",
			fmt.Sprintf(`Bearer realm="%s%s",service="registrytest"`, r.URL(), tokenPath))
	default:
		return true
	}
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "registrytest: authentication required")
	return false
}

func (r *Registry) basicOK(req *http.Request) bool {
	u, p, ok := req.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(r.cfg.user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(r.cfg.pass)) == 1
}

// serveToken is the token endpoint of bearer auth: basic credentials in,
// an opaque token out.
func (r *Registry) serveToken(w http.ResponseWriter, req *http.Request) {
	if r.cfg.auth != authBearer {
		http.NotFound(w, req)
		return
	}
	if !r.basicOK(req) {
		w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "registrytest: wrong credentials for the token endpoint")
		return
	}
	r.mu.Lock()
	tok := fmt.Sprintf("tok-%016x", r.rng.Uint64())
	r.tokens[tok] = true
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 3600})
}
