package build

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrInvalidRequest is wrapped by every error [Builder.Build] returns for a request it
// rejects before contacting BuildKit (missing Dockerfile or context, bad platform,
// invalid repository, unknown target, missing secret source).
var ErrInvalidRequest = errors.New("invalid build request")

// ErrNodeUnreachable is wrapped by the error [New] returns when a node does not answer
// within the connect timeout.
var ErrNodeUnreachable = errors.New("buildkit node unreachable")

// NoNodeError reports a platform that no node of the fleet can build, natively or
// through emulation. Nodes lists each node with the platforms its workers reported.
type NoNodeError struct {
	Platform ocispec.Platform
	Nodes    map[string][]ocispec.Platform
}

func (e *NoNodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no buildkit node can build %s (", platforms.Format(e.Platform))
	for i, name := range sortedKeys(e.Nodes) {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "node %q runs %s", name, formatPlatforms(e.Nodes[name]))
	}
	b.WriteString("): add a node that runs it natively, or register a QEMU emulator for it on a node's host (qemu package) and call Refresh")
	return b.String()
}

// PlatformError is the failure of one platform's solve. Errors from [Builder.Build]
// wrap one PlatformError per failed platform (use errors.As, or errors.Join's
// Unwrap() []error to see them all).
type PlatformError struct {
	Platform ocispec.Platform
	Node     string
	// Step is the name of the BuildKit vertex that failed, as BuildKit reports it
	// ("[2/3] RUN make"), when the status stream named one.
	Step string
	// Log is the end of the failing step's output (its last 2 KiB), when it printed any.
	Log string
	// Hint is the likely fix, when the failure is a known kind (registry credentials).
	Hint string
	Err  error
}

func (e *PlatformError) Error() string {
	msg := fmt.Sprintf("build %s on node %q", platforms.Format(e.Platform), e.Node)
	if e.Step != "" {
		msg += fmt.Sprintf(": step %q", e.Step)
	}
	msg += ": " + e.Err.Error()
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	if e.Log != "" {
		msg += "\nlast output of the step:\n" + e.Log
	}
	return msg
}

func (e *PlatformError) Unwrap() error { return e.Err }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

func formatPlatforms(ps []ocispec.Platform) string {
	if len(ps) == 0 {
		return "nothing"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = platforms.Format(p)
	}
	return strings.Join(s, ", ")
}

// hintFor suggests a fix for failures whose cause BuildKit's message makes clear.
func hintFor(err error, c *checked) string {
	msg := err.Error()
	if strings.Contains(msg, "401 Unauthorized") || strings.Contains(msg, "403 Forbidden") {
		reg := "the registry"
		if c.Push != "" {
			reg = c.repo.RegistryStr()
		}
		return "check the credentials for " + reg + " in the Docker config (DOCKER_CONFIG, ~/.docker/config.json, or WithDockerConfigDir)"
	}
	return ""
}
