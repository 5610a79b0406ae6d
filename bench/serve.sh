#!/usr/bin/env bash
# `vault serve` under load: wrk with 64 connections for 10 s from loopback, over plain
# HTTP and over TLS (a self-signed RSA certificate), against a served profile whose
# token is cached. Prints Markdown; docs/performance.md records a run. Needs wrk
# (apt-get install wrk) and, for TLS, openssl. bench/cli.sh runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/serve.sh needs wrk: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet --bin vault --example make_vault
bin=$PWD/target/release
work=$(mktemp -d)
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export SPVAULT_PASSPHRASE="correct horse battery staple"
export SPVAULT_FILE=$work/vault.toml
"$bin/examples/make_vault" "$SPVAULT_FILE" 10 8 1

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# run_wrk SCHEME [serve flags...]: serves p0, loads it, prints wrk's figures.
run_wrk() {
  local scheme=$1
  shift
  local port
  port=$(free_port)
  "$bin/vault" serve p0 --listen "127.0.0.1:$port" --key-file "$work/serve.key" "$@" > "$work/serve.log" &
  serve_pid=$!
  for _ in $(seq 100); do grep -q Serving "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
  echo '```'
  wrk -t2 -c64 -d10s --latency -H "Authorization: Bearer $(cat "$work/serve.key")" "$scheme://127.0.0.1:$port/token/p0" \
    | grep -E 'Latency|50%|99%|Requests/sec|requests in|Socket errors'
  echo "peak RSS of vault serve: $(awk '/VmHWM/ {print $2, $3}' "/proc/$serve_pid/status")"
  echo '```'
  kill "$serve_pid"
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

echo "## vault serve: GET /token with 64 connections (wrk, 10 s), plain HTTP"
echo
run_wrk http
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  echo "## The same over TLS (RSA 2048, keep-alive connections)"
  echo
  run_wrk https --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
fi
