//! End to end: the generated multi-account tree of `examples/platform`
//! (bankplatform-gen's output, checked in and kept current by CI) applied
//! against moto with real Terraform: the bootstrap root, then the
//! development account's roots and what they depend on, each assuming
//! `OrganizationAccountAccessRole` in its own (moto-emulated) account. Every
//! apply is followed by a plan that must be empty; then the test reads back,
//! per account, what exists where, and destroys it all in reverse order.
//!
//! Emulator-only wiring, all in this harness, none in the generated tree:
//! moto applies the state bucket's TLS-only Deny without its condition (so
//! no state object could be written to it), so the S3 backend and
//! `terraform_remote_state` use a plain bucket the harness creates, through
//! `-backend-config` and `-var state_bucket=...`.

use acceptance_tests::aws::Aws;
use acceptance_tests::terraform::Terraform;
use acceptance_tests::{mirror, moto, random_name, skip_unless_acc, tools, TfVersion};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// The bootstrap root, the organization trail's root, the development account's roots
/// and everything they depend on, in the manifest's order.
fn selected_roots(manifest: &Value) -> Result<Vec<Value>> {
    let roots = manifest["roots"]
        .as_array()
        .context("manifest has no roots")?;
    let mut wanted: std::collections::BTreeSet<String> = roots
        .iter()
        .filter(|r| {
            r["account"] == "development" || r["stack"] == "bootstrap" || r["stack"] == "audit"
        })
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    // Close over dependencies.
    loop {
        let before = wanted.len();
        for r in roots {
            if wanted.contains(r["id"].as_str().unwrap_or_default()) {
                for d in r["depends_on"].as_array().into_iter().flatten() {
                    if let Some(d) = d.as_str() {
                        wanted.insert(d.to_string());
                    }
                }
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    Ok(roots
        .iter()
        .filter(|r| wanted.contains(r["id"].as_str().unwrap_or_default()))
        .cloned()
        .collect())
}

async fn buckets_of(aws: &Aws, account: &str) -> Result<Vec<String>> {
    let a = aws.in_account(account).await?;
    let out = a.s3().list_buckets().send().await.context("ListBuckets")?;
    Ok(out
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .collect())
}

async fn ec2_in(endpoint: &str, account: &str, region: &str) -> Result<aws_sdk_ec2::Client> {
    Ok(aws_sdk_ec2::Client::new(
        &config_in(endpoint, account, region).await,
    ))
}

async fn aws_config_in(
    endpoint: &str,
    account: &str,
    region: &str,
) -> Result<aws_sdk_config::Client> {
    Ok(aws_sdk_config::Client::new(
        &config_in(endpoint, account, region).await,
    ))
}

/// SDK configuration acting in `account` (through its role) and `region`.
async fn config_in(endpoint: &str, account: &str, region: &str) -> aws_config::SdkConfig {
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "acc",
        ))
        .load()
        .await;
    let role = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    ))
    .session_name("bp-acc")
    .configure(&base)
    .build()
    .await;
    base.into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(role))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_tree_bootstrap_and_development_apply() -> Result<()> {
    skip_unless_acc!();
    let endpoint = moto::endpoint().await?;
    let mirror = mirror::with_provider().await?;
    let tf = Terraform::new(
        &tools::terraform(TfVersion::V1_15)?,
        TfVersion::V1_15,
        &mirror.cli_config,
        "platform-tree",
    )?;
    let repo = tools::workspace_root();
    tools::copy_dir(
        &repo.join("examples/platform"),
        &tf.dir().join("examples/platform"),
        &[".terraform"],
    )?;
    tools::copy_dir(
        &repo.join("modules"),
        &tf.dir().join("modules"),
        &[".terraform"],
    )?;
    let live = tf.dir().join("examples/platform/live");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(live.join("manifest.json"))?)?;
    let region = manifest["state_region"]
        .as_str()
        .context("no state region")?
        .to_string();

    // The emulator's state bucket (see the module comment).
    let aws = Aws::new().await?;
    let state_bucket = random_name("state");
    aws.s3()
        .create_bucket()
        .bucket(&state_bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    region.as_str(),
                ))
                .build(),
        )
        .send()
        .await
        .context("creating the emulator's state bucket")?;
    let backend = tf.dir().join("moto.tfbackend");
    std::fs::write(
        &backend,
        format!(
            "bucket = \"{state_bucket}\"\nendpoints = {{\n  s3  = \"{endpoint}\"\n  sts = \"{endpoint}\"\n}}\nuse_path_style = true\nskip_credentials_validation = true\nskip_requesting_account_id = true\nskip_metadata_api_check = true\nskip_region_validation = true\n"
        ),
    )?;
    let vars = [
        format!("-var=endpoint_url={endpoint}"),
        format!("-var=state_bucket={state_bucket}"),
    ];

    let roots = selected_roots(&manifest)?;
    ensure!(
        roots.iter().any(|r| r["stack"] == "network")
            && roots.iter().any(|r| r["stack"] == "bootstrap"),
        "unexpected selection: {roots:?}"
    );
    let mut applied = Vec::new();
    let mut outcome: Result<()> = Ok(());
    for root in &roots {
        let path = root["path"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("live/")
            .to_string();
        let chdir = format!("-chdir=examples/platform/live/{path}");
        let mut init = vec![chdir.as_str(), "init", "-input=false", "-no-color"];
        let backend_arg = format!("-backend-config={}", backend.display());
        if root["backend"] == "s3" {
            init.push(&backend_arg);
        }
        let step = async {
            tf.run(&init).await?;
            let mut apply = vec![
                chdir.as_str(),
                "apply",
                "-input=false",
                "-no-color",
                "-auto-approve",
            ];
            apply.extend(vars.iter().map(String::as_str));
            tf.run(&apply).await?;
            let mut plan = vec![
                chdir.as_str(),
                "plan",
                "-input=false",
                "-no-color",
                "-detailed-exitcode",
            ];
            plan.extend(vars.iter().map(String::as_str));
            let out = tf.run_with_ok_codes(&plan, &[0, 2]).await?;
            if out.exit_code == 2 {
                bail!(
                    "after applying {path}, the next plan was not empty:\n{}",
                    out.combined()
                );
            }
            Ok(())
        };
        if let Err(e) = step.await {
            outcome = Err(e.context(format!("root {path}")));
            break;
        }
        applied.push((chdir.clone(), root.clone()));
    }

    // What exists where, read back through the AWS API in each account.
    if outcome.is_ok() {
        outcome = async {
            let mgmt = buckets_of(&aws, "210000000001").await?;
            ensure!(mgmt.iter().any(|b| b.starts_with("acme-bank-tfstate")), "no state bucket in the management account: {mgmt:?}");
            let logs = buckets_of(&aws, "210000000003").await?;
            ensure!(logs.len() >= 3, "expected the audit, archive and flow-log buckets in the log-archive account: {logs:?}");
            let dev = buckets_of(&aws, "210000000005").await?;
            ensure!(!dev.is_empty(), "no storage bucket in the development account");
            ensure!(!dev.iter().any(|b| mgmt.contains(b)), "a development bucket is owned by the management account");
            let ec2 = ec2_in(&endpoint, "210000000005", &region).await?;
            let vpcs = ec2
                .describe_vpcs()
                .filters(aws_sdk_ec2::types::Filter::builder().name("tag:bankplatform:vpc").values("acme-bank-dev-eu-west-1").build())
                .send()
                .await
                .context("DescribeVpcs in the development account")?;
            ensure!(vpcs.vpcs().len() == 1, "expected the development VPC in account 210000000005, found {:?}", vpcs.vpcs());
            ensure!(vpcs.vpcs()[0].owner_id() == Some("210000000005"), "the VPC belongs to {:?}", vpcs.vpcs()[0].owner_id());
            // The organization trail: in the management account, logging into the log
            // archive's audit bucket, which admits exactly that trail.
            let mgmt_aws = aws.in_account("210000000001").await?;
            let trails = mgmt_aws.cloudtrail().describe_trails().trail_name_list("acme-bank-organization").send().await.context("DescribeTrails in the management account")?;
            let trail = trails.trail_list().first().context("no organization trail in the management account")?;
            ensure!(trail.is_organization_trail() == Some(true) && trail.is_multi_region_trail() == Some(true), "the trail is not a multi-Region organization trail: {trail:?}");
            let audit = trail.s3_bucket_name().unwrap_or_default().to_string();
            ensure!(audit.starts_with("acme-bank-audit-") && logs.contains(&audit), "the trail writes to {audit}, not the log archive's audit bucket ({logs:?})");
            let status = mgmt_aws.cloudtrail().get_trail_status().name("acme-bank-organization").send().await.context("GetTrailStatus")?;
            ensure!(status.is_logging() == Some(true), "the organization trail is not logging");
            let la = aws.in_account("210000000003").await?;
            let policy = la.s3().get_bucket_policy().bucket(&audit).send().await.context("GetBucketPolicy of the audit bucket")?;
            let trail_arn = trail.trail_arn().unwrap_or_default();
            ensure!(policy.policy().unwrap_or_default().contains(trail_arn), "the audit bucket does not admit {trail_arn}");
            // The development account's baseline: its password policy and Config
            // recording into the log archive's Config bucket.
            let dev_aws = aws.in_account("210000000005").await?;
            let pw = dev_aws.iam().get_account_password_policy().send().await.context("GetAccountPasswordPolicy in development")?;
            ensure!(pw.password_policy().and_then(|p| p.minimum_password_length()).unwrap_or(0) >= 14, "no baseline password policy in development");
            let dev_config = aws_config_in(&endpoint, "210000000005", &region).await?;
            let recorders = dev_config.describe_configuration_recorder_status().send().await.context("DescribeConfigurationRecorderStatus in development")?;
            ensure!(recorders.configuration_recorders_status().iter().any(|r| r.recording()), "Config is not recording in development");
            let channels = dev_config.describe_delivery_channels().send().await.context("DescribeDeliveryChannels in development")?;
            let config_bucket = channels.delivery_channels().first().and_then(|c| c.s3_bucket_name()).unwrap_or_default().to_string();
            ensure!(config_bucket.starts_with("acme-bank-config-") && logs.contains(&config_bucket), "development's Config delivers to {config_bucket}, not the log archive's Config bucket ({logs:?})");
            eprintln!("[bp-acc] platform: management {mgmt:?} + trail {trail_arn}; log-archive {logs:?}; development buckets {dev:?} and VPC {:?}", vpcs.vpcs()[0].vpc_id());
            Ok(())
        }
        .await;
    }

    // Destroy in reverse order.
    for (chdir, root) in applied.iter().rev() {
        let mut destroy = vec![
            chdir.as_str(),
            "destroy",
            "-input=false",
            "-no-color",
            "-auto-approve",
        ];
        destroy.extend(vars.iter().map(String::as_str));
        if let Err(e) = tf.run(&destroy).await {
            if outcome.is_ok() {
                outcome = Err(e.context(format!("destroying {}", root["id"])));
            }
        }
    }
    outcome
}
