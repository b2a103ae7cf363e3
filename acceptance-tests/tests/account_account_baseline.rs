//! Acceptance tests for `bankplatform_account_baseline`: the standard suite on
//! Terraform 1.15 and 1.0.3, each case in its own emulated account (the baseline is
//! account-wide). Every control is read back through the SDK: the password policy,
//! EBS encryption by default, the S3 account public access block (S3 Control), the
//! root user's access keys.
//!
//! What the emulator cannot show, and the suite therefore does not claim: the EBS
//! default key (moto lacks GetEbsDefaultKmsKeyId, so `bank:ebs-default-key-cmk` is left
//! out of `compliance`), IAM Access Analyzer (no such API in moto: requested, left out),
//! and that new volumes are actually encrypted (moto ignores the account default).

const ADDR: &str = "bankplatform_account_baseline.test";

pub(crate) mod standard {
    use acceptance_tests::checks::sdk;
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;

    fn with(extra: &str) -> String {
        format!("resource \"bankplatform_account_baseline\" \"test\" {{\n{extra}\n}}\n")
    }

    fn basic(_name: &str) -> String {
        with("")
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "base",
        composite: Composite {
            config: basic,
            expected: &[
                ("iam password-policy", 1),
                ("ec2 ebs-encryption-by-default", 1),
                ("s3control account-public-access-block", 1),
                ("kms key", 1),
            ],
            beside: &[],
        },
        updated: |_| with("  password_minimum_length = 16\n  tags = { env = \"test\" }"),
        replaced: |_| with("  account_wide = false"),
        import_ignore: &["access_analyzer"],
        controls: &[
            ("IAM.7", true),
            ("IAM.15", true),
            ("IAM.16", true),
            ("IAM.10", true),
            ("EC2.7", true),
            ("S3.1", true),
            ("IAM.4", true),
        ],
        check: |ctx| {
            async move {
                let aws = &ctx.aws;
                let ebs = aws
                    .ec2()
                    .get_ebs_encryption_by_default()
                    .send()
                    .await
                    .map_err(|e| sdk("GetEbsEncryptionByDefault", e))?;
                ensure!(
                    ebs.ebs_encryption_by_default() == Some(true),
                    "EBS encryption by default is off"
                );
                let key = ctx.require_str(super::ADDR, "ebs_kms_key_arn")?;
                ensure!(
                    acceptance_tests::checks::kms::key_rotation_enabled(aws.kms(), &key).await?,
                    "the EBS default key {key} does not rotate"
                );
                if ctx.attr(super::ADDR, "account_wide") == Some(serde_json::Value::Bool(false)) {
                    // A Region's baseline: the account-wide settings are not its own.
                    return Ok(());
                }
                let p = aws
                    .iam()
                    .get_account_password_policy()
                    .send()
                    .await
                    .map_err(|e| sdk("GetAccountPasswordPolicy", e))?;
                let p = p.password_policy().context("no password policy")?;
                ensure!(
                    p.minimum_password_length().unwrap_or(0) >= 14,
                    "passwords shorter than 14: {p:?}"
                );
                ensure!(
                    p.password_reuse_prevention() == Some(24),
                    "reuse prevention is not 24: {p:?}"
                );
                ensure!(
                    p.max_password_age().is_some_and(|d| d <= 90),
                    "passwords do not expire within 90 days: {p:?}"
                );
                ensure!(
                    p.require_uppercase_characters()
                        && p.require_lowercase_characters()
                        && p.require_numbers()
                        && p.require_symbols(),
                    "not every character class is required: {p:?}"
                );
                let pab = aws
                    .s3control()
                    .get_public_access_block()
                    .account_id(aws.account_id())
                    .send()
                    .await
                    .map_err(|e| sdk("GetPublicAccessBlock (account)", e))?;
                let c = pab
                    .public_access_block_configuration()
                    .context("no account public access block")?;
                ensure!(
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true),
                    "not every account public access block switch is on: {c:?}"
                );
                let summary = aws
                    .iam()
                    .get_account_summary()
                    .send()
                    .await
                    .map_err(|e| sdk("GetAccountSummary", e))?;
                let keys = summary
                    .summary_map()
                    .and_then(|m| {
                        m.get(&aws_sdk_iam::types::SummaryKeyType::AccountAccessKeysPresent)
                    })
                    .copied()
                    .unwrap_or(0);
                ensure!(keys == 0, "the root user has access keys");
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                ctx.aws
                    .ec2()
                    .disable_ebs_encryption_by_default()
                    .send()
                    .await
                    .map_err(|e| sdk("DisableEbsEncryptionByDefault", e))?;
                ctx.aws
                    .iam()
                    .update_account_password_policy()
                    .minimum_password_length(8)
                    .send()
                    .await
                    .map_err(|e| sdk("UpdateAccountPasswordPolicy", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["IAM.7", "IAM.15", "IAM.16", "EC2.7"],
        disappear: |ctx| {
            async move {
                let aws = &ctx.aws;
                aws.iam()
                    .delete_account_password_policy()
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteAccountPasswordPolicy", e))?;
                aws.ec2()
                    .disable_ebs_encryption_by_default()
                    .send()
                    .await
                    .map_err(|e| sdk("DisableEbsEncryptionByDefault", e))?;
                aws.s3control()
                    .delete_public_access_block()
                    .account_id(aws.account_id())
                    .send()
                    .await
                    .map_err(|e| sdk("DeletePublicAccessBlock (account)", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |_| {
            vec![
                (
                    with("  password_minimum_length = 8"),
                    r"(?is)invalid password length.*password_minimum_length",
                ),
                (
                    with("  password_max_age_days = 365"),
                    r"(?is)invalid password age.*password_max_age_days",
                ),
                (
                    with("  ebs_kms_key_arn = \"alias/aws/ebs\""),
                    r"(?is)invalid arn.*ebs_kms_key_arn",
                ),
                (
                    with("  target {\n    region = \"us-east1\"\n  }"),
                    r"(?is)invalid region.*target\.region",
                ),
            ]
        },
        fail_at: 3,
        kill_after: 2,
    };

    acceptance_tests::standard_suite!(SUITE);
}
