#!/usr/bin/env bash
# Test peer: a HashiCorp Vault 1.21.4 server for the dev servers of the vault tests, see
# ../shared/TEST-PEERS.md. Built from the Go module proxy by ../shared/tools/test-vault.sh once
# (about 4 GB of modules and 20-30 minutes on a fresh machine), cached after.
# Prints: export PATINJECT_TEST_VAULT=<path to the vault binary>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
here=$(cd "$(dirname "$0")" && pwd)

# shared/ lives beside the repository: <clone>/../shared, in CI as on a workstation.
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
tool=$root/../shared/tools/test-vault.sh
[ -f "$tool" ] || { echo "vault.sh: test-vault.sh not found beside the repository ($root/../shared/tools)" >&2; exit 1; }

bin=$cache/vault-1.21.4
if [ ! -x "$bin" ]; then
  command -v go >/dev/null 2>&1 || { echo "vault.sh: go is not on PATH" >&2; exit 1; }
  echo "vault.sh: building Vault 1.21.4 into $cache (once; 20-30 minutes on a fresh machine)" >&2
fi
bin=$(bash "$tool" "$cache" | tail -n 1)
[ -x "$bin" ] || { echo "vault.sh: $bin missing after the build" >&2; exit 1; }
printf 'export PATINJECT_TEST_VAULT=%q\n' "$bin"
