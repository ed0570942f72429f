package registrytest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The HTTP server's own error log (not only the registry's) goes to the caller's
// logger, never to stderr.
func TestServerErrorLogGoesToLogger(t *testing.T) {
	var buf bytes.Buffer
	r := New(t, WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if r.srv.Config.ErrorLog == nil {
		t.Fatal("the server logs to stderr: no ErrorLog set")
	}
	r.srv.Config.ErrorLog.Print("http: TLS handshake error from 127.0.0.1:1: EOF")
	if !strings.Contains(buf.String(), "TLS handshake error") {
		t.Errorf("server error log not in the caller's logger: %q", buf.String())
	}

	quiet := New(t)
	if quiet.srv.Config.ErrorLog == nil {
		t.Fatal("without a logger the server still logs to stderr: no ErrorLog set")
	}
}
