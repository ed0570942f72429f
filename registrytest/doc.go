// Package registrytest provides real, small, in-process container registries
// for unit tests of programs built on multiarch, in the spirit of
// net/http/httptest: no mocks, a working registry you can break on purpose.
//
// A [Registry] is go-containerregistry's pkg/registry served over plain HTTP
// on 127.0.0.1 with a random port, plus what tests of image pipelines need:
//
//   - Seeding: [Registry.SeedImage] and [Registry.SeedIndex] push images
//     whose config os/architecture/variant match their platform (one small
//     random layer each); [Registry.SeedChildren] seeds deliberately wrong
//     children (an arm64 config listed as amd64), Docker media types and
//     BuildKit-style attestation entries. Seeding is never counted, faulted
//     or challenged for auth.
//   - Request counts: [Registry.Requests], [Registry.Count] by method and
//     [Kind] (manifest, blob, upload, mount, ...), [Registry.Counts] by path.
//   - Fault injection: [Registry.Inject] a [Fault] (status 500/503/429,
//     dropped connection, latency) on every, the Nth or a fraction of the
//     matching requests.
//   - Auth: [WithBasicAuth] and [WithBearerAuth] (with a token endpoint).
//   - Repository-scoped blobs with cross-repository mount (or
//     [WithoutMount]), so copies between repositories are observable.
//
// In a test:
//
//	reg := registrytest.New(t)
//	seeded, err := reg.SeedIndex("team/app:v1",
//		platforms.MustParse("linux/amd64"), platforms.MustParse("linux/arm64"))
//	...
//	idx, err := remote.Index(seeded.Ref, reg.RemoteOptions()...)
//
// References to the registry use [Registry.Repository] or
// [Registry.Reference], which mark it insecure (plain HTTP), and
// [Registry.RemoteOptions] carries its transport and credentials.
// Programs (not tests) use [NewServer] and [Registry.Close].
package registrytest
