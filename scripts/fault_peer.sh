#!/usr/bin/env bash
# Applies and destroys the same roots with bankplatform (examples/<resource>) and with
# HashiCorp's hashicorp/aws 3.39.0 (../shared/peer/<workload>/standalone), each run on a
# fresh moto behind the fault proxy (acceptance-tests/src/bin/fault-proxy.rs), and
# prints one table: workload, faults, side, applies+destroys that succeeded, median and
# worst apply time, median destroy time. Benchmark, not a test (not in scripts/test.sh).
#
#   scripts/fault_peer.sh                       # 20% throttling, 5 runs, bucket and vpc
#   BP_FAULTS="--server-errors 0.2" BP_RUNS=3 scripts/fault_peer.sh vpc
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
RUNS="${BP_RUNS:-5}"
FAULTS="${BP_FAULTS:---throttle 0.2}"
workloads="${*:-bucket vpc}"
TF="$BP_HOME/bin/terraform-1.15"
OUT="$repo/.work/fault_peer"
mkdir -p "$OUT"

cargo test -q --workspace --no-run 2>/dev/null
install_peer || { echo "cannot install the peer provider" >&2; exit 1; }
make_mirror "$OUT/mirror"

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }
worst() { sort -n | tail -n1; }

# run SIDE WORKLOAD -> "ok apply_s destroy_s" or "fail ..."
run_once() {
  local side="$1" workload="$2" dir rc log
  dir="$(mktemp -d "$OUT/run-XXXX")"
  start_moto "$dir/moto.log"
  "$CARGO_TARGET_DIR/debug/fault-proxy" "$MOTO_ENDPOINT" $FAULTS >"$dir/proxy.out" 2>"$dir/proxy.err" &
  local proxy_pid=$!
  for _ in $(seq 1 50); do [ -s "$dir/proxy.out" ] && break; sleep 0.1; done
  local endpoint
  endpoint="$(head -n1 "$dir/proxy.out")"
  if [ "$side" = ours ]; then
    local ex=compliant_bucket
    [ "$workload" = vpc ] && ex=hardened_vpc
    cp -r "examples/$ex/." "$dir/root"
    export TF_CLI_CONFIG_FILE="$OUT/mirror/terraformrc"
  else
    cp -r "$PEER_SRC/$workload" "$dir/$workload"
    mkdir -p "$dir/root"
    cp -r "$PEER_SRC/$workload/standalone/." "$dir/root"
    sed -i "s#source *= *\"\.\./\"#source = \"../$workload\"#" "$dir/root/main.tf"
    export TF_CLI_CONFIG_FILE="$PEER_MIRROR/terraformrc"
  fi
  export TF_VAR_aws_endpoint="$endpoint" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
  log="$dir/terraform.log"
  local result
  if (cd "$dir/root" && "$TF" init -input=false -no-color >"$log" 2>&1); then
    local t0 t1 t2
    t0=$(date +%s.%N)
    if (cd "$dir/root" && timeout 900 "$TF" apply -auto-approve -input=false -no-color >>"$log" 2>&1); then
      t1=$(date +%s.%N)
      if (cd "$dir/root" && timeout 900 "$TF" destroy -auto-approve -input=false -no-color >>"$log" 2>&1); then
        t2=$(date +%s.%N)
        result="ok $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc)"
      else
        result="fail destroy"
      fi
    else
      result="fail apply"
    fi
  else
    result="fail init"
  fi
  kill "$proxy_pid" 2>/dev/null || true
  kill "$MOTO_PID" 2>/dev/null || true
  wait "$proxy_pid" "$MOTO_PID" 2>/dev/null || true
  case "$result" in ok*) rm -rf "$dir" ;; *) echo "  kept $dir ($result)" >&2 ;; esac
  echo "$result"
}

printf '| workload | faults | side | succeeded | apply p50 | apply max | destroy p50 |\n|---|---|---|---|---|---|---|\n'
for workload in $workloads; do
  for side in ours peer; do
    applies=() destroys=() ok=0
    for _ in $(seq 1 "$RUNS"); do
      r="$(run_once "$side" "$workload")"
      if [ "${r%% *}" = ok ]; then
        ok=$((ok + 1))
        read -r _ a d <<<"$r"
        applies+=("$a") destroys+=("$d")
      fi
    done
    a50="$(printf '%s\n' "${applies[@]:-}" | grep . | median)"
    amax="$(printf '%s\n' "${applies[@]:-}" | grep . | worst)"
    d50="$(printf '%s\n' "${destroys[@]:-}" | grep . | median)"
    printf '| %s | %s | %s | %d/%d | %ss | %ss | %ss |\n' "$workload" "$FAULTS" "$side" "$ok" "$RUNS" \
      "$(printf '%.1f' "${a50:-0}")" "$(printf '%.1f' "${amax:-0}")" "$(printf '%.1f' "${d50:-0}")"
  done
done
