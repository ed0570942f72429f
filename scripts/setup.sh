#!/usr/bin/env bash
# setup.sh prepares this machine (Debian 12, root) for multiarch's main job and its tests.
# It is idempotent: every step checks before it acts, so a second run takes seconds.
#
#   1. apt: qemu-user-static (the emulators), runc (BuildKit's OCI executor), the arm64
#      dpkg architecture, and for examples/node-service: mmdebstrap and arch-test (to make
#      the Node.js base root filesystems) and nodejs (its build scripts' unit test).
#   2. buildkitd and buildctl at exactly the BuildKit version go.mod pins, built from a
#      separate throwaway tools module (`go install` is refused: buildkit's go.mod has
#      exclude lines) and cached OUTSIDE the checkout, keyed by that version:
#      $MULTIARCH_CACHE/buildkit/<version>/{buildkitd,buildctl}, linked into /usr/local/bin.
#   3. Debian's busybox-static for amd64 and arm64, downloaded into $MULTIARCH_CACHE/debs,
#      from which the test environment makes its offline base images.
#   4. binfmt_misc mounted, and QEMU registered for linux/arm64 by the project's own
#      qemu package (internal/tools/binfmt).
#   5. Node.js base root filesystems for examples/node-service (internal/nodebase).
#
# Environment: MULTIARCH_CACHE (default /var/cache/multiarch).
set -euo pipefail

cache=${MULTIARCH_CACHE:-/var/cache/multiarch}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "setup: must run as root (it installs packages, builds into $cache and mounts binfmt_misc)" >&2
  exit 1
fi
command -v go >/dev/null || { echo "setup: go is not on PATH (expected /usr/local/go/bin)" >&2; exit 1; }

# 1. Debian packages.
export DEBIAN_FRONTEND=noninteractive
need=()
for p in qemu-user-static runc mmdebstrap arch-test nodejs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
arch_added=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  arch_added=1
fi
if [ ${#need[@]} -gt 0 ] || [ $arch_added = 1 ] || [ ! -d /var/lib/apt/lists ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -i arm64 | head -1)" ]; then
  log "apt-get update"
  apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. buildkitd and buildctl at the version go.mod pins.
bkver=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/moby/buildkit)
bkdir=$cache/buildkit/$bkver
if [ ! -x "$bkdir/buildkitd" ] || [ ! -x "$bkdir/buildctl" ]; then
  log "building buildkitd and buildctl $bkver (a few minutes, once per version)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (
    cd "$work"
    go mod init multiarch.local/buildkit-tools >/dev/null 2>&1
    # Quiet unless it fails: then its output says why (proxy unreachable, bad version).
    if ! out=$(go get "github.com/moby/buildkit/cmd/buildkitd@$bkver" "github.com/moby/buildkit/cmd/buildctl@$bkver" 2>&1); then
      printf '%s\n' "$out" >&2
      echo "setup: fetching BuildKit $bkver through the Go module proxy failed (GOPROXY=$(go env GOPROXY))" >&2
      exit 1
    fi
    mkdir -p "$bkdir.tmp"
    CGO_ENABLED=0 go build -trimpath -o "$bkdir.tmp/" github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl
  )
  rm -rf "$bkdir" && mv "$bkdir.tmp" "$bkdir"
fi
for b in buildkitd buildctl; do ln -sfn "$bkdir/$b" "/usr/local/bin/$b"; done

# 3. busybox-static debs for the offline base images.
debs=$cache/debs
mkdir -p "$debs"
for a in amd64 arm64; do
  if ! ls "$debs"/busybox-static_*_"$a".deb >/dev/null 2>&1; then
    log "downloading busybox-static:$a"
    (cd "$debs" && apt-get download -qq "busybox-static:$a")
  fi
done

# 4. binfmt_misc and QEMU for arm64, through the project's own qemu package: it mounts
#    binfmt_misc when needed, registers qemu-aarch64 with flags F and P, and probes it.
(cd "$repo" && go run ./internal/tools/binfmt install linux/arm64)

# 5. The Node.js root filesystems of examples/node-service, made once per machine from
#    Debian packages into $cache/node-base/<key> (a no-op when cached; 1.5 to 4 minutes on
#    2 cores the first time, arm64 running its maintainer scripts under QEMU).
log "Node.js base root filesystems in $cache/node-base"
(cd "$repo" && MULTIARCH_CACHE="$cache" go run ./internal/nodebase/cmd/mkbase >/dev/null)

log "ready: buildkitd $bkver, busybox-static for amd64/arm64, QEMU for arm64, Node.js bases"
