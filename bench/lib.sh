# Shared by the bench scripts: building, test data, secrets and timing. Sourced, not run.
# Everything big goes in $work (a temporary directory removed on exit), never in the tree.

set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/patinject-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build_patinject sets $bin: $PATINJECT when given (a binary built elsewhere), else a fresh build
# of this tree.
build_patinject() {
  if [ -n "${PATINJECT:-}" ]; then
    bin=$PATINJECT
  else
    (cd "$root" && go build -o "$work/patinject" ./cmd/patinject)
    bin=$work/patinject
  fi
  echo "patinject: $bin ($("$bin" version 2>/dev/null | head -n1 || true))" >&2
}

# make_bigfile SIZE_MB writes $work/big.txt: CI-like text (log lines, JSON, hex ids, base64 lines),
# an 8 MiB sample repeated up to the size.
make_bigfile() {
  local size_mb=$1
  awk -v seed=42 'BEGIN {
    srand(seed)
    nw = split("INFO DEBUG WARN building target linking ok github.com/patinject cache hit miss the Step Downloading npm deprecated compiling src/main.rs test passed", w, " ")
    while (total < 5 * 1024 * 1024) {
      r = int(rand() * 3)
      if (r == 0) {
        line = sprintf("2024-05-01T12:%02d:%02d.%03dZ", int(rand()*60), int(rand()*60), int(rand()*1000))
        n = 3 + int(rand() * 10)
        for (i = 0; i < n; i++) line = line " " w[1 + int(rand() * nw)]
      } else if (r == 1) {
        line = sprintf("{\"id\":\"%08x%08x\",\"name\":\"%s\",\"count\":%d,\"ok\":true}", int(rand()*2^31), int(rand()*2^31), w[1 + int(rand() * nw)], int(rand()*1e6))
      } else {
        line = sprintf("commit %08x%08x%08x%08x%08x", int(rand()*2^31), int(rand()*2^31), int(rand()*2^31), int(rand()*2^31), int(rand()*2^31))
      }
      print line
      total += length(line) + 1
    }
  }' > "$work/text.part"
  head -c $((2 << 20)) /dev/urandom | base64 -w 76 > "$work/b64.part"
  # Interleave the two so that base64 and text alternate line by line.
  paste -d '\n' "$work/text.part" "$work/b64.part" | grep -v '^$' > "$work/sample.txt"
  rm -f "$work/text.part" "$work/b64.part"
  local want=$((size_mb << 20))
  : > "$work/big.txt"
  while [ "$(stat -c %s "$work/big.txt")" -lt "$want" ]; do cat "$work/sample.txt" >> "$work/big.txt"; done
  truncate -s "$want" "$work/big.txt"
  bigfile=$work/big.txt
}

# make_secrets COUNT exports V_1..V_COUNT (32 random alphanumerics each) and sets secret_args to
# the matching --secret S_i=env:V_i flags.
make_secrets() {
  secret_args=()
  local i v
  for ((i = 1; i <= $1; i++)); do
    v=$(head -c 128 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 32)
    [ ${#v} -eq 32 ] || { i=$((i - 1)); continue; }
    export "V_$i=$v"
    secret_args+=(--secret "S_$i=env:V_$i")
  done
}

# have_hyperfine: whether to time with hyperfine (NO_HYPERFINE=1 tries the fallback).
have_hyperfine() { [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine > /dev/null; }

# median_of: the median of the numbers on stdin, one a line.
median_of() { sort -g | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }

# median_direct RUNS WORD...: the median wall time of running WORD... (no shell) RUNS times, read
# with bash's own clock, so no process is started to read it.
median_direct() {
  local runs=$1 i t0 t1
  shift
  "$@" > /dev/null 2>&1 || true # warm-up
  for ((i = 0; i < runs; i++)); do
    t0=$EPOCHREALTIME
    "$@" > /dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    echo "$t0 $t1"
  done | awk '{ printf "%.6f\n", $2 - $1 }' | median_of
}

# median_seconds RUNS CMD: the median wall time of running CMD (a shell command line) RUNS times,
# with hyperfine when it is installed, else with bash's own clock.
median_seconds() {
  local runs=$1 cmd=$2
  if have_hyperfine; then
    hyperfine --style none --runs "$runs" --warmup 1 --export-csv "$work/h.csv" "$cmd" > /dev/null 2>&1
    awk -F, 'NR == 2 { print $4 }' "$work/h.csv"
  else
    median_direct "$runs" bash -c "$cmd"
  fi
}

# make_escfile SIZE_MB writes $work/esc.txt: CI-like text full of escape characters, the worst
# case for the escaped readings: URLs with query strings and percent-escapes, percentages, JSON
# with escaped quotes, newlines and Windows paths, XML with entities, an 8 MiB sample repeated.
make_escfile() {
  local size_mb=$1
  awk -v seed=11 'BEGIN {
    srand(seed)
    nw = split("INFO DEBUG WARN building target linking ok cache hit miss Step Downloading npm compiling test passed", w, " ")
    while (total < 8 * 1024 * 1024) {
      r = int(rand() * 5)
      ts = sprintf("2024-05-01T12:%02d:%02d.%03dZ", int(rand()*60), int(rand()*60), int(rand()*1000))
      if (r == 0) line = sprintf("%s GET https://registry.example.com/%s/-/%s-%d.%d.tgz?arch=amd64&os=linux&q=a%%20b%%2Fc %d%% done", ts, w[1 + int(rand()*nw)], w[1 + int(rand()*nw)], int(rand()*9), int(rand()*20), int(rand()*100))
      else if (r == 1) line = sprintf("{\"ts\":\"%s\",\"msg\":\"%s \\\"%s\\\" failed:\\n  at C:\\\\Users\\\\build\\\\%s.js:%d\\n\",\"level\":\"%s\"}", ts, w[1 + int(rand()*nw)], w[1 + int(rand()*nw)], w[1 + int(rand()*nw)], int(rand()*900), w[1 + int(rand()*3)])
      else if (r == 2) line = sprintf("%s <item name=\"%s &amp; %s\" value=\"&lt;%d&gt;\" note=\"&#x41;&#66;\"/>", ts, w[1 + int(rand()*nw)], w[1 + int(rand()*nw)], int(rand()*1e6))
      else {
        line = ts
        n = 3 + int(rand() * 10)
        for (i = 0; i < n; i++) line = line " " w[1 + int(rand() * nw)]
      }
      print line
      total += length(line) + 1
    }
  }' > "$work/esc.sample"
  local want=$((size_mb << 20))
  : > "$work/esc.txt"
  while [ "$(stat -c %s "$work/esc.txt")" -lt "$want" ]; do cat "$work/esc.sample" >> "$work/esc.txt"; done
  truncate -s "$want" "$work/esc.txt"
  escfile=$work/esc.txt
}

# JWT_HEADER is the header nearly every JWT starts with (RS256), so JWTs share their first 37
# characters: the hard case for a matcher that starts from the beginnings of its patterns.
JWT_HEADER='eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.'

# jwt_awk is an awk program that prints COUNT random JWTs (header, a payload of about 200
# characters starting with eyJ, a 342-character signature), one a line, seeded with SEED.
jwt_awk='
  function r64(n,   s, i) { s = ""; for (i = 0; i < n; i++) s = s substr(a, 1 + int(rand() * 64), 1); return s }
  function jwt() { return h "eyJ" r64(190 + int(rand() * 40)) "." r64(342) }
  BEGIN { srand(seed); a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" }'

# make_jwtfile SIZE_MB writes $work/jwt.txt: a log full of bearer tokens (two lines in three
# carry one), none of them a secret, an 8 MiB sample repeated up to the size.
make_jwtfile() {
  local size_mb=$1
  awk -v seed=7 -v h="$JWT_HEADER" "$jwt_awk"'
    BEGIN {
      while (total < 8 * 1024 * 1024) {
        ts = sprintf("2024-05-01T12:%02d:%02d.%03dZ", int(rand()*60), int(rand()*60), int(rand()*1000))
        if (rand() < 0.67) line = ts " INFO http: GET https://api.example.com/v1/items/" int(rand()*1e6) " Authorization: Bearer " jwt()
        else line = ts " INFO http: 200 OK in " int(rand()*900) "ms"
        print line
        total += length(line) + 1
      }
    }' > "$work/jwt.sample"
  local want=$((size_mb << 20))
  : > "$work/jwt.txt"
  while [ "$(stat -c %s "$work/jwt.txt")" -lt "$want" ]; do cat "$work/jwt.sample" >> "$work/jwt.txt"; done
  truncate -s "$want" "$work/jwt.txt"
  jwtfile=$work/jwt.txt
}

# make_jwt_secrets COUNT exports V_1..V_COUNT (random JWTs with the common header, none of
# them in the JWT file) and sets secret_args to the matching --secret S_i=env:V_i flags.
make_jwt_secrets() {
  secret_args=()
  local i=0 v
  while IFS= read -r v; do
    i=$((i + 1))
    export "V_$i=$v"
    secret_args+=(--secret "S_$i=env:V_$i")
  done < <(awk -v seed=$((RANDOM + 1000)) -v h="$JWT_HEADER" -v n="$1" "$jwt_awk"' BEGIN { for (j = 0; j < n; j++) print jwt() }')
}

# paired RUNS PIPE_CMD CMD: runs the shell command lines PIPE_CMD and CMD back to back RUNS
# times (after one warm-up of each), so that both see the same load on a shared machine, and
# prints the median seconds of each and the median of the per-round ratios PIPE/CMD.
paired() {
  local runs=$1 a=$2 b=$3 i t0 t1 t2
  bash -c "$a" > /dev/null 2>&1 || true
  bash -c "$b" > /dev/null 2>&1 || true
  for ((i = 0; i < runs; i++)); do
    t0=$EPOCHREALTIME
    bash -c "$a" > /dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    bash -c "$b" > /dev/null 2>&1 || true
    t2=$EPOCHREALTIME
    echo "$t0 $t1 $t2"
  done | awk '{ p[NR] = $2 - $1; c[NR] = $3 - $2; r[NR] = p[NR] / c[NR] }
    function med(x, n,   i, j, t, y) { for (i = 1; i <= n; i++) y[i] = x[i]
      for (i = 2; i <= n; i++) for (j = i; j > 1 && y[j-1] > y[j]; j--) { t = y[j]; y[j] = y[j-1]; y[j-1] = t }
      return (n % 2) ? y[(n + 1) / 2] : (y[n / 2] + y[n / 2 + 1]) / 2 }
    END { printf "%.6f %.6f %.4f\n", med(p, NR), med(c, NR), med(r, NR) }'
}
