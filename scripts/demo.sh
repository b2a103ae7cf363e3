#!/usr/bin/env bash
# The main job, on a fresh machine: install everything (scripts/setup.sh),
# build the provider, put it in a local filesystem mirror, start the local
# AWS emulator (moto), and `terraform init && terraform apply` the example in
# examples/compliant_bucket; then check that a second plan is empty, print
# what exists, and destroy it. `--keep` leaves the buckets and moto running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
keep=false
[ "${1:-}" = "--keep" ] && keep=true

"$repo/scripts/setup.sh"
echo "==> building terraform-provider-bankplatform"
cargo build -p terraform-provider-bankplatform --quiet

work="$repo/.work/demo"
mkdir -p "$work"
make_mirror "$repo/.work/mirror"
export TF_CLI_CONFIG_FILE="$repo/.work/mirror/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE

echo "==> starting moto"
start_moto "$work/moto.log"
cleanup() { $keep || kill "$MOTO_PID" 2>/dev/null || true; }
trap cleanup EXIT
export TF_VAR_aws_endpoint="$MOTO_ENDPOINT"

rm -rf "$work/root" && mkdir -p "$work/root"
cp "$repo/examples/compliant_bucket/"*.tf "$work/root/"
cd "$work/root"
echo "==> terraform init"
"$TF" init -no-color -input=false >/dev/null
echo "==> terraform apply"
"$TF" apply -no-color -input=false -auto-approve
echo "==> terraform plan (must be empty)"
set +e
"$TF" plan -no-color -input=false -detailed-exitcode >plan2.txt
rc=$?
set -e
if [ "$rc" -ne 0 ]; then cat plan2.txt; echo "second plan was not empty (exit $rc)" >&2; exit 1; fi
echo "    no changes"
echo "==> what exists in the emulator"
"$TF" output -no-color
if $keep; then
  echo "moto keeps running at $MOTO_ENDPOINT (pid $MOTO_PID); state in $work/root"
else
  echo "==> terraform destroy"
  "$TF" destroy -no-color -input=false -auto-approve >/dev/null
  echo "    destroyed"
fi
