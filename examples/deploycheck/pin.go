package deploycheck

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// pin returns ref's repository at digest: "registry/repo@sha256:...".
func pin(ref, digest string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("deploycheck: reference %q: %w", ref, err)
	}
	d, err := name.NewDigest(r.Context().Name() + "@" + digest)
	if err != nil {
		return "", fmt.Errorf("deploycheck: pin %s to %s: %w", ref, digest, err)
	}
	return d.String(), nil
}
