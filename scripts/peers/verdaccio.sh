#!/usr/bin/env bash
# Test peer: the verdaccio 6.8.0 npm registry (newer versions need node 22), see
# ../shared/TEST-PEERS.md. The override is needed because the registry here serves only the
# `latest` dist-tag and a dependency asks for `cjs`. Idempotent, cached.
# Prints: export PATINJECT_TEST_VERDACCIO=<path to verdaccio's bin script>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
dir=$cache/verdaccio
bin=$dir/node_modules/verdaccio/bin/verdaccio

if [ ! -f "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "verdaccio.sh: npm is not on PATH" >&2; exit 1; }
  echo "verdaccio.sh: npm install verdaccio@6.8.0 into $dir" >&2
  mkdir -p "$dir"
  cat >"$dir/package.json" <<'JSON'
{"private": true, "dependencies": {"verdaccio": "6.8.0"}, "overrides": {"verdaccio-audit": {"node-fetch": "2.7.0"}}}
JSON
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
[ -f "$bin" ] || { echo "verdaccio.sh: $bin missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_VERDACCIO=%q\n' "$bin"
