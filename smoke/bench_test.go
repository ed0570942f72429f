package smoke_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/multiarch-sdk/multiarch/smoke"
)

// genLayer is a layer whose uncompressed tar is generated while it is read: files of
// random content (a 1 MiB random block, reused), some of them starting with an ELF
// header, so that an image of any size is scanned without being held in memory.
type genLayer struct {
	seed  uint64
	spec  layerSpec
	block []byte
}

type layerSpec struct {
	files     int     // number of files
	sizes     []int64 // file sizes, cycled
	elfEvery  int     // every elfEvery-th file starts with goodELF
	badAt     int     // the file at this index starts with badELF (-1: none)
	whiteouts int     // whiteout entries for paths of the layer below
}

func (l *genLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(&tarGen{l: l}), nil
}
func (l *genLayer) Compressed() (io.ReadCloser, error) { return l.Uncompressed() }
func (l *genLayer) Digest() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", l.seed)}, nil
}
func (l *genLayer) DiffID() (v1.Hash, error)            { return l.Digest() }
func (l *genLayer) Size() (int64, error)                { return l.spec.size(), nil }
func (l *genLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }

// size is the length of the layer's content (file data, without tar headers).
func (s layerSpec) size() int64 {
	var n int64
	for i := range s.files {
		n += s.sizes[i%len(s.sizes)]
	}
	return n
}

// ELF headers: x86-64 (what a linux/amd64 image wants) and AArch64 (a mismatch).
var (
	goodELF = elfHeader(62)
	badELF  = elfHeader(183)
)

func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	h[16], h[18], h[19] = 3, byte(machine), byte(machine>>8) // ET_DYN
	return h
}

// tarGen writes genLayer's tar stream on demand.
type tarGen struct {
	l       *genLayer
	i       int    // next file
	pending []byte // header (and ELF prefix) bytes not yet read
	body    int64  // random content bytes still to produce for the current file
	off     int    // offset in the random block
	pad     int    // zero padding still to produce
	hdr     bytes.Buffer
	done    bool
}

var zeros [1024]byte

func (g *tarGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(g.pending) > 0:
			c := copy(p[n:], g.pending)
			g.pending, n = g.pending[c:], n+c
		case g.body > 0:
			c := copy(p[n:min(len(p), n+int(min(g.body, int64(len(g.l.block)-g.off))))], g.l.block[g.off:])
			g.body, g.off, n = g.body-int64(c), (g.off+c)%len(g.l.block), n+c
		case g.pad > 0:
			c := copy(p[n:min(len(p), n+g.pad)], zeros[:])
			g.pad, n = g.pad-c, n+c
		case g.done:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		default:
			g.next()
		}
	}
	return n, nil
}

// next queues the next entry, or the end of the archive.
func (g *tarGen) next() {
	s := g.l.spec
	g.hdr.Reset()
	tw := tar.NewWriter(&g.hdr)
	switch {
	case g.i < s.whiteouts:
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("l3/d%d/.wh.f%d", (g.i*3)%97, g.i*3), Typeflag: tar.TypeReg, Mode: 0o644})
	case g.i < s.whiteouts+s.files:
		k := g.i - s.whiteouts
		size := s.sizes[k%len(s.sizes)]
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("l%d/d%d/f%d", g.l.seed, k%97, k), Typeflag: tar.TypeReg, Mode: 0o755, Size: size})
		g.body, g.pad = size, int(-size&511)
		var prefix []byte
		switch {
		case k == s.badAt:
			prefix = badELF
		case s.elfEvery > 0 && k%s.elfEvery == 0:
			prefix = goodELF
		}
		prefix = prefix[:min(int64(len(prefix)), size)]
		g.hdr.Write(prefix)
		g.body -= int64(len(prefix))
		g.off = int((g.l.seed*7919 + uint64(k)*104729) % uint64(len(g.l.block)))
	default:
		tw.Close() // the two zero blocks that end the archive
		g.done = true
	}
	g.pending = g.hdr.Bytes()
	g.i++
}

// randomBlock is the random content every generated file draws from.
var randomBlock = sync.OnceValue(func() []byte {
	b := make([]byte, 1<<20)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
})

// bigImage is an image for linux/amd64 of about total bytes of file content: layers of
// mixed sizes up to 48 MiB, one of many small files (layer 2, whose paths the scan must
// remember for the layers below), and a small top layer whiting out some of them.
// Layer n-1 holds /l<n>/. Exactly one file, /l3/d7/f7, is an AArch64 ELF file.
func bigImage(t testing.TB, total int64) (v1.Image, int64) {
	small := layerSpec{sizes: []int64{300, 1 << 10, 2 << 10, 3 << 10, 6 << 10, 12 << 10}, elfEvery: 40, badAt: 7}
	small.files = int(total/4/small.size0()) * len(small.sizes)
	mixed := layerSpec{sizes: []int64{4 << 10, 40 << 10, 200 << 10, 1 << 20, 3 << 20, 9 << 20, 48 << 20}, elfEvery: 5, badAt: -1}
	mixed.files = int(total/4/mixed.size0()) * len(mixed.sizes)
	top := layerSpec{sizes: []int64{100}, files: 10, whiteouts: 500, badAt: -1}
	var layers []v1.Layer
	var size int64
	for i, s := range []layerSpec{mixed, mixed, small, mixed, top} {
		layers = append(layers, &genLayer{seed: uint64(i + 1), spec: s, block: randomBlock()})
		size += s.size()
	}
	return image(t, "linux/amd64", layers...), size
}

func (s layerSpec) size0() int64 {
	var n int64
	for _, v := range s.sizes {
		n += v
	}
	return n
}

// TestGeneratedImage checks the benchmark's generator on a small image: valid tar
// streams, the content size it claims, and exactly the one planted finding.
func TestGeneratedImage(t *testing.T) {
	img, size := bigImage(t, 64<<20)
	layers, _ := img.Layers()
	var content int64
	for _, l := range layers {
		rc, _ := l.Uncompressed()
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, tr)
			if err != nil || n != h.Size {
				t.Fatalf("%s: read %d of %d bytes: %v", h.Name, n, h.Size, err)
			}
			content += n
		}
	}
	if content != size || size < 8<<20 {
		t.Fatalf("content %d bytes, generator says %d", content, size)
	}
	found, err := smoke.ScanImage(context.Background(), img, platforms.MustParse("linux/amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Path != "/l3/d7/f7" || found[0].Arch != "arm64" || found[0].Layer != 2 {
		t.Fatalf("findings = %+v, want exactly /l3/d7/f7 built for arm64 in layer 2", found)
	}
}

// BenchmarkScanImage scans a generated image of 1 GiB and more and reports the scan's
// throughput (MB/s of uncompressed layer data) and its peak memory. One core:
//
//	go test -run '^$' -bench ScanImage -benchtime 3x -cpu 1 ./smoke
func BenchmarkScanImage(b *testing.B) {
	img, size := bigImage(b, 5<<28)
	p := platforms.MustParse("linux/amd64")
	runtime.GC()
	peak := watchMemory()
	b.SetBytes(size)
	cpu := cpuMeter(b, size)
	for b.Loop() {
		found, err := smoke.ScanImage(context.Background(), img, p)
		if err != nil {
			b.Fatal(err)
		}
		if len(found) != 1 {
			b.Fatalf("%d findings, want 1: %v", len(found), found)
		}
	}
	cpu()
	heap, total := peak()
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(total)/(1<<20), "peak-runtime-MiB")
	b.ReportMetric(float64(size)/(1<<30), "image-GiB")
}

// watchMemory samples the heap and all memory the Go runtime holds from the OS every
// millisecond until the returned function is called, which returns the peaks.
func watchMemory() func() (heap, total uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	var heap, total atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			heap.Store(max(heap.Load(), samples[0].Value.Uint64()))
			total.Store(max(total.Load(), samples[1].Value.Uint64()))
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		<-done
		return heap.Load(), total.Load()
	}
}
