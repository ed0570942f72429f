package smoke

import (
	"context"
	"errors"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrTimeout is wrapped by the error a Runner returns for a command killed because its
// timeout expired.
var ErrTimeout = errors.New("command timed out")

// Target is one platform image to test.
type Target struct {
	// Platform is the image's platform; when Ref names an index, the image for Platform
	// is tested.
	Platform ocispec.Platform `json:"platform"`
	// Ref is the image reference, normally by digest ("repo@sha256:...").
	Ref string `json:"ref"`
}

// Command is one process to run in a fresh container of a Target's image.
type Command struct {
	// Args is the argument vector; Args[0] is looked up in the image's PATH. Required.
	Args []string
	// Env ("KEY=value") is added to the image's environment, replacing the same keys.
	Env []string
	// Workdir and User default to the image's WorkingDir ("/" when unset) and User.
	Workdir string
	User    string
	// Timeout kills the command when it expires. Default: no limit besides the context.
	Timeout time.Duration
	// MaxOutput is how many bytes of stdout, and of stderr, are kept (the first ones).
	// Default: 1 MiB.
	MaxOutput int
}

// DefaultMaxOutput is the number of bytes of stdout and of stderr kept by default.
const DefaultMaxOutput = 1 << 20

// Output is what a command did.
type Output struct {
	Stdout, Stderr []byte
	// ExitCode is the process's exit status.
	ExitCode int
	// Truncated is set when stdout or stderr was longer than Command.MaxOutput.
	Truncated bool
	// Duration is the wall time of the whole run: image resolution, container, process.
	Duration time.Duration
}

// Runner runs a command in a container of a platform image. A non-zero exit status is
// not an error; an error means the command could not run, or ran out of time (an error
// wrapping ErrTimeout, with the output seen until then).
//
// NewBuildKitRunner returns one that needs no Docker engine; a runner for a Docker
// engine, or a fake for unit tests, implements the same interface.
type Runner interface {
	Run(ctx context.Context, t Target, c Command) (Output, error)
}

// limitedBuffer keeps the first max bytes written to it and counts the rest.
type limitedBuffer struct {
	buf       []byte
	max       int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room < len(p) {
		b.truncated = true
		p2 := p[:max(room, 0)]
		b.buf = append(b.buf, p2...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *limitedBuffer) Close() error { return nil }
