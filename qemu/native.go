package qemu

import (
	"context"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Native returns the platforms the host runs without emulation: the host's own platform
// (containerd's DefaultSpec, normalised), then each 32-bit companion the CPU and kernel
// may run directly (linux/386 on amd64; linux/arm/v7 and linux/arm/v6 on arm64), kept
// only when its probe runs and no binfmt_misc entry claims its binaries.
func (b *Binfmt) Native(ctx context.Context) ([]ocispec.Platform, error) {
	host := platforms.Normalize(platforms.DefaultSpec())
	out := []ocispec.Platform{host}
	st, err := b.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range companions(host) {
		a, err := LookupArch(c)
		if err != nil {
			continue
		}
		if _, claimed := st.emulator(a); claimed {
			continue
		}
		if code, err := runProbe(ctx, a); err == nil && code == ProbeExitCode {
			out = append(out, c)
		} else if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// companions are the platforms whose binaries a host CPU of platform host can execute
// natively when its kernel supports them (IA32 emulation, AArch32 EL0).
func companions(host ocispec.Platform) []ocispec.Platform {
	switch host.Architecture {
	case "amd64":
		return []ocispec.Platform{plat("386", "")}
	case "arm64":
		return []ocispec.Platform{plat("arm", "v7"), plat("arm", "v6")}
	}
	return nil
}

// isNative reports whether p is one of native, after normalisation.
func isNative(p ocispec.Platform, native []ocispec.Platform) bool {
	p = platforms.Normalize(p)
	for _, n := range native {
		n = platforms.Normalize(n)
		if n.OS == p.OS && n.Architecture == p.Architecture {
			return true
		}
	}
	return false
}
