//! Composites under the faults a real AWS account produces every day: the cases of
//! `acceptance_tests::fault_cases` for each composite (see there for what each proves).

use std::time::Duration;

use acceptance_tests::fault_cases::{
    empty_answers, failed_create, killed_create, past_time_limit, survives, Composite,
};
use acceptance_tests::fault_proxy::FaultPlan;
use acceptance_tests::{skip_unless_acc, TfVersion};
use anyhow::Result;

/// A compliant bucket with default arguments: the bucket and its key.
pub(crate) const BUCKET: Composite = Composite {
    config: |name| {
        format!(
            "resource \"bankplatform_compliant_bucket\" \"test\" {{\n  bucket = \"{name}\"\n}}\n"
        )
    },
    expected: &[("s3 bucket", 1), ("kms key", 1)],
    beside: &[],
};

/// A two-zone hardened VPC with default arguments.
pub(crate) const VPC: Composite = Composite {
    config: |name| {
        format!(
            r#"resource "bankplatform_hardened_vpc" "test" {{
  name               = "{name}"
  cidr_block         = "10.20.0.0/16"
  availability_zones = ["us-east-1a", "us-east-1b"]
}}
"#
        )
    },
    expected: &[
        ("ec2 vpc", 1),
        ("ec2 subnet", 6),
        ("ec2 internet-gateway", 1),
        ("ec2 nat-gateway", 2),
        ("ec2 elastic-ip", 2),
        ("ec2 flow-log", 1),
        ("ec2 vpc-endpoint", 3),
        ("ec2 security-group", 1),
        ("logs group", 1),
        ("iam role", 1),
        ("kms key", 1),
    ],
    beside: &[],
};

macro_rules! fault_tests {
    ($($name:ident => $body:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() -> Result<()> {
            skip_unless_acc!();
            $body.await
        }
    )*};
}

fault_tests! {
    bucket_under_20pct_throttling => survives(&BUCKET, "fbt20", FaultPlan::throttling(0.2));
    bucket_under_20pct_server_errors => survives(&BUCKET, "fb5xx20", FaultPlan::server_errors(0.2));
    bucket_under_20pct_resets => survives(&BUCKET, "fbrst20", FaultPlan::resets(0.2));
    bucket_under_50pct_throttling => survives(&BUCKET, "fbt50", FaultPlan::throttling(0.5));
    vpc_under_20pct_throttling => survives(&VPC, "fvt20", FaultPlan::throttling(0.2));
    vpc_under_20pct_server_errors => survives(&VPC, "fv5xx20", FaultPlan::server_errors(0.2));
    vpc_under_20pct_resets => survives(&VPC, "fvrst20", FaultPlan::resets(0.2));
    vpc_under_50pct_throttling => survives(&VPC, "fvt50", FaultPlan::throttling(0.5));
    bucket_killed_after_first_call => killed_create(&BUCKET, "fbk1", 1, TfVersion::V1_15);
    bucket_killed_after_4_calls => killed_create(&BUCKET, "fbk4", 4, TfVersion::V1_15);
    bucket_killed_after_8_calls_tf_1_0_3 => killed_create(&BUCKET, "fbk8", 8, TfVersion::V1_0_3);
    vpc_killed_after_first_call => killed_create(&VPC, "fvk1", 1, TfVersion::V1_15);
    vpc_killed_after_5_calls => killed_create(&VPC, "fvk5", 5, TfVersion::V1_15);
    vpc_killed_after_15_calls_tf_1_0_3 => killed_create(&VPC, "fvk15", 15, TfVersion::V1_0_3);
    vpc_killed_after_30_calls => killed_create(&VPC, "fvk30", 30, TfVersion::V1_15);
    bucket_empty_answers_end_quickly => empty_answers(&BUCKET, "fbe", 0.3, Duration::from_secs(120));
    vpc_empty_answers_end_quickly => empty_answers(&VPC, "fve", 0.3, Duration::from_secs(180));
    bucket_failed_create_rolls_back => failed_create(&BUCKET, "fbf", 5, TfVersion::V1_15);
    vpc_failed_create_rolls_back => failed_create(&VPC, "fvf", 12, TfVersion::V1_15);
    // Every other composite under 20% throttling (its standard suite's configuration
    // and inventory); scripts/fault_bench.sh runs each ten times.
    kms_key_under_20pct_throttling => survives(&crate::kms_kms_key::standard::SUITE.composite, "fkt20", FaultPlan::throttling(0.2));
    audit_trail_under_20pct_throttling => survives(&crate::cloudtrail_audit_trail::standard::SUITE.composite, "ftt20", FaultPlan::throttling(0.2));
    config_recorder_under_20pct_throttling => survives(&crate::config_config_recorder::standard::SUITE.composite, "frt20", FaultPlan::throttling(0.2));
    config_aggregator_under_20pct_throttling => survives(&crate::config_config_aggregator::standard::SUITE.composite, "fat20", FaultPlan::throttling(0.2));
    account_baseline_under_20pct_throttling => survives(&crate::account_account_baseline::standard::SUITE.composite, "fbbt20", FaultPlan::throttling(0.2));
    alarm_topic_under_20pct_throttling => survives(&crate::sns_alarm_topic::standard::SUITE.composite, "fst20", FaultPlan::throttling(0.2));
    dynamodb_table_under_20pct_throttling => survives(&crate::dynamodb_dynamodb_table::standard::SUITE.composite, "fdt20", FaultPlan::throttling(0.2));
    deploy_role_under_20pct_throttling => survives(&crate::iam_deploy_role::standard::SUITE.composite, "fit20", FaultPlan::throttling(0.2));
    threat_detection_under_20pct_throttling => survives(&crate::guardduty_threat_detection::standard::SUITE.composite, "fgt20", FaultPlan::throttling(0.2));
    organization_under_20pct_throttling => survives(&crate::organizations_organization::standard::SUITE.composite, "fot20", FaultPlan::throttling(0.2));
    // Killed with the organization made and marked, its OUs and guardrails half made.
    organization_killed_after_6_calls => killed_create(&crate::organizations_organization::standard::SUITE.composite, "fok6", 6, TfVersion::V1_15);
    bucket_past_its_time_limit_is_kept_tainted => past_time_limit(&BUCKET, "fbl", Duration::from_millis(1500), "3s");
    vpc_past_its_time_limit_is_kept_tainted => past_time_limit(&VPC, "fvl", Duration::from_millis(400), "6s");
}
