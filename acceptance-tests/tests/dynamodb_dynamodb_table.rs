//! Acceptance tests for `bankplatform_dynamodb_table`: the standard suite on Terraform
//! 1.15 and 1.0.3, each case in its own emulated account, and deletion protection
//! holding against `terraform destroy`. Every control is read back through the
//! DynamoDB and KMS APIs: the table's key (customer-managed, rotation on),
//! continuous backups, deletion protection and billing mode.
//!
//! The suite's tables turn deletion protection off (as the example does, visibly),
//! so that each case can end in a destroy; `protection` proves the default.

const ADDR: &str = "bankplatform_dynamodb_table.test";

/// Every setting the controls are judged from, read through the SDK: (customer key
/// with rotation on, on-demand, point-in-time recovery, deletion protection).
async fn read_back(ctx: &acceptance_tests::StepCtx) -> anyhow::Result<(bool, bool, bool, bool)> {
    use acceptance_tests::checks::{kms, sdk};
    use anyhow::Context;
    let name = ctx.require_str(ADDR, "name")?;
    let ddb = ctx.aws.dynamodb();
    let table = ddb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .map_err(|e| sdk("DescribeTable", e))?
        .table
        .context("no table")?;
    let key = table
        .sse_description()
        .and_then(|s| s.kms_master_key_arn())
        .map(str::to_string);
    let cmk = match &key {
        Some(k) => {
            anyhow::ensure!(
                k == &ctx.require_str(ADDR, "kms_key_arn")?,
                "the table's key {k} is not the resource's"
            );
            kms::key_rotation_enabled(ctx.aws.kms(), k).await?
        }
        None => false,
    };
    let on_demand = table.billing_mode_summary().and_then(|b| b.billing_mode())
        == Some(&aws_sdk_dynamodb::types::BillingMode::PayPerRequest);
    let pitr = ddb
        .describe_continuous_backups()
        .table_name(&name)
        .send()
        .await
        .map_err(|e| sdk("DescribeContinuousBackups", e))?
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        == Some(&aws_sdk_dynamodb::types::PointInTimeRecoveryStatus::Enabled);
    Ok((
        cmk,
        on_demand,
        pitr,
        table.deletion_protection_enabled() == Some(true),
    ))
}

pub(crate) mod standard {
    use acceptance_tests::checks::sdk;
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::ensure;
    use futures::FutureExt;

    fn with(name: &str, extra: &str) -> String {
        format!(
            "resource \"bankplatform_dynamodb_table\" \"test\" {{\n  name     = \"{name}\"\n  hash_key = \"LockID\"\n  # Off so that every case can end in a destroy (see the protection test).\n  deletion_protection = false\n{extra}\n}}\n"
        )
    }

    fn basic(name: &str) -> String {
        with(name, "")
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "table",
        composite: Composite {
            config: basic,
            expected: &[("dynamodb table", 1), ("kms key", 1)],
            beside: &[],
        },
        updated: |name| with(name, "  tags = { team = \"platform\" }"),
        replaced: |name| with(name, "  range_key = \"Version\"\n  range_key_type = \"N\""),
        import_ignore: &[],
        controls: &[
            ("DynamoDB.1", true),
            ("DynamoDB.2", true),
            ("DynamoDB.6", false),
            ("bank:table-cmk", true),
        ],
        check: |ctx| {
            async move {
                let (cmk, on_demand, pitr, protected) = super::read_back(&ctx).await?;
                ensure!(
                    cmk,
                    "the table is not encrypted with a rotating customer-managed key"
                );
                ensure!(on_demand, "the table is not on demand");
                ensure!(pitr, "point-in-time recovery is off");
                ensure!(
                    !protected,
                    "deletion protection is on, though configured off"
                );
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .dynamodb()
                    .update_continuous_backups()
                    .table_name(&name)
                    .point_in_time_recovery_specification(
                        aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                            .point_in_time_recovery_enabled(false)
                            .build()?,
                    )
                    .send()
                    .await
                    .map_err(|e| sdk("UpdateContinuousBackups", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["DynamoDB.2"],
        disappear: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .dynamodb()
                    .delete_table()
                    .table_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteTable", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (basic("a"), r"(?is)invalid table name.*name"),
                (
                    with(name, "  hash_key_type = \"STRING\""),
                    r"(?is)invalid key attribute type.*hash_key_type",
                ),
                (
                    with(name, "  range_key = \"LockID\""),
                    r"(?is)invalid sort key.*range_key",
                ),
                (
                    with(name, "  range_key_type = \"N\""),
                    r"(?is)sort key type without a sort key.*range_key_type",
                ),
                (
                    with(name, "  kms_key_arn = \"alias/aws/dynamodb\""),
                    r"(?is)kms_key_arn",
                ),
                (
                    with(name, "  tags = { \"bankplatform:owner\" = \"x\" }"),
                    r"(?is)reserved tag key.*tags",
                ),
            ]
        },
        fail_at: 3,
        kill_after: 2,
    };

    acceptance_tests::standard_suite!(SUITE);
}

/// Deletion protection is on by default and holds against `terraform destroy`; once
/// `false` is applied, the table goes.
mod protection {
    use acceptance_tests::{check, random_name, skip_unless_acc, Step, TestCase, TfVersion};
    use anyhow::{ensure, Result};
    use regex::Regex;

    fn config(name: &str, protection: Option<bool>) -> String {
        let p = protection
            .map(|p| format!("  deletion_protection = {p}\n"))
            .unwrap_or_default();
        format!("resource \"bankplatform_dynamodb_table\" \"test\" {{\n  name     = \"{name}\"\n  hash_key = \"LockID\"\n{p}}}\n")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn protection_holds_against_destroy() -> Result<()> {
        skip_unless_acc!();
        let name = random_name("tableprot");
        TestCase {
            own_account: true,
            terraform: TfVersion::V1_15,
            steps: vec![
                Step {
                    check: check(|ctx| async move {
                        let (cmk, on_demand, pitr, protected) = super::read_back(&ctx).await?;
                        ensure!(cmk && on_demand && pitr && protected, "defaults: cmk {cmk}, on-demand {on_demand}, pitr {pitr}, protected {protected}");
                        let map = ctx.attr(super::ADDR, "compliance").unwrap_or_default();
                        ensure!(
                            map.as_object().is_some_and(|m| m.len() == 4 && m.values().all(|v| v == true)),
                            "compliance is {map}"
                        );
                        Ok(())
                    }),
                    ..Step::config(config(&name, None))
                },
                // Removed from the configuration: the delete is refused, the table stays.
                Step {
                    expect_error: Some(Regex::new(r"(?is)deletion protection.*deletion_protection = false")?),
                    check: check(|ctx| async move {
                        // Still in AWS, still protected, and still in the state.
                        let (.., protected) = super::read_back(&ctx).await?;
                        ensure!(protected, "the table lost its deletion protection");
                        Ok(())
                    }),
                    ..Step::config("# The table is removed from the configuration.\n")
                },
                Step {
                    check: check(|ctx| async move {
                        let (.., protected) = super::read_back(&ctx).await?;
                        ensure!(!protected, "deletion protection is still on");
                        Ok(())
                    }),
                    ..Step::config(config(&name, Some(false)))
                },
            ],
            check_destroy: check(|ctx| async move {
                let left = acceptance_tests::checks::inventory::live_objects(&ctx.aws).await?;
                ensure!(left.is_empty(), "left behind: {left:?}");
                Ok(())
            }),
        }
        .run()
        .await
    }
}
