package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/containerd/platforms"

	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// work has RUN steps that do real work: hashing generated data over and over with
// busybox, natively for amd64 and under QEMU for arm64.
const work = `FROM %[1]s AS gen
ARG NONCE
RUN echo multiarch-step-ran && echo "$NONCE" > /nonce && seq 1 200000 > /data && i=0; while [ $i -lt 25 ]; do sha256sum /data /nonce >> /sums; i=$((i+1)); done
RUN echo multiarch-step-ran && i=0; while [ $i -lt 25 ]; do cat /sums /data | sha256sum >> /sums2; i=$((i+1)); done
FROM %[1]s
COPY --from=gen /sums2 /sums
RUN echo multiarch-step-ran && i=0; while [ $i -lt 50 ]; do sha256sum /sums >> /final; i=$((i+1)); done
`

// BenchmarkRegistryCacheColdVsWarm builds a two-platform image (one solve per
// platform, through build.Builder) on a fresh buildkitd with no cache, exporting a
// registry cache ("cold"), then on another fresh buildkitd that imports only that
// cache ("warm"), and reports both wall times and their ratio. Run it with:
//
//	go test ./cache/ -run '^$' -bench ColdVsWarm -benchtime 3x
func BenchmarkRegistryCacheColdVsWarm(b *testing.B) {
	e := testenv.Get(b)
	ctx := context.Background()
	dir := contextDir(b, fmt.Sprintf(work, e.Base))
	var cold, warm time.Duration
	for i := 0; i < b.N; i++ {
		nonce := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
		ref := fmt.Sprintf("%s/cache-bench/app:run%d", e.Registry, time.Now().UnixNano())

		d := testenv.NewDaemon(b, e)
		start := time.Now()
		first, _ := buildSplit(b, ctx, d.Addr(), dir, nonce, cacheConfig(ref, false))
		cold += time.Since(start)
		_ = d.Stop(ctx)

		d = testenv.NewDaemon(b, e)
		start = time.Now()
		second, steps := buildSplit(b, ctx, d.Addr(), dir, nonce, cacheConfig(ref, true))
		warm += time.Since(start)
		_ = d.Stop(ctx)

		for j, img := range second.Images {
			p := platforms.Format(img.Platform)
			if steps[p] != (counts{cached: runsPerPlatform}) || img.Digest != first.Images[j].Digest {
				b.Fatalf("warm build %s: RUN steps %+v, digest %s (cold %s): the cache did not hit",
					p, steps[p], img.Digest, first.Images[j].Digest)
			}
		}
	}
	b.ReportMetric(cold.Seconds()/float64(b.N), "cold-s/op")
	b.ReportMetric(warm.Seconds()/float64(b.N), "warm-s/op")
	b.ReportMetric(float64(cold)/float64(warm), "cold/warm")
}
