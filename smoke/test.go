package smoke

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// ErrInvalidTest is wrapped by every error that Test.Validate, Load and Parse return
// for a declaration that cannot run (an invalid regex, a command test without a command,
// a relative file path, ...).
var ErrInvalidTest = errors.New("invalid smoke test")

// Test is a smoke-test suite, what users call a "SmokeTest": the checks run against every
// platform image. The zero value checks nothing. It loads from YAML or JSON with [Load]
// or [Parse]; the field names follow container-structure-test's where the meaning is
// the same (commandTests, metadataTest, expectedOutput, ...).
type Test struct {
	// Commands are run in a fresh container of each platform image, in order.
	Commands []CommandTest `json:"commandTests,omitempty"`
	// Files are checked against the image's file system, read from its layers (no
	// container is started).
	Files []FileTest `json:"fileTests,omitempty"`
	// Metadata, when not nil, is checked against each image's config.
	Metadata *MetadataTest `json:"metadataTest,omitempty"`
	// Scan, when not nil, scans every ELF file of each image for the right architecture
	// (see [ScanImage]).
	Scan *ScanOptions `json:"scan,omitempty"`
}

// CommandTest runs one command in a container of the image and checks what it did.
type CommandTest struct {
	// Name names the test in reports. Default: the command line.
	Name string `json:"name,omitempty"`
	// Command is the executable, looked up in the image's PATH. Required.
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	// Env is added to the image's environment (it overrides variables of the same key).
	Env []EnvVar `json:"envVars,omitempty"`
	// Workdir is the working directory. Default: the image's WorkingDir, else "/".
	Workdir string `json:"workdir,omitempty"`
	// User runs the command as this user. Default: the image's User, else root.
	User string `json:"user,omitempty"`
	// ExitCode is the expected exit code. Default: 0.
	ExitCode int `json:"exitCode,omitempty"`
	// ExpectedOutput and ExcludedOutput are regular expressions (RE2 syntax) that the
	// standard output must, and must not, match. ExpectedError and ExcludedError are the
	// same for the standard error.
	ExpectedOutput []string `json:"expectedOutput,omitempty"`
	ExcludedOutput []string `json:"excludedOutput,omitempty"`
	ExpectedError  []string `json:"expectedError,omitempty"`
	ExcludedError  []string `json:"excludedError,omitempty"`
	// Timeout bounds the command; when it expires the command is killed and the test
	// fails. Default: 1 minute.
	Timeout Duration `json:"timeout,omitempty"`
}

// DefaultTimeout bounds a command whose CommandTest.Timeout is zero.
const DefaultTimeout = time.Minute

// FileTest checks one path of the image's file system, as the image's layers make it
// (files removed by a later layer do not exist).
type FileTest struct {
	// Name names the test in reports. Default: the path.
	Name string `json:"name,omitempty"`
	// Path is absolute. Symbolic links in its parent directories are followed (as
	// lstat does); a link at Path itself is followed for content checks only.
	Path string `json:"path"`
	// ShouldExist says whether the path must exist. Default (nil): it must.
	ShouldExist *bool `json:"shouldExist,omitempty"`
	// Permissions is the mode as Go's fs.FileMode.String and `ls -l` print it, for
	// example "-rwxr-xr-x" or "drwxr-xr-x". Default: not checked.
	Permissions string `json:"permissions,omitempty"`
	// UID and GID are the numeric owner. Default (nil): not checked.
	UID *int `json:"uid,omitempty"`
	GID *int `json:"gid,omitempty"`
	// ExpectedContents and ExcludedContents are regular expressions the file's content
	// must, and must not, match (the first MaxContentBytes bytes are read).
	ExpectedContents []string `json:"expectedContents,omitempty"`
	ExcludedContents []string `json:"excludedContents,omitempty"`
}

// MaxContentBytes is how much of a file a FileTest reads for its content checks.
const MaxContentBytes = 4 << 20

// MetadataTest checks the image config. Every field is optional: a zero field is not
// checked, except that a non-nil empty Entrypoint or Cmd requires it to be empty.
type MetadataTest struct {
	// Env lists variables the config must set; Value is matched exactly, or as a
	// regular expression when IsRegex is set.
	Env []EnvVar `json:"envVars,omitempty"`
	// Labels is like Env, for the config's labels.
	Labels []EnvVar `json:"labels,omitempty"`
	// ExposedPorts must all be exposed ("8080" means "8080/tcp"); UnexposedPorts must not.
	ExposedPorts   []string `json:"exposedPorts,omitempty"`
	UnexposedPorts []string `json:"unexposedPorts,omitempty"`
	// Volumes must all be declared.
	Volumes    []string  `json:"volumes,omitempty"`
	Entrypoint *[]string `json:"entrypoint,omitempty"`
	Cmd        *[]string `json:"cmd,omitempty"`
	Workdir    string    `json:"workdir,omitempty"`
	User       string    `json:"user,omitempty"`
}

// EnvVar is a key and a value: an environment variable or a label.
type EnvVar struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// IsRegex makes Value a regular expression (metadata tests only).
	IsRegex bool `json:"isRegex,omitempty"`
}

// ScanOptions configures the ELF architecture scan.
type ScanOptions struct {
	// Ignore lists path.Match patterns of absolute paths that are not reported, for files
	// that are meant for another architecture (cross toolchains, emulators, firmware).
	Ignore []string `json:"ignore,omitempty"`
	// Objects also reports relocatable object files (ET_REL: .o, .syso, kernel modules).
	// Default: only what runs or is loaded (executables, shared objects, .node addons),
	// since toolchains ship objects for every architecture they target.
	Objects bool `json:"objects,omitempty"`
}

// Duration is a time.Duration that reads and writes as a string such as "30s" or
// "1m30s" in JSON and YAML.
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a duration as time.ParseDuration does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number and a unit such as \"30s\" or \"2m\": %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// Load reads a Test from a YAML or JSON file and validates it.
func Load(file string) (Test, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Test{}, fmt.Errorf("smoke: load test: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return Test{}, fmt.Errorf("%s: %w", file, err)
	}
	return t, nil
}

// Parse reads a Test from YAML or JSON (JSON is YAML) and validates it. Unknown fields
// are errors, so that a misspelt check is not silently skipped.
func Parse(b []byte) (Test, error) {
	var t Test
	if err := yaml.UnmarshalStrict(b, &t); err != nil {
		return Test{}, fmt.Errorf("%w: %w", ErrInvalidTest, err)
	}
	return t, t.Validate()
}

// Validate reports every declaration that cannot run, each error naming the test.
func (t Test) Validate() error {
	var errs []error
	bad := func(kind string, i int, name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s test %d (%q): %s", ErrInvalidTest, kind, i, name, fmt.Sprintf(format, a...)))
	}
	for i, c := range t.Commands {
		if c.Command == "" {
			bad("command", i, c.name(), "command is empty: set the executable to run, e.g. command: uname")
		}
		if c.Timeout < 0 {
			bad("command", i, c.name(), "timeout %s is negative", c.Timeout)
		}
		for _, re := range [][]string{c.ExpectedOutput, c.ExcludedOutput, c.ExpectedError, c.ExcludedError} {
			if _, err := compileAll(re); err != nil {
				bad("command", i, c.name(), "%v", err)
			}
		}
	}
	for i, f := range t.Files {
		if !path.IsAbs(f.Path) {
			bad("file", i, f.name(), "path %q is not absolute: write it from the image root, e.g. /etc/os-release", f.Path)
		}
		for _, re := range [][]string{f.ExpectedContents, f.ExcludedContents} {
			if _, err := compileAll(re); err != nil {
				bad("file", i, f.name(), "%v", err)
			}
		}
		if f.Permissions != "" && !validMode(f.Permissions) {
			bad("file", i, f.name(), "permissions %q: want ten characters as `ls -l` prints them, e.g. -rwxr-xr-x", f.Permissions)
		}
	}
	if m := t.Metadata; m != nil {
		for _, e := range append(append([]EnvVar(nil), m.Env...), m.Labels...) {
			if e.IsRegex {
				if _, err := regexp.Compile(e.Value); err != nil {
					bad("metadata", 0, e.Key, "value of %s: invalid regular expression %q: %v", e.Key, e.Value, err)
				}
			}
		}
	}
	if s := t.Scan; s != nil {
		for _, p := range s.Ignore {
			if _, err := path.Match(p, "/"); err != nil {
				bad("scan", 0, "ignore", "pattern %q: %v", p, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (c CommandTest) name() string {
	if c.Name != "" {
		return c.Name
	}
	return strings.Join(append([]string{c.Command}, c.Args...), " ")
}

func (c CommandTest) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return time.Duration(c.Timeout)
}

func (f FileTest) name() string {
	if f.Name != "" {
		return f.Name
	}
	return f.Path
}

func compileAll(exprs []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(exprs))
	for _, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %w", e, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func validMode(s string) bool {
	if len(s) < 10 {
		return false
	}
	kind, perm := s[:len(s)-9], s[len(s)-9:]
	if kind != "-" && strings.Trim(kind, "dalTLDpSugct?") != "" {
		return false
	}
	for i, c := range perm {
		if c != '-' && byte(c) != "rwxrwxrwx"[i] {
			return false
		}
	}
	return true
}
