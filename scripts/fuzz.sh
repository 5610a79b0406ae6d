#!/usr/bin/env bash
# Fuzzes the envelope and payload parsers with libFuzzer for a bounded time each
# (default 60 s; FUZZ_SECONDS=600 scripts/fuzz.sh for longer). Needs cargo-fuzz
# (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP lets the stable toolchain build with
# the sanitizer flags cargo-fuzz passes. A crash leaves its input in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
mkdir -p corpus/envelope corpus/model
# Seed with real envelopes (formats 1 to 3) and payloads (TOML and JSON), so the
# fuzzer starts from valid input.
cp seeds/envelope.toml seeds/envelope-v2.bin seeds/envelope-v3.bin corpus/envelope/ 2>/dev/null || true
cp seeds/model.toml seeds/model.json corpus/model/ 2>/dev/null || true
for target in envelope model; do
  echo "== fuzzing $target for ${seconds}s"
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=65536
done
