// Package debarch maps OCI platforms to Debian architecture names (amd64, arm64, armhf,
// ppc64el, i386, ...): the names in package file names (busybox-static_*_armhf.deb) and
// in `dpkg --add-architecture`, `apt-get download pkg:arch` and mmdebstrap.
package debarch

import (
	"fmt"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Of returns Debian's architecture name for p (normalised first, so linux/aarch64 is
// arm64). Platforms Debian has no port for, and non-Linux ones, are an error.
func Of(p ocispec.Platform) (string, error) {
	p = platforms.Normalize(p)
	if p.OS != "linux" {
		return "", fmt.Errorf("platform %s: Debian architectures are linux only", platforms.Format(p))
	}
	switch p.Architecture {
	case "amd64", "arm64", "s390x", "riscv64", "mips64le":
		return p.Architecture, nil
	case "386":
		return "i386", nil
	case "ppc64le":
		return "ppc64el", nil
	case "arm":
		switch p.Variant {
		case "v7", "":
			return "armhf", nil
		case "v5", "v6":
			return "armel", nil
		}
	}
	return "", fmt.Errorf("platform %s has no Debian architecture; use one of linux/amd64, linux/arm64, linux/arm/v7, linux/arm/v6, linux/ppc64le, linux/s390x, linux/riscv64, linux/386", platforms.Format(p))
}
