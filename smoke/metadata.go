package smoke

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// checkMetadata checks the image config c against m.
func checkMetadata(m MetadataTest, c v1.Config) (failures []string) {
	fail := func(format string, a ...any) { failures = append(failures, fmt.Sprintf(format, a...)) }
	env := map[string]string{}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, want := range m.Env {
		got, ok := env[want.Key]
		if !ok {
			fail("env %s is not set, want %q", want.Key, want.Value)
		} else if !valueMatches(want, got) {
			fail("env %s=%q, want %q", want.Key, got, want.Value)
		}
	}
	for _, want := range m.Labels {
		got, ok := c.Labels[want.Key]
		if !ok {
			fail("label %s is not set, want %q", want.Key, want.Value)
		} else if !valueMatches(want, got) {
			fail("label %s=%q, want %q", want.Key, got, want.Value)
		}
	}
	for _, p := range m.ExposedPorts {
		if _, ok := c.ExposedPorts[portKey(p)]; !ok {
			fail("port %s is not exposed (exposed: %s)", portKey(p), keys(c.ExposedPorts))
		}
	}
	for _, p := range m.UnexposedPorts {
		if _, ok := c.ExposedPorts[portKey(p)]; ok {
			fail("port %s is exposed, want it not", portKey(p))
		}
	}
	for _, v := range m.Volumes {
		if _, ok := c.Volumes[v]; !ok {
			fail("volume %s is not declared (declared: %s)", v, keys(c.Volumes))
		}
	}
	if m.Entrypoint != nil && !slices.Equal(*m.Entrypoint, c.Entrypoint) {
		fail("entrypoint is %q, want %q", c.Entrypoint, *m.Entrypoint)
	}
	if m.Cmd != nil && !slices.Equal(*m.Cmd, c.Cmd) {
		fail("cmd is %q, want %q", c.Cmd, *m.Cmd)
	}
	if m.Workdir != "" && m.Workdir != c.WorkingDir {
		fail("workdir is %q, want %q", c.WorkingDir, m.Workdir)
	}
	if m.User != "" && m.User != c.User {
		fail("user is %q, want %q", c.User, m.User)
	}
	return failures
}

func valueMatches(want EnvVar, got string) bool {
	if want.IsRegex {
		return regexp.MustCompile(want.Value).MatchString(got)
	}
	return want.Value == got
}

// portKey writes a port as image configs key it: "8080" is "8080/tcp".
func portKey(p string) string {
	if strings.Contains(p, "/") {
		return p
	}
	return p + "/tcp"
}

func keys(m map[string]struct{}) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return "[" + strings.Join(out, " ") + "]"
}
