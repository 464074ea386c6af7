#!/usr/bin/env bash
# Packs the Azure DevOps extension (vss-extension.json): a .vsix holding the task tasks/patinject
# with a patinject binary for each agent platform inside it, as tasks/patinject/bin/<node
# platform>-<node arch>/patinject[.exe] (linux, darwin and win32 on x64 and arm64), which the task
# runs before anything on PATH.
#
#   scripts/vsix.sh [DIST [OUT]]
#
# DIST holds the release archives (default dist/, as scripts/release.sh leaves it: run
# `scripts/release.sh snapshot` or `scripts/release.sh build VERSION` first); the .vsix is written
# into OUT (default dist/). The extension's version is vss-extension.json's, or
# $PATINJECT_VSIX_VERSION. tfx-cli is $TFX, else installed by scripts/peers/tfx.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:-dist}
out=${2:-dist}
tfx=${TFX:-}
if [ -z "$tfx" ]; then
  eval "$(bash scripts/peers/tfx.sh)"
  tfx=$PATINJECT_TEST_TFX
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tasks/patinject"
cp vss-extension.json LICENSE "$stage/"
mkdir -p "$stage/tasks" && cp tasks/README.md "$stage/tasks/README.md"
for f in task.json index.js post.js common.js launch.js; do cp "tasks/patinject/$f" "$stage/tasks/patinject/"; done

for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  goos=${target%/*} goarch=${target#*/}
  node_platform=$goos node_arch=x64 exe=patinject ext=tar.gz
  [ "$goos" = windows ] && node_platform=win32 exe=patinject.exe ext=zip
  [ "$goarch" = arm64 ] && node_arch=arm64
  archive=$(ls "$dist"/patinject_*_"${goos}_${goarch}.$ext" 2>/dev/null | head -1)
  [ -n "$archive" ] || { echo "vsix.sh: no $goos/$goarch archive in $dist (run scripts/release.sh snapshot first)" >&2; exit 1; }
  # Checked against the release's own checksums before it goes in.
  sums=$(ls "$dist"/patinject_*_checksums.txt | head -1)
  want=$(awk -v f="$(basename "$archive")" '$2 == f { print $1 }' "$sums")
  got=$(sha256sum "$archive" | cut -d' ' -f1)
  [ "$want" = "$got" ] || { echo "vsix.sh: $archive does not match $sums" >&2; exit 1; }
  bin=$stage/tasks/patinject/bin/$node_platform-$node_arch
  mkdir -p "$bin"
  if [ "$ext" = zip ]; then
    unzip -q -o "$archive" "$exe" -d "$bin"
  else
    tar -xzf "$archive" -C "$bin" "$exe"
  fi
  chmod 0755 "$bin/$exe"
done

mkdir -p "$out"
args=(extension create --root "$stage" --manifest-globs vss-extension.json --output-path "$(cd "$out" && pwd)" --no-prompt)
[ -n "${PATINJECT_VSIX_VERSION:-}" ] && args+=(--override "{\"version\": \"$PATINJECT_VSIX_VERSION\"}")
"$tfx" "${args[@]}" >&2
ls "$out"/*.vsix
