#!/usr/bin/env bash
# Test peer: the real NuGet.exe 5.8 on Debian's mono (see ../shared/TEST-PEERS.md).
# Installs mono-complete through apt when `mono` is missing, and the nuget-exe@5.8.0 npm package
# (which ships nuget-5.8.0.exe, no download at install) into the cache. Idempotent.
# Prints: export PATINJECT_TEST_NUGET=<path to nuget-5.8.0.exe>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
dir=$cache/nuget

if ! command -v mono >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "nuget.sh: mono is missing and this user cannot apt-get install mono-complete" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "nuget.sh: installing mono-complete (takes a few minutes)" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mono-complete >&2
fi

exe=$dir/node_modules/nuget-exe/nuget-5.8.0.exe
if [ ! -f "$exe" ]; then
  echo "nuget.sh: npm install nuget-exe@5.8.0 into $dir" >&2
  mkdir -p "$dir"
  printf '{"private": true, "dependencies": {"nuget-exe": "5.8.0"}}\n' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
if [ ! -f "$exe" ]; then
  found=$(find "$dir/node_modules/nuget-exe" -name 'nuget*.exe' | head -n 1)
  [ -n "$found" ] || { echo "nuget.sh: no nuget*.exe in the nuget-exe package" >&2; exit 1; }
  exe=$found
fi
printf 'export PATINJECT_TEST_NUGET=%q\n' "$exe"
