#!/usr/bin/env bash
# Test peer: nektos/act v0.2.89, the GitHub Actions runner emulation (host mode, no Docker), see
# ../shared/TEST-PEERS.md. Built from the Go module proxy once (about 2.5 minutes), cached.
# Prints: export PATINJECT_TEST_ACT=<path to the act binary>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
bin=$cache/bin/act

if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "act.sh: go is not on PATH" >&2; exit 1; }
  echo "act.sh: go install github.com/nektos/act@v0.2.89 into $cache/bin" >&2
  mkdir -p "$cache/bin"
  GOBIN=$cache/bin go install github.com/nektos/act@v0.2.89 >&2
fi
[ -x "$bin" ] || { echo "act.sh: $bin missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_ACT=%q\n' "$bin"
