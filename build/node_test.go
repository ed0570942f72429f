package build

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/cache"
)

func TestDefaultAddress(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", "")
	if got := DefaultAddress(); got != "unix:///run/buildkit/buildkitd.sock" {
		t.Errorf("DefaultAddress() = %q without BUILDKIT_HOST, want the standard socket", got)
	}
	t.Setenv("BUILDKIT_HOST", "tcp://10.0.0.1:1234")
	if got := DefaultAddress(); got != "tcp://10.0.0.1:1234" {
		t.Errorf("DefaultAddress() = %q, want $BUILDKIT_HOST", got)
	}
	n, err := Node{}.withDefaults()
	if err != nil || n.Address != "tcp://10.0.0.1:1234" || n.Name != n.Address {
		t.Errorf("zero Node = %+v, %v; want BUILDKIT_HOST as address and name", n, err)
	}
}

func TestNodeWithDefaults(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeFile(t, ca, "not checked here")
	for _, tc := range []struct {
		name    string
		node    Node
		wantErr string
	}{
		{"unix", Node{Address: "unix:///run/buildkit/buildkitd.sock"}, ""},
		{"tcp with mTLS", Node{Address: "tcp://bk:1234", TLS: &TLSConfig{CACert: ca, Cert: ca, Key: ca}}, ""},
		{"docker-container helper", Node{Address: "docker-container://buildx_buildkit_x"}, ""},
		{"kube-pod helper", Node{Address: "kube-pod://buildkitd-0?namespace=ci"}, ""},
		{"unknown scheme", Node{Name: "n1", Address: "ftp://bk"}, `node "n1": address "ftp://bk" has unsupported scheme "ftp"`},
		{"TLS on unix", Node{Address: "unix:///x.sock", TLS: &TLSConfig{CACert: ca}}, "need a tcp:// address"},
		{"cert without key", Node{Address: "tcp://bk:1", TLS: &TLSConfig{Cert: ca}}, "Cert and Key go together"},
		{"missing CA file", Node{Address: "tcp://bk:1", TLS: &TLSConfig{CACert: filepath.Join(dir, "nope.pem")}}, "nope.pem"},
		{"native platform without arch", Node{Name: "n2", Address: "tcp://bk:1", Platforms: []ocispec.Platform{{OS: "linux"}}}, `node "n2": native platform 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.node.withDefaults()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

// A node that is not there fails New quickly, naming the node, instead of hanging.
func TestNewDownNodeFailsFast(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "absent.sock")
	start := time.Now()
	_, err := New(context.Background(), []Node{{Name: "arm-box", Address: sock}}, WithConnectTimeout(3*time.Second))
	if !errors.Is(err, ErrNodeUnreachable) || !strings.Contains(err.Error(), `"arm-box"`) || !strings.Contains(err.Error(), sock) {
		t.Errorf("err = %v, want ErrNodeUnreachable naming node and address", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("New took %s for a missing socket, want it bounded by the connect timeout", d)
	}

	// A TCP address that accepts nothing within the timeout: bounded by the timeout.
	start = time.Now()
	_, err = New(context.Background(), []Node{{Name: "blackhole", Address: "tcp://192.0.2.1:1234"}}, WithConnectTimeout(time.Second))
	if !errors.Is(err, ErrNodeUnreachable) {
		t.Errorf("err = %v, want ErrNodeUnreachable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("New took %s against an unroutable address with a 1s connect timeout", d)
	}
}

func TestNewRejectsDuplicateNames(t *testing.T) {
	_, err := New(context.Background(), []Node{{Name: "a", Address: "unix:///x.sock"}, {Name: "a", Address: "unix:///y.sock"}})
	if err == nil || !strings.Contains(err.Error(), `two nodes are named "a"`) {
		t.Errorf("err = %v, want the duplicate name reported", err)
	}
}

func TestCheckCacheRefusesBackendTheNodeLacks(t *testing.T) {
	nd := &node{info: NodeInfo{Node: Node{Name: "old"}}}
	// What cache.Probe found on an old daemon: registry and local, no s3.
	nd.cacheSupport = &cache.Support{Version: "v0.10.0", Exporters: []cache.Type{cache.TypeRegistry, cache.TypeLocal}, Probed: true}
	ok, err := cache.ParseFlags([]string{"type=registry,ref=r.example/app:cache"}, []string{"type=local,dest=/tmp/c"})
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.checkCache(context.Background(), ok); err != nil {
		t.Errorf("supported backends: %v", err)
	}
	bad, err := cache.ParseFlags(nil, []string{"type=s3,region=eu-west-1,bucket=b"})
	if err != nil {
		t.Fatal(err)
	}
	err = nd.checkCache(context.Background(), bad)
	if !errors.Is(err, ErrInvalidRequest) || !errors.Is(err, cache.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrInvalidRequest wrapping cache.ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), `node "old"`) || !strings.Contains(err.Error(), "s3") {
		t.Errorf("err = %v, want the node and the backend named", err)
	}
}

// A probe that fails (here: the first build's context was cancelled) must not be kept:
// the node's next build asks the daemon again instead of failing forever.
func TestCheckCacheRetriesFailedProbe(t *testing.T) {
	calls := 0
	nd := &node{info: NodeInfo{Node: Node{Name: "n1"}}}
	nd.probeCache = func(ctx context.Context) (cache.Support, error) {
		calls++
		if err := ctx.Err(); err != nil {
			return cache.Support{}, err
		}
		return cache.Support{Version: "v0.34.2", Exporters: []cache.Type{cache.TypeRegistry}, Probed: true}, nil
	}
	cfg, err := cache.ParseFlags([]string{"type=registry,ref=r.example/app:cache"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := nd.checkCache(cancelled, cfg); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `node "n1"`) {
		t.Fatalf("cancelled probe: err = %v, want context.Canceled naming the node", err)
	}
	for i := range 2 {
		if err := nd.checkCache(context.Background(), cfg); err != nil {
			t.Fatalf("build %d after a cancelled probe: %v", i+2, err)
		}
	}
	if calls != 2 {
		t.Errorf("daemon probed %d times, want 2: again after the failure, then the answer kept", calls)
	}
}
