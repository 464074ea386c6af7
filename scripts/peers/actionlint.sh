#!/usr/bin/env bash
# Test peer: actionlint v1.7.12, the linter for GitHub Actions workflows, built from the Go
# module proxy once, cached. The release tests run it on .github/workflows/*.yml.
# Prints: export PATINJECT_TEST_ACTIONLINT=<path to the actionlint binary>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
version=v1.7.12
bin=$cache/actionlint-$version/actionlint

if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "actionlint.sh: go is not on PATH" >&2; exit 1; }
  echo "actionlint.sh: go install github.com/rhysd/actionlint/cmd/actionlint@$version into $(dirname "$bin")" >&2
  mkdir -p "$(dirname "$bin")"
  GOBIN=$(dirname "$bin") GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
fi
[ -x "$bin" ] || { echo "actionlint.sh: $bin missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_ACTIONLINT=%q\n' "$bin"
