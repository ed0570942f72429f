// Package bkauth gives BuildKit sessions the registry credentials of a Docker config,
// for every package that solves on a daemon (build's solves, smoke's containers).
package bkauth

import (
	"fmt"
	"io"

	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
)

// FromDockerConfig returns the session attachable that answers the daemon's credential
// requests from the Docker config in dir; dir "" means the default (DOCKER_CONFIG, else
// ~/.docker). The daemon asks per registry host; credentials never leave the session.
func FromDockerConfig(dir string) (session.Attachable, error) {
	cfg := config.LoadDefaultConfigFile(io.Discard)
	if dir != "" {
		var err error
		if cfg, err = config.Load(dir); err != nil {
			return nil, fmt.Errorf("docker config in %s: %w", dir, err)
		}
	}
	return authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(cfg),
	}), nil
}
