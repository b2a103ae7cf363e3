//! Acceptance tests for `bankplatform_config_aggregator`: the standard suite on
//! Terraform 1.15 and 1.0.3, each case in its own emulated account. The basic
//! configuration collects from the organization (a role for Config is a child), the
//! update switches it in place to listed accounts in two Regions (the role goes).
//! Every control is read back through the SDK: the aggregator's source and Regions,
//! and the role's trust policy.
//!
//! What the emulator cannot show: aggregated data (moto keeps no recorder data to
//! aggregate), nor that the organization exists (moto does not check it).

const ADDR: &str = "bankplatform_config_aggregator.test";

pub(crate) mod standard {
    use acceptance_tests::checks::{iam, sdk};
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;

    fn with(name: &str, extra: &str) -> String {
        format!("resource \"bankplatform_config_aggregator\" \"test\" {{\n  name = \"{name}\"\n{extra}\n}}\n")
    }

    fn basic(name: &str) -> String {
        with(name, "  organization = true")
    }

    const ACCOUNTS: [&str; 2] = ["210000000005", "210000000006"];

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "agg",
        composite: Composite {
            config: basic,
            expected: &[("config aggregator", 1), ("iam role", 1)],
            beside: &[],
        },
        updated: |name| {
            with(
                name,
                &format!(
                    "  account_ids = [\"{}\", \"{}\"]\n  regions = [\"eu-west-1\", \"eu-central-1\"]",
                    ACCOUNTS[0], ACCOUNTS[1]
                ),
            )
        },
        replaced: |name| basic(&format!("{name}-r")),
        import_ignore: &[],
        controls: &[("bank:config-aggregated", true)],
        check: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                let out = ctx
                    .aws
                    .config()
                    .describe_configuration_aggregators()
                    .configuration_aggregator_names(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeConfigurationAggregators", e))?;
                let a = out
                    .configuration_aggregators()
                    .first()
                    .context("no aggregator")?;
                if ctx.attr(super::ADDR, "organization") == Some(serde_json::json!(true)) {
                    let src = a
                        .organization_aggregation_source()
                        .context("no organization source")?;
                    ensure!(src.all_aws_regions(), "not every Region: {src:?}");
                    let role_arn = ctx.require_str(super::ADDR, "role_arn")?;
                    ensure!(src.role_arn() == role_arn, "source role {}", src.role_arn());
                    // The role trusts Config for this account only.
                    let trust = iam::trust_policy(ctx.aws.iam(), &role_arn).await?;
                    let st = &trust["Statement"][0];
                    ensure!(
                        st["Principal"]["Service"] == "config.amazonaws.com"
                            && st["Condition"]["StringEquals"]["aws:SourceAccount"]
                                == ctx.aws.account_id(),
                        "the role trusts more than Config for this account: {trust}"
                    );
                } else {
                    let src = a
                        .account_aggregation_sources()
                        .first()
                        .context("no account source")?;
                    let mut ids: Vec<&str> = src.account_ids().iter().map(String::as_str).collect();
                    ids.sort();
                    ensure!(ids == ACCOUNTS, "collects from {ids:?}");
                    let mut regions: Vec<&str> =
                        src.aws_regions().iter().map(String::as_str).collect();
                    regions.sort();
                    ensure!(
                        !src.all_aws_regions() && regions == ["eu-central-1", "eu-west-1"],
                        "collects from Regions {regions:?} (all: {})",
                        src.all_aws_regions()
                    );
                    ensure!(
                        ctx.attr(super::ADDR, "role_arn")
                            .filter(|v| !v.is_null())
                            .is_none(),
                        "a role_arn is left for the listed accounts"
                    );
                    let roles = ctx
                        .aws
                        .iam()
                        .list_roles()
                        .send()
                        .await
                        .map_err(|e| sdk("ListRoles", e))?;
                    ensure!(
                        !roles
                            .roles()
                            .iter()
                            .any(|r| r.role_name().starts_with("bankplatform-config-aggregator")),
                        "the organization mode's role is left for the listed accounts"
                    );
                }
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                // Someone narrows the organization view to one account.
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .config()
                    .put_configuration_aggregator()
                    .configuration_aggregator_name(&name)
                    .account_aggregation_sources(
                        aws_sdk_config::types::AccountAggregationSource::builder()
                            .account_ids(ctx.aws.account_id())
                            .all_aws_regions(true)
                            .build()?,
                    )
                    .send()
                    .await
                    .map_err(|e| sdk("PutConfigurationAggregator", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["bank:config-aggregated"],
        disappear: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .config()
                    .delete_configuration_aggregator()
                    .configuration_aggregator_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteConfigurationAggregator", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    with(
                        name,
                        "  organization = true\n  account_ids = [\"210000000005\"]",
                    ),
                    r"(?is)conflicting sources.*account_ids",
                ),
                (with(name, ""), r"(?is)no source.*account_ids"),
                (
                    with(name, "  account_ids = [\"2100000000\"]"),
                    r"(?is)invalid account id.*account_ids",
                ),
                (
                    with(name, "  organization = true\n  regions = [\"Europe\"]"),
                    r"(?is)invalid region.*regions",
                ),
                (
                    basic(&format!("{name}/with a slash")),
                    r"(?is)invalid aggregator name.*name",
                ),
            ]
        },
        fail_at: 3,
        kill_after: 2,
    };

    acceptance_tests::standard_suite!(SUITE);
}
