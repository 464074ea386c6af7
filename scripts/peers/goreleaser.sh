#!/usr/bin/env bash
# Test peer and release tool: goreleaser v2.15.1, built from the Go module proxy once (several
# minutes on a fresh 2-core machine), cached. It builds the release archives and checksums
# (.goreleaser.yaml); the release tests build one snapshot per test run with it.
# Prints: export PATINJECT_TEST_GORELEASER=<path to the goreleaser binary>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
version=v2.15.1
bin=$cache/goreleaser-$version/goreleaser

if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "goreleaser.sh: go is not on PATH" >&2; exit 1; }
  echo "goreleaser.sh: go install github.com/goreleaser/goreleaser/v2@$version into $(dirname "$bin")" >&2
  mkdir -p "$(dirname "$bin")"
  GOBIN=$(dirname "$bin") GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "github.com/goreleaser/goreleaser/v2@$version" >&2
fi
[ -x "$bin" ] || { echo "goreleaser.sh: $bin missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_GORELEASER=%q\n' "$bin"
