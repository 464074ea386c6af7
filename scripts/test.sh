#!/usr/bin/env bash
# The test command: installs every test peer a fresh machine lacks (cached under
# ~/.cache/patinject-test), then runs vet, gofmt and every test with the race detector.
#
#   scripts/test.sh            every test
#   scripts/test.sh -run Vault extra arguments are passed to go test
set -euo pipefail
cd "$(dirname "$0")/.."
export PATINJECT_TEST_CACHE=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
mkdir -p "$PATINJECT_TEST_CACHE"

# Each scripts/peers/NAME.sh installs one peer (idempotent, cached) and prints the export lines
# that tell the tests where it is; its progress goes to stderr.
for peer in scripts/peers/*.sh; do
  [ -e "$peer" ] || continue
  echo "== peer: $(basename "$peer" .sh)" >&2
  exports=$(bash "$peer") || { echo "test.sh: installing $(basename "$peer" .sh) failed" >&2; exit 1; }
  eval "$exports"
done

echo "== go vet" >&2
go vet ./...
# Windows and macOS are first-class targets: vet them (tests included) and cross-build the binary
# for each release platform. Their tests run on their own CI runners; here only Linux runs.
for goos in windows darwin; do
  echo "== go vet (GOOS=$goos)" >&2
  GOOS=$goos go vet ./...
done
echo "== cross builds" >&2
for target in windows/amd64 windows/arm64 darwin/amd64 darwin/arm64 linux/arm64; do
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build -o /dev/null ./cmd/patinject
done
echo "== gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
echo "== go test" >&2
go test -race -count=1 -timeout 30m "$@" ./...
# The Vault plugin is a module of its own (so that patinject's binary does not carry the Vault
# SDK): the root module's ./... does not reach it.
echo "== vault-plugin-secrets-azuredevops: go vet, go test" >&2
(cd cmd/vault-plugin-secrets-azuredevops && go vet ./... && go test -race -count=1 -timeout 30m "$@" ./...)
