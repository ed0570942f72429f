// Command ci is the usual GitHub Actions image workflow as one Go program.
//
// The YAML it replaces chains five actions: docker/setup-qemu-action,
// docker/setup-buildx-action, docker/metadata-action, docker/build-push-action with a
// registry cache, then a `docker run --platform` step per architecture. This program
// does the same with the multiarch SDK, in one process that needs no Docker engine:
//
//  1. inputs come from flags and the Actions environment: GITHUB_REF, GITHUB_SHA and
//     the event payload (manifest.GitHubMetadata) give the tags, computed with
//     metadata-action's rules (manifest.Tags: 1.2.3, 1.2, 1 for a release tag, the
//     branch name, sha-<7>, latest on the default branch); -cache-from and -cache-to
//     take buildx's CSV (cache.ParseFlags); -smoke reads a smoke suite from YAML
//     (smoke.Load);
//  2. multiarch.Pipeline registers QEMU where needed, builds every platform in
//     parallel on BuildKit, pushes each by digest, smoke-tests and scans each, verifies
//     the index and only then writes the tags;
//  3. outputs go to $GITHUB_OUTPUT (event, tagged, digest, ref, tags, digests as
//     JSON, one digest-<os>-<arch> per platform, smoke-passed, failed-step, and
//     metadata: the JSON of buildx's --metadata-file) and a Markdown table to
//     $GITHUB_STEP_SUMMARY.
//
// # Pull requests
//
// On pull_request and pull_request_target events nothing is tagged: the program still
// builds every platform, pushes each image and the verified index by digest (the smoke
// tests run the pushed images, so they must be in a registry), and reports the digest.
// No tag moves, so nothing a deploy pulls by tag changes. The cache is imported but
// not exported (-pr-cache-to exports it too): code under review must not write the
// cache that release builds read. Pull requests from forks get no write token: point
// -pr-repository at a scratch repository they may push to, or pass -dry-run to only
// plan. Any other event (push, release, workflow_dispatch, schedule) tags.
//
// # Running it
//
// In a workflow (see workflow.yml and README.md next to this file):
//
//	go install github.com/multiarch-sdk/multiarch/examples/ci@main
//	sudo -E "$(go env GOPATH)/bin/ci" -repository ghcr.io/acme/app \
//	    -buildkitd /usr/local/bin/buildkitd -smoke smoke.yaml \
//	    -cache-from type=registry,ref=ghcr.io/acme/app:buildcache \
//	    -cache-to type=registry,ref=ghcr.io/acme/app:buildcache,mode=max
//
// Locally, any GITHUB_* variables can be set by hand; -event, -ref and -sha override
// them. The exit status is 1 when any step failed, after the outputs and the summary
// were written (with what was done up to the failing step).
package main
