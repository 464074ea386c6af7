#!/usr/bin/env bash
# Test peer: azure-pipelines-task-lib 5.281.0 from npm, whose command parser
# (taskcommand.commandFromString) checks what patinject emits for Azure Pipelines, see
# ../shared/TEST-PEERS.md. Idempotent, cached.
# Prints: export PATINJECT_TEST_TASKLIB=<directory holding node_modules/azure-pipelines-task-lib>
set -euo pipefail
cache=${PATINJECT_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/patinject-test}
dir=$cache/tasklib
lib=$dir/node_modules/azure-pipelines-task-lib/taskcommand.js

if [ ! -f "$lib" ]; then
  command -v npm >/dev/null 2>&1 || { echo "tasklib.sh: npm is not on PATH" >&2; exit 1; }
  echo "tasklib.sh: npm install azure-pipelines-task-lib@5.281.0 into $dir" >&2
  mkdir -p "$dir"
  printf '%s\n' '{"private": true, "dependencies": {"azure-pipelines-task-lib": "5.281.0"}}' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
[ -f "$lib" ] || { echo "tasklib.sh: $lib missing after install" >&2; exit 1; }
printf 'export PATINJECT_TEST_TASKLIB=%q\n' "$dir"
