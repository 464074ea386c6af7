#!/usr/bin/env bash
# Throughput of `patinject run -- cat FILE` (output through the redactor, every form and reading
# of every secret in) against the pipe limit `cat FILE | cat`, in four cases:
#
#   CI-like text (log lines, JSON, hex ids, wrapped base64), 1 and 50 random secrets
#   JWT-heavy text (`Authorization: Bearer eyJ...` logs), 20 and 1,000 JWT secrets, all sharing
#   the usual `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.` header with each other and with the log's
#   tokens
#
# The machine is shared, so each round runs the pipe and patinject back to back, and the figures
# are the medians over N rounds (of the seconds, and of the per-round ratios). Goals: 50 random
# secrets and 20 JWT secrets at 0.50x the pipe or better, 1,000 JWT secrets at 0.25x.
#
#   bench/throughput.sh                 1 GiB files, median of 3 rounds
#   SIZE_MB=256 N=5 bench/throughput.sh
#   CASES="jwt20 jwt1000" bench/throughput.sh
#   CASES=esc50 bench/throughput.sh    text full of escape characters (&, %, \", \n, \\), 50 secrets
#   PATINJECT=/path/to/patinject bench/throughput.sh   use that binary instead of building one
source "$(dirname "$0")/lib.sh"
SIZE_MB=${SIZE_MB:-1024}
CASES=${CASES:-ci1 ci50 jwt20 jwt1000}

build_patinject
echo "making ${SIZE_MB} MiB of CI-like output and of JWT-heavy output ..." >&2
make_bigfile "$SIZE_MB"
make_jwtfile "$SIZE_MB"
case " $CASES " in *" esc50 "*) make_escfile "$SIZE_MB" ;; esac

rows=()
for c in $CASES; do
  case $c in
    ci1) make_secrets 1 && file=$bigfile name="CI text, 1 secret" goal=- ;;
    ci50) make_secrets 50 && file=$bigfile name="CI text, 50 secrets" goal=0.50 ;;
    esc50) make_secrets 50 && file=$escfile name="escape-heavy text, 50 secrets" goal=- ;;
    jwt20) make_jwt_secrets 20 && file=$jwtfile name="JWT text, 20 JWT secrets" goal=0.50 ;;
    jwt1000) make_jwt_secrets 1000 && file=$jwtfile name="JWT text, 1000 JWT secrets" goal=0.25 ;;
    *) echo "throughput.sh: unknown case $c" >&2 && exit 2 ;;
  esac
  # A figure is only worth something if every byte arrived: the file holds no secret, so what
  # patinject passes on must be the file exactly.
  want=$(sha256sum < "$file")
  got=$("$bin" run "${secret_args[@]}" -- cat "$file" | sha256sum)
  if [ "$got" != "$want" ]; then
    echo "throughput.sh: $name: patinject's output differs from the file (sha256 $got, want $want): the figures are void" >&2
    exit 1
  fi
  echo "$name: output checked, byte for byte" >&2
  # The flags go through a file: 1,000 JWT flags are too long to print into a command line
  # for each round.
  printf '%q ' "${secret_args[@]}" > "$work/args"
  read -r p s r < <(paired "$N" "cat '$file' | cat > /dev/null" "'$bin' run $(cat "$work/args") -- cat '$file' > /dev/null")
  rows+=("$name|$p|$s|$r|$goal")
done

bytes=$((SIZE_MB << 20))
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
printf '%-30s %9s %11s %7s %6s\n' "$SIZE_MB MiB, median of $N" "pipe MB/s" "patinject" "x pipe" "goal"
for row in "${rows[@]}"; do
  IFS='|' read -r name p s r goal <<< "$row"
  printf '%-30s %9s %11s %7.2f %6s\n' "$name" "$(mbps "$p")" "$(mbps "$s")" "$r" "$goal"
done
