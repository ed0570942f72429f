package testenv

import (
	"testing"

	"github.com/containerd/platforms"
)

func TestDebianArch(t *testing.T) {
	for spec, want := range map[string]string{
		"linux/amd64": "amd64", "linux/arm64": "arm64", "linux/arm/v7": "armhf", "linux/arm/v6": "armel",
		"linux/ppc64le": "ppc64el", "linux/386": "i386", "linux/s390x": "s390x", "linux/riscv64": "riscv64",
	} {
		if got := debianArch(platforms.Normalize(platforms.MustParse(spec))); got != want {
			t.Errorf("debianArch(%s) = %q, want %q (the name in busybox-static_*_<arch>.deb)", spec, got, want)
		}
	}
}
