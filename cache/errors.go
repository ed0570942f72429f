package cache

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped by what this package returns; test them with errors.Is.
var (
	// ErrNoBackend: an Entry has none of its backend fields set.
	ErrNoBackend = errors.New("cache entry has no backend")
	// ErrManyBackends: an Entry has more than one backend field set.
	ErrManyBackends = errors.New("cache entry has several backends")
	// ErrUnknownType: a type= this package does not know.
	ErrUnknownType = errors.New("unknown cache type")
	// ErrMissing: a required setting is empty.
	ErrMissing = errors.New("cache setting missing")
	// ErrInvalidValue: a setting has a value BuildKit would refuse or misread.
	ErrInvalidValue = errors.New("invalid cache setting")
	// ErrInlineImport: inline is export only; import the image with a registry entry.
	ErrInlineImport = errors.New("inline cache cannot be imported as type=inline")
	// ErrInlineMode: inline supports only mode=min.
	ErrInlineMode = errors.New("inline cache supports only mode=min")
	// ErrMixedExports: registry and gha exports together, without AllowMixedExports.
	ErrMixedExports = errors.New("registry and gha cache exports mixed")
	// ErrUnsupported: the BuildKit daemon has no such cache backend.
	ErrUnsupported = errors.New("cache backend not supported by the BuildKit daemon")
	// ErrPlatform: Solve was asked for a platform that is not among all platforms.
	ErrPlatform = errors.New("platform not in the build's platforms")
)

// EntryError says which entry of a Config an error is about.
type EntryError struct {
	Export bool // an entry of Config.Export (else Config.Import)
	Index  int  // its index in that list
	Type   Type // its backend type, "" when that is the problem
	Err    error
}

func (e *EntryError) Error() string {
	list := "import"
	if e.Export {
		list = "export"
	}
	if e.Type == "" {
		return fmt.Sprintf("cache %s %d: %v", list, e.Index, e.Err)
	}
	return fmt.Sprintf("cache %s %d (%s): %v", list, e.Index, e.Type, e.Err)
}

func (e *EntryError) Unwrap() error { return e.Err }
