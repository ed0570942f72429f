// Package faketest shows how to unit-test your own deploy tool against registrytest,
// with no registry server, Docker engine or network: read promote_test.go.
//
// The tool is Promote, the kind of function every platform team writes: copy a
// multi-platform image from the staging repository to the production one, but only
// when it has every platform the production fleet runs, so that a tag in production
// never points at an index an arm64 node cannot pull.
//
// Its tests show the patterns:
//
//   - a real in-process registry per test (registrytest.New), seeded with
//     multi-platform indexes whose configs match their platforms (SeedIndex);
//   - the manifest.Client pointed at it through the registry's transport and a
//     keychain that answers its credentials;
//   - the happy path, checked by reading the production tag back;
//   - the refusal (a missing platform), checked with errors.As and by asserting that
//     nothing was written: request counts (Registry.Count) say what a tool did;
//   - an injected 503 (Registry.Inject) that the client retries, and one that never
//     stops, which must fail without tagging;
//   - a registry that requires auth (WithBasicAuth): refused without credentials,
//     promoted with them.
package faketest
