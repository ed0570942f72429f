package build

import (
	"io"

	"github.com/multiarch-sdk/multiarch/cache"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Request is one multi-platform build. The zero value is not buildable: Context is
// needed. Every other field has a default, written in its comment.
type Request struct {
	// Context is the build context directory. Required.
	Context string `json:"context"`

	// Dockerfile is the Dockerfile's path; a relative path is taken from the current
	// directory, like docker build -f. Default: "Dockerfile" inside Context.
	Dockerfile string `json:"dockerfile,omitempty"`

	// Target is the stage to build. Default: the last stage.
	Target string `json:"target,omitempty"`

	// Platforms are built with one solve each, in parallel. TARGETPLATFORM,
	// TARGETOS, TARGETARCH, TARGETVARIANT and BUILDPLATFORM reach the Dockerfile as
	// with buildx. Default: the first node's native platform.
	Platforms []ocispec.Platform `json:"platforms,omitempty"`

	// Args are build arguments (ARG). Never put secrets here: they are recorded in
	// the image history; use Secrets. Default: none.
	Args map[string]string `json:"args,omitempty"`

	// Labels are set on each image config. Default: none.
	Labels map[string]string `json:"labels,omitempty"`

	// Contexts are named build contexts (FROM name, COPY --from=name), as buildx
	// --build-context: a value with a scheme ("docker-image://alpine:3.20",
	// "oci-layout://...", "https://...", "git@...") is passed to the frontend as is;
	// any other value is a local directory. Default: none.
	Contexts map[string]string `json:"contexts,omitempty"`

	// Secrets are exposed to RUN --mount=type=secret. Default: none.
	Secrets []Secret `json:"secrets,omitempty"`

	// SSH forwards SSH agents to RUN --mount=type=ssh. Default: none.
	SSH []SSH `json:"ssh,omitempty"`

	// Cache is the cache to import before and export after each platform's solve.
	// Each platform exports to its own derived place and imports that place, then the
	// unsuffixed one (see cache.Config.Solve with split=true): one shared ref would be
	// overwritten by the last platform's export. Default: no cache import or export (the daemon's local
	// cache still applies).
	Cache cache.Config `json:"cache,omitzero"`

	// NoCache builds every step again, ignoring the daemon's cache and Cache imports.
	NoCache bool `json:"noCache,omitempty"`

	// Attestations opts in to provenance and SBOM attestations. Default: none, on
	// purpose: each attestation is an extra manifest with platform unknown/unknown in
	// the pushed index, which several registries and many tools (platform listings,
	// manifest-list consumers) mishandle, and which this SDK's manifest step has to skip.
	Attestations Attestations `json:"attestations,omitempty"`

	// Push is a repository ("registry.example.com/team/app") that each platform image
	// is pushed to by digest, never tagged: tagging is the manifest step's job once the
	// images pass their tests. Credentials come from the Docker config (DOCKER_CONFIG,
	// ~/.docker/config.json). Default: no push.
	Push string `json:"push,omitempty"`

	// Outputs write each platform's result to disk as well. Default: none.
	Outputs []Output `json:"outputs,omitempty"`

	// OnFailure says what a failing platform does to the others.
	// Default: CancelOthers.
	OnFailure FailurePolicy `json:"onFailure,omitempty"`

	// Progress receives BuildKit's progress of all the platforms' solves, each step's
	// name prefixed with its platform, rendered as ProgressMode says. Default: none.
	Progress io.Writer `json:"-"`

	// ProgressMode is "plain", "tty" (Progress must be a terminal), "auto" (tty when
	// Progress is a terminal) or "rawjson". Default: "plain".
	ProgressMode string `json:"progressMode,omitempty"`

	// Status receives every raw status update, tagged with platform and node. Build
	// blocks while the channel is full and never closes it. Default: none.
	Status chan<- Status `json:"-"`
}

// Secret is a secret for RUN --mount=type=secret,id=ID. Exactly one of Env and File.
type Secret struct {
	ID string `json:"id"`
	// Env is the environment variable holding the value.
	Env string `json:"env,omitempty"`
	// File is the file holding the value.
	File string `json:"file,omitempty"`
}

// SSH is an SSH agent (or key files) for RUN --mount=type=ssh,id=ID.
type SSH struct {
	// ID is the mount's id. Default: "default".
	ID string `json:"id,omitempty"`
	// Paths are agent sockets or private key files. Default: $SSH_AUTH_SOCK.
	Paths []string `json:"paths,omitempty"`
}

// Attestations selects the attestations BuildKit attaches to each image.
type Attestations struct {
	// Provenance is the SLSA provenance mode: "" (none), "min" or "max".
	Provenance string `json:"provenance,omitempty"`
	// SBOM adds an SPDX SBOM made by BuildKit's default scanner image (which the
	// daemon must be able to pull).
	SBOM bool `json:"sbom,omitempty"`
}

// OutputType names a BuildKit exporter that writes to disk.
type OutputType string

const (
	// OutputOCI writes an OCI image layout tarball.
	OutputOCI OutputType = "oci"
	// OutputDocker writes a `docker load` tarball.
	OutputDocker OutputType = "docker"
	// OutputTar writes the image's filesystem as a tarball.
	OutputTar OutputType = "tar"
	// OutputLocal writes the image's filesystem into a directory.
	OutputLocal OutputType = "local"
)

// Output writes every platform's result under Dir: a tarball Dir/<os>-<arch>[-<variant>].tar
// for OutputOCI, OutputDocker and OutputTar, a directory Dir/<os>-<arch>[-<variant>]
// for OutputLocal.
type Output struct {
	Type OutputType `json:"type"`
	Dir  string     `json:"dir"`
}

// FailurePolicy says what one platform's failure does to the other solves.
type FailurePolicy string

const (
	// CancelOthers cancels the other platforms' solves at the first failure (default).
	CancelOthers FailurePolicy = ""
	// CompleteOthers lets the other platforms finish (and push); Build still returns
	// an error, and the Result holds the images that were built.
	CompleteOthers FailurePolicy = "complete"
)
