#!/usr/bin/env bash
# Throughput of `patinject run -- cat BIGFILE` (output through the redactor) against the pipe
# limit `cat BIGFILE | cat`, with 1 and with 50 secrets. Goal: 50 secrets at 0.5x the pipe or more.
#
#   bench/throughput.sh                 1 GiB, median of 3 runs
#   SIZE_MB=256 N=5 bench/throughput.sh
#   PATINJECT=/path/to/patinject bench/throughput.sh   use that binary instead of building one
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-1024}

build_patinject
echo "making ${SIZE_MB} MiB of CI-like output ..." >&2
make_bigfile "$SIZE_MB"
bytes=$(stat -c %s "$bigfile")

mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

pipe=$(median_seconds "$N" "cat '$bigfile' | cat > /dev/null")
make_secrets 1
one=$(median_seconds "$N" "'$bin' run ${secret_args[*]} -- cat '$bigfile' > /dev/null")
make_secrets 50
fifty=$(median_seconds "$N" "'$bin' run ${secret_args[*]} -- cat '$bigfile' > /dev/null")

# A figure is only worth something if every byte arrived: the file holds no secret, so what
# patinject passes on must be the file exactly.
want=$(sha256sum < "$bigfile")
got=$("$bin" run "${secret_args[@]}" -- cat "$bigfile" | sha256sum)
if [ "$got" != "$want" ]; then
  echo "throughput.sh: patinject's output differs from the file (sha256 $got, want $want): the figures are void" >&2
  exit 1
fi
echo "output checked: patinject run with 50 secrets passed the ${SIZE_MB} MiB through byte for byte" >&2

printf '%-34s %10s %8s %8s\n' "$((bytes >> 20)) MiB, median of $N" "MB/s" "seconds" "x pipe"
for row in "pipe: cat | cat:$pipe" "patinject run, 1 secret:$one" "patinject run, 50 secrets:$fifty"; do
  name=${row%:*} s=${row##*:}
  printf '%-34s %10s %8.3f %8.2f\n' "$name" "$(mbps "$s")" "$s" "$(awk -v p="$pipe" -v s="$s" 'BEGIN { print p / s }')"
done
echo "goal: 50 secrets at 0.50x the pipe or better"
