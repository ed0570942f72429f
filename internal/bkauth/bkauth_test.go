package bkauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromDockerConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"127.0.0.1:5000":{"auth":"dTpw"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := FromDockerConfig(dir)
	if err != nil || a == nil {
		t.Fatalf("FromDockerConfig(%s) = %v, %v", dir, a, err)
	}

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "config.json"), []byte(`{not json`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FromDockerConfig(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("unreadable config: err = %v, want one naming %s", err, bad)
	}
}
