#!/usr/bin/env bash
# Checks the dependencies against the RustSec advisory database: any vulnerability
# fails, and so does any warning (unmaintained, unsound, yanked) not allowed with its
# reason in .cargo/audit.toml.
#
# With the shared snapshot ($SPVAULT_ADVISORY_DB, default ../shared/advisory-db, as
# CI has it) the audit always runs and any advisory fails. Without it, the live
# database is fetched; when it cannot be (no network), the audit is skipped: this
# says so loudly and exits 75, so that scripts/test.sh runs the tests and repeats
# the warning at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot="${SPVAULT_ADVISORY_DB:-../shared/advisory-db}"
skip() {
  printf '\n!!! WARNING: the dependency audit was SKIPPED: %s\n' "$1" >&2
  exit 75
}

if [ ! -d "$snapshot" ] \
  && ! timeout 30 git ls-remote https://github.com/rustsec/advisory-db HEAD >/dev/null 2>&1; then
  skip "no advisory snapshot at $snapshot, and the live database cannot be fetched"
fi
if ! command -v cargo-audit >/dev/null; then
  printf '\n== installing cargo-audit\n'
  if ! cargo install --locked --quiet cargo-audit; then
    # With the snapshot (CI) the audit must run: a failed install fails.
    [ -d "$snapshot" ] && exit 1
    skip "cargo-audit could not be installed"
  fi
fi
printf '\n== cargo audit\n'
if [ -d "$snapshot" ]; then
  cargo audit --no-fetch --db "$snapshot" --deny warnings
else
  cargo audit --deny warnings
fi
