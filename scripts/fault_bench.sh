#!/usr/bin/env bash
# Runs each fault case of acceptance-tests/tests/faults.rs N times (default 10) and
# prints one table: case, passes out of N, median and worst apply time under faults.
# A pass means the apply converged (empty plan, every object exactly once), and the
# destroy under the same faults left nothing in the test's own emulated account.
#
#   scripts/fault_bench.sh            # every case, 10 runs each
#   scripts/fault_bench.sh 5 vpc_     # 5 runs of the cases whose name contains vpc_
#   BP_FAULT_KILL_SWEEP="$(seq -s' ' 1 60)" scripts/fault_bench.sh 1 vpc_killed_after_5
#                                     # kill the provider after each of K = 1..60
#                                     # mutating calls of a VPC create, one run each
#   BP_FAULT_FAIL_SWEEP="$(seq -s' ' 1 60)" scripts/fault_bench.sh 1 vpc_failed_create
#                                     # fail the Nth mutating call, N = 1..60
#   BP_FAULT_KILL_SWEEP="$(seq -s' ' 1 20)" scripts/fault_bench.sh 1 audit_trail::standard::tf_1_15::killed
#                                     # the same for any composite's standard suite
#
# Not part of scripts/test.sh (which runs every case once): a benchmark, not a test.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
runs="${1:-10}"
filter="${2:-}"

cargo test --workspace --no-run -q 2>/dev/null
bin="$(ls -t "$CARGO_TARGET_DIR"/debug/deps/acceptance-* | grep -v '\.d$' | head -n1)"
export TF_ACC=1 BP_PROVIDER_BIN="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform"
export CARGO_MANIFEST_DIR="$repo/acceptance-tests"

# The fault cases, and every composite's killed/failed create of its standard suite
# (Terraform 1.15), which the sweeps below take to every K or N.
cases="$("$bin" --list 2>/dev/null \
  | sed -n -e 's/^\(faults::[a-z0-9_]*\): test$/\1/p' \
           -e 's/^\([a-z0-9_]*::standard::tf_1_15::\(killed\|failed\)_create\): test$/\1/p' \
  | grep -- "$filter" || true)"
[ -n "$cases" ] || { echo "no fault case matches '$filter'" >&2; exit 2; }

# A case's name in the table: faults::x → x, kms_kms_key::standard::tf_1_15::y → kms_key y.
short() {
  case "$1" in
    faults::*) echo "${1#faults::}" ;;
    *) local c="${1/::standard::tf_1_15::/ }"; echo "${c#*_}" ;;
  esac
}

sweep="${BP_FAULT_KILL_SWEEP:-${BP_FAULT_FAIL_SWEEP:-}}"
if [ -n "$sweep" ]; then
  var=BP_FAULT_KILL_AFTER
  [ -n "${BP_FAULT_KILL_SWEEP:-}" ] || var=BP_FAULT_FAIL_AT
  printf '%-48s %6s %s\n' case "$var" result
  for case in $cases; do
    for k in $sweep; do
      out="$(env "$var=$k" "$bin" --exact "$case" 2>&1 || true)"
      if grep -q 'test result: ok. 1 passed' <<<"$out"; then
        result=ok
      elif grep -q -e 'no call was held' -e 'the apply succeeded although mutating call' <<<"$out"; then
        result="n/a: the create makes fewer calls"
      else
        result="FAILED: $(grep -m1 -E '^Error:' <<<"$out" | cut -c1-100)"
      fi
      printf '%-48s %6s %s\n' "$(short "$case")" "$k" "$result"
    done
  done
  exit 0
fi

printf '%-48s %7s %10s %10s\n' case passed "apply p50" "apply max"
for case in $cases; do
  pass=0
  times=()
  for _ in $(seq 1 "$runs"); do
    out="$("$bin" --exact "$case" --nocapture 2>&1 || true)"
    if grep -q 'test result: ok. 1 passed' <<<"$out"; then
      pass=$((pass + 1))
    fi
    t="$(sed -n 's/.*: apply \([0-9.]*\)s with.*/\1/p' <<<"$out" | head -n1)"
    [ -n "$t" ] && times+=("$t")
  done
  if [ "${#times[@]}" -gt 0 ]; then
    sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
    p50="$(sed -n "$(( (${#times[@]} + 1) / 2 ))p" <<<"$sorted")s"
    max="$(tail -n1 <<<"$sorted")s"
  else
    p50="-"
    max="-"
  fi
  printf '%-48s %4s/%-2s %10s %10s\n' "$(short "$case")" "$pass" "$runs" "$p50" "$max"
done
