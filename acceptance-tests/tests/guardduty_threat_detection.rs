//! Acceptance tests for `bankplatform_threat_detection`: the standard suite on
//! Terraform 1.15 and 1.0.3, each case in its own emulated account (one detector per
//! account and Region). Every control the emulator can show is read back through the
//! SDK: the detector's status, features (with the Fargate agent) and publishing
//! frequency, and Security Hub's finding generator and auto-enabled controls.
//!
//! What the emulator cannot show, and the suite therefore does not claim: findings
//! exported to a bucket (moto has no publishing destinations) and the security
//! standards (moto has no standards API): requested, left out of `compliance`; and
//! tag changes on the detector (moto has no GuardDuty TagResource: the lifecycle
//! marker cannot be written either, which the create reports as a warning).

const ADDR: &str = "bankplatform_threat_detection.test";

pub(crate) mod standard {
    use acceptance_tests::checks::sdk;
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;

    fn with(extra: &str) -> String {
        format!("resource \"bankplatform_threat_detection\" \"test\" {{\n{extra}\n}}\n")
    }

    fn basic(_name: &str) -> String {
        with("")
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "gd",
        composite: Composite {
            config: basic,
            expected: &[("guardduty detector", 1), ("securityhub hub", 1)],
            beside: &[],
        },
        // In place: the publishing frequency (moto has no GuardDuty TagResource, so a
        // tag change cannot be shown here; against AWS tags are updated in place).
        updated: |_| with("  finding_publishing_frequency = \"ONE_HOUR\""),
        // Another Region: a detector there, this one deleted.
        replaced: |_| with("  target {\n    region = \"us-west-2\"\n  }"),
        import_ignore: &[],
        controls: &[
            ("GuardDuty.1", true),
            ("GuardDuty.10", true),
            ("GuardDuty.9", true),
            ("GuardDuty.11", true),
            ("GuardDuty.8", true),
            ("GuardDuty.5", true),
            ("GuardDuty.6", true),
            ("bank:findings-every-15-minutes", true),
            ("CIS 5.16", true),
        ],
        check: |ctx| {
            async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                // The detector's Region (the `target`'s, else the provider's).
                let region = ctx
                    .attr_path(super::ADDR, &["target", "region"])
                    .and_then(|r| r.as_str().map(str::to_string))
                    .unwrap_or_else(|| acceptance_tests::aws::REGION.to_string());
                let gd = aws_sdk_guardduty::Client::from_conf(
                    ctx.aws
                        .guardduty()
                        .config()
                        .to_builder()
                        .region(aws_types::region::Region::new(region.clone()))
                        .build(),
                );
                let sh = aws_sdk_securityhub::Client::from_conf(
                    ctx.aws
                        .securityhub()
                        .config()
                        .to_builder()
                        .region(aws_types::region::Region::new(region))
                        .build(),
                );
                let d = gd
                    .get_detector()
                    .detector_id(&id)
                    .send()
                    .await
                    .map_err(|e| sdk("GetDetector", e))?;
                ensure!(
                    d.status().map(|s| s.as_str()) == Some("ENABLED"),
                    "detector not enabled"
                );
                let want = ctx.require_str(super::ADDR, "finding_publishing_frequency")?;
                ensure!(
                    d.finding_publishing_frequency().map(|f| f.as_str()) == Some(want.as_str()),
                    "findings not published every {want}"
                );
                for feature in [
                    "S3_DATA_EVENTS",
                    "RDS_LOGIN_EVENTS",
                    "EKS_AUDIT_LOGS",
                    "LAMBDA_NETWORK_LOGS",
                    "RUNTIME_MONITORING",
                    "EBS_MALWARE_PROTECTION",
                ] {
                    let f = d
                        .features()
                        .iter()
                        .find(|f| f.name().map(|n| n.as_str()) == Some(feature))
                        .with_context(|| format!("feature {feature} missing"))?;
                    ensure!(
                        f.status().map(|s| s.as_str()) == Some("ENABLED"),
                        "feature {feature} not enabled"
                    );
                }
                let hub = sh
                    .describe_hub()
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeHub", e))?;
                ensure!(
                    hub.control_finding_generator().map(|g| g.as_str()) == Some("SECURITY_CONTROL"),
                    "findings not consolidated"
                );
                ensure!(
                    hub.auto_enable_controls() == Some(true),
                    "new controls not enabled automatically"
                );
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                ctx.aws
                    .guardduty()
                    .update_detector()
                    .detector_id(&id)
                    .finding_publishing_frequency(
                        aws_sdk_guardduty::types::FindingPublishingFrequency::SixHours,
                    )
                    .send()
                    .await
                    .map_err(|e| sdk("UpdateDetector", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["bank:findings-every-15-minutes"],
        disappear: |ctx| {
            async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                ctx.aws
                    .guardduty()
                    .delete_detector()
                    .detector_id(&id)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteDetector", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |_| {
            vec![
                (
                    with("  finding_publishing_frequency = \"DAILY\""),
                    r"(?is)invalid publishing frequency.*finding_publishing_frequency",
                ),
                (
                    with("  findings_bucket_arn = \"arn:aws:s3:::findings\""),
                    r"(?is)incomplete findings export.*findings_bucket_arn",
                ),
                (
                    with("  findings_kms_key_arn = \"key\""),
                    r"(?is)invalid arn.*findings_kms_key_arn",
                ),
            ]
        },
        fail_at: 2,
        kill_after: 1,
    };

    acceptance_tests::standard_suite!(SUITE);
}
