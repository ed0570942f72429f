package manifest

import (
	"errors"

	"github.com/containerd/platforms"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Verify checks ix without any request (Assemble already read what it
// needs) and returns every problem found, joined (errors.Join); find them
// with errors.As:
//
//   - *PlatformMismatchError: an entry's config os/architecture/variant
//     differs from its listed platform (compared normalised);
//   - *DuplicatePlatformError: two entries under one platform;
//   - *MissingPlatformError: a platform in require matches no entry
//     (matched with platforms.NewMatcher: linux/arm64 and linux/arm64/v8
//     are the same, linux/arm/v7 is not linux/arm/v6);
//   - *MediaTypeError: an entry of the other media-type family;
//   - ErrNoPlatforms: no runnable entry at all.
//
// Attestation entries are recognised and never counted as platforms.
func Verify(ix *Index, require ...ocispec.Platform) error {
	var errs []error
	byPlatform := map[string][]int{}
	var order []string
	var runnable []ocispec.Platform
	for i, e := range ix.Entries {
		if f := formatOf(e.Descriptor.MediaType); f != "" && f != ix.format() {
			errs = append(errs, &MediaTypeError{Entry: i, Ref: e.From, Digest: e.Descriptor.Digest, MediaType: e.Descriptor.MediaType, Format: ix.format()})
		}
		if e.Attestation() {
			continue
		}
		listed := e.Platform()
		runnable = append(runnable, listed)
		if e.Config != nil && !samePlatform(listed, *e.Config) {
			errs = append(errs, &PlatformMismatchError{
				Entry: i, Digest: e.Descriptor.Digest, Source: e.Source, Listed: listed, Config: *e.Config,
			})
		}
		key := platforms.FormatAll(platforms.Normalize(listed))
		if byPlatform[key] == nil {
			order = append(order, key)
		}
		byPlatform[key] = append(byPlatform[key], i)
	}
	for _, key := range order {
		idx := byPlatform[key]
		if len(idx) < 2 {
			continue
		}
		d := &DuplicatePlatformError{Platform: ix.Entries[idx[0]].Platform()}
		for _, i := range idx {
			d.Entries = append(d.Entries, i)
			d.Digests = append(d.Digests, ix.Entries[i].Descriptor.Digest)
		}
		errs = append(errs, d)
	}
	if len(runnable) == 0 {
		errs = append(errs, ErrNoPlatforms)
	}
	for _, want := range require {
		m := platforms.NewMatcher(want)
		found := false
		for _, p := range runnable {
			if m.Match(p) {
				found = true
				break
			}
		}
		if !found {
			errs = append(errs, &MissingPlatformError{Platform: want, Available: runnable})
		}
	}
	return errors.Join(errs...)
}

// samePlatform compares os, architecture, variant and os.version after
// normalisation. An empty config os.version is accepted.
func samePlatform(listed, config ocispec.Platform) bool {
	a, b := platforms.Normalize(listed), platforms.Normalize(config)
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant &&
		(b.OSVersion == "" || a.OSVersion == b.OSVersion)
}
