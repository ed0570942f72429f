package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/cache"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// depsThenSource is the usual shape: a builder stage that does not depend on the
// source, and a final stage that copies the source first.
const depsThenSource = `FROM %[1]s AS deps
ARG NONCE
RUN echo multiarch-step-ran && echo "$NONCE" > /nonce && seq 1 5000 > /data
RUN echo multiarch-step-ran && sha256sum /nonce /data > /sums
FROM %[1]s
COPY app.txt /app.txt
COPY --from=deps /sums /sums
RUN echo multiarch-step-ran && cat /app.txt /sums > /report
`

// Why exports default to mode=max: after a source change, a fresh daemon importing a
// mode=min cache (BuildKit's own default) re-runs the builder stage, because min keeps
// only the final image's layers; with this package's default every builder step hits.
func TestExportModeMaxKeepsBuilderStage(t *testing.T) {
	e := testenv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := contextDir(t, fmt.Sprintf(depsThenSource, e.Base))
	writeApp := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "app.txt"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nonce := time.Now().Format(time.RFC3339Nano)
	refMin, refMax := e.Registry+"/cache-it/mode:min", e.Registry+"/cache-it/mode:max"
	writeApp("v1\n")
	// One export per build: two exports of one solve were seen to share records, so
	// that the min cache sometimes held a builder step.
	buildSplit(t, ctx, e.Addr, dir, nonce, cache.Config{Export: []cache.Entry{{Registry: &cache.Registry{Ref: refMin}, Mode: cache.ModeMin}}})
	buildSplit(t, ctx, e.Addr, dir, nonce, cache.Config{Export: []cache.Entry{{Registry: &cache.Registry{Ref: refMax}}}}) // Mode unset: max

	writeApp("v2\n") // the source changes; the builder stage does not
	const builderRuns, finalRuns = 2, 1
	for _, tc := range []struct {
		ref  string
		want counts
	}{
		{refMin, counts{ran: builderRuns + finalRuns}},
		{refMax, counts{cached: builderRuns, ran: finalRuns}},
	} {
		fresh := testenv.NewDaemon(t, e)
		_, steps := buildSplit(t, ctx, fresh.Addr(), dir, nonce, cacheConfig(tc.ref, true))
		for _, p := range both {
			if got := steps[platforms.Format(p)]; got != tc.want {
				t.Errorf("import %s, fresh daemon %s: %+v, want %+v", tc.ref, platforms.Format(p), got, tc.want)
			}
		}
	}
}
