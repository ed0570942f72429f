package build_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/build"
	"github.com/multiarch-sdk/multiarch/internal/testenv"
)

// A tcp:// node with mutual TLS: the builder connects with the client certificate
// and builds; without it, or with the wrong server name, New fails fast.
func TestBuildOverMutualTLS(t *testing.T) {
	e := testenv.Get(t)
	pki := newPKI(t)
	addr := startTLSDaemon(t, e, pki)
	tlsCfg := &build.TLSConfig{CACert: pki.ca, Cert: pki.clientCert, Key: pki.clientKey}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var b *build.Builder
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if b, err = build.New(ctx, []build.Node{{Name: "tls", Address: addr, TLS: tlsCfg}}, build.WithConnectTimeout(2*time.Second)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("connect over mTLS: %v", err)
	}
	defer b.Close()
	dir := contextDir(t, map[string]string{"Dockerfile": "FROM " + e.Base + "\nRUN uname -m > /arch\n"})
	res, err := b.Build(ctx, build.Request{Context: dir, Platforms: []ocispec.Platform{amd64}, Push: e.Registry + "/build/tls", NoCache: true})
	if err != nil {
		t.Fatalf("build over mTLS: %v", err)
	}
	if cf, err := pulled(t, res.Images[0].Ref).ConfigFile(); err != nil || cf.Architecture != "amd64" {
		t.Errorf("pushed image config %v (%v)", cf, err)
	}

	for name, bad := range map[string]*build.TLSConfig{
		"no client certificate": {CACert: pki.ca},
		"wrong server name":     {CACert: pki.ca, Cert: pki.clientCert, Key: pki.clientKey, ServerName: "other.example"},
	} {
		start := time.Now()
		_, err := build.New(ctx, []build.Node{{Name: "tls", Address: addr, TLS: bad}}, build.WithConnectTimeout(5*time.Second))
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, build.ErrNodeUnreachable) || !strings.Contains(err.Error(), "TLS settings") {
			t.Errorf("%s: err = %v, want ErrNodeUnreachable pointing at the TLS settings", name, err)
		}
		if took := time.Since(start); took > 6*time.Second {
			t.Errorf("%s: New took %s", name, took)
		}
	}
}

type testPKI struct{ ca, serverCert, serverKey, clientCert, clientKey string }

// newPKI writes a CA, a server certificate for 127.0.0.1 and a client certificate.
func newPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "multiarch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p := testPKI{ca: writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (certPath, keyPath string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
	}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startTLSDaemon runs buildkitd listening on tcp://127.0.0.1:PORT with mutual TLS
// (build.StartDaemon serves a unix socket only) and returns its address.
func startTLSDaemon(t *testing.T, e *testenv.Env, pki testPKI) string {
	t.Helper()
	bin, err := testenv.BuildkitdPath()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	root := t.TempDir()
	cfg := filepath.Join(root, "buildkitd.toml")
	// Its own trace socket too: buildkitd's default, /run/buildkit/otel-grpc.sock, is one
	// per host, and a second daemon starting at the same time (this test run twice at
	// once) fails on it.
	toml := fmt.Sprintf("[otel]\n  socketPath = %s\n\n[worker.oci]\n  enabled = true\n  snapshotter = \"overlayfs\"\n\n[worker.containerd]\n  enabled = false\n\n[registry.%s]\n  http = true\n",
		strconv.Quote(filepath.Join(root, "otel-grpc.sock")), strconv.Quote(e.Registry))
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := "tcp://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--config", cfg, "--root", filepath.Join(root, "state"), "--addr", addr,
		"--tlscert", pki.serverCert, "--tlskey", pki.serverKey, "--tlscacert", pki.ca)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return addr
}
