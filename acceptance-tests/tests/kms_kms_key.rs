//! Acceptance tests for `bankplatform_kms_key`: the standard suite on Terraform 1.15
//! and 1.0.3. Every control is read back through the KMS API (moto), independently of
//! the provider's own judgement: state, manager, rotation, and the key policy read
//! statement by statement.
//!
//! What the emulator cannot show: that KMS enforces the policy (moto accepts any
//! caller), and the rotation period (moto does not return it).

const ADDR: &str = "bankplatform_kms_key.test";

pub(crate) mod standard {
    use acceptance_tests::checks::{kms, sdk};
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context, Result};
    use futures::FutureExt;
    use serde_json::Value;

    fn with(name: &str, extra: &str) -> String {
        format!("resource \"bankplatform_kms_key\" \"test\" {{\n  name    = \"bp-acc/{name}\"\n  purpose = \"trail\"\n{extra}\n}}\n")
    }

    fn basic(name: &str) -> String {
        with(name, "")
    }

    fn actions(s: &Value) -> Vec<String> {
        match s.get("Action") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(l)) => l
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        }
    }

    /// Reads the key policy and checks it the way an auditor would.
    async fn check_policy(aws: &acceptance_tests::Aws, key: &str) -> Result<()> {
        let out = aws
            .kms()
            .get_key_policy()
            .key_id(key)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| sdk("GetKeyPolicy", e))?;
        let policy: Value = serde_json::from_str(out.policy().context("no policy")?)?;
        let statements = policy["Statement"].as_array().context("no statements")?;
        let crypto = [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt",
            "kms:GenerateDataKey",
        ];
        let mut services = Vec::new();
        for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
            let acts = actions(s);
            ensure!(
                !acts.iter().any(|a| a == "kms:*" || a == "*"),
                "a statement grants kms:*: {s}"
            );
            let public = s["Principal"] == "*" || s["Principal"]["AWS"] == "*";
            ensure!(
                !public || s.get("Condition").is_some(),
                "public principal without condition: {s}"
            );
            if let Some(svc) = s["Principal"]["Service"].as_str() {
                ensure!(
                    s.get("Condition").is_some(),
                    "service {svc} admitted without a condition: {s}"
                );
                services.push(svc.to_string());
            }
            let manages = acts.iter().any(|a| {
                a.starts_with("kms:Put")
                    || a.starts_with("kms:ScheduleKeyDeletion")
                    || a.starts_with("kms:Disable")
            });
            let uses = acts.iter().any(|a| crypto.iter().any(|c| a.starts_with(c)));
            ensure!(
                !(manages && uses),
                "a statement both manages and uses the key: {s}"
            );
        }
        ensure!(
            services.iter().any(|s| s == "cloudtrail.amazonaws.com"),
            "a trail key admits no CloudTrail: {services:?}"
        );
        let encrypt = statements
            .iter()
            .find(|s| {
                s["Principal"]["Service"] == "cloudtrail.amazonaws.com"
                    && actions(s)
                        .iter()
                        .any(|a| a.starts_with("kms:GenerateDataKey"))
            })
            .context("no CloudTrail encrypt statement")?;
        let account = aws.account_id();
        ensure!(
            encrypt.to_string().contains(&format!(":{account}:trail/*")),
            "CloudTrail may encrypt for trails of other accounts: {encrypt}"
        );
        Ok(())
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "key",
        composite: Composite {
            config: basic,
            expected: &[("kms key", 1)],
            beside: &[],
        },
        updated: |name| {
            with(
                name,
                "  tags = { env = \"test\" }\n  deletion_window_days = 7",
            )
        },
        replaced: |name| with(&format!("{name}-r"), ""),
        import_ignore: &["source_accounts", "source_arns"],
        controls: &[
            ("KMS.4", true),
            ("CIS 4.6", true),
            ("KMS.3", true),
            ("KMS.5", true),
            ("bank:key-duties-separated", true),
            ("bank:key-services-scoped", true),
        ],
        check: |ctx| {
            async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                let alias = ctx.require_str(super::ADDR, "alias")?;
                let aws = &ctx.aws;
                ensure!(
                    kms::key_state(aws.kms(), &id).await?.as_deref() == Some("Enabled"),
                    "key {id} is not Enabled"
                );
                let meta = aws
                    .kms()
                    .describe_key()
                    .key_id(&id)
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeKey", e))?;
                let m = meta.key_metadata().context("no metadata")?;
                ensure!(
                    m.key_manager().map(|k| k.as_str()) == Some("CUSTOMER"),
                    "not customer-managed"
                );
                ensure!(
                    kms::key_rotation_enabled(aws.kms(), &id).await?,
                    "rotation is off"
                );
                ensure!(
                    kms::same_key(aws.kms(), &alias, &id).await?,
                    "{alias} does not name {id}"
                );
                check_policy(aws, &id).await
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                ctx.aws
                    .kms()
                    .disable_key_rotation()
                    .key_id(&id)
                    .send()
                    .await
                    .map_err(|e| sdk("DisableKeyRotation", e))?;
                ensure!(!kms::key_rotation_enabled(ctx.aws.kms(), &id).await?);
                Ok(())
            }
            .boxed()
        },
        drifted: &["KMS.4", "CIS 4.6"],
        disappear: |ctx| {
            async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                let alias = ctx.require_str(super::ADDR, "alias")?;
                let _ = ctx.aws.kms().delete_alias().alias_name(&alias).send().await;
                ctx.aws
                    .kms()
                    .schedule_key_deletion()
                    .key_id(&id)
                    .pending_window_in_days(7)
                    .send()
                    .await
                    .map_err(|e| sdk("ScheduleKeyDeletion", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    "resource \"bankplatform_kms_key\" \"test\" {\n  name    = \"aws/mine\"\n  purpose = \"trail\"\n}\n".to_string(),
                    r"(?is)invalid key name.*name",
                ),
                (
                    format!("resource \"bankplatform_kms_key\" \"test\" {{\n  name    = \"{name}\"\n  purpose = \"trial\"\n}}\n"),
                    r#"(?is)invalid key purpose.*"trail""#,
                ),
                (with(name, "  deletion_window_days = 3"), r"(?is)invalid deletion window.*deletion_window_days"),
                (with(name, "  replica_regions = [\"eu-west-1\"]"), r"(?is)replicas need a multi-Region key.*multi_region = true"),
                (with(name, "  multi_region = true\n  replica_regions = [\"eu-west\"]"), r"(?is)invalid region.*replica_regions"),
                (with(name, "  administrators = [\"admin\"]"), r"(?is)invalid arn.*administrators"),
                (
                    with(name, "  policy_statements = jsonencode([{ Effect = \"Allow\", Principal = \"*\", Action = \"kms:Decrypt\", Resource = \"*\" }])"),
                    r"(?is)invalid policy statements.*Principal",
                ),
            ]
        },
        fail_at: 3,
        kill_after: 1,
    };

    acceptance_tests::standard_suite!(SUITE);
}

/// A multi-Region key keeps a replica in each Region of `replica_regions`, each read
/// back in its Region through the SDK (enabled, the alias names it, its policy names
/// its Region); Regions are added and removed in place, a removed replica (and, on
/// destroy, every replica) is scheduled for deletion, and one asked for again within
/// the window is brought back.
mod replicas {
    use acceptance_tests::checks::{kms, sdk};
    use acceptance_tests::{
        check, random_name, skip_unless_acc, Action, PlanCheck, Step, StepCtx, TestCase, TfVersion,
    };
    use anyhow::{ensure, Context, Result};

    fn config(name: &str, regions: &[&str]) -> String {
        let list = regions
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!("resource \"bankplatform_kms_key\" \"test\" {{\n  name            = \"bp-acc/{name}\"\n  purpose         = \"s3\"\n  multi_region    = true\n  replica_regions = [{list}]\n}}\n")
    }

    fn kms_in(ctx: &StepCtx, region: &str) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::from_conf(
            ctx.aws
                .kms()
                .config()
                .to_builder()
                .region(aws_config::Region::new(region.to_string()))
                .build(),
        )
    }

    /// Each of `regions` holds an enabled replica under the alias, with a policy
    /// naming that Region; the state's `replica_arns` lists exactly them; the
    /// replication control holds.
    async fn replicated(ctx: &StepCtx, regions: &[&str]) -> Result<()> {
        let addr = super::ADDR;
        let id = ctx.require_str(addr, "id")?;
        let alias = ctx.require_str(addr, "alias")?;
        let arns = ctx.attr(addr, "replica_arns").context("no replica_arns")?;
        let listed: Vec<&String> = arns.as_object().context("replica_arns")?.keys().collect();
        ensure!(
            listed.len() == regions.len(),
            "replica_arns {arns} is not {regions:?}"
        );
        for region in regions {
            let kms = kms_in(ctx, region);
            ensure!(
                kms::key_state(&kms, &id).await?.as_deref() == Some("Enabled"),
                "no enabled replica of {id} in {region}"
            );
            ensure!(
                kms::same_key(&kms, &alias, &id).await?,
                "{alias} names no replica in {region}"
            );
            let policy = kms
                .get_key_policy()
                .key_id(&id)
                .policy_name("default")
                .send()
                .await
                .map_err(|e| sdk("GetKeyPolicy", e))?;
            let text = policy.policy().unwrap_or_default();
            ensure!(
                text.contains(&format!("s3.{region}.amazonaws.com")),
                "the replica in {region} is not limited to S3 in its own Region: {text}"
            );
        }
        ensure!(
            ctx.attr_path(addr, &["compliance", "bank:key-replicated"])
                == Some(serde_json::Value::Bool(true)),
            "bank:key-replicated does not hold"
        );
        Ok(())
    }

    /// The replica in `region` is gone or pending deletion.
    async fn retired(ctx: &StepCtx, id: &str, region: &str) -> Result<()> {
        let state = kms::key_state(&kms_in(ctx, region), id).await?;
        ensure!(
            state.as_deref().is_none_or(|s| s.starts_with("Pending")),
            "the replica in {region} is {state:?}, not pending deletion"
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_follow_replica_regions() -> Result<()> {
        skip_unless_acc!();
        let name = random_name("keyrep");
        TestCase {
            own_account: true,
            terraform: TfVersion::V1_15,
            steps: vec![
                Step {
                    check: check(|ctx| async move { replicated(&ctx, &["eu-west-1"]).await }),
                    ..Step::config(config(&name, &["eu-west-1"]))
                },
                Step {
                    plan_checks: vec![PlanCheck::ResourceAction(
                        super::ADDR.into(),
                        Action::Update,
                    )],
                    check: check(|ctx| async move {
                        replicated(&ctx, &["eu-central-1", "eu-west-1"]).await
                    }),
                    ..Step::config(config(&name, &["eu-west-1", "eu-central-1"]))
                },
                Step {
                    plan_checks: vec![PlanCheck::ResourceAction(
                        super::ADDR.into(),
                        Action::Update,
                    )],
                    check: check(|ctx| async move {
                        replicated(&ctx, &["eu-central-1"]).await?;
                        let id = ctx.require_str(super::ADDR, "id")?;
                        retired(&ctx, &id, "eu-west-1").await
                    }),
                    ..Step::config(config(&name, &["eu-central-1"]))
                },
                // Asked for again within the deletion window: the same replica back.
                Step {
                    plan_checks: vec![PlanCheck::ResourceAction(
                        super::ADDR.into(),
                        Action::Update,
                    )],
                    check: check(|ctx| async move {
                        replicated(&ctx, &["eu-central-1", "eu-west-1"]).await
                    }),
                    ..Step::config(config(&name, &["eu-central-1", "eu-west-1"]))
                },
            ],
            check_destroy: check(|ctx| async move {
                let id = ctx.require_str(super::ADDR, "id")?;
                for region in ["us-east-1", "eu-west-1", "eu-central-1"] {
                    retired(&ctx, &id, region).await?;
                }
                Ok(())
            }),
        }
        .run()
        .await
    }
}
