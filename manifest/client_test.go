package manifest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/multiarch-sdk/multiarch/manifest"
)

// schemeRecorder records the URL scheme of each request and fails it.
type schemeRecorder struct {
	mu      sync.Mutex
	schemes []string
}

var errRecorded = errors.New("recorded")

func (s *schemeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.schemes = append(s.schemes, req.URL.Scheme+"://"+req.URL.Host)
	s.mu.Unlock()
	return nil, errRecorded
}

func TestPlainHTTPOnlyForLoopbackAndListedHosts(t *testing.T) {
	for _, tc := range []struct {
		host     string
		insecure []string
		want     string
	}{
		{"127.0.0.1:5000", nil, "http"},
		{"localhost:5000", nil, "http"},
		{"[::1]:5000", nil, "http"},
		{"10.1.2.3:5000", nil, "https"}, // go-containerregistry alone would use http
		{"192.168.0.10:5000", nil, "https"},
		{"registry.internal:5000", nil, "https"},
		{"10.1.2.3:5000", []string{"10.1.2.3:5000"}, "http"},
		{"registry.internal:5000", []string{"registry.internal:5000"}, "http"},
		{"registry.internal:5001", []string{"registry.internal:5000"}, "https"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			rec := &schemeRecorder{}
			c := &manifest.Client{Transport: rec, Insecure: tc.insecure, Retry: manifest.Retry{Attempts: 1}}
			_, err := c.Inspect(context.Background(), tc.host+"/team/app:v1")
			if !errors.Is(err, errRecorded) {
				t.Fatalf("err = %v, want the recorder's error", err)
			}
			// go-containerregistry's ping tries https first, then plain
			// HTTP where that is allowed.
			plain := slices.Contains(rec.schemes, "http://"+tc.host)
			if len(rec.schemes) == 0 || plain != (tc.want == "http") {
				t.Errorf("requests %v, want plain HTTP %v", rec.schemes, tc.want == "http")
			}
			if got := c.PlainHTTP(tc.host); got != (tc.want == "http") {
				t.Errorf("PlainHTTP(%s) = %v, want %v (it must agree with the requests)", tc.host, got, tc.want == "http")
			}
		})
	}
}
