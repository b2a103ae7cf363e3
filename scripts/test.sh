#!/usr/bin/env bash
# Runs every test: formatting, unit and integration tests of every crate, and
# the TF_ACC=1 acceptance suite (real Terraform 1.15 and 1.0.3, real
# moto_server, the provider installed from a filesystem mirror).
# Installs what is missing first (scripts/setup.sh). Extra arguments are
# passed to the acceptance test binary (e.g. a test-name filter).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"

"$repo/scripts/setup.sh"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> unit and integration tests"
cargo test --workspace --exclude acceptance-tests

echo "==> acceptance tests (TF_ACC=1)"
cargo build -p terraform-provider-bankplatform
TF_ACC=1 BP_PROVIDER_BIN="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform" \
  cargo test -p acceptance-tests -- --test-threads="${BP_ACC_THREADS:-4}" "$@"
