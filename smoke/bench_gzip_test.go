package smoke_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/multiarch-sdk/multiarch/smoke"
)

// BenchmarkScanGzipLayer scans a real tree (the Go installation that runs the benchmark,
// about 250 MB) as one gzip layer on disk, as images come from registries, beside the
// peer a scan would naively be built on: go-containerregistry's layer.Uncompressed
// (compress/gzip) read through archive/tar, skipping every file. MB/s are of
// uncompressed data. One core:
//
//	go test -run '^$' -bench ScanGzipLayer -benchtime 3x -cpu 1 ./smoke
func BenchmarkScanGzipLayer(b *testing.B) {
	file := filepath.Join(b.TempDir(), "goroot.tar.gz")
	size := writeTarGz(b, runtime.GOROOT(), file)
	l, err := tarball.LayerFromFile(file)
	if err != nil {
		b.Fatal(err)
	}
	img := image(b, "linux/"+runtime.GOARCH, l)
	p := platforms.MustParse("linux/" + runtime.GOARCH)
	b.Run("smoke.ScanImage", func(b *testing.B) {
		b.SetBytes(size)
		cpu := cpuMeter(b, size)
		for b.Loop() {
			if _, err := smoke.ScanImage(context.Background(), img, p); err != nil {
				b.Fatal(err)
			}
		}
		cpu()
	})
	b.Run("peer=ggcr.Uncompressed+tar", func(b *testing.B) {
		b.SetBytes(size)
		cpu := cpuMeter(b, size)
		for b.Loop() {
			if err := skipAll(l); err != nil {
				b.Fatal(err)
			}
		}
		cpu()
	})
}

// cpuMeter reports, when the returned function is called, MB/s per CPU second that
// the process used (user + system): on a shared, loaded machine it varies far less
// than wall time, and with -cpu 1 it is the throughput of one core.
func cpuMeter(b *testing.B, bytesPerOp int64) func() {
	start := cpuTime()
	return func() {
		d := cpuTime() - start
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/d.Seconds()/1e6, "MB/s-cpu")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func skipAll(l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		if _, err := tr.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// writeTarGz writes dir as a gzip tar to file and returns the size of the tar stream.
func writeTarGz(b *testing.B, dir, file string) int64 {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	cw := &countWriter{w: zw}
	tw := tar.NewWriter(cw)
	if err := tw.AddFS(os.DirFS(dir).(fs.FS)); err != nil {
		b.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return cw.n
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
