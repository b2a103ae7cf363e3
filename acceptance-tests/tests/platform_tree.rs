//! End to end: the generated multi-account tree of `examples/platform`
//! (bankplatform-gen's output, checked in and kept current by CI) applied
//! against moto with real Terraform: the bootstrap root, then the
//! development account's roots and what they depend on, each assuming
//! `OrganizationAccountAccessRole` in its own (moto-emulated) account. Every
//! apply is followed by a plan that must be empty; then the test reads back,
//! per account, what exists where (exactly the buckets the states name, each
//! compliant through the SDK), destroys it all in reverse order, and checks
//! no bucket is left in any of those accounts.
//!
//! Emulator-only wiring, all in this harness, none in the generated tree:
//! moto applies the state bucket's TLS-only Deny without its condition (so
//! no state object could be written to it), so the S3 backend and
//! `terraform_remote_state` use a plain bucket the harness creates, through
//! `-backend-config` and `-var state_bucket=...`.

use acceptance_tests::aws::Aws;
use acceptance_tests::terraform::Terraform;
use acceptance_tests::{mirror, moto, random_name, skip_unless_acc, tools, TfVersion};
use std::collections::{BTreeMap, BTreeSet};

use acceptance_tests::checks::{kms, s3};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// The bootstrap root, the organization trail's root, the security account's root, the
/// development account's roots
/// and everything they depend on, in the manifest's order.
fn selected_roots(manifest: &Value) -> Result<Vec<Value>> {
    let roots = manifest["roots"]
        .as_array()
        .context("manifest has no roots")?;
    let mut wanted: std::collections::BTreeSet<String> = roots
        .iter()
        .filter(|r| {
            r["account"] == "development"
                || ["bootstrap", "audit", "security"]
                    .contains(&r["stack"].as_str().unwrap_or_default())
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
    )?
    // moto joins only the accounts an organization creates: the spec's are not members
    // there, so every root that declares it leaves placement, delegation and the
    // security account's administration out (as the demo does; the others ignore it).
    .with_env("TF_VAR_members_joined", "false");
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
    // Account id → the compliant buckets the applied roots' states hold there.
    let mut expected_buckets: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut outcome: Result<()> = Ok(());
    // Root path → its `terraform output -json`.
    let mut root_outputs: BTreeMap<String, Value> = BTreeMap::new();
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
            let shown = tf
                .run(&[chdir.as_str(), "show", "-json", "-no-color"])
                .await?;
            let state: Value = serde_json::from_str(&shown.stdout)
                .with_context(|| format!("show -json of {path}"))?;
            let account = root["account_id"].as_str().unwrap_or_default().to_string();
            for (b, values) in state_buckets(&state) {
                expected_buckets
                    .entry(account.clone())
                    .or_default()
                    .insert(b, values);
            }
            // Every control any of the root's outputs reports holds, but a bucket's
            // replication and access logging, which the DR strategy and the stack
            // decide (check_bucket_controls judges those per bucket).
            let outputs = tf
                .run(&[chdir.as_str(), "output", "-json", "-no-color"])
                .await?;
            let outputs: Value = serde_json::from_str(&outputs.stdout)
                .with_context(|| format!("output -json of {path}"))?;
            for (name, o) in outputs.as_object().into_iter().flatten() {
                if !name.ends_with("compliance") {
                    continue;
                }
                let failing: Vec<&String> = o["value"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(id, ok)| {
                        **ok != Value::Bool(true)
                            && !["S3.7", "S3.9"].contains(&id.as_str())
                            && !(root["stack"] == "organization"
                                && id.starts_with("bank:delegated-"))
                    })
                    .map(|(id, _)| id)
                    .collect();
                ensure!(
                    failing.is_empty(),
                    "{path}: output {name} reports {failing:?} as not holding"
                );
            }
            root_outputs.insert(path.clone(), outputs);
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
            // Every account holds exactly the buckets its roots' states name, and every
            // one of them is compliant as read through the SDK in its own account.
            for (account, want) in &expected_buckets {
                let have: BTreeSet<String> = buckets_of(&aws, account).await?.into_iter().collect();
                let want_names: BTreeSet<String> = want.keys().cloned().collect();
                ensure!(have == want_names, "account {account} holds buckets {have:?}, its roots' states name {want_names:?}");
                let a = aws.in_account(account).await?;
                for (bucket, values) in want {
                    check_bucket_controls(&a, bucket, values).await.with_context(|| format!("bucket {bucket} in account {account}"))?;
                }
            }
            let mgmt = buckets_of(&aws, "210000000001").await?;
            ensure!(mgmt.iter().any(|b| b.starts_with("acme-bank-tfstate")), "no state bucket in the management account: {mgmt:?}");
            let logs = buckets_of(&aws, "210000000003").await?;
            for prefix in ["acme-bank-audit-", "acme-bank-config-"] {
                ensure!(logs.iter().any(|b| b.starts_with(prefix)), "no {prefix}* bucket in the log-archive account: {logs:?}");
            }
            // Config in the development account delivers with the log archive's
            // Config bucket key (which admits it: the bucket's `bank:key-admits-writers`).
            let la_out = |k: &str| root_outputs["log-archive/eu-west-1/log_archive"][k]["value"].as_str().map(str::to_string);
            let config_key = la_out("config_kms_key_arn").context("no config_kms_key_arn output")?;
            // The pipelines' roles, made in development by the bootstrap root: the apply
            // role trusted for development's GitHub environment only, its plan twin for
            // pull requests and main.
            for (role, subject) in [
                ("bankplatform-deploy", "repo:acme-bank/platform:environment:development"),
                ("bankplatform-deploy-plan", "repo:acme-bank/platform:pull_request"),
            ] {
                let dev = aws.in_account("210000000005").await?;
                let trust = acceptance_tests::checks::iam::trust_policy(dev.iam(), role).await?.to_string();
                ensure!(trust.contains(subject) && trust.contains("token.actions.githubusercontent.com"), "{role} in development is not trusted for {subject}: {trust}");
            }
            let dev_config = aws_config_in(&endpoint, "210000000005", &region).await?;
            let channels = dev_config.describe_delivery_channels().send().await.context("DescribeDeliveryChannels in development")?;
            ensure!(
                channels.delivery_channels().iter().any(|c| c.s3_kms_key_arn() == Some(config_key.as_str())
                    && c.s3_bucket_name().map(str::to_string) == la_out("config_bucket")),
                "development's Config does not deliver to the log archive's bucket with its key {config_key}: {:?}",
                channels.delivery_channels()
            );
            // The security account's aggregator collects the whole organization in
            // every Region, present and future, through its own role; development's
            // recorder also authorizes it (what a listed-account aggregator needs).
            let sec_config = aws_config_in(&endpoint, "210000000002", &region).await?;
            let aggs = sec_config.describe_configuration_aggregators().send().await.context("DescribeConfigurationAggregators in security")?;
            let agg = aggs.configuration_aggregators().first().context("no aggregator in the security account")?;
            let org_source = agg.organization_aggregation_source().context("the security account's aggregator is not an organization aggregator")?;
            ensure!(org_source.all_aws_regions(), "the organization aggregator does not cover every Region: {org_source:?}");
            ensure!(org_source.role_arn().starts_with("arn:aws:iam::210000000002:role/bankplatform-config-aggregator-"), "the organization aggregator's role: {org_source:?}");
            ensure!(agg.account_aggregation_sources().is_empty(), "the organization aggregator also lists accounts: {:?}", agg.account_aggregation_sources());
            let auths = dev_config.describe_aggregation_authorizations().send().await.context("DescribeAggregationAuthorizations in development")?;
            ensure!(
                auths.aggregation_authorizations().iter().any(|a| a.authorized_account_id() == Some("210000000002") && a.authorized_aws_region() == Some(region.as_str())),
                "development does not authorize the security account's aggregator: {:?}",
                auths.aggregation_authorizations()
            );
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
            // The organization: the guardrails on the root, the OU tree.
            let roots_out = mgmt_aws.organizations().list_roots().send().await.context("ListRoots in the management account")?;
            let org_root = roots_out.roots().first().and_then(|r| r.id()).context("no organization root")?;
            let on_root = mgmt_aws.organizations().list_policies_for_target().target_id(org_root)
                .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy).send().await.context("ListPoliciesForTarget")?;
            let names: Vec<&str> = on_root.policies().iter().filter_map(|p| p.name()).collect();
            for g in ["acme-bank-protect-baseline", "acme-bank-deny-root-and-leaving", "acme-bank-allowed-regions"] {
                ensure!(names.contains(&g), "guardrail {g} is not on the organization's root: {names:?}");
            }
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
    // Destroy leaves no bucket in any account the tree touched.
    if outcome.is_ok() {
        for account in expected_buckets.keys() {
            let left = buckets_of(&aws, account).await?;
            ensure!(
                left.is_empty(),
                "after destroy, account {account} still holds {left:?}"
            );
        }
    }
    outcome
}

/// The `bankplatform_compliant_bucket` resources of a `show -json` state, anywhere in its
/// modules: bucket name → values.
fn state_buckets(state: &Value) -> BTreeMap<String, Value> {
    fn walk(module: &Value, out: &mut BTreeMap<String, Value>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            if r["type"] == "bankplatform_compliant_bucket" {
                if let Some(b) = r["values"]["bucket"].as_str() {
                    out.insert(b.to_string(), r["values"].clone());
                }
            }
        }
        for m in module["child_modules"].as_array().into_iter().flatten() {
            walk(m, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&state["values"]["root_module"], &mut out);
    out
}

/// The bucket's core controls read through the SDK: default encryption as its state says
/// (SSE-KMS with its key, or SSE-S3 where the state says so), all four public access
/// blocks, versioning, the TLS-only deny; and its `compliance` map has no false control
/// besides those its purpose and the tree leave unclaimed.
async fn check_bucket_controls(a: &Aws, bucket: &str, values: &Value) -> Result<()> {
    let s3 = a.s3();
    let enc = s3::encryption(s3, bucket)
        .await?
        .context("no default encryption")?;
    let algorithm = values["sse_algorithm"].as_str().unwrap_or_default();
    ensure!(
        enc.sse_algorithm == algorithm,
        "encryption {enc:?}, the state says {algorithm}"
    );
    if algorithm == "aws:kms" {
        let key = values["kms_key_arn"].as_str().unwrap_or_default();
        let used = enc.kms_key_id.clone().context("SSE-KMS without a key")?;
        ensure!(
            kms::same_key(a.kms(), &used, key).await?,
            "encrypted with {used}, the state says {key}"
        );
    }
    ensure!(
        s3::public_access_block(s3, bucket).await? == Some([true; 4]),
        "public access not fully blocked"
    );
    ensure!(
        s3::versioning_status(s3, bucket).await?.as_deref() == Some("Enabled"),
        "versioning is off"
    );
    let policy = s3::policy_json(s3, bucket)
        .await?
        .context("no bucket policy")?;
    ensure!(
        s3::has_tls_only_deny(&policy),
        "the policy has no TLS-only deny: {policy}"
    );
    let compliance: BTreeMap<String, bool> = serde_json::from_value(values["compliance"].clone())
        .context("compliance is not a map of bools")?;
    // Not configured in the tree (no access-log target, no replica); a `logs` bucket
    // (an access-log target) cannot use SSE-KMS (its object lock has no default retention).
    let unclaimed: &[&str] = match values["purpose"].as_str() {
        Some("logs") => &["S3.7", "S3.9", "S3.17"],
        _ => &["S3.7", "S3.9"],
    };
    let failing: Vec<&String> = compliance
        .iter()
        .filter(|(k, v)| !**v && !unclaimed.contains(&k.as_str()))
        .map(|(k, _)| k)
        .collect();
    ensure!(
        !compliance.is_empty() && failing.is_empty(),
        "compliance {compliance:?} reports {failing:?} as not holding"
    );
    Ok(())
}
