#!/usr/bin/env bash
# `vault proxy` under load, against the stand-in playing SP-API on loopback (no added
# latency): the latency the proxy adds (wrk, 1 connection, p50 and p99, direct and
# through the proxy) and requests/s through it with 64 connections, for an operation
# without a usage plan (AWD listReplenishmentOrders: unpaced), with the proxy's peak
# RSS. Prints Markdown; docs/performance.md records a run. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/proxy.sh needs wrk: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet --bin vault --example make_vault --example lwa_standin
bin=$PWD/target/release
work=$(mktemp -d)
proxy_pid=""
standin_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
  [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export SPVAULT_PASSPHRASE="correct horse battery staple"
export SPVAULT_FILE=$work/vault.toml
"$bin/examples/make_vault" "$SPVAULT_FILE" 1 8 1
LATENCY_MS=0 source bench/standin.sh
export SPVAULT_SPAPI_URL=${SPVAULT_LWA_TOKEN_URL%/auth/o2/token}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$bin/vault" proxy p0 --listen "127.0.0.1:$port" --key-file "$work/proxy.key" ${WORKERS:+--workers "$WORKERS"} > "$work/proxy.out" 2> /dev/null &
proxy_pid=$!
for _ in $(seq 100); do grep -q Proxying "$work/proxy.out" 2>/dev/null && break; sleep 0.1; done
key=$(cat "$work/proxy.key")
operation=/awd/2024-05-09/replenishmentOrders

figures() { grep -E '50%|99%|Requests/sec|Socket errors|Non-2xx'; }

echo "## vault proxy: latency added, 1 connection (wrk, 10 s)"
echo
echo '```'
echo "direct to the stand-in:"
wrk -t1 -c1 -d10s --latency -H "x-amz-access-token: x" "$SPVAULT_SPAPI_URL$operation" | figures
echo "through vault proxy:"
wrk -t1 -c1 -d10s --latency -H "x-amz-access-token: $key" "http://127.0.0.1:$port/p0$operation" | figures
echo '```'
echo
echo "## vault proxy: 64 connections (wrk, 10 s)"
echo
echo '```'
echo "direct to the stand-in:"
wrk -t2 -c64 -d10s --latency -H "x-amz-access-token: x" "$SPVAULT_SPAPI_URL$operation" | figures
echo "through vault proxy:"
wrk -t2 -c64 -d10s --latency -H "x-amz-access-token: $key" "http://127.0.0.1:$port/p0$operation" | figures
echo "peak RSS of vault proxy: $(awk '/VmHWM/ {print $2, $3}' "/proc/$proxy_pid/status")"
echo '```'
