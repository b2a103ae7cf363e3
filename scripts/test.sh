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

echo "==> the generated module tree is current (bankplatform-gen check)"
cargo run --quiet -p bankplatform-gen -- check --spec examples/platform/platform.hcl --out examples/platform --modules-dir modules

echo "==> acceptance tests (TF_ACC=1)"
cargo build -p terraform-provider-bankplatform
TF_ACC=1 BP_PROVIDER_BIN="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform" \
  cargo test -p acceptance-tests -- --test-threads="${BP_ACC_THREADS:-4}" "$@"

echo "==> generated roots init and validate with the real provider (TF_ACC=1)"
TF_ACC=1 BP_PROVIDER_BIN="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform" \
  cargo test -p bankplatform-gen --test terraform
