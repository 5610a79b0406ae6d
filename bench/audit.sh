#!/usr/bin/env bash
# What the access log costs (issue 26), against a build without it:
#   BASELINE=/path/to/older/vault bench/audit.sh
# `vault token` through the unlocked agent (hyperfine, the two builds alternating), and
# `vault serve` and `vault proxy` requests/s with 64 connections (wrk, 10 s, the two
# builds alternating, ROUNDS times), each against a vault of one profile; the per-entry
# cost itself is `cargo bench --bench vault_io -- audit`. Prints Markdown;
# docs/performance.md records a run. Needs hyperfine and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASELINE:?set BASELINE to a vault binary built without the access log}"
rounds=${ROUNDS:-3}
for tool in hyperfine wrk; do
  command -v "$tool" >/dev/null || { echo "bench/audit.sh needs $tool: apt-get install $tool" >&2; exit 1; }
done

cargo build --release --quiet --bin vault --example make_vault --example lwa_standin
bin=$PWD/target/release
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for vault in "$work"/*/vault.toml; do
    [ -f "$vault" ] && SPVAULT_FILE=$vault "$bin/vault" lock >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
export SPVAULT_PASSPHRASE="correct horse battery staple"
export XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR"
LATENCY_MS=0 source bench/standin.sh
pids+=("$standin_pid")
export SPVAULT_SPAPI_URL=${SPVAULT_LWA_TOKEN_URL%/auth/o2/token}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# One vault per build, each unlocked with its own agent: the old build's writes must
# not give the new one's vault a format it would upgrade.
declare -A binary=([baseline]=$BASELINE [current]=$bin/vault)
for build in baseline current; do
  mkdir -p "$work/$build"
  "$bin/examples/make_vault" "$work/$build/vault.toml" 1 8 1
  SPVAULT_FILE=$work/$build/vault.toml "${binary[$build]}" unlock >/dev/null
  SPVAULT_FILE=$work/$build/vault.toml "${binary[$build]}" token p0 >/dev/null
done

echo "## vault token p0, agent unlocked (hyperfine)"
echo
echo '```'
# No passphrase in the environment: the key can only come from the agent.
hyperfine -N --warmup 20 --runs 300 \
  -n baseline "env -u SPVAULT_PASSPHRASE SPVAULT_FILE=$work/baseline/vault.toml $BASELINE token p0" \
  -n current "env -u SPVAULT_PASSPHRASE SPVAULT_FILE=$work/current/vault.toml $bin/vault token p0" 2>&1 \
  | grep -E 'Time|±|faster|baseline|current' || true
echo '```'
echo

# throughput BUILD KIND: requests/s of `vault KIND p0` under wrk.
throughput() {
  local build=$1 kind=$2 port url header pid
  port=$(free_port)
  SPVAULT_FILE=$work/$build/vault.toml "${binary[$build]}" "$kind" p0 --listen "127.0.0.1:$port" \
    --key-file "$work/$build/$kind.key" > "$work/$build/$kind.out" 2> /dev/null &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do grep -qE 'Serving|Proxying' "$work/$build/$kind.out" 2>/dev/null && break; sleep 0.1; done
  if [ "$kind" = serve ]; then
    url="http://127.0.0.1:$port/token/p0"
    header="Authorization: Bearer $(cat "$work/$build/$kind.key")"
  else
    url="http://127.0.0.1:$port/p0/awd/2024-05-09/replenishmentOrders"
    header="x-amz-access-token: $(cat "$work/$build/$kind.key")"
  fi
  wrk -t2 -c64 -d10s -H "$header" "$url" | awk '/Requests\/sec/ {print $2}'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

for kind in serve proxy; do
  echo "## vault $kind: requests/s, 64 connections, $rounds rounds alternating"
  echo
  echo "| round | baseline | current |"
  echo "|---:|---:|---:|"
  for round in $(seq "$rounds"); do
    echo "| $round | $(throughput baseline "$kind") | $(throughput current "$kind") |"
  done
  echo
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
