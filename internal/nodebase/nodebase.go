package nodebase

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/multiarch-sdk/multiarch/internal/debarch"
)

// DefaultPackages are installed when Config.Packages is empty: Node.js and a native
// addon with compiled .node files for each architecture.
var DefaultPackages = []string{"nodejs", "node-sqlite3"}

// DefaultPlatforms are made when Config.Platforms is empty.
var DefaultPlatforms = []ocispec.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// DefaultSources is the machine's deb822 apt sources file given to mmdebstrap.
const DefaultSources = "/etc/apt/sources.list.d/debian.sources"

// ErrMissingTool is returned (wrapped) when a program the build needs is not installed.
var ErrMissingTool = errors.New("required tool not installed")

// Config describes the base images. The zero value makes Debian bookworm images with
// DefaultPackages for DefaultPlatforms, cached under $MULTIARCH_CACHE/node-base.
type Config struct {
	// Release is the Debian suite. Default: "bookworm" (Debian 12, Node.js 18).
	Release string `json:"release,omitempty"`

	// Packages are installed on top of Debian's Essential set (mmdebstrap's "essential"
	// variant: no apt, no docs, no man pages). Default: DefaultPackages.
	Packages []string `json:"packages,omitempty"`

	// Platforms are the images made, one root filesystem each. Only "linux" platforms
	// whose architecture Debian builds are accepted. Default: DefaultPlatforms.
	Platforms []ocispec.Platform `json:"platforms,omitempty"`

	// Sources is the deb822 apt sources file naming the Debian mirror. It is read when
	// an image is made, so no mirror is written anywhere. Default: DefaultSources.
	Sources string `json:"sources,omitempty"`

	// CacheDir keeps one folder per Key with the compressed root filesystem layer.
	// Default: $MULTIARCH_CACHE/node-base, else /var/cache/multiarch/node-base.
	CacheDir string `json:"cacheDir,omitempty"`

	// Parallel bounds how many root filesystems are made at once. Default: 2.
	Parallel int `json:"parallel,omitempty"`

	// Log receives mmdebstrap's own output. Default: discarded (the last lines are
	// quoted in errors either way).
	Log io.Writer `json:"-"`

	// Logger receives build and cache events. Default: none.
	Logger *slog.Logger `json:"-"`
}

func (c Config) release() string {
	if c.Release == "" {
		return "bookworm"
	}
	return c.Release
}

func (c Config) packages() []string {
	if len(c.Packages) == 0 {
		return DefaultPackages
	}
	return c.Packages
}

func (c Config) platforms() []ocispec.Platform {
	if len(c.Platforms) == 0 {
		return DefaultPlatforms
	}
	return c.Platforms
}

func (c Config) sources() string {
	if c.Sources == "" {
		return DefaultSources
	}
	return c.Sources
}

func (c Config) cacheDir() string {
	if c.CacheDir != "" {
		return c.CacheDir
	}
	if d := os.Getenv("MULTIARCH_CACHE"); d != "" {
		return filepath.Join(d, "node-base")
	}
	return "/var/cache/multiarch/node-base"
}

func (c Config) parallel() int {
	if c.Parallel <= 0 {
		return 2
	}
	return c.Parallel
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Validate reports a configuration that cannot be built: a non-Linux platform, an
// architecture Debian does not build, or an empty package name.
func (c Config) Validate() error {
	for _, p := range c.platforms() {
		if _, err := DebianArch(p); err != nil {
			return err
		}
	}
	for _, pkg := range c.packages() {
		if strings.TrimSpace(pkg) == "" || strings.ContainsAny(pkg, ", \t") {
			return fmt.Errorf("nodebase: package name %q: give one Debian package name per entry", pkg)
		}
	}
	return nil
}

// formatVersion changes whenever the way a root filesystem is made changes, so that
// cached layers made the old way are not reused.
const formatVersion = "2" // 2: reproducible (SOURCE_DATE_EPOCH)

// Key names the cache folder of one root filesystem: the Debian release, the
// architecture and a digest of the (sorted) package list, e.g.
// "bookworm-arm64-3f2a9c01d4e5".
func Key(release string, packages []string, debArch string) string {
	pkgs := slices.Clone(packages)
	slices.Sort(pkgs)
	h := sha256.Sum256([]byte(formatVersion + "\n" + release + "\n" + debArch + "\n" + strings.Join(pkgs, "\n")))
	return release + "-" + debArch + "-" + hex.EncodeToString(h[:6])
}

// DebianArch maps a platform to Debian's architecture name (amd64, arm64, armhf, ...).
func DebianArch(p ocispec.Platform) (string, error) {
	a, err := debarch.Of(p)
	if err != nil {
		return "", fmt.Errorf("nodebase: %w", err)
	}
	return a, nil
}

// Image is one platform's base image as made or found in the cache.
type Image struct {
	Platform ocispec.Platform
	// Layer is the cached gzip-compressed root filesystem layer.
	Layer string
	// Cached is true when Layer was already in the cache.
	Cached bool
	// Duration is how long mmdebstrap ran (zero when Cached).
	Duration time.Duration
}
