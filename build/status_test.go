package build

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestIsStep(t *testing.T) {
	for name, want := range map[string]bool{
		"[2/3] RUN uname -m > /arch":                           true,
		"[builder 2/5] COPY go.mod go.sum ./":                  true,
		"[linux/arm64 builder 3/5] RUN go build":               true,
		"[stage-1 2/2] WORKDIR /app":                           true,
		"[1/3] FROM 127.0.0.1:5000/multiarch/busybox:1@sha256": false,
		"[builder 1/5] FROM docker.io/library/golang:1.26":     false,
		"[internal] load build definition from Dockerfile":     false,
		"[internal] load metadata for docker.io/library/x":     false,
		"[internal] load build context":                        false,
		"exporting to image":                                   false,
		"pushing layers":                                       false,
	} {
		if got := isStep(name); got != want {
			t.Errorf("isStep(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestTrackerStats(t *testing.T) {
	now := time.Now()
	v := func(name string, cached bool, completed bool, errMsg string) *client.Vertex {
		x := &client.Vertex{Digest: digest.FromString(name), Name: name, Cached: cached, Error: errMsg, Started: &now}
		if completed {
			x.Completed = &now
		}
		return x
	}
	tr := newTracker()
	// Updates arrive several times per vertex; the last state counts, once.
	tr.update(&client.SolveStatus{Vertexes: []*client.Vertex{
		v("[internal] load build definition from Dockerfile", false, true, ""),
		v("[1/4] FROM base", false, true, ""),
		v("[2/4] RUN a", false, false, ""),
		v("[3/4] COPY b /b", true, true, ""),
	}})
	tr.update(&client.SolveStatus{Vertexes: []*client.Vertex{
		v("[2/4] RUN a", false, true, ""),
		v("[3/4] COPY b /b", true, true, ""),
		v("[4/4] RUN false", false, true, "process did not complete successfully: exit code: 1"),
		v("exporting to image", false, true, ""),
	}})
	if got, want := tr.stats(), (CacheStats{Cached: 1, Executed: 1}); got != want {
		t.Errorf("stats = %+v, want %+v (failed steps count as neither)", got, want)
	}
	// A hit from an imported registry cache: reported Cached, then completed by a later
	// update without the flag while its layers are pulled. It stays a hit.
	tr.update(&client.SolveStatus{Vertexes: []*client.Vertex{v("[5/5] RUN from-registry-cache", true, false, "")}})
	tr.update(&client.SolveStatus{Vertexes: []*client.Vertex{v("[5/5] RUN from-registry-cache", false, true, "")}})
	if got, want := tr.stats(), (CacheStats{Cached: 2, Executed: 1}); got != want {
		t.Errorf("after a registry cache hit: stats = %+v, want %+v", got, want)
	}
	if got, log := tr.failedStep(); got != "[4/4] RUN false" || log != "" {
		t.Errorf("failed step %q (log %q), want [4/4] RUN false without output", got, log)
	}
}

func TestTrackerFailedStepLog(t *testing.T) {
	tr := newTracker()
	d := digest.FromString("run")
	long := strings.Repeat("x", 3000) + "\n"
	tr.update(&client.SolveStatus{Logs: []*client.VertexLog{
		{Vertex: d, Data: []byte(long)},
		{Vertex: d, Data: []byte("npm ERR! missing script: build\n")},
		{Vertex: digest.FromString("other"), Data: []byte("unrelated\n")},
	}})
	tr.update(&client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: digest.FromString("cancelled"), Name: "[a 2/2] RUN sleep 9", Error: "context canceled"},
		{Digest: d, Name: "[2/2] RUN npm run build", Error: "exit code: 1"},
	}})
	name, log := tr.failedStep()
	if name != "[2/2] RUN npm run build" {
		t.Errorf("failed step %q, want the RUN that failed, not the cancelled one", name)
	}
	if !strings.HasSuffix(log, "npm ERR! missing script: build") || len(log) > logTail || strings.Contains(log, "unrelated") {
		t.Errorf("log tail (%d bytes) = ...%q, want the step's last %d bytes", len(log), log[max(0, len(log)-60):], logTail)
	}
}

func TestPrefixedKeepsOriginal(t *testing.T) {
	orig := &client.SolveStatus{Vertexes: []*client.Vertex{{Name: "[2/2] RUN x"}}}
	p := plats(t, "linux/arm64")[0]
	got := prefixed(orig, p)
	if got.Vertexes[0].Name != "[linux/arm64] [2/2] RUN x" {
		t.Errorf("prefixed name %q", got.Vertexes[0].Name)
	}
	if orig.Vertexes[0].Name != "[2/2] RUN x" {
		t.Errorf("original changed to %q", orig.Vertexes[0].Name)
	}
}

// The status stream may deliver a step's last output after the update that marks it
// failed: that output is still the error's log.
func TestTrackerFailedStepLogArrivingLate(t *testing.T) {
	tr := newTracker()
	d := digest.FromString("run")
	tr.update(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: d, Data: []byte("compiling\n")}}})
	tr.update(&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: d, Name: "[2/2] RUN make", Error: "exit code: 2"}}})
	tr.update(&client.SolveStatus{Logs: []*client.VertexLog{{Vertex: d, Data: []byte("make: *** [all] Error 1\n")}}})
	name, log := tr.failedStep()
	if name != "[2/2] RUN make" || log != "compiling\nmake: *** [all] Error 1" {
		t.Errorf("failed step %q, log %q; want the RUN with all of its output", name, log)
	}
}
