#!/usr/bin/env bash
# Peak resident memory of `patinject run` with 50 secrets while `cat` pushes 256 MiB and 1 GiB
# through the redactor. The redactor holds at most one pattern's length, so the peak must not grow
# with the output. Goal: under 32 MiB, the same for both sizes.
#
#   bench/rss.sh
#   SIZES_MB="64 256" bench/rss.sh
source "$(dirname "$0")/lib.sh"
SIZES_MB=${SIZES_MB:-256 1024}

if [ ! -x /usr/bin/time ]; then
  # GNU time reports "Maximum resident set size"; bash's time keyword does not.
  if [ "$(id -u)" = 0 ]; then apt-get install -y time > /dev/null; else echo "rss.sh: install GNU time (apt-get install time)" >&2; exit 1; fi
fi

build_patinject
make_secrets 50
peak_kib() { /usr/bin/time -v "$@" 2>&1 > /dev/null | awk -F': ' '/Maximum resident set size/ { print $2 }'; }

printf '%-40s %10s\n' "patinject run, 50 secrets" "peak RSS"
printf '%-40s %7.1f MiB\n' "-- true (no output)" "$(awk -v k="$(peak_kib "$bin" run "${secret_args[@]}" -- true)" 'BEGIN { print k / 1024 }')"
for size in $SIZES_MB; do
  make_bigfile "$size"
  printf '%-40s %7.1f MiB\n' "-- cat ($size MiB)" "$(awk -v k="$(peak_kib "$bin" run "${secret_args[@]}" -- cat "$bigfile")" 'BEGIN { print k / 1024 }')"
done
echo "goal: under 32 MiB, flat in output size"
