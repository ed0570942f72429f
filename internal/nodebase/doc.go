// Package nodebase makes the offline Node.js base images that examples/node-service
// builds on: one Debian root filesystem per platform, made with mmdebstrap from Debian
// packages (nodejs and the native addon node-sqlite3 by default), pushed as one
// multi-platform OCI image index.
//
// No public registry is reachable on the project's machines, so `FROM node:18-slim` is
// not an option. Debian ships Node.js and compiled addons for every architecture it
// builds, which makes it a real, offline source of per-platform binaries:
//
//	cfg := nodebase.Config{} // bookworm; nodejs, node-sqlite3; linux/amd64 + linux/arm64
//	res, err := cfg.Push(ctx, "127.0.0.1:5000/multiarch/node:18")
//	// res.Ref is the index; res.Images[i].Cached says whether the rootfs came from the cache
//
// # Where the packages come from
//
// The Debian mirror is never written in this repository: mmdebstrap is given the
// machine's own deb822 apt sources file (Config.Sources, default
// /etc/apt/sources.list.d/debian.sources), read when the image is made.
//
// # The cache
//
// Making a root filesystem takes about half a minute natively and a few minutes for a
// foreign architecture, whose maintainer scripts run under QEMU. Each one is therefore
// kept, as the gzip-compressed layer it becomes, OUTSIDE the checkout under
// Config.CacheDir (default $MULTIARCH_CACHE/node-base, else /var/cache/multiarch/node-base)
// in a folder named by [Key]: the Debian release, the package list and the architecture.
// A second Push with the same configuration only uploads. The layers are reproducible
// (mmdebstrap with SOURCE_DATE_EPOCH, gzip by Go): the same Debian package versions give
// the same base image digest on every machine.
//
// # What the machine needs
//
// Root (mmdebstrap's root mode), the mmdebstrap package, and for a foreign architecture
// the arch-test package and QEMU registered in binfmt_misc. scripts/setup.sh installs all
// of them; a missing tool is reported as [ErrMissingTool].
package nodebase
