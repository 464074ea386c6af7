#!/usr/bin/env bash
# Test peer: Apache Maven from Debian (3.8.7 on bookworm), for the --maven tests. Installed once
# with apt when mvn is missing. Prints: export PATINJECT_TEST_MVN=<path to mvn>
set -euo pipefail
if ! command -v mvn >/dev/null 2>&1; then
  echo "maven.sh: installing Debian's maven package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends maven >&2
fi
printf 'export PATINJECT_TEST_MVN=%q\n' "$(command -v mvn)"
