#!/usr/bin/env bash
# Runs every test: formatting, the release tooling's unit tests (Python), unit
# and integration tests of every crate, the
# TF_ACC=1 acceptance suite (real Terraform 1.15 and 1.0.3, real moto_server,
# the provider installed from a filesystem mirror), `terraform init/validate`
# of every generated root, and a check that the generated tree is current.
# Installs what is missing first (scripts/setup.sh). Extra arguments are
# passed to the test binaries (e.g. a test-name filter).
#
# One `cargo test --workspace` builds everything once: building single
# packages in between would unify crate features differently and rebuild the
# AWS SDK each time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"

"$repo/scripts/setup.sh"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> release tooling (scripts/tests)"
python3 -m unittest discover -s "$repo/scripts/tests" -q

echo "==> every test, acceptance included (TF_ACC=1)"
# The provider binary the acceptance tests install is the one this same
# cargo invocation builds (provider/tests needs it), so nothing is built twice.
export TF_ACC=1 BP_PROVIDER_BIN="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform"
cargo test --workspace -- --test-threads="${BP_ACC_THREADS:-4}" "$@"

echo "==> the generated module tree is current (bankplatform-gen check)"
"$CARGO_TARGET_DIR/debug/bankplatform-gen" check --spec examples/platform/platform.hcl --out examples/platform --modules-dir modules
