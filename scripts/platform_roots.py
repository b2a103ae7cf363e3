"""Helpers for scripts/demo.sh over a bankplatform-gen tree.

`platform_roots.py MANIFEST ACCOUNT` prints, in run order, the bootstrap root,
the organization root (OUs, guardrails, delegation), the audit root (the organization trail), the security
account's root (the Config aggregator), the given account's
roots and everything they depend on, one per line as
`path|backend|account|account_id|region|stack`.

`platform_roots.py --summary ACCOUNT ACCOUNT_ID REGION STACK` reads
`terraform output -json` on stdin and prints one line saying what the root
made, with its controls counted.
"""
import json
import sys


def roots(manifest_path, account):
    m = json.load(open(manifest_path))
    by_id = {r["id"]: r for r in m["roots"]}
    want = {r["id"] for r in m["roots"] if r["account"] == account or r["stack"] in ("bootstrap", "organization", "audit", "security")}
    while True:
        more = {d for i in want for d in by_id[i]["depends_on"]} - want
        if not more:
            break
        want |= more
    for r in m["roots"]:
        if r["id"] in want:
            print(f'{r["path"]}|{r["backend"]}|{r["account"]}|{r["account_id"]}|{r["region"]}|{r["stack"]}')


def summary(account, account_id, region, stack):
    outs = json.load(sys.stdin)
    shown = []
    for k, v in sorted(outs.items()):
        val = v["value"]
        if isinstance(val, str):
            shown.append(f"{k}={val}")
        elif isinstance(val, dict) and k.endswith("compliance"):
            ok = sum(1 for x in val.values() if x)
            failing = sorted(c for c, x in val.items() if not x)
            note = f" (not: {', '.join(failing)})" if failing else ""
            shown.append(f"{k}: {ok}/{len(val)} controls hold{note}")
        elif isinstance(val, dict) and k == "deploy_access":
            # Each account's pipeline roles: how many of their controls hold.
            ok = total = 0
            for roles in val.values():
                for key in ("apply_compliance", "plan_compliance"):
                    controls = roles.get(key) or {}
                    total += len(controls)
                    ok += sum(1 for x in controls.values() if x)
            shown.append(f"deploy roles of {len(val)} accounts: {ok}/{total} controls hold")
    print(f"  {account} ({account_id}) {region} {stack}: " + ", ".join(shown))


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(*sys.argv[2:6])
    else:
        roots(sys.argv[1], sys.argv[2])
