#!/usr/bin/env bash
# Builds patinject's release archives with goreleaser (.goreleaser.yaml).
#
#   scripts/release.sh snapshot          every archive and the checksums file in dist/, versioned
#                                        <next>-snapshot.<commit>; no tag, nothing published
#   scripts/release.sh prepare VERSION   build VERSION, then pin it (below). Commit the pins, then
#                                        tag vVERSION: the release workflow rebuilds the tag and
#                                        publishes only if it gets the same checksums.
#   scripts/release.sh build VERSION     the archives of VERSION (no leading v) in dist/ and nothing
#                                        else (what the release workflow runs)
#   scripts/release.sh pin VERSION       copy dist/'s checksums of VERSION to where they are pinned:
#                                        action/checksums/ (the GitHub Action), the defaults of
#                                        templates/patinject.yml (the GitLab component) and the
#                                        variables of tasks/gitlab/patinject.gitlab-ci.yml; and set
#                                        VERSION in task.json and vss-extension.json (an agent
#                                        updates a task only when its version changes)
#
# goreleaser is found as $GORELEASER, else on PATH, else installed by scripts/peers/goreleaser.sh.
# The build is reproducible: it stamps the commit and date of the last commit that changed
# anything but the pinned checksums, and uses that date for every file time; the go toolchain must
# be the one go.mod names.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,22p' "$0" >&2; exit 2; }
[ $# -ge 1 ] || usage
mode=$1
version=${2:-}
case $mode in
  snapshot) [ $# -eq 1 ] || usage ;;
  prepare|build|pin) [ $# -eq 2 ] || usage
    [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "release.sh: version $version: want MAJOR.MINOR.PATCH[-PRE], no leading v" >&2; exit 2; } ;;
  *) usage ;;
esac

# The files that pin a release's checksums: a commit that changes only these is not a source change.
pins=(action/checksums templates/patinject.yml tasks/gitlab/patinject.gitlab-ci.yml tasks/patinject/task.json vss-extension.json)
excludes=()
for p in "${pins[@]}"; do excludes+=(":(exclude)$p"); done
PATINJECT_COMMIT=$(git log -1 --format=%H -- . "${excludes[@]}")
PATINJECT_EPOCH=$(git log -1 --format=%ct "$PATINJECT_COMMIT")
PATINJECT_DATE=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd "$PATINJECT_COMMIT")
export PATINJECT_COMMIT PATINJECT_EPOCH PATINJECT_DATE
export CGO_ENABLED=0

pin() {
  local sums=dist/patinject_${version}_checksums.txt sha
  [ -f "$sums" ] || { echo "release.sh: no $sums (build $version first)" >&2; exit 1; }
  mkdir -p action/checksums
  cp "$sums" action/checksums/
  sha=$(sha256sum "$sums" | cut -d' ' -f1)
  sed -i -e "/^    version:/,/^    [a-z]/ s/^      default: .*/      default: \"$version\"/" \
    -e "/^    checksums_sha256:/,/^    [a-z]/ s/^      default: .*/      default: \"$sha\"/" templates/patinject.yml
  sed -i -e "s/^    PATINJECT_RELEASE_VERSION: .*/    PATINJECT_RELEASE_VERSION: \"$version\"/" \
    -e "s/^    PATINJECT_RELEASE_CHECKSUMS_SHA256: .*/    PATINJECT_RELEASE_CHECKSUMS_SHA256: \"$sha\"/" tasks/gitlab/patinject.gitlab-ci.yml
  local core=${version%%-*} major minor patch
  IFS=. read -r major minor patch <<<"$core"
  sed -i -e "s/^    \"Major\": [0-9]*,/    \"Major\": $major,/" -e "s/^    \"Minor\": [0-9]*,/    \"Minor\": $minor,/" \
    -e "s/^    \"Patch\": [0-9]*$/    \"Patch\": $patch/" tasks/patinject/task.json
  sed -i -e "s/^  \"version\": \"[^\"]*\",/  \"version\": \"$core\",/" vss-extension.json
  echo "release.sh: pinned $version: action/checksums/$(basename "$sums"); templates/patinject.yml and tasks/gitlab/patinject.gitlab-ci.yml (checksums file SHA-256 $sha)" >&2
}


if [ "$mode" = pin ]; then
  pin
  exit 0
fi

goreleaser=${GORELEASER:-$(command -v goreleaser || true)}
if [ -z "$goreleaser" ]; then
  eval "$(bash scripts/peers/goreleaser.sh)"
  goreleaser=$PATINJECT_TEST_GORELEASER
fi

if [ "$mode" = snapshot ]; then
  "$goreleaser" release --snapshot --clean
  exit 0
fi

want=$(sed -n 's/^go \([0-9.]*\)$/go\1/p' go.mod)
have=$(go env GOVERSION)
if [ "$want" != "$have" ]; then
  echo "release.sh: go.mod names $want, go is $have: the archives would not be reproducible" >&2
  exit 1
fi
GORELEASER_CURRENT_TAG=v$version "$goreleaser" release --clean --skip=publish,validate,announce
[ "$mode" = prepare ] && pin
exit 0
