#!/usr/bin/env bash
# CLI start-up as a person runs it: wall and CPU time of `bin/keywarden` client calls against a running dev server,
# beside a plain `java -version` measured in the same run (the floor), every command once per round, N rounds.
#
#   benchmarks/cli-startup.sh [N] [OUT.md]      N defaults to 15, OUT to benchmarks/results/cli-startup.md
#
# The "before" columns come from benchmarks/cli-startup-baseline.tsv (command, median wall, median CPU, floor), the
# figures of the same script before the start-up work. Timings on a shared machine are noisy: the table says the
# load average before and after, and the ratio is to the floor of the same run. The target is on wall time; the CPU
# ratio (user + system against the floor's) is there because it moves far less with the load.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
rounds="${1:-15}"
out="${2:-$root/benchmarks/results/cli-startup.md}"
jar="$root/kms-server/target/keywarden.jar"
kw="$root/bin/keywarden"
baseline="$root/benchmarks/cli-startup-baseline.tsv"
target=6
[ -f "$jar" ] || { echo "build the jar first (make build): $jar is missing" >&2; exit 1; }

work="$(mktemp -d /tmp/keywarden-cli-bench.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
grpc_port="$(free_port)"
http_port="$(free_port)"

# A dev server (SoftHSM2 token when installed), as `make dev` runs it; it prints its root token once unsealed.
"$kw" server --dev --grpc-address "127.0.0.1:$grpc_port" --http-address "127.0.0.1:$http_port" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  grep -q 'root token:' "$work/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "the dev server stopped" >&2; exit 1; }
  sleep 0.5
done
grep -q 'root token:' "$work/server.log" || { cat "$work/server.log" >&2; echo "no dev server after 60 s" >&2; exit 1; }
export KEYWARDEN_ADDR="127.0.0.1:$grpc_port"
KEYWARDEN_TOKEN="$(awk '/root token:/ {print $3; exit}' "$work/server.log")"
export KEYWARDEN_TOKEN

# What the measured commands need: a transit key, a CA with a role, a CSR.
"$kw" transit create-key bench >/dev/null
"$kw" pki generate-root --common-name "Bench Root CA" >/dev/null
"$kw" pki create-role web --allowed-domains example.com --allow-subdomains --server --ttl 1h >/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/api.key" -out "$work/api.csr" \
  -subj /CN=api.example.com -addext subjectAltName=DNS:api.example.com 2>/dev/null
printf 'card 4111' >"$work/plain.txt"

names=(floor version status encrypt sign-csr)
labels=("java -version (floor)" "keywarden --version" "keywarden status" "keywarden transit encrypt"
  "keywarden pki sign-csr")
run() {
  case "$1" in
    floor) java -version ;;
    version) "$kw" --version ;;
    status) "$kw" status ;;
    encrypt) "$kw" transit encrypt bench --in "$work/plain.txt" ;;
    sign-csr) "$kw" pki sign-csr web --csr "$work/api.csr" ;;
  esac
}
for n in "${names[@]}"; do   # each command works before it is timed
  run "$n" >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; echo "'$n' failed" >&2; exit 1; }
done

load_before="$(uptime | sed 's/.*load average: //')"
TIMEFORMAT='%3R %3U %3S'
for i in $(seq 1 "$rounds"); do
  for n in "${names[@]}"; do
    { time run "$n" >/dev/null 2>&1; } 2>>"$work/$n.times"
  done
done
load_after="$(uptime | sed 's/.*load average: //')"

median() { sort -n | awk '{v[NR]=$1} END {printf "%.3f\n", (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
wall() { awk '{print $1}' "$work/$1.times" | median; }
cpu() { awk '{printf "%.3f\n", $2 + $3}' "$work/$1.times" | median; }
floor="$(wall floor)"
floor_cpu="$(cpu floor)"
base() { [ -f "$baseline" ] && awk -F'\t' -v n="$1" -v c="$2" '$1 == n {print $c}' "$baseline" || true; }
base_floor="$(base floor 2)"

{
  echo "CLI start-up, $(date -u +%Y-%m-%d) ($(nproc) cores; load average $load_before before, $load_after after;"
  echo "$rounds interleaved rounds; \`bin/keywarden\` against a local dev server; medians)."
  echo
  echo "| Command | wall (s) | CPU (s) | × floor | target | met | CPU × floor's CPU | before: wall (s) | before: CPU (s) | before: × floor |"
  echo "|---|---:|---:|---:|---|:---:|---:|---:|---:|---:|"
  for k in "${!names[@]}"; do
    n="${names[$k]}"
    w="$(wall "$n")"; c="$(cpu "$n")"
    bw="$(base "$n" 2)"; bc="$(base "$n" 3)"
    ratio="$(awk -v w="$w" -v f="$floor" 'BEGIN {printf "%.1f", w / f}')"
    cpu_ratio="$(awk -v c="$c" -v f="$floor_cpu" 'BEGIN {printf "%.1f", c / f}')"
    bratio=""
    [ -n "$bw" ] && [ -n "$base_floor" ] && bratio="$(awk -v w="$bw" -v f="$base_floor" 'BEGIN {printf "%.1f", w / f}')"
    if [ "$n" = floor ]; then
      echo "| ${labels[$k]} | $w | $c | 1.0 | | | 1.0 | ${bw:-} | ${bc:-} | ${bw:+1.0} |"
    else
      met="$(awk -v r="$ratio" -v t="$target" 'BEGIN {print (r <= t) ? "yes" : "**no**"}')"
      echo "| ${labels[$k]} | $w | $c | $ratio | ≤ ${target}× | $met | $cpu_ratio | ${bw:-} | ${bc:-} | ${bratio:-} |"
    fi
  done
} | tee "$out"
# The raw medians, in the baseline's format, for the next baseline.
for n in "${names[@]}"; do printf '%s\t%s\t%s\n' "$n" "$(wall "$n")" "$(cpu "$n")"; done >"${out%.md}.tsv"
