package build_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
	"github.com/multiarch-sdk/multiarch/registrytest"
)

// Pushing to a registry that requires credentials uses the Docker config through
// BuildKit's auth provider; without credentials the push is refused.
func TestBuildPushWithDockerConfigCredentials(t *testing.T) {
	e := testenv.Get(t)
	reg := registrytest.New(t, registrytest.WithBasicAuth("ci-bot", "s3cret-pw"))
	bin, err := testenv.BuildkitdPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d, err := build.StartDaemon(ctx, build.DaemonConfig{Binary: bin, InsecureRegistries: []string{e.Registry, reg.Host()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })

	good := dockerConfig(t, reg.Host(), "ci-bot:s3cret-pw")
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM " + e.Base + "\nRUN echo pushed > /x\n"})
	req := build.Request{Context: dir, Platforms: []ocispec.Platform{amd64}, Push: reg.Host() + "/team/app"}

	b := newBuilder(t, []build.Node{{Name: "local", Address: d.Addr()}}, build.WithDockerConfigDir(good))
	res, err := b.Build(ctx, req)
	if err != nil {
		t.Fatalf("build with credentials: %v", err)
	}
	ref, err := name.ParseReference(res.Images[0].Ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Image(ref, remote.WithAuth(reg.Authenticator())); err != nil {
		t.Errorf("pushed image %s not in the registry: %v", ref, err)
	}

	bad := dockerConfig(t, reg.Host(), "ci-bot:wrong")
	b2 := newBuilder(t, []build.Node{{Name: "local", Address: d.Addr()}}, build.WithDockerConfigDir(bad))
	_, err = b2.Build(ctx, req)
	if err == nil {
		t.Fatal("push with wrong credentials succeeded")
	}
	t.Logf("wrong credentials: %v", err)
	if !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "credentials for "+reg.Host()) {
		t.Errorf("error %q does not say the registry refused the credentials and what to check", err)
	}
	for _, secret := range []string{"wrong", "s3cret", base64.StdEncoding.EncodeToString([]byte("ci-bot:wrong"))} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the credentials (%q): %v", secret, err)
		}
	}
}

// dockerConfig writes a Docker config.json with basic credentials for host.
func dockerConfig(t *testing.T, host, userPass string) string {
	t.Helper()
	dir := t.TempDir()
	body := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, base64.StdEncoding.EncodeToString([]byte(userPass)))
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
