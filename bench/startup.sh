#!/usr/bin/env bash
# What `patinject run` adds to starting a command: `patinject run --secret X=env:Y -- true`
# against bench/floor (a Go program that only starts its arguments and waits, the least a Go
# wrapper can cost) and against bare `true`. Goal: patinject - floor under 3 ms.
#
# Two more rows split the difference: `patinject version` (process start and package init, no
# command, no redactor) against `floor` with no arguments (an empty Go program), and
# `run --no-redact` (everything but redaction: no pipes, pumps or patterns).
#
#   bench/startup.sh          200 runs each
#   RUNS=50 bench/startup.sh
source "$(dirname "$0")/lib.sh"
RUNS=${RUNS:-200}

build_patinject
(cd "$root" && go build -o "$work/floor" ./bench/floor)
# The release build: static (no cgo, so no dynamic loader at start) and without urfave/cli's
# man-page generator, whose package init alone costs about 0.3 ms.
(cd "$root" && CGO_ENABLED=0 go build -trimpath -tags urfave_cli_no_docs -o "$work/patinject-release" ./cmd/patinject)
export Y=startup-bench-secret-value-0123456789

names=(
  "patinject run --secret X=env:Y -- true"
  "floor true (Go: exec and wait)"
  "true"
  "patinject version (start + init only)"
  "floor (empty Go program)"
  "patinject run --no-redact ... -- true"
  "release build: patinject run ... -- true"
)
cmds=(
  "$bin run --secret X=env:Y -- true"
  "$work/floor true"
  "$(type -P true)"
  "$bin version"
  "$work/floor"
  "$bin run --no-redact --secret X=env:Y -- true"
  "$work/patinject-release run --secret X=env:Y -- true"
)
if have_hyperfine; then
  # -N: no shell in between, so the figures are the programs' own.
  hyperfine -N --style none --runs "$RUNS" --warmup 10 --export-csv "$work/s.csv" "${cmds[@]}" > /dev/null 2>&1
  mapfile -t med < <(awk -F, 'NR > 1 { print $4 }' "$work/s.csv")
else
  med=()
  # The commands are plain words: run them without a shell, as hyperfine -N does.
  # shellcheck disable=SC2086
  for c in "${cmds[@]}"; do med+=("$(median_direct "$RUNS" $c)"); done
fi

ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
diff_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a - b) * 1000 }'; }
printf '%-44s %8s\n' "median of $RUNS runs" "ms"
for i in "${!names[@]}"; do printf '%-44s %8s\n' "${names[$i]}" "$(ms "${med[$i]}")"; done
echo
printf '%-44s %8s\n' "patinject - floor" "$(diff_ms "${med[0]}" "${med[1]}")"
printf '%-44s %8s\n' "  of which start + package init" "$(diff_ms "${med[3]}" "${med[4]}")"
printf '%-44s %8s\n' "  of which redaction (pipes, pumps)" "$(diff_ms "${med[0]}" "${med[5]}")"
printf '%-44s %8s\n' "release build - floor" "$(diff_ms "${med[6]}" "${med[1]}")"
echo "goal: patinject - floor under 3 ms"
