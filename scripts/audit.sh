#!/usr/bin/env bash
# Third-party audit (issue 14): Prowler over what every examples/<resource>/
# root builds on the emulator, beside the same roots written with HashiCorp's
# hashicorp/aws 3.39 where a peer exists. Prints one markdown report and
# writes it to .work/audit/latest.md. Not part of the test command (installing
# Prowler takes minutes; a full run takes a quarter of an hour or more).
#
#   1. Installs Prowler $PROWLER_VERSION (PyPI `prowler`, pinned) into its own
#      venv, $BP_HOME/prowler-venv (skipped when that version is there).
#   2. For each examples/<name>/ (all but examples/platform; new examples
#      join by being there) and each peer root (../shared/peer/bucket ↔
#      compliant_bucket, ../shared/peer/vpc ↔ hardened_vpc, bench/peer/audit
#      ↔ audit_trail, bench/peer/organization ↔ organization; `<dir>/standalone` applied, the peer provider installed
#      by lib.sh's install_peer): a fresh moto, an inventory of the emulator,
#      `terraform init` + `apply -var aws_endpoint=…`, `terraform show -json`,
#      a second inventory, one Prowler scan (services $SERVICES, region
#      us-east-1 as the examples use, --scan-unused-services, json-ocsf), then
#      destroy and stop moto.
#   3. Keeps only the findings on the root's own objects:
#        - object findings whose resource uid/ARN, its last segment or the
#          resource name is an identifier in the root's state (ARNs, AWS ids,
#          key ids, id/name/bucket/*_id/*_arn/*_name values of managed
#          resources), or an object the emulator lists after the apply and
#          not before it (what the apply created without naming it in state:
#          a VPC's default ACL/SG/route table, endpoints and roles inside a
#          composite);
#        - account-level findings (the resource is the account or region:
#          Prowler names the account id, or an ".../unknown" ARN) only for a
#          root whose state holds the resource managing that control:
#          iam_password_policy_*, ec2_ebs_default_encryption,
#          s3_account_level_public_access_blocks, accessanalyzer_* ↔ the
#          account baseline (or aws_iam_account_password_policy, …);
#          cloudtrail_*, cloudwatch_log_metric_filter_*/changes_to_* ↔ the
#          audit trail (aws_cloudtrail / aws_cloudwatch_log_metric_filter);
#          config_* ↔ the Config recorder; guardduty_*, securityhub_* ↔
#          threat detection. Every other account-level finding is dropped.
#      (scripts/audit_report.py holds the rule and the mapping.)
#   4. S3 Control: with an endpoint override botocore prefixes the account id
#      to the host (123456789012.127.0.0.1:PORT). A sitecustomize.py on the
#      Prowler process's PYTHONPATH (only there) resolves any *.127.0.0.1 /
#      *.localhost host to 127.0.0.1; moto routes S3 Control on the path.
#   5. Report: check id | severity | ours | peer (FAIL/PASS counts with the
#      roots), totals (FAIL by severity; ours vs peer on the roots that have
#      a peer), and the checks that could not run, from Prowler's own error
#      log (never counted as passes).
#
# Usage: scripts/audit.sh [--no-peer] [--only <example>]...
#   --only NAME  audit only examples/NAME (repeatable; its peer too, if any)
#   --no-peer    skip the hashicorp/aws roots
# Environment:
#   BP_PROVIDER_BIN  our provider binary to use (default: cargo build -q -p
#                    terraform-provider-bankplatform, then the debug binary)
#   BP_HOME          tools and venvs (default ~/.cache/bankplatform)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROWLER_VERSION=5.46.0
PROWLER_VENV="$BP_HOME/prowler-venv"
REGION=us-east-1
SERVICES=(s3 kms cloudwatch ec2 iam vpc cloudtrail config guardduty securityhub accessanalyzer sns dynamodb organizations)
OUT="$repo/.work/audit"
HELPER="$repo/scripts/audit_report.py"

log() { echo "audit: $*" >&2; }

with_peer=true
only=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-peer) with_peer=false ;;
    --only) [ $# -ge 2 ] || { log "--only needs an example name"; exit 2; }; only+=("$2"); shift ;;
    --only=*) only+=("${1#--only=}") ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit 0 ;;
    *) log "unknown argument $1"; exit 2 ;;
  esac
  shift
done

# --- clean-up: only the moto server this script started --------------------
MOTO_PID=""
trap stop_moto EXIT
trap 'exit 130' INT TERM

# --- set-up ---------------------------------------------------------------------


install_prowler() {
  if [ -x "$PROWLER_VENV/bin/prowler" ] && "$PROWLER_VENV/bin/python" -c \
      'import sys, importlib.metadata as m; sys.exit(m.version("prowler") != sys.argv[1])' "$PROWLER_VERSION" 2>/dev/null; then
    return 0
  fi
  local base="$PY"
  [ -x "$base" ] || base="$(command -v python3)"
  log "installing prowler==$PROWLER_VERSION into $PROWLER_VENV (takes minutes)"
  [ -x "$PROWLER_VENV/bin/pip" ] || "$base" -m venv "$PROWLER_VENV"
  "$PROWLER_VENV/bin/pip" install --quiet --disable-pip-version-check "prowler==$PROWLER_VERSION" >&2
}

# Our provider, copied once into our own filesystem mirror so a rebuild during
# the run changes nothing.
snapshot_ours() {
  local bin="${BP_PROVIDER_BIN:-}"
  if [ -z "$bin" ]; then
    log "building the provider (cargo build -q -p terraform-provider-bankplatform)"
    (cd "$repo" && cargo build -q -p terraform-provider-bankplatform) >&2
    bin="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform"
  fi
  [ -x "$bin" ] || { log "no provider binary at $bin"; exit 1; }
  local dir="$OUT/mirror"
  local dest="$dir/registry.terraform.io/bankplatform/bankplatform/$PROVIDER_VERSION/linux_amd64"
  rm -rf "$dir" && mkdir -p "$dest"
  cp "$bin" "$dest/terraform-provider-bankplatform_v$PROVIDER_VERSION"
  OURS_SHA="$(sha256sum "$dest/terraform-provider-bankplatform_v$PROVIDER_VERSION" | cut -c1-16)"
  cat > "$dir/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$dir"
    include = ["registry.terraform.io/bankplatform/*"]
  }
}
RC
}

# The resolver shim, on the Prowler process's PYTHONPATH only.
write_shim() {
  mkdir -p "$OUT/shim"
  cat > "$OUT/shim/sitecustomize.py" <<'PY'
# scripts/audit.sh: S3 Control behind an endpoint override goes to
# <account>.127.0.0.1:PORT; resolve such hosts to 127.0.0.1 (this process only).
import socket

_getaddrinfo = socket.getaddrinfo


def _local_getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and (name.endswith(".127.0.0.1") or name.endswith(".localhost")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _local_getaddrinfo
PY
}

peer_src_for() {
  case "$1" in
    compliant_bucket) echo "$PEER_SRC/bucket" ;;
    hardened_vpc) echo "$PEER_SRC/vpc" ;;
    audit_trail) echo "$repo/bench/peer/audit" ;;
    organization) echo "$repo/bench/peer/organization" ;;
    *) echo "" ;;
  esac
}

# --- one root -------------------------------------------------------------------

# run_root SIDE NAME PAIR: SIDE ours (examples/NAME) or peer (NAME is the
# module directory; PAIR the example it mirrors).
run_root() {
  local side="$1" name="$2" pair="$3"
  local label; label="$([ "$side" = ours ] && echo "$name" || echo "$pair")"
  local work="$OUT/runs/$side-$label" root rc problem=""
  rm -rf "$work" && mkdir -p "$work"
  if [ "$side" = ours ]; then
    root="$work/root"; mkdir -p "$root"; cp "$repo/examples/$name/"*.tf "$root/"
    rc="$OUT/mirror/terraformrc"
  else
    # <module>/standalone uses the module in ../ : keep that layout.
    cp -r "$name" "$work/$(basename "$name")" && chmod -R u+w "$work/$(basename "$name")"
    root="$work/$(basename "$name")/standalone"
    rc="$PEER_MIRROR/terraformrc"
  fi
  local t0; t0="$(date +%s)"
  log "$side $label: fresh moto, inventory, init, apply"
  start_moto "$work/moto.log"
  (
    export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"
    "$PROWLER_VENV/bin/python" "$HELPER" inventory --out "$work/before.json"
  ) 2>"$work/inventory.log" || log "$side $label: inventory before failed (see $work/inventory.log)"

  local tf=(env TF_CLI_CONFIG_FILE="$rc" "$TF" -chdir="$root")
  if ! "${tf[@]}" init -input=false -no-color >"$work/init.log" 2>&1; then
    problem="terraform init failed: $(tail -n 3 "$work/init.log" | tr '\n' ' ')"
  elif ! "${tf[@]}" apply -input=false -no-color -auto-approve -var "aws_endpoint=$MOTO_ENDPOINT" \
      >"$work/apply.log" 2>&1; then
    problem="terraform apply failed: $(grep -m1 -A2 'Error' "$work/apply.log" | tr '\n' ' ' | cut -c1-300)"
  fi
  "${tf[@]}" show -json >"$work/state.json" 2>/dev/null || echo '{}' >"$work/state.json"
  (
    export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"
    "$PROWLER_VENV/bin/python" "$HELPER" inventory --out "$work/after.json"
  ) 2>>"$work/inventory.log" || log "$side $label: inventory after failed (see $work/inventory.log)"

  if [ -z "$problem" ]; then
    log "$side $label: prowler scan (${SERVICES[*]})"
    if ! env AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION" \
        PYTHONPATH="$OUT/shim" \
        "$PROWLER_VENV/bin/prowler" aws --region "$REGION" --services "${SERVICES[@]}" \
        --scan-unused-services --output-formats json-ocsf --output-directory "$work/prowler" \
        --output-filename scan --no-banner --no-color --ignore-exit-code-3 \
        --log-level ERROR --log-file "$work/prowler.log" \
        </dev/null >"$work/prowler.stdout" 2>"$work/prowler.stderr"; then
      problem="prowler exited non-zero (see ${work#$repo/}/prowler.stderr)"
    fi
  else
    log "$side $label: $problem"
  fi
  "$PROWLER_VENV/bin/python" "$HELPER" attribute --side "$side" --root "$label" --pair "$pair" \
    --state "$work/state.json" --before "$work/before.json" --after "$work/after.json" \
    --findings "$work/prowler/scan.ocsf.json" --log "$work/prowler.log" \
    --prowler-src "$PROWLER_SRC" --services "${SERVICES[@]}" --problem "$problem" \
    --out "$work/record.json" || log "$side $label: attribution failed (see above)"
  [ -s "$work/record.json" ] && RECORDS+=("$work/record.json")

  log "$side $label: destroy"
  "${tf[@]}" destroy -input=false -no-color -auto-approve -var "aws_endpoint=$MOTO_ENDPOINT" \
    >"$work/destroy.log" 2>&1 || log "$side $label: destroy failed (see $work/destroy.log); moto is discarded anyway"
  stop_moto
  log "$side $label: done in $(( $(date +%s) - t0 )) s"
}

# --- main -----------------------------------------------------------------------

main() {
  local t_start; t_start="$(date +%s)"
  # Which examples: checked first, before anything is installed or built.
  local examples=() d name
  for d in "$repo"/examples/*/; do
    name="$(basename "$d")"
    [ "$name" = platform ] && continue
    compgen -G "$d*.tf" >/dev/null || continue
    if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then continue; fi
    examples+=("$name")
  done
  [ ${#examples[@]} -gt 0 ] || { log "no example to audit (--only ${only[*]:-})"; exit 2; }
  mkdir -p "$OUT"
  rm -rf "$OUT/runs"
  ensure_tools
  install_prowler
  PROWLER_SRC="$("$PROWLER_VENV/bin/python" -c 'import os, prowler; print(os.path.dirname(prowler.__file__))')"
  snapshot_ours
  write_shim
  export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  unset AWS_PROFILE TF_LOG TF_LOG_PROVIDER TF_PLUGIN_CACHE_DIR TF_CLI_ARGS AWS_ENDPOINT_URL 2>/dev/null || true

  local peer_ok=false
  if $with_peer; then
    if install_peer; then peer_ok=true; else log "peer provider not available: auditing ours only"; fi
  fi

  RECORDS=()
  local src
  for name in "${examples[@]}"; do
    run_root ours "$name" "$name"
    src="$(peer_src_for "$name")"
    if $peer_ok && [ -n "$src" ] && [ -d "$src/standalone" ]; then
      run_root peer "$src" "$name"
    fi
  done

  local header
  header="## Prowler audit, $(date -u '+%Y-%m-%d %H:%M UTC')

- Prowler $PROWLER_VERSION (\`$PROWLER_VENV\`), services \`${SERVICES[*]}\`, region $REGION, \`--scan-unused-services\`; a fresh moto $("$PY" -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?') per root
- ours: terraform-provider-bankplatform $PROVIDER_VERSION (sha256 ${OURS_SHA}…), tree $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$repo" && git diff --quiet HEAD -- provider 2>/dev/null || echo ' + uncommitted changes'); $("$TF" version 2>/dev/null | head -n1)
- peer: $($peer_ok && echo "hashicorp/aws $PEER_VERSION" || echo "not run")
- took $(( $(date +%s) - t_start )) s; raw findings and logs in .work/audit/runs/"
  [ ${#RECORDS[@]} -gt 0 ] || { log "no root could be attributed"; exit 1; }
  "$PROWLER_VENV/bin/python" "$HELPER" report --header "$header" "${RECORDS[@]}" >"$OUT/latest.md"
  cat "$OUT/latest.md"
}

main
