#!/usr/bin/env bash
# Everything that proves spvault loses nothing and leaks nothing, and keeps its speed
# honest, in one command: the hardening and hostile-server suites (also run by
# scripts/test.sh and CI) with a longer crash test, the fuzzers, and both benchmarks.
# Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== hardening and hostile-server suites (1000 SIGKILLs)"
SPVAULT_CRASH_ITERATIONS=${SPVAULT_CRASH_ITERATIONS:-1000} cargo test --quiet --test hardening --test hostile
echo "== fuzzing"
scripts/fuzz.sh
echo "== benchmarks"
cargo bench --bench vault_io
bench/cli.sh
