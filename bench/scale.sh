#!/usr/bin/env bash
# Issue 17's table: what one command costs in a vault of 10,000 profiles against a
# vault of one, with tokens of real size and the minimum KDF. Time by hyperfine
# (mean), peak memory (max RSS) by GNU time over one run. Prints Markdown; the run in
# docs/performance.md came from here. Needs hyperfine and /usr/bin/time
# (apt-get install hyperfine time). bench/cli.sh runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench/scale.sh needs hyperfine: apt-get install hyperfine" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/scale.sh needs GNU time: apt-get install time" >&2; exit 1; }

cargo build --release --quiet --bin vault --example lwa_standin --example make_vault
bin=$PWD/target/release
work=$(mktemp -d)
chmod 700 "$work"
standin_pid=""
cleanup() {
  [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null
  for n in 1 10000; do SPVAULT_FILE=$work/p$n.toml XDG_RUNTIME_DIR=$work/run "$bin/vault" lock >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export SPVAULT_PASSPHRASE="correct horse battery staple"
# shellcheck source=bench/standin.sh
. bench/standin.sh
export XDG_RUNTIME_DIR=$work/run
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

for n in 1 10000; do "$bin/examples/make_vault" "$work/p$n.toml" "$n" 8 1; done
echo "## Scale: 1 against 10,000 profiles (minimum KDF)"
echo
echo "Vault files: $(stat -c %s "$work/p1.toml") bytes and $(stat -c %s "$work/p10000.toml") bytes."
echo

mean_ms() { # NAME COMMAND: the mean of 20 runs, in ms
  hyperfine -N --style none --warmup 3 --runs 20 --export-json "$work/h.json" "$2" >/dev/null
  python3 -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["mean"] * 1000))' "$work/h.json"
}
peak_mib() { # COMMAND...: max RSS of one run, in MiB
  /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1 / 1024}'
}
row() { # LABEL COMMAND-FOR-1 COMMAND-FOR-10000 (commands as words, "N" replaced)
  local label=$1 one=$2 many=$3
  local t1 t2 m1 m2
  t1=$(mean_ms "$label" "$one"); t2=$(mean_ms "$label" "$many")
  # shellcheck disable=SC2086
  m1=$(peak_mib $one); m2=$(peak_mib $many)
  echo "| $label | $t1 ms | $t2 ms | $(python3 -c "print('%.1f' % ($t2 / $t1))")x | $m1 MiB | $m2 MiB |"
}

echo "| command | 1 profile | 10,000 profiles | ratio | peak RSS, 1 | peak RSS, 10,000 |"
echo "|---|---:|---:|---:|---:|---:|"
vault() { echo "env SPVAULT_FILE=$work/p$1.toml $bin/vault ${*:2}"; }
row '`vault token p0` (cached), no agent' "$(vault 1 token p0)" "$(vault 10000 token p0)"
row '`vault show p0`, no agent' "$(vault 1 show p0)" "$(vault 10000 show p0)"
row 'one-profile write (`edit-profile p0 --marketplace DE`)' \
  "$(vault 1 edit-profile p0 --marketplace DE)" "$(vault 10000 edit-profile p0 --marketplace DE)"
# A rename is a one-profile write too; two of them leave the vault as it was.
cat > "$work/renames" <<EOF
#!/bin/sh
SPVAULT_FILE="\$1" "$bin/vault" rename p0 x >/dev/null && SPVAULT_FILE="\$1" "$bin/vault" rename x p0 >/dev/null
EOF
chmod +x "$work/renames"
row 'two `rename`s (p0 to x and back)' "$work/renames $work/p1.toml" "$work/renames $work/p10000.toml"
for n in 1 10000; do SPVAULT_FILE=$work/p$n.toml "$bin/vault" unlock --timeout 1h >/dev/null; done
agent() { echo "env -u SPVAULT_PASSPHRASE SPVAULT_FILE=$work/p$1.toml $bin/vault ${*:2}"; }
row '`vault token p0` (cached), agent unlocked' "$(agent 1 token p0)" "$(agent 10000 token p0)"
row '`vault env p0`, agent unlocked' "$(agent 1 env p0)" "$(agent 10000 env p0)"
row '`vault exec p0 -- true`, agent unlocked' "$(agent 1 exec p0 -- true)" "$(agent 10000 exec p0 -- true)"
echo

echo "## refresh --all --force over 10,000 profiles, ${latency_ms} ms per request, concurrency 64"
echo
ideal=$(( (10000 + 63) / 64 * latency_ms ))
/usr/bin/time -f "%e %M" -o "$work/refresh.time" \
  env SPVAULT_FILE="$work/p10000.toml" "$bin/vault" refresh --all --force --concurrency 64 >/dev/null
read -r seconds kib < "$work/refresh.time"
echo "| profiles | time | ideal (ceil(n/64) x ${latency_ms} ms) | ratio | peak RSS |"
echo "|---:|---:|---:|---:|---:|"
python3 -c "import sys; s, k, i = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]); print('| 10,000 | %.2f s | %.2f s | %.2fx | %.1f MiB |' % (s, i / 1000, s * 1000 / i, k / 1024))" \
  "$seconds" "$kib" "$ideal"
