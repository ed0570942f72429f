package debarch

import (
	"strings"
	"testing"

	"github.com/containerd/platforms"
)

func TestOf(t *testing.T) {
	for spec, want := range map[string]string{
		"linux/amd64": "amd64", "linux/arm64": "arm64", "linux/aarch64": "arm64", "linux/arm/v7": "armhf",
		"linux/arm/v6": "armel", "linux/ppc64le": "ppc64el", "linux/386": "i386", "linux/s390x": "s390x",
		"linux/riscv64": "riscv64", "linux/mips64le": "mips64le",
	} {
		got, err := Of(platforms.MustParse(spec))
		if err != nil || got != want {
			t.Errorf("Of(%s) = %q, %v; want %q", spec, got, err, want)
		}
	}
	for spec, wantErr := range map[string]string{
		"windows/amd64": "windows/amd64: Debian architectures are linux only",
		"linux/wasm":    "linux/wasm has no Debian architecture",
	} {
		if _, err := Of(platforms.MustParse(spec)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Of(%s) error = %v, want it to contain %q", spec, err, wantErr)
		}
	}
}
