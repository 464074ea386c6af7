#!/usr/bin/env bash
# Test peer and packaging tool: tfx-cli 0.23.1 from npm, which packs the Azure DevOps extension
# (.vsix, see vss-extension.json and scripts/vsix.sh). Idempotent, cached.
# Prints: export PATINJECT_TEST_TFX=<path to the tfx command>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
version=0.23.1
dir=$cache/tfx-$version
bin=$dir/node_modules/.bin/tfx

if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || { echo "tfx.sh: npm is not on PATH" >&2; exit 1; }
  echo "tfx.sh: npm install tfx-cli@$version into $dir" >&2
  mkdir -p "$dir"
  printf '%s\n' "{\"private\": true, \"dependencies\": {\"tfx-cli\": \"$version\"}}" >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
[ -x "$bin" ] || { echo "tfx.sh: $bin missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_TFX=%q\n' "$bin"
