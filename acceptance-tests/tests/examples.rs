//! Every `examples/<resource>/` root, as a user runs it: copied as it is, only the
//! `aws_endpoint` variable set, credentials of a fresh emulated account in the
//! environment. It applies, a second plan is empty, every `compliance` map it
//! outputs is true but for the controls the example leaves false on purpose, and
//! destroy leaves nothing in the account. Terraform 1.15; the oldest version's
//! grammar is covered by each resource's standard suite.

use std::path::Path;

use acceptance_tests::checks::inventory;
use acceptance_tests::terraform::{PlanOpts, PlanOutcome, Terraform};
use acceptance_tests::{mirror, moto, random_account_id, skip_unless_acc, tools, Aws, TfVersion};
use anyhow::{ensure, Context, Result};
use serde_json::Value;

/// Controls an example leaves false on purpose, each explained in the example's
/// opening comment (cross-Region replication needs a bucket in a second Region;
/// deletion protection would keep the example's table from being destroyed; a new
/// organization has no member to delegate the security services to).
const LEFT_FALSE: &[(&str, &[&str])] = &[
    ("compliant_bucket", &["transactions_compliance.S3.7"]),
    ("dynamodb_table", &["compliance.DynamoDB.6"]),
    (
        "organization",
        &[
            "compliance.bank:delegated-access-analyzer",
            "compliance.bank:delegated-config",
            "compliance.bank:delegated-guardduty",
            "compliance.bank:delegated-securityhub",
        ],
    ),
];

/// Copies the example's `.tf` files, nothing else (no state, no lock file).
fn copy_example(name: &str, to: &Path) -> Result<()> {
    let from = tools::workspace_root().join("examples").join(name);
    for entry in std::fs::read_dir(&from).with_context(|| format!("reading {from:?}"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tf") {
            std::fs::copy(&path, to.join(path.file_name().expect("a file name")))?;
        }
    }
    Ok(())
}

/// The `false` entries of every output named `…compliance`, as `output.control`.
fn false_controls(outputs: &Value) -> Vec<String> {
    let mut out: Vec<String> = outputs
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.ends_with("compliance"))
        .flat_map(|(name, o)| {
            o["value"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, ok)| **ok == Value::Bool(false))
                .map(move |(id, _)| format!("{name}.{id}"))
        })
        .collect();
    out.sort();
    out
}

async fn apply_and_destroy(name: &str) -> Result<()> {
    let endpoint = moto::endpoint().await?;
    let account = random_account_id();
    let base = Aws::for_endpoint(&endpoint);
    let aws = base.in_account(&account).await?;
    let creds = base
        .sts()
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("bp-example")
        .send()
        .await
        .context("AssumeRole into the example's account")?
        .credentials
        .context("AssumeRole returned no credentials")?;
    let cli_config = mirror::with_provider().await?.cli_config;
    let version = TfVersion::V1_15;
    let tf = Terraform::new(&tools::terraform(version)?, version, &cli_config, name)?
        .with_env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .with_env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .with_env("AWS_SESSION_TOKEN", creds.session_token())
        .with_env("TF_VAR_aws_endpoint", &endpoint);
    copy_example(name, tf.dir())?;
    tf.init().await?;
    tf.apply()
        .await
        .with_context(|| format!("examples/{name}: apply"))?;
    let plan = tf.plan(&PlanOpts::default()).await?;
    ensure!(
        plan.outcome == PlanOutcome::NoChanges,
        "examples/{name}: the plan after apply is not empty:\n{}",
        plan.output.combined()
    );
    let outputs: Value = serde_json::from_str(&tf.run(&["output", "-json"]).await?.stdout)?;
    let wanted: Vec<String> = LEFT_FALSE
        .iter()
        .filter(|(e, _)| *e == name)
        .flat_map(|(_, ids)| ids.iter().map(|s| s.to_string()))
        .collect();
    let found = false_controls(&outputs);
    ensure!(
        found == wanted,
        "examples/{name}: controls false after apply {found:?}, expected {wanted:?}"
    );
    tf.destroy()
        .await
        .with_context(|| format!("examples/{name}: destroy"))?;
    let left = inventory::live_objects(&aws).await?;
    ensure!(
        left.is_empty(),
        "examples/{name}: left after destroy:\n{}",
        left.join("\n")
    );
    Ok(())
}

/// One test per example, and the list [`every_example_is_tested`] checks.
macro_rules! example_tests {
    ($($name:ident),* $(,)?) => {
        const EXAMPLES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() -> Result<()> {
                skip_unless_acc!();
                apply_and_destroy(stringify!($name)).await
            }
        )*
    };
}

example_tests!(
    compliant_bucket,
    hardened_vpc,
    kms_key,
    audit_trail,
    config_recorder,
    config_aggregator,
    threat_detection,
    account_baseline,
    alarm_topic,
    dynamodb_table,
    deploy_role,
    organization,
);

#[test]
fn every_example_is_tested() {
    for e in std::fs::read_dir(tools::workspace_root().join("examples")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        if e.path().is_dir() && name != "platform" {
            assert!(
                EXAMPLES.contains(&name.as_str()),
                "examples/{name} has no test in acceptance-tests/tests/examples.rs"
            );
        }
    }
}
