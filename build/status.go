package build

import (
	"regexp"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Status is one BuildKit status update of one platform's solve.
type Status struct {
	Platform ocispec.Platform
	Node     string
	*client.SolveStatus
}

// CacheStats counts one solve's steps by how they ended.
//
// A step is a vertex the Dockerfile frontend names "[<n>/<total>] <INSTRUCTION> ..."
// (or "[<stage> <n>/<total>] ..."), other than FROM: one RUN, COPY, ADD or WORKDIR
// that makes a filesystem change. Not steps: "[internal] ..." vertices (loading the
// Dockerfile, .dockerignore, the context, base image metadata), FROM (resolving and
// pulling the base), and exporting/pushing. Each step is counted once, by its final
// state: Cached when BuildKit reused a cached result, Executed when it ran it.
// Instructions without a filesystem change (ENV, LABEL, ARG, CMD) make no vertex and
// are not counted.
type CacheStats struct {
	Cached   int `json:"cached"`
	Executed int `json:"executed"`
}

// stepName matches the frontend's step vertex names: "[2/3] RUN ...",
// "[builder 2/5] COPY ...", "[linux/arm64 builder 2/5] RUN ...".
var stepName = regexp.MustCompile(`^\[(?:[^\]]* )?\d+/\d+\] (\S+)`)

// isStep reports whether a vertex name is a step as CacheStats defines it.
func isStep(name string) bool {
	m := stepName.FindStringSubmatch(name)
	return m != nil && !strings.EqualFold(m[1], "FROM")
}

// tracker follows one solve's status stream: steps for CacheStats and the failing
// vertex for errors.
type tracker struct {
	mu        sync.Mutex
	steps     map[digest.Digest]*client.Vertex
	cached    map[digest.Digest]bool   // steps BuildKit ever reported as cache hits
	logs      map[digest.Digest][]byte // the last logTail bytes of each vertex's output
	failed    string                   // the name of the first vertex that failed
	failedDgt digest.Digest            // and its digest, whose logs failedStep reads
}

// logTail is how much of a vertex's output is kept for error messages.
const logTail = 2 << 10

func newTracker() *tracker {
	return &tracker{steps: map[digest.Digest]*client.Vertex{}, cached: map[digest.Digest]bool{}, logs: map[digest.Digest][]byte{}}
}

func (t *tracker) update(s *client.SolveStatus) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range s.Logs {
		b := append(t.logs[l.Vertex], l.Data...)
		if len(b) > logTail {
			b = b[len(b)-logTail:]
		}
		t.logs[l.Vertex] = b
	}
	for _, v := range s.Vertexes {
		if v.Error != "" && t.failed == "" && !strings.Contains(v.Error, "context canceled") {
			t.failed, t.failedDgt = v.Name, v.Digest
		}
		if isStep(v.Name) {
			t.steps[v.Digest] = v
			// A hit from an imported (registry) cache is reported Cached once, then
			// updated again without the flag while its layers are fetched: the hit
			// must stick, or warm builds look cold.
			t.cached[v.Digest] = t.cached[v.Digest] || v.Cached
		}
	}
}

func (t *tracker) stats() CacheStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	var cs CacheStats
	for d, v := range t.steps {
		switch {
		case v.Completed == nil || v.Error != "":
		case t.cached[d]:
			cs.Cached++
		default:
			cs.Executed++
		}
	}
	return cs
}

// failedStep returns the name of the first vertex that failed and the last lines of
// its output, including output that arrived after the failure was reported.
func (t *tracker) failedStep() (name, log string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed, strings.TrimSpace(string(t.logs[t.failedDgt]))
}

// prefixed returns a copy of s whose vertex names start with the platform, so that
// one progress display can show several platforms' solves.
func prefixed(s *client.SolveStatus, p ocispec.Platform) *client.SolveStatus {
	out := *s
	out.Vertexes = make([]*client.Vertex, len(s.Vertexes))
	prefix := "[" + platforms.Format(p) + "] "
	for i, v := range s.Vertexes {
		vv := *v
		vv.Name = prefix + v.Name
		out.Vertexes[i] = &vv
	}
	return &out
}
