"""Tests of scripts/audit_report.py: which Prowler findings count for a root,
how Prowler's error log is read, and the report's table and totals.

Run with `python3 -m unittest discover -s scripts/tests` (stdlib only; the
boto3 inventory is exercised by scripts/audit.sh against moto).
"""

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import audit_report as ar  # noqa: E402

ACCT = "123456789012"


def finding(check, uid, name, status="FAIL", severity="High"):
    return {"metadata": {"event_code": check}, "status_code": status, "severity": severity,
            "resources": [{"uid": uid, "name": name}]}


def state(*resources):
    return {"values": {"root_module": {"resources": [
        {"mode": mode, "type": rtype, "values": values} for mode, rtype, values in resources]}}}


class StateObjects(unittest.TestCase):
    def test_ids_arns_and_names_of_managed_resources_only(self):
        st = state(
            ("managed", "bankplatform_hardened_vpc", {
                "id": "vpc-0a1b2c3d4e5f60718", "cidr_block": "10.0.0.0/16", "name": "prod-core",
                "subnet_ids": {"private": {"us-east-1a": "subnet-0a1b2c3d4e5f60718"}},
                "flow_logs": {"log_group_name": "/bp/flow", "kms_key_arn":
                              f"arn:aws:kms:us-east-1:{ACCT}:key/0f8c8fbc-a262-41b6-be71-abfa0339dfe7"},
                "account_id": ACCT, "compliance": {"CIS 4.7": True}, "region": "us-east-1"}),
            ("data", "aws_caller_identity", {"arn": f"arn:aws:iam::{ACCT}:user/moto", "id": ACCT}),
        )
        ids, types = ar.state_objects(st)
        self.assertEqual(types, {"bankplatform_hardened_vpc"})
        for want in ("vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718", "/bp/flow", "prod-core",
                     "0f8c8fbc-a262-41b6-be71-abfa0339dfe7"):
            self.assertIn(want, ids)
        for unwanted in (ACCT, "10.0.0.0/16", "us-east-1", f"arn:aws:iam::{ACCT}:user/moto"):
            self.assertNotIn(unwanted, ids)

    def test_child_modules_are_walked(self):
        st = {"values": {"root_module": {"child_modules": [{"resources": [
            {"mode": "managed", "type": "aws_s3_bucket", "values": {"bucket": "bank-logs-1"}}]}]}}}
        ids, types = ar.state_objects(st)
        self.assertIn("bank-logs-1", ids)
        self.assertEqual(types, {"aws_s3_bucket"})

    def test_root_and_unknown_arns_never_identify_an_object(self):
        self.assertFalse(ar.is_identifier(f"arn:aws:iam::{ACCT}:root"))
        self.assertFalse(ar.is_identifier("default", "name"))
        self.assertTrue(ar.is_identifier(f"arn:aws:sns:us-east-1:{ACCT}:alarms"))


class Attribution(unittest.TestCase):
    def test_object_in_state_created_object_and_foreign_object(self):
        ids = {"vpc-0a1b2c3d4e5f60718", "bank-logs-1"}
        created = {"acl-0a1b2c3d4e5f60718"}
        fs = [
            finding("vpc_flow_logs_enabled", f"arn:aws:ec2:us-east-1:{ACCT}:vpc/vpc-0a1b2c3d4e5f60718",
                    "vpc-0a1b2c3d4e5f60718", "PASS"),
            finding("s3_bucket_object_lock", "arn:aws:s3:::bank-logs-1", "bank-logs-1"),
            finding("ec2_networkacl_allow_ingress_any_port",
                    f"arn:aws:ec2:us-east-1:{ACCT}:network-acl/acl-0a1b2c3d4e5f60718", "acl-0a1b2c3d4e5f60718"),
            # moto's default VPC: not ours
            finding("vpc_flow_logs_enabled", f"arn:aws:ec2:us-east-1:{ACCT}:vpc/vpc-ffffffffffffffff0",
                    "vpc-ffffffffffffffff0"),
        ]
        kept = ar.attribute(fs, ids, created, {"bankplatform_hardened_vpc"})
        self.assertEqual([(f["check"], f["why"]) for f in kept], [
            ("vpc_flow_logs_enabled", "state"), ("s3_bucket_object_lock", "state"),
            ("ec2_networkacl_allow_ingress_any_port", "created")])

    def test_log_group_arn_with_star_matches_its_name(self):
        kept = ar.attribute([finding("cloudwatch_log_group_kms_encryption_enabled",
                                     f"arn:aws:logs:us-east-1:{ACCT}:log-group:/bp/flow:*", "/bp/flow")],
                            {"/bp/flow"}, set(), set())
        self.assertEqual(len(kept), 1)

    def test_account_level_only_for_the_root_managing_the_control(self):
        fs = [
            finding("iam_password_policy_minimum_length_14",
                    f"arn:aws:iam:us-east-1:{ACCT}:password-policy", ACCT),
            finding("guardduty_is_enabled", f"arn:aws:guardduty:us-east-1:{ACCT}:detector/unknown",
                    "detector/unknown"),
            finding("iam_check_saml_providers_sts", f"arn:aws:iam::{ACCT}:root", ACCT),
        ]
        baseline = ar.attribute(fs, set(), set(), {"bankplatform_account_baseline"})
        self.assertEqual([(f["check"], f["why"]) for f in baseline],
                         [("iam_password_policy_minimum_length_14", "account")])
        vpc = ar.attribute(fs, set(), set(), {"bankplatform_hardened_vpc"})
        self.assertEqual(vpc, [])
        peer = ar.attribute(fs, set(), set(), {"aws_guardduty_detector"})
        self.assertEqual([f["check"] for f in peer], ["guardduty_is_enabled"])

    def test_account_level_finding_is_not_kept_by_a_root_arn_in_state(self):
        fs = [finding("iam_check_saml_providers_sts", f"arn:aws:iam::{ACCT}:root", ACCT)]
        self.assertEqual(ar.attribute(fs, {f"arn:aws:iam::{ACCT}:root", ACCT}, set(), set()), [])

    def test_created_objects_is_the_difference(self):
        before = ["vpc-ffffffffffffffff0", "acl-ffffffffffffffff0"]
        after = before + ["acl-0a1b2c3d4e5f60718", f"arn:aws:iam::{ACCT}:role/flow-logs"]
        got = ar.created_objects(before, after)
        self.assertIn("acl-0a1b2c3d4e5f60718", got)
        self.assertIn("flow-logs", got)
        self.assertNotIn("vpc-ffffffffffffffff0", got)


LOG = (
    '{"timestamp": "2026-01-01 00:00:00,000", "filename": "accessanalyzer_service.py:57", "level": "ERROR", '
    '"module": "accessanalyzer_service", "message": "us-east-1 -- ClientError[25]: An error occurred (500) '
    'when calling the ListAnalyzers operation (reached max retries: 3): <!doctype html>\n<html lang=en>\n"}\n'
    '{"timestamp": "2026-01-01 00:00:01,000", "filename": "s3_service.py:622", "level": "ERROR", '
    '"module": "s3_service", "message": "us-east-1 -- EndpointConnectionError[600]: Could not connect to '
    'the endpoint URL: "http://1.127.0.0.1:1/v20180820/x""}\n'
    '{"timestamp": "2026-01-01 00:00:02,000", "filename": "check.py:700", "level": "ERROR", '
    '"module": "check", "message": "s3_bucket_x -- KeyError[12]: \'Foo\'"}\n'
    '{"timestamp": "2026-01-01 00:00:03,000", "filename": "x.py:1", "level": "INFO", '
    '"module": "x", "message": "fine"}\n'
)


class ErrorLog(unittest.TestCase):
    def test_parse_keeps_errors_with_unescaped_quotes_and_newlines(self):
        entries = ar.parse_log(LOG)
        self.assertEqual([e["module"] for e in entries], ["accessanalyzer_service", "s3_service", "check"])
        self.assertIn("<html", entries[0]["msg"])

    def test_summary_names_operation_and_code(self):
        entries = ar.parse_log(LOG)
        self.assertEqual(ar.summarize_error(entries[0]["msg"]), "ListAnalyzers: ClientError (500)")
        self.assertTrue(ar.summarize_error(entries[1]["msg"]).startswith("EndpointConnectionError"))

    def test_errors_map_to_functions_and_checks_in_prowler_source(self):
        with tempfile.TemporaryDirectory() as tmp:
            svc = Path(tmp) / "providers/aws/services/accessanalyzer"
            (svc / "accessanalyzer_enabled").mkdir(parents=True)
            (svc / "accessanalyzer_service.py").write_text(
                "class A:\n" + "\n" * 51 +
                "    def _list_analyzers(self, regional_client):\n"
                "        try:\n"
                "            self.analyzers.append(regional_client.list_analyzers())\n"
                "        except Exception as error:\n"
                "            log(error)\n"
                "    def _other(self):\n"
                "        self.findings = []\n")
            (svc / "accessanalyzer_enabled/accessanalyzer_enabled.py").write_text(
                "from x import accessanalyzer_client\nfor a in accessanalyzer_client.analyzers: pass\n")
            errs = ar.collect_errors(ar.parse_log(LOG), tmp, ["accessanalyzer"], {"s3_bucket_x"})
        by_func = {e["function"]: e for e in errs}
        self.assertEqual(by_func["_list_analyzers"]["checks"], ["accessanalyzer_enabled"])
        self.assertEqual(by_func["s3_bucket_x"]["checks"], ["s3_bucket_x"])


class Report(unittest.TestCase):
    def test_table_totals_and_could_not_run(self):
        f = lambda c, s, sev: {"check": c, "status": s, "severity": sev, "uid": "u", "name": "n", "why": "state"}
        records = [
            {"side": "ours", "root": "compliant_bucket", "pair": "compliant_bucket", "scanned": True,
             "findings": [f("s3_x", "FAIL", "high"), f("s3_y", "PASS", "low")],
             "errors": [{"service": "s3", "function": "_f", "error": "Op: ClientError (500)",
                         "checks": ["s3_y"]}]},
            {"side": "ours", "root": "kms_key", "pair": "kms_key", "scanned": True,
             "findings": [f("s3_x", "FAIL", "high")], "errors": []},
            {"side": "peer", "root": "compliant_bucket", "pair": "compliant_bucket", "scanned": True,
             "findings": [f("s3_x", "PASS", "high"), f("s3_z", "FAIL", "medium")], "errors": []},
        ]
        out = ar.render(records)
        self.assertIn("| `s3_x` | high | 2 FAIL / 0 PASS (compliant_bucket 1F; kms_key 1F) | "
                      "0 FAIL / 1 PASS (compliant_bucket 1P) |", out)
        self.assertIn("| `s3_y` † | low |", out)
        self.assertIn("| `s3_z` | medium | – | 1 FAIL / 0 PASS (compliant_bucket 1F) |", out)
        self.assertIn("ours: **1 FAIL** (0 critical, 1 high", out)
        self.assertIn("peer: **1 FAIL** (0 critical, 0 high, 1 medium", out)
        self.assertIn("s3: `_f`: Op: ClientError (500) — checks: `s3_y` (ours compliant_bucket)", out)
        # critical/high rows come first
        self.assertLess(out.index("`s3_x`"), out.index("`s3_z`"))


if __name__ == "__main__":
    unittest.main()
