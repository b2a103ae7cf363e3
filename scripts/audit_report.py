#!/usr/bin/env python3
"""Helper of scripts/audit.sh: inventory, attribution and report of a Prowler run.

  inventory --out FILE
      Lists the primary identifiers (ids, ARNs, names) of what the emulator at
      $AWS_ENDPOINT_URL holds in the services the audit scans (boto3; run it
      with the Prowler venv's python). audit.sh takes it before and after the
      apply: the difference is what the apply created.
  attribute --side ours|peer --root NAME [--pair EXAMPLE] --state STATE_JSON
            --before FILE --after FILE --findings OCSF_JSON --log PROWLER_LOG
            [--prowler-src DIR] --services S... --out FILE
      Keeps the findings on the root's own objects (rule below) and the
      errors Prowler logged; writes one JSON record for the root.
  report RECORD... [--header TEXT]
      Prints the markdown report (table, totals, checks that could not run).

Attribution rule (a finding is kept for a root when one of these holds):
  1. object: its resource uid (ARN, trailing ":*" dropped), the last segment
     of that ARN, or its resource name is an identifier of the root: a string
     from a managed resource of `terraform show -json` (ARNs, AWS-shaped ids
     like vpc-/subnet-/acl-/sg-/vpce-…, key ids, and the values of id, name,
     bucket, *_id, *_arn, *_name attributes), or an identifier that the
     emulator lists after the apply and did not list before it (what the
     apply created without putting it in state: a VPC's default network ACL,
     security group and route table, endpoints and roles inside a composite).
  2. account-level: its resource is the account or region itself (uid with no
     resource id, e.g. arn:aws:iam:us-east-1:ACCOUNT:password-policy or
     …:detector/unknown, or the account id as resource name), and the root's
     state holds a resource that manages that control (ACCOUNT_CONTROLS).
Account-level findings are never kept by rule 1, and the account id and
generic names ("default", "unknown") never identify an object. Everything
else (moto's default VPC, AWS's public snapshots, account checks no root
manages) is dropped.
"""

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

SEVERITIES = ["critical", "high", "medium", "low", "informational"]

# Account-level controls: check id prefix -> state resource types that manage it.
ACCOUNT_CONTROLS = [
    ("iam_password_policy_", {"bankplatform_account_baseline", "aws_iam_account_password_policy"}),
    ("ec2_ebs_default_encryption", {"bankplatform_account_baseline", "aws_ebs_encryption_by_default"}),
    ("s3_account_level_public_access_blocks",
     {"bankplatform_account_baseline", "aws_s3_account_public_access_block"}),
    ("accessanalyzer_", {"bankplatform_account_baseline", "aws_accessanalyzer_analyzer"}),
    ("cloudtrail_", {"bankplatform_audit_trail", "aws_cloudtrail"}),
    ("cloudwatch_log_metric_filter_", {"bankplatform_audit_trail", "aws_cloudwatch_log_metric_filter"}),
    ("cloudwatch_changes_to_", {"bankplatform_audit_trail", "aws_cloudwatch_log_metric_filter"}),
    ("config_recorder_", {"bankplatform_config_recorder", "aws_config_configuration_recorder"}),
    ("guardduty_is_enabled", {"bankplatform_threat_detection", "aws_guardduty_detector"}),
    ("securityhub_enabled", {"bankplatform_threat_detection", "aws_securityhub_account"}),
]
# Not listed, so never kept as account-level: organization-wide checks (delegated
# administrators, organization aggregators), which no single-account example
# manages; when Prowler reports them on one of the root's objects (e.g. its
# GuardDuty detector) they count like any finding on that object.

STOP_NAMES = {"default", "unknown", "none", "null", "true", "false", "enabled", "disabled"}
ACCOUNT_RE = re.compile(r"^\d{12}$")
AWS_ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-[0-9a-f]{8,17}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# arn:partition:service:region:account:resource, resource without an id part
ACCOUNT_ARN_RE = re.compile(r"^arn:aws[\w-]*:[\w-]+:[\w-]*:\d{12}:(?:[a-z][a-z0-9-]*|[\w-]+/unknown)$")
CIDR_RE = re.compile(r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]*)(?:/\d+)?$")
NAME_KEY_RE = re.compile(r"^(id|name|bucket|arn|key_id|.*_ids?|.*_arns?|.*_names?)$")


def arn_tail(value):
    """The resource id at the end of an ARN ('' if not an ARN)."""
    if not value.startswith("arn:"):
        return ""
    parts = value.split(":", 5)
    if len(parts) < 6:
        return ""
    res = parts[5]
    if res.endswith(":*"):
        res = res[:-2]
    # log-group:/a/b, role/x, key/uuid, trail/x, bucket
    for sep in ("log-group:", "/", ":"):
        if sep in res:
            return res.split(sep, 1)[1] if sep == "log-group:" else res.rsplit(sep, 1)[1]
    return res


def is_identifier(value, key=None):
    """Whether a state string names an object (not a setting, CIDR, policy…)."""
    if not isinstance(value, str) or len(value) < 3 or len(value) > 512:
        return False
    if ACCOUNT_RE.match(value) or value.lower() in STOP_NAMES:
        return False
    if value.startswith("arn:"):
        return not value.endswith(":root") and not value.endswith("/unknown")
    if AWS_ID_RE.match(value) or UUID_RE.match(value):
        return True
    if key and NAME_KEY_RE.match(key):
        return not any(c in value for c in " {}\n\"*") and not CIDR_RE.match(value)
    return False


def add_identifier(out, value):
    out.add(value)
    if value.startswith("arn:"):
        tail = arn_tail(value)
        if tail and is_identifier(tail, "id"):
            out.add(tail)
        if value.endswith(":*"):
            out.add(value[:-2])


def _walk(node, key, out):
    if isinstance(node, dict):
        for k, v in node.items():
            _walk(v, k, out)
    elif isinstance(node, list):
        for v in node:
            _walk(v, key, out)
    elif is_identifier(node, key):
        add_identifier(out, node)


def _resources(module):
    for r in module.get("resources", []) or []:
        yield r
    for child in module.get("child_modules", []) or []:
        yield from _resources(child)


def state_objects(state):
    """(identifiers, resource types) of the managed resources in `terraform show -json`."""
    ids, types = set(), set()
    root = ((state or {}).get("values") or {}).get("root_module") or {}
    for r in _resources(root):
        if r.get("mode") != "managed":
            continue
        types.add(r.get("type", ""))
        _walk(r.get("values") or {}, None, ids)
    return ids, types


def created_objects(before, after):
    """Identifiers the emulator lists after the apply and not before it."""
    out = set()
    for v in set(after) - set(before):
        if is_identifier(v, "id"):
            add_identifier(out, v)
    return out


def is_account_level(uid, name):
    """The finding is about the account or region, not one object: Prowler then
    names the account id as resource, or an ".../unknown" or ":root" ARN."""
    uid = uid or ""
    return bool(ACCOUNT_RE.match(name or "")) or uid.endswith(":root") or uid.endswith("/unknown")


def account_control_owner(check_id, types):
    for prefix, owners in ACCOUNT_CONTROLS:
        if check_id.startswith(prefix):
            return bool(owners & types)
    return False


def finding_keys(uid, name):
    keys = set()
    if uid:
        keys.add(uid)
        if uid.endswith(":*"):
            keys.add(uid[:-2])
        tail = arn_tail(uid)
        if tail:
            keys.add(tail)
    if name and name.lower() not in STOP_NAMES and not ACCOUNT_RE.match(name):
        keys.add(name)
    return keys


def attribute(findings, ids, created, types):
    """Kept findings as dicts (check, severity, status, uid, name, why)."""
    kept, seen = [], set()
    for f in findings:
        check = (f.get("metadata") or {}).get("event_code") or ""
        status = f.get("status_code") or ""
        sev = (f.get("severity") or "").lower()
        for res in f.get("resources") or [{}]:
            uid, name = res.get("uid") or "", res.get("name") or ""
            why = None
            keys = set() if is_account_level(uid, name) else finding_keys(uid, name)
            if keys & ids:
                why = "state"
            elif keys & created:
                why = "created"
            elif (not keys or ACCOUNT_ARN_RE.match(uid)) and account_control_owner(check, types):
                # the account or region itself (or an ARN without a resource id)
                why = "account"
            if why is None:
                continue
            k = (check, uid, name, status)
            if k in seen:
                continue
            seen.add(k)
            kept.append({"check": check, "severity": sev, "status": status, "uid": uid,
                         "name": name, "why": why})
    return kept


# ---- Prowler's error log ------------------------------------------------------

LOG_RE = re.compile(
    r'^\{"timestamp": "(?P<ts>[^"]*)", "filename": "(?P<file>[^"]*)", "level": "(?P<level>[^"]*)", '
    r'"module": "(?P<module>[^"]*)", "message": "(?P<msg>.*)"\}\s*$', re.S)
OP_RE = re.compile(r"when calling the (\w+) operation")
ERR_RE = re.compile(r"(?:^|-- |: )([A-Z]\w+?(?:Error|Exception))[\[:]")


def parse_log(text):
    """Entries of Prowler's --log-file (one JSON-ish object per entry, not escaped)."""
    out = []
    for chunk in re.split(r"\n(?=\{\"timestamp\")", text or ""):
        m = LOG_RE.match(chunk.strip())
        if m and m.group("level") in ("ERROR", "CRITICAL"):
            out.append(m.groupdict())
    return out


def summarize_error(msg):
    """Short 'Operation: ErrorClass (code)' of one log message."""
    op = OP_RE.search(msg)
    cls = ERR_RE.search(msg)
    code = re.search(r"An error occurred \(([^)]+)\)", msg)
    parts = []
    if op:
        parts.append(op.group(1))
    detail = cls.group(1) if cls else msg.split("\n")[0][:80]
    if code:
        detail += f" ({code.group(1)})"
    if "html" in msg and "500" in msg and not code:
        detail += " (HTTP 500)"
    if cls and not code and "html" not in msg:
        rest = re.split(r"\]: | -- ", msg[cls.end():], maxsplit=1)
        if len(rest) == 2 and rest[1].strip():
            detail += " " + rest[1].strip().split("\n")[0][:60]
    parts.append(detail)
    return ": ".join(parts)


def enclosing_function(path, line):
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return ""
    for i in range(min(line, len(lines)) - 1, -1, -1):
        m = re.match(r"\s*def (\w+)\(", lines[i])
        if m:
            return m.group(1)
    return ""


def function_body(path, func, from_line=0):
    """Source of `func` in the file; with from_line, only its lines from there on."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return ""
    body, inside, indent = [], False, 0
    for no, ln in enumerate(lines, 1):
        m = re.match(r"(\s*)def (\w+)\(", ln)
        if m and inside and len(m.group(1)) <= indent:
            break
        if m and m.group(2) == func:
            inside, indent = True, len(m.group(1))
        if inside and no >= from_line:
            body.append(ln)
    return "\n".join(body)


GENERIC_ATTRS = {"regional_clients", "client", "audit_config", "audited_account", "region",
                 "session", "provider", "audit_resources", "get_unknown_arn"}


def affected_checks(src, service, func, scanned, err_line=0):
    """Checks (of the scanned services) that read what `func` of `service` fills:
    a static match in Prowler's source, for the report only. Object fields
    count only from the failing line on (those before it were set)."""
    svc_dir = Path(src) / "providers" / "aws" / "services"
    path = svc_dir / service / f"{service}_service.py"
    body = function_body(path, func)
    attrs = {a for a in re.findall(r"self\.(\w+)\s*(?:\.append|\.update|\[[^\]]*\]\s*=|=(?!=))", body)}
    attrs -= GENERIC_ATTRS
    tail = function_body(path, func, err_line) if err_line else body
    fields = set(re.findall(r"^\s*(?!self\b)\w+\.(\w+)\s*=(?!=)", tail, re.M))
    fields |= set(re.findall(r"^\s*(?!self\b)\w+\.(\w+)\.(?:append|extend|update)\(", tail, re.M))
    fields -= GENERIC_ATTRS
    client = f"{service}_client"
    hits = set()
    for svc in scanned:
        for check_py in (svc_dir / svc).glob("*/*.py"):
            if check_py.parent.name != check_py.stem:
                continue
            code = check_py.read_text()
            if client not in code:
                continue
            if re.search(rf"\b{re.escape(func)}\b", code) or any(
                    re.search(rf"{client}\.{re.escape(a)}\b", code) for a in attrs) or any(
                    re.search(rf"\.{re.escape(f)}\b", code) for f in fields):
                hits.add(check_py.stem)
    return sorted(hits)


def is_check(src, name, check_ids=()):
    if name in check_ids:
        return True
    if not src or not re.match(r"^[a-z0-9_]+$", name or ""):
        return False
    return any((Path(src) / "providers/aws/services").glob(f"*/{name}/{name}.py"))


def collect_errors(entries, src, scanned, check_ids=()):
    """Grouped errors: {'key', 'service', 'function', 'error', 'checks'}."""
    out = {}
    for e in entries:
        module, msg = e["module"], e["msg"]
        fname, _, line = e["file"].partition(":")
        if module.endswith("_service"):
            service = module[: -len("_service")]
            func = enclosing_function(Path(src) / "providers/aws/services" / service / fname,
                                      int(line or 0)) if src else ""
            key = (service, func, summarize_error(msg))
            if key not in out:
                m = re.search(r"(?:Error|Exception)(?:\[|:)(\d+)", msg)
                err_line = int(m.group(1)) if m else 0
                checks = affected_checks(src, service, func, scanned, err_line) if src and func else []
                out[key] = {"service": service, "function": func, "error": key[2], "checks": checks}
        else:
            first = msg.split(" ", 1)[0]
            check = first if is_check(src, first, check_ids) else module
            key = ("check", check, summarize_error(msg))
            if key not in out:
                out[key] = {"service": "check" if is_check(src, check, check_ids) else "lib",
                            "function": check, "error": key[2],
                            "checks": [check] if is_check(src, check, check_ids) else []}
    return list(out.values())


# ---- inventory (boto3) --------------------------------------------------------

INVENTORY = [
    # service, operation, kwargs, list key, id fields
    ("ec2", "describe_vpcs", {}, "Vpcs", ["VpcId"]),
    ("ec2", "describe_subnets", {}, "Subnets", ["SubnetId", "SubnetArn"]),
    ("ec2", "describe_network_acls", {}, "NetworkAcls", ["NetworkAclId"]),
    ("ec2", "describe_security_groups", {}, "SecurityGroups", ["GroupId", "SecurityGroupArn"]),
    ("ec2", "describe_route_tables", {}, "RouteTables", ["RouteTableId"]),
    ("ec2", "describe_internet_gateways", {}, "InternetGateways", ["InternetGatewayId"]),
    ("ec2", "describe_nat_gateways", {}, "NatGateways", ["NatGatewayId"]),
    ("ec2", "describe_addresses", {}, "Addresses", ["AllocationId"]),
    ("ec2", "describe_vpc_endpoints", {}, "VpcEndpoints", ["VpcEndpointId"]),
    ("ec2", "describe_flow_logs", {}, "FlowLogs", ["FlowLogId"]),
    ("ec2", "describe_network_interfaces", {}, "NetworkInterfaces", ["NetworkInterfaceId"]),
    ("ec2", "describe_volumes", {}, "Volumes", ["VolumeId"]),
    ("ec2", "describe_snapshots", {"OwnerIds": ["self"]}, "Snapshots", ["SnapshotId"]),
    ("ec2", "describe_transit_gateways", {}, "TransitGateways", ["TransitGatewayId", "TransitGatewayArn"]),
    ("iam", "list_roles", {}, "Roles", ["RoleName", "Arn"]),
    ("iam", "list_users", {}, "Users", ["UserName", "Arn"]),
    ("iam", "list_groups", {}, "Groups", ["GroupName", "Arn"]),
    ("iam", "list_policies", {"Scope": "Local"}, "Policies", ["PolicyName", "Arn"]),
    ("iam", "list_instance_profiles", {}, "InstanceProfiles", ["InstanceProfileName", "Arn"]),
    ("kms", "list_keys", {}, "Keys", ["KeyId", "KeyArn"]),
    ("s3", "list_buckets", {}, "Buckets", ["Name"]),
    ("logs", "describe_log_groups", {}, "logGroups", ["logGroupName", "arn"]),
    ("cloudtrail", "describe_trails", {}, "trailList", ["Name", "TrailARN"]),
    ("sns", "list_topics", {}, "Topics", ["TopicArn"]),
    ("cloudwatch", "describe_alarms", {}, "MetricAlarms", ["AlarmName", "AlarmArn"]),
    ("config", "describe_configuration_recorders", {}, "ConfigurationRecorders", ["name", "arn"]),
    ("config", "describe_delivery_channels", {}, "DeliveryChannels", ["name"]),
    ("config", "describe_config_rules", {}, "ConfigRules", ["ConfigRuleName", "ConfigRuleArn"]),
    ("guardduty", "list_detectors", {}, "DetectorIds", [None]),
    ("securityhub", "describe_hub", {}, None, ["HubArn"]),
    ("accessanalyzer", "list_analyzers", {}, "analyzers", ["name", "arn"]),
    ("organizations", "describe_organization", {}, "Organization", ["Id", "Arn"]),
    ("organizations", "list_roots", {}, "Roots", ["Id", "Arn"]),
    ("organizations", "list_policies", {"Filter": "SERVICE_CONTROL_POLICY"}, "Policies", ["Id", "Arn"]),
]


def inventory(region):
    import boto3  # the Prowler venv has it
    from botocore.config import Config

    session = boto3.session.Session(region_name=region)
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    found, failed = set(), []
    for service, op, kwargs, key, fields in INVENTORY:
        try:
            client = session.client(service, config=cfg)
            if client.can_paginate(op):
                pages = list(client.get_paginator(op).paginate(**kwargs))
            else:
                pages = [getattr(client, op)(**kwargs)]
        except Exception as err:  # the emulator lacks some: listed, not fatal
            failed.append(f"{service}.{op}: {err.__class__.__name__}")
            continue
        for page in pages:
            items = page.get(key, []) if key else [page]
            if isinstance(items, dict):  # a single object (the organization)
                items = [items]
            for item in items:
                for field in fields:
                    v = item if field is None else (item.get(field) if isinstance(item, dict) else None)
                    if isinstance(v, str) and v:
                        found.add(v)
    return sorted(found), failed


# ---- report -------------------------------------------------------------------

def _cell(counts, per_root):
    """'2 FAIL / 1 PASS (root: 2F 1P; …)' for one side of one check."""
    if not any(counts.values()):
        return "–"
    head = f"{counts['FAIL']} FAIL / {counts['PASS']} PASS"
    if counts.get("MANUAL"):
        head += f" / {counts['MANUAL']} MANUAL"
    roots = []
    for root in sorted(per_root):
        c = per_root[root]
        bits = "".join(f" {c[s]}{s[0]}" for s in ("FAIL", "PASS", "MANUAL") if c.get(s))
        roots.append(f"{root}{bits}")
    return f"{head} ({'; '.join(roots)})"


def _sev_counts(findings):
    out = {s: 0 for s in SEVERITIES}
    for f in findings:
        if f["status"] == "FAIL":
            out[f["severity"]] = out.get(f["severity"], 0) + 1
    return out


def _sev_line(counts):
    total = sum(counts.values())
    return f"**{total} FAIL** (" + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES) + ")"


def render(records, header=""):
    lines = []
    if header:
        lines += [header, ""]
    ours = [r for r in records if r["side"] == "ours"]
    peers = [r for r in records if r["side"] == "peer"]
    paired = {r["pair"] for r in peers if r.get("scanned")}
    rows = defaultdict(lambda: {"severity": "", "ours": defaultdict(int), "peer": defaultdict(int),
                                "ours_roots": defaultdict(lambda: defaultdict(int)),
                                "peer_roots": defaultdict(lambda: defaultdict(int))})
    for r in records:
        for f in r.get("findings", []):
            row = rows[f["check"]]
            row["severity"] = f["severity"]
            row[r["side"]][f["status"]] += 1
            row[r["side"] + "_roots"][r["root"]][f["status"]] += 1

    def order(item):
        check, row = item
        sev = SEVERITIES.index(row["severity"]) if row["severity"] in SEVERITIES else 9
        return (sev, -(row["ours"]["FAIL"] + row["peer"]["FAIL"]), check)

    impaired = {c for r in records for e in r.get("errors", []) for c in e.get("checks", [])}
    lines.append("| check | severity | ours | peer |")
    lines.append("| --- | --- | --- | --- |")
    for check, row in sorted(rows.items(), key=order):
        mark = " †" if check in impaired else ""
        lines.append(f"| `{check}`{mark} | {row['severity']} | {_cell(row['ours'], row['ours_roots'])} | "
                     f"{_cell(row['peer'], row['peer_roots'])} |")
    lines.append("")
    lines.append("Cells: FAIL / PASS (/ MANUAL) findings on the root's own objects, summed over roots; "
                 "per root F = FAIL, P = PASS, M = MANUAL; – = no finding on that side. Peer roots are "
                 "hashicorp/aws 3.39, named by the example they mirror. † = Prowler logged an error for "
                 "an API this check reads (below): its result rests on missing data.")
    lines.append("")

    all_ours = [f for r in ours for f in r.get("findings", [])]
    lines.append("### Totals")
    lines.append("")
    lines.append(f"- ours, every example ({', '.join(sorted(r['root'] for r in ours if r.get('scanned')))}): "
                 f"{_sev_line(_sev_counts(all_ours))}; "
                 f"{sum(1 for f in all_ours if f['status'] == 'PASS')} PASS")
    for r in sorted(ours, key=lambda r: r["root"]):
        if r.get("scanned"):
            fs = r.get("findings", [])
            lines.append(f"  - {r['root']}: {_sev_line(_sev_counts(fs))}, "
                         f"{sum(1 for f in fs if f['status'] == 'PASS')} PASS")
    if paired:
        ours_p = [f for r in ours if r["root"] in paired for f in r.get("findings", [])]
        peer_p = [f for r in peers if r.get("scanned") for f in r.get("findings", [])]
        lines.append(f"- roots with a peer ({', '.join(sorted(paired))}):")
        lines.append(f"  - ours: {_sev_line(_sev_counts(ours_p))}, "
                     f"{sum(1 for f in ours_p if f['status'] == 'PASS')} PASS")
        lines.append(f"  - peer: {_sev_line(_sev_counts(peer_p))}, "
                     f"{sum(1 for f in peer_p if f['status'] == 'PASS')} PASS")
        for r in sorted(peers, key=lambda r: r["pair"]):
            if r.get("scanned"):
                ours_r = [f for o in ours if o["root"] == r["pair"] for f in o.get("findings", [])]
                lines.append(f"  - {r['pair']}: ours {_sev_line(_sev_counts(ours_r))} vs peer "
                             f"{_sev_line(_sev_counts(r.get('findings', [])))}")
    why = defaultdict(int)
    for r in records:
        for f in r.get("findings", []):
            why[f["why"]] += 1
    lines.append(f"- attribution: {why['state']} findings by an identifier in state, "
                 f"{why['created']} by an object the apply created that state does not name, "
                 f"{why['account']} account-level (the root manages the control)")
    broken = [r for r in records if not r.get("scanned")]
    for r in broken:
        lines.append(f"- **{r['side']} {r['root']}: not scanned** ({r.get('problem', 'unknown')})")
    lines.append("")

    lines.append("### Checks that could not run (from Prowler's error log; not counted as passes)")
    lines.append("")
    errs = {}
    for r in records:
        for e in r.get("errors", []):
            k = (e["service"], e["function"], e["error"])
            errs.setdefault(k, {"e": e, "roots": set()})["roots"].add(f"{r['side']} {r['root']}")
    if not errs:
        lines.append("- none logged")
    for (service, func, error), v in sorted(errs.items()):
        e = v["e"]
        where = {"check": f"check `{func}` logged an error",
                 "lib": f"Prowler library `{func}`"}.get(service, f"{service}: `{func}`")
        checks = ", ".join(f"`{c}`" for c in e["checks"]) or "no check reads it directly"
        roots = "every root" if len(v["roots"]) == len(records) else ", ".join(sorted(v["roots"]))
        lines.append(f"- {where}: {error} — checks: {checks} ({roots})")
    inv_failed = sorted({x for r in records for x in r.get("inventory_failed", [])})
    if inv_failed:
        lines.append("")
        lines.append("Inventory calls the emulator refused (objects of these kinds are attributed by "
                     "state only): " + ", ".join(inv_failed))
    return "\n".join(lines) + "\n"


# ---- CLI ----------------------------------------------------------------------

def _load(path, default):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("inventory")
    p.add_argument("--out", required=True)
    p.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    p = sub.add_parser("attribute")
    for a in ("--side", "--root", "--state", "--before", "--after", "--findings", "--log", "--out"):
        p.add_argument(a, required=True)
    p.add_argument("--pair", default="")
    p.add_argument("--prowler-src", default="")
    p.add_argument("--services", nargs="+", default=[])
    p.add_argument("--problem", default="")
    p = sub.add_parser("report")
    p.add_argument("records", nargs="+")
    p.add_argument("--header", default="")
    args = ap.parse_args(argv)

    if args.cmd == "inventory":
        found, failed = inventory(args.region)
        Path(args.out).write_text(json.dumps({"ids": found, "failed": failed}, indent=1))
        return 0
    if args.cmd == "attribute":
        state = _load(args.state, {})
        before = _load(args.before, {})
        after = _load(args.after, {})
        findings = _load(args.findings, None)
        ids, types = state_objects(state)
        created = created_objects(before.get("ids", []), after.get("ids", []))
        record = {"side": args.side, "root": args.root, "pair": args.pair or args.root,
                  "scanned": findings is not None and not args.problem,
                  "problem": args.problem or ("no Prowler output" if findings is None else ""),
                  "resource_types": sorted(types),
                  "inventory_failed": sorted(set(before.get("failed", [])) | set(after.get("failed", [])))}
        record["findings"] = attribute(findings or [], ids, created - ids, types)
        check_ids = {(f.get("metadata") or {}).get("event_code") for f in findings or []}
        try:
            text = Path(args.log).read_text()
        except OSError:
            text = ""
        record["errors"] = collect_errors(parse_log(text), args.prowler_src, args.services, check_ids)
        Path(args.out).write_text(json.dumps(record, indent=1))
        return 0
    if args.cmd == "report":
        records = [_load(p, None) for p in args.records]
        sys.stdout.write(render([r for r in records if r], args.header))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
