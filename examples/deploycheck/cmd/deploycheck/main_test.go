package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/multiarch-sdk/multiarch/examples/deploycheck"
	"github.com/multiarch-sdk/multiarch/manifest"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

func TestRun(t *testing.T) {
	reg := registrytest.New(t)
	amd, arm := platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64")
	good, err := reg.SeedIndex("team/app:v1", amd, arm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SeedIndex("team/app:amd-only", amd); err != nil {
		t.Fatal(err)
	}
	opts := &deploycheck.Options{
		Client: &manifest.Client{Keychain: authn.NewMultiKeychain(), Transport: reg.Client().Transport},
		Remote: reg.RemoteOptions(),
	}
	for _, tc := range []struct {
		name       string
		args       []string
		wantStatus int
		wantOut    []string
	}{
		{"deployable", []string{reg.Host() + "/team/app:v1"}, 0, []string{"OK to deploy", "pinned:    " + good.Ref.String(), "scanned:   linux/amd64, linux/arm64"}},
		{"missing platform", []string{reg.Host() + "/team/app:amd-only"}, 1, []string{"NOT DEPLOYABLE", "has no linux/arm64 image"}},
		{"smaller fleet", []string{"-fleet", "linux/amd64", "-no-scan", reg.Host() + "/team/app:amd-only"}, 0, []string{"OK to deploy", "fleet:     linux/amd64\n"}},
		{"not found", []string{reg.Host() + "/team/app:v9"}, 2, nil},
		{"bad fleet", []string{"-fleet", "linux/nonsense/a/b", reg.Host() + "/team/app:v1"}, 2, nil},
		{"no reference", nil, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(context.Background(), tc.args, opts, &stdout, &stderr); got != tc.wantStatus {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tc.wantStatus, stdout.String(), stderr.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if tc.wantStatus == 2 && stderr.Len() == 0 {
				t.Errorf("exit status 2 with nothing on stderr")
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	reg := registrytest.New(t)
	if _, err := reg.SeedIndex("team/app:v1", platforms.MustParse("linux/amd64")); err != nil {
		t.Fatal(err)
	}
	opts := &deploycheck.Options{Client: &manifest.Client{Keychain: authn.NewMultiKeychain(), Transport: reg.Client().Transport}, Remote: reg.RemoteOptions()}
	var stdout bytes.Buffer
	if got := run(context.Background(), []string{"-json", reg.Host() + "/team/app:v1"}, opts, &stdout, &bytes.Buffer{}); got != 1 {
		t.Fatalf("exit status %d, want 1 (no linux/arm64)", got)
	}
	var rep deploycheck.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, stdout.String())
	}
	if rep.OK() || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "linux/arm64") {
		t.Errorf("report %+v: want one problem naming linux/arm64", rep)
	}
}
