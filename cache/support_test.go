package cache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestSupportFor(t *testing.T) {
	old := []Type{TypeRegistry, TypeLocal, TypeInline}
	for _, tt := range []struct {
		version string
		want    []Type
	}{
		{"v0.8.1", old},
		{"v0.9.0", []Type{TypeRegistry, TypeGHA, TypeLocal, TypeInline}},
		{"v0.10.6", []Type{TypeRegistry, TypeGHA, TypeLocal, TypeInline}},
		{"v0.11.0", Types},
		{"v0.34.2", Types},
		{"0.12.0-rc1", Types},
		{"v0.0.0+unknown", Types}, // unstamped build: taken as current
		{"dev", Types},
	} {
		s := SupportFor(tt.version)
		if !reflect.DeepEqual(s.Exporters, tt.want) || s.Probed || s.Version != tt.version {
			t.Errorf("SupportFor(%q) = %+v, want exporters %v, not probed", tt.version, s, tt.want)
		}
	}
}

func TestCheckSupport(t *testing.T) {
	s := SupportFor("v0.8.1")
	cfg := Config{
		Import: []Entry{{Registry: &Registry{Ref: "r/a:c"}}, {GHA: &GHA{}}},
		Export: []Entry{{S3: &S3{}}, {Local: &Local{Dir: "/c"}}},
	}
	err := cfg.CheckSupport(s)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("error = %v, want ErrUnsupported", err)
	}
	for _, want := range []string{"cache import 1 (gha)", "cache export 0 (s3)", "v0.8.1", "documented list"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "registry)") || strings.Contains(err.Error(), "(local)") {
		t.Errorf("supported backends reported: %v", err)
	}
	if err := cfg.CheckSupport(SupportFor("v0.34.2")); err != nil {
		t.Errorf("current daemon: %v", err)
	}
}

// fakeControl answers Solve the way BuildKit's controller does for cache exports: the
// first unknown type is refused by name, the first known one fails to configure
// (the probes give no usable settings).
type fakeControl struct {
	controlapi.ControlClient
	has   []Type
	other error // returned instead, when set
}

func (f *fakeControl) Solve(_ context.Context, req *controlapi.SolveRequest, _ ...grpc.CallOption) (*controlapi.SolveResponse, error) {
	if f.other != nil {
		return nil, f.other
	}
	for _, e := range req.Cache.Exports {
		if !slices.Contains(f.has, Type(e.Type)) {
			return nil, status.Errorf(codes.Unknown, "unknown cache exporter: %q", e.Type)
		}
		if e.Type != string(TypeInline) {
			return nil, status.Errorf(codes.Unknown, "failed to configure %v cache exporter: nope", e.Type)
		}
	}
	return &controlapi.SolveResponse{}, nil
}

func TestProbeAll(t *testing.T) {
	ctx := context.Background()
	dockerd := []Type{TypeRegistry, TypeGHA, TypeLocal, TypeInline} // an engine without s3 and azblob
	s, err := probeAll(ctx, &fakeControl{has: dockerd}, "v0.34.2")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Probed || !reflect.DeepEqual(s.Exporters, dockerd) {
		t.Errorf("probe = %+v, want probed %v", s, dockerd)
	}
	err = Config{Export: []Entry{{S3: &S3{}}}}.CheckSupport(s)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "asked") {
		t.Errorf("s3 on a daemon without it: %v", err)
	}

	// A daemon that answers in a way the probe cannot read: documented list.
	s, err = probeAll(ctx, &fakeControl{other: status.Error(codes.Unimplemented, "no")}, "v0.10.0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Probed || !reflect.DeepEqual(s, SupportFor("v0.10.0")) {
		t.Errorf("unreadable answers: %+v, want the documented list for v0.10.0", s)
	}

	// A cancelled context is an error, not a fallback.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := probeAll(cctx, &fakeControl{other: fmt.Errorf("rpc: %w", context.Canceled)}, "v0.34.2"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled probe: error = %v, want context.Canceled", err)
	}
}
