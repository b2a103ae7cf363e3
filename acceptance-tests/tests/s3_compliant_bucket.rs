//! Acceptance tests for `bankplatform_compliant_bucket`.
//!
//! Select them with `TF_ACC=1 cargo test -p acceptance-tests compliant_bucket_`. Every
//! assertion about a bucket, key or role reads it back through the AWS API (moto); the
//! state is used only to learn identifiers and to check the computed attributes.
//!
//! Left out on purpose: deleting a non-empty bucket without `force_destroy`. moto applies
//! the TLS-only Deny statement without its condition, so no object can be written to a
//! compliant bucket (PutObject gets 403), and the bucket never becomes non-empty.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use acceptance_tests::checks::{self, iam, kms, s3, Expect};
use acceptance_tests::{
    check, expect_error, random_account_id, random_name, skip_unless_acc, Action, Check, PlanCheck,
    Step, StepCtx, TestCase, TfVersion,
};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

const ADDR: &str = "bankplatform_compliant_bucket.test";
const TAG_OWNER: &str = "bankplatform:bucket";
/// Arguments that cannot be read back from AWS, so import leaves them at their defaults;
/// and `event_notifications`, which import sets only where S3 reports it on (the
/// emulator never does; the next apply writes it).
const IMPORT_IGNORE: &[&str] = &["force_destroy", "policy_statements", "event_notifications"];
/// The controls every default bucket (purpose "transaction") must report as holding.
const DEFAULT_CONTROLS: &[&str] = &[
    "S3.5",
    "S3.8",
    "S3.12",
    "S3.13",
    "S3.14",
    "S3.15",
    "bank:default-retention",
    "S3.17",
    "KMS.4",
    "CIS 3.1.1",
    "CIS 3.1.4",
];

// ---------------------------------------------------------------------------------------
// Configurations.

fn config_basic(name: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
}}
"#
    )
}

fn config_purpose(name: &str, purpose: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket  = "{name}"
  purpose = "{purpose}"
}}
"#
    )
}

fn config_tags(name: &str, tags: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
  tags   = {tags}
}}
"#
    )
}

fn config_tags_and_lifecycle(name: &str, tags: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
  tags   = {tags}

  lifecycle_rules = [
    {{
      id                                     = "archive"
      prefix                                 = "records/"
      transitions                            = [{{ days = 30, storage_class = "STANDARD_IA" }}]
      noncurrent_transitions                 = null
      noncurrent_expiration_days             = 90
      expiration_days                        = null
      abort_incomplete_multipart_upload_days = 3
    }},
  ]
}}
"#
    )
}

fn config_logging_and_replication(logs: &str, destination: &str, source: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "logs" {{
  bucket  = "{logs}"
  purpose = "logs"

  # moto delivers server access logs into it, so it is not empty at destroy.
  force_destroy = true
}}

resource "bankplatform_compliant_bucket" "destination" {{
  bucket = "{destination}"
}}

resource "bankplatform_compliant_bucket" "source" {{
  bucket = "{source}"

  access_logging {{
    target_bucket = bankplatform_compliant_bucket.logs.bucket
  }}

  replication {{
    destination_bucket_arn  = bankplatform_compliant_bucket.destination.arn
    destination_kms_key_arn = bankplatform_compliant_bucket.destination.kms_key_arn
  }}
}}
"#
    )
}

fn config_two_accounts(a: &str, b: &str, account: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "a" {{
  bucket = "{a}"
}}

resource "bankplatform_compliant_bucket" "b" {{
  bucket = "{b}"

  target {{
    assume_role_arn = "arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    region          = "us-east-1"
  }}
}}
"#
    )
}

fn config_missing_log_target(name: &str, missing: &str) -> String {
    format!(
        r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"

  access_logging {{
    target_bucket = "{missing}"
  }}
}}
"#
    )
}

// ---------------------------------------------------------------------------------------
// Helpers for checks.

/// The resource's `compliance` map from the state.
fn compliance(ctx: &StepCtx, addr: &str) -> Result<BTreeMap<String, bool>> {
    let map = ctx
        .attr(addr, "compliance")
        .with_context(|| format!("{addr}.compliance is missing from the state"))?;
    serde_json::from_value(map.clone())
        .with_context(|| format!("{addr}.compliance is not a map of bools: {map}"))
}

/// Every control in `controls` is in the `compliance` map and true.
fn require_controls(ctx: &StepCtx, addr: &str, controls: &[&str]) -> Result<()> {
    let map = compliance(ctx, addr)?;
    let failing: Vec<&str> = controls
        .iter()
        .copied()
        .filter(|c| map.get(*c) != Some(&true))
        .collect();
    ensure!(
        failing.is_empty(),
        "{addr}.compliance does not report {failing:?} as holding: {map:?}"
    );
    Ok(())
}

/// The `compliance` map reports `control` as false, if it reports it at all.
fn require_control_not_claimed(ctx: &StepCtx, addr: &str, control: &str) -> Result<()> {
    let map = compliance(ctx, addr)?;
    ensure!(
        map.get(control) != Some(&true),
        "{addr}.compliance claims {control} although it is not configured: {map:?}"
    );
    Ok(())
}

/// A state attribute that must be a number.
fn attr_i64(ctx: &StepCtx, addr: &str, path: &[&str]) -> Result<i64> {
    ctx.attr_path(addr, path)
        .and_then(|v| v.as_i64())
        .with_context(|| format!("{addr}.{} is missing or not a number", path.join(".")))
}

/// Everything a default bucket named `name` at `addr` must satisfy: computed attributes,
/// every default control read back from AWS, the `compliance` map, and its own KMS key
/// (rotation on, tagged with the bucket, aliased).
async fn check_default_bucket(ctx: &StepCtx, addr: &str, name: &str) -> Result<()> {
    ensure!(
        ctx.require_str(addr, "id")? == name,
        "id is not the bucket name"
    );
    ensure!(ctx.require_str(addr, "bucket")? == name);
    ensure!(ctx.require_str(addr, "arn")? == format!("arn:aws:s3:::{name}"));
    let domain = ctx.require_str(addr, "regional_domain_name")?;
    ensure!(
        domain.starts_with(&format!("{name}.s3.")) && domain.ends_with(".amazonaws.com"),
        "regional_domain_name {domain}"
    );
    ensure!(ctx.require_str(addr, "purpose")? == "transaction");
    ensure!(ctx.require_str(addr, "sse_algorithm")? == "aws:kms");
    let key = ctx.require_str(addr, "kms_key_arn")?;
    ensure!(
        key.starts_with("arn:aws:kms:us-east-1:123456789012:key/"),
        "kms_key_arn {key} is not a key ARN in the provider's account"
    );
    ensure!(ctx.attr_path(addr, &["object_lock", "enabled"]) == Some(Value::Bool(true)));
    ensure!(
        ctx.attr_str(addr, "policy").is_some(),
        "policy is not known"
    );

    checks::assert_compliant_bucket(&ctx.aws, name, &Expect::transaction().with_kms_key(&key))
        .await?;
    require_controls(ctx, addr, DEFAULT_CONTROLS)?;
    require_control_not_claimed(ctx, addr, "S3.9")?;
    require_control_not_claimed(ctx, addr, "S3.7")?;

    let tags = kms::key_tags(ctx.aws.kms(), &key).await?;
    ensure!(
        tags.get(TAG_OWNER).map(String::as_str) == Some(name),
        "the bucket's own key lacks the tag {TAG_OWNER}={name}: {tags:?}"
    );
    let alias = format!("alias/bankplatform/s3/{name}");
    let aliased = kms::alias_target(ctx.aws.kms(), &alias)
        .await?
        .with_context(|| format!("{alias} does not exist"))?;
    ensure!(
        kms::same_key(ctx.aws.kms(), &aliased, &key).await?,
        "{alias} points at {aliased}, not at {key}"
    );
    Ok(())
}

/// After the destroy: the bucket is gone and the key it owned (every bucket but an
/// SSE-S3 `logs` bucket has one) is pending deletion.
async fn check_bucket_and_key_gone(ctx: &StepCtx, addr: &str, name: &str) -> Result<()> {
    ensure!(
        !s3::bucket_exists(ctx.aws.s3(), name).await?,
        "bucket {name} still exists after destroy"
    );
    if ctx.attr_str(addr, "sse_algorithm").as_deref() == Some("AES256") {
        return Ok(());
    }
    let key = ctx.require_str(addr, "kms_key_arn")?;
    let state = kms::key_state(ctx.aws.kms(), &key).await?;
    ensure!(
        state.as_deref() == Some("PendingDeletion"),
        "the bucket's own key {key} is {state:?} after destroy, expected PendingDeletion"
    );
    Ok(())
}

fn check_default(name: &str) -> Option<Check> {
    let name = name.to_string();
    check(move |ctx| async move { check_default_bucket(&ctx, ADDR, &name).await })
}

fn check_gone(name: &str) -> Option<Check> {
    let name = name.to_string();
    check(move |ctx| async move { check_bucket_and_key_gone(&ctx, ADDR, &name).await })
}

fn basic_case(terraform: TfVersion, name: &str) -> TestCase {
    TestCase {
        own_account: false,
        terraform,
        steps: vec![
            Step {
                check: check_default(name),
                ..Step::config(config_basic(name))
            },
            Step::import_verify(ADDR, IMPORT_IGNORE),
        ],
        check_destroy: check_gone(name),
    }
}

// ---------------------------------------------------------------------------------------
// Tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_basic() -> Result<()> {
    skip_unless_acc!();
    basic_case(TfVersion::V1_15, &random_name("basic"))
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_basic_tf_1_0_3() -> Result<()> {
    skip_unless_acc!();
    basic_case(TfVersion::V1_0_3, &random_name("basic103"))
        .run()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_update_in_place() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("update");
    // The key ARN seen in step 1; step 2 must keep it (a replacement would make a new key).
    let first_key: Arc<OnceLock<String>> = Arc::default();
    let (n1, n2, k1, k2) = (name.clone(), name.clone(), first_key.clone(), first_key);
    TestCase {
        own_account: false,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    let tags = s3::tags(ctx.aws.s3(), &n1).await?;
                    ensure!(
                        tags.get("env").map(String::as_str) == Some("test"),
                        "{tags:?}"
                    );
                    ensure!(
                        tags.get("team").map(String::as_str) == Some("a"),
                        "{tags:?}"
                    );
                    let _ = k1.set(ctx.require_str(ADDR, "kms_key_arn")?);
                    Ok(())
                }),
                ..Step::config(config_tags(&name, r#"{ env = "test", team = "a" }"#))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    let s3c = ctx.aws.s3();
                    let tags = s3::tags(s3c, &n2).await?;
                    ensure!(
                        tags.get("env").map(String::as_str) == Some("prod"),
                        "{tags:?}"
                    );
                    ensure!(
                        tags.get("owner").map(String::as_str) == Some("b"),
                        "{tags:?}"
                    );
                    ensure!(
                        !tags.contains_key("team"),
                        "the removed tag is still set: {tags:?}"
                    );
                    let state_tags = ctx.attr(ADDR, "tags_all").unwrap_or_default();
                    ensure!(
                        state_tags["env"] == "prod" && state_tags.get("team").is_none(),
                        "tags_all in state: {state_tags}"
                    );

                    let rules = s3::lifecycle_rules(s3c, &n2).await?;
                    let rule = rules
                        .iter()
                        .find(|r| r.id.as_deref() == Some("archive"))
                        .with_context(|| format!("no rule \"archive\" read back: {rules:?}"))?;
                    ensure!(rule.status == "Enabled", "{rule:?}");
                    ensure!(rule.prefix.as_deref() == Some("records/"), "{rule:?}");
                    ensure!(
                        rule.transitions == vec![(Some(30), "STANDARD_IA".to_string())],
                        "{rule:?}"
                    );
                    ensure!(rule.noncurrent_expiration_days == Some(90), "{rule:?}");
                    ensure!(rule.abort_mpu_days == Some(3), "{rule:?}");

                    let key = ctx.require_str(ADDR, "kms_key_arn")?;
                    ensure!(
                        k2.get() == Some(&key),
                        "the KMS key changed from {:?} to {key}: the bucket was replaced",
                        k2.get()
                    );
                    checks::assert_compliant_bucket(
                        &ctx.aws,
                        &n2,
                        &Expect::transaction().with_kms_key(key),
                    )
                    .await
                }),
                ..Step::config(config_tags_and_lifecycle(
                    &name,
                    r#"{ env = "prod", owner = "b" }"#,
                ))
            },
        ],
        check_destroy: check_gone(&name),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_rename_replaces() -> Result<()> {
    skip_unless_acc!();
    let (old, new) = (random_name("rename-a"), random_name("rename-b"));
    let old_key: Arc<OnceLock<String>> = Arc::default();
    let (o1, k1, o2, n2, k2) = (
        old.clone(),
        old_key.clone(),
        old.clone(),
        new.clone(),
        old_key,
    );
    TestCase {
        own_account: false,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    ensure!(s3::bucket_exists(ctx.aws.s3(), &o1).await?);
                    let _ = k1.set(ctx.require_str(ADDR, "kms_key_arn")?);
                    Ok(())
                }),
                ..Step::config(config_basic(&old))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Replace)],
                check: check(move |ctx| async move {
                    check_default_bucket(&ctx, ADDR, &n2).await?;
                    ensure!(
                        !s3::bucket_exists(ctx.aws.s3(), &o2).await?,
                        "the old bucket {o2} still exists after the replacement"
                    );
                    let old_key = k2.get().context("step 1 recorded no key")?;
                    let state = kms::key_state(ctx.aws.kms(), old_key).await?;
                    ensure!(
                        state.as_deref() == Some("PendingDeletion"),
                        "the old bucket's key {old_key} is {state:?}, expected PendingDeletion"
                    );
                    Ok(())
                }),
                ..Step::config(config_basic(&new))
            },
        ],
        check_destroy: check_gone(&new),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_drift_repaired() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("drift");
    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
    TestCase {
        own_account: false,
        steps: vec![
            Step::config(config_basic(&name)),
            Step {
                // Someone removes encryption and the public access block by hand.
                pre_config: check(move |ctx| async move {
                    let s3c = ctx.aws.s3();
                    s3c.delete_bucket_encryption().bucket(&n1).send().await?;
                    s3c.delete_public_access_block().bucket(&n1).send().await?;
                    ensure!(s3::encryption(s3c, &n1).await?.is_none());
                    ensure!(s3::public_access_block(s3c, &n1).await?.is_none());
                    Ok(())
                }),
                plan_only: true,
                expect_non_empty_plan: true,
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                // A plan-only step must not have touched the bucket.
                check: check(move |ctx| async move {
                    ensure!(
                        s3::encryption(ctx.aws.s3(), &n2).await?.is_none(),
                        "a plan-only step changed the bucket"
                    );
                    Ok(())
                }),
                ..Step::config(config_basic(&name))
            },
            Step {
                check: check(move |ctx| async move {
                    let key = ctx.require_str(ADDR, "kms_key_arn")?;
                    let enc = s3::encryption(ctx.aws.s3(), &n3)
                        .await?
                        .context("default encryption was not restored")?;
                    ensure!(
                        enc.sse_algorithm == "aws:kms" && enc.bucket_key_enabled,
                        "{enc:?}"
                    );
                    ensure!(
                        kms::same_key(ctx.aws.kms(), enc.kms_key_id.as_deref().unwrap_or(""), &key)
                            .await?,
                        "encryption restored with {:?}, expected {key}",
                        enc.kms_key_id
                    );
                    ensure!(
                        s3::public_access_block(ctx.aws.s3(), &n3).await? == Some([true; 4]),
                        "the public access block was not restored"
                    );
                    check_default_bucket(&ctx, ADDR, &n3).await
                }),
                ..Step::config(config_basic(&name))
            },
        ],
        check_destroy: check_gone(&name),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_disappears() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("gone");
    let (n1, n2) = (name.clone(), name.clone());
    TestCase {
        own_account: false,
        steps: vec![
            Step::config(config_basic(&name)),
            Step {
                pre_config: check(move |ctx| async move {
                    s3::empty_and_delete_bucket(ctx.aws.s3(), &n1).await?;
                    ensure!(!s3::bucket_exists(ctx.aws.s3(), &n1).await?);
                    Ok(())
                }),
                plan_only: true,
                expect_non_empty_plan: true,
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Create)],
                ..Step::config(config_basic(&name))
            },
        ],
        check_destroy: check(move |ctx| async move {
            ensure!(!s3::bucket_exists(ctx.aws.s3(), &n2).await?);
            Ok(())
        }),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_invalid_input() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("invalid");
    // Each pattern also asks for the offending attribute in Terraform's source snippet,
    // which Terraform shows only when the diagnostic carries the attribute path.
    let invalid = |config: String, pattern: &str| Step {
        plan_only: true,
        expect_error: expect_error(pattern),
        ..Step::config(config)
    };
    TestCase {
        own_account: false,
        steps: vec![
            invalid(
                config_basic("Not_A_Valid_Bucket"),
                r"(?is)invalid bucket name.*\d+:\s+bucket\s*=",
            ),
            invalid(
                format!(
                    r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
  object_lock {{
    enabled        = true
    mode           = "GOVERNANCE"
    retention_days = 0
  }}
}}
"#
                ),
                r"(?is)invalid object lock retention.*retention_days\s*=\s*0",
            ),
            invalid(
                format!(
                    r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
  object_lock {{
    enabled        = true
    mode           = "COMPLIANCE"
    retention_days = 36501
  }}
}}
"#
                ),
                r"(?is)invalid object lock retention.*retention_days\s*=\s*36501",
            ),
            invalid(
                config_purpose(&name, "scratch"),
                r"(?is)invalid purpose.*\d+:\s+purpose\s*=",
            ),
            invalid(
                format!(
                    r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket        = "{name}"
  bucket_prefix = "bp-acc-"
}}
"#
                ),
                r"(?is)conflicting arguments.*\d+:\s+bucket(_prefix)?\s*=",
            ),
            // A negative day count used to fail only after apply, leaving the bucket.
            invalid(
                format!(
                    r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
  lifecycle_rules = [{{
    id                                     = "bad"
    prefix                                 = ""
    transitions                            = null
    noncurrent_transitions                 = null
    noncurrent_expiration_days             = null
    expiration_days                        = -1
    abort_incomplete_multipart_upload_days = 2.5
  }}]
}}
"#
                ),
                r"(?is)invalid lifecycle rule.*whole number from 1 to 36500; got -1",
            ),
            invalid(
                format!(
                    r#"
resource "bankplatform_compliant_bucket" "test" {{
  bucket = "{name}"
  tags   = {{ "{long}" = "x" }}
}}
"#,
                    long = "k".repeat(129)
                ),
                r"(?is)invalid tag key.*1 to 128 characters",
            ),
        ],
        // Nothing may have been created by any of the rejected configs.
        check_destroy: check(move |ctx| async move {
            ensure!(!s3::bucket_exists(ctx.aws.s3(), &name).await?);
            ensure!(ctx.addresses().is_empty(), "state: {:?}", ctx.addresses());
            Ok(())
        }),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_archive_defaults() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("archive");
    let n1 = name.clone();
    TestCase {
        own_account: false,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    let lock = s3::object_lock(ctx.aws.s3(), &n1)
                        .await?
                        .context("no object-lock configuration read back")?;
                    ensure!(
                        lock.enabled
                            && lock.mode.as_deref() == Some("COMPLIANCE")
                            && lock.days == Some(2555),
                        "object lock read back as {lock:?}, expected COMPLIANCE for 2555 days"
                    );
                    ensure!(ctx.require_str(ADDR, "purpose")? == "archive");
                    ensure!(
                        ctx.attr_path(ADDR, &["object_lock", "mode"]) == Some("COMPLIANCE".into())
                    );
                    ensure!(attr_i64(&ctx, ADDR, &["object_lock", "retention_days"])? == 2555);
                    let key = ctx.require_str(ADDR, "kms_key_arn")?;
                    checks::assert_compliant_bucket(
                        &ctx.aws,
                        &n1,
                        &Expect::archive().with_kms_key(key),
                    )
                    .await?;
                    require_controls(&ctx, ADDR, DEFAULT_CONTROLS)
                }),
                ..Step::config(config_purpose(&name, "archive"))
            },
            Step::import_verify(ADDR, IMPORT_IGNORE),
        ],
        check_destroy: check_gone(&name),
        ..TestCase::default()
    }
    .run()
    .await
}

/// A log bucket made without object lock gets it in place (AWS allows turning it on for
/// an existing versioned bucket), without a default retention; turning it off again
/// replaces the bucket, as S3 cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_log_bucket_lock_turned_on_in_place() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("logslock");
    let off = format!(
        "{}\n",
        config_purpose(&name, "logs").replace(
            "purpose = \"logs\"",
            "purpose = \"logs\"\n  object_lock {\n    enabled = false\n  }"
        )
    );
    let (n1, n2) = (name.clone(), name.clone());
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    let expect = Expect {
                        lock_enabled: false,
                        object_lock: None,
                        ..Expect::logs()
                    };
                    checks::assert_compliant_bucket(&ctx.aws, &n1, &expect).await?;
                    ensure!(
                        ctx.attr(ADDR, "compliance").context("no compliance")?["S3.15"] == false
                    );
                    Ok(())
                }),
                ..Step::config(off.clone())
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    checks::assert_compliant_bucket(&ctx.aws, &n2, &Expect::logs()).await?;
                    ensure!(
                        ctx.attr_path(ADDR, &["object_lock", "enabled"]) == Some(Value::Bool(true))
                    );
                    ensure!(
                        ctx.attr(ADDR, "compliance").context("no compliance")?["S3.15"] == true
                    );
                    Ok(())
                }),
                ..Step::config(config_purpose(&name, "logs"))
            },
            Step {
                plan_only: true,
                expect_non_empty_plan: true,
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Replace)],
                ..Step::config(off)
            },
        ],
        check_destroy: check_gone(&name),
    }
    .run()
    .await
}

/// What `compliance` says of S3.11 must be what S3 reports: held where S3 reports the
/// EventBridge setting, absent where the endpoint does not report it (the emulator);
/// false when the bucket is not to send events.
async fn check_s3_11(ctx: &StepCtx, bucket: &str, wanted: bool) -> Result<()> {
    let reported = s3::eventbridge_reported(ctx.aws.s3(), bucket).await?;
    let claimed = compliance(ctx, ADDR)?.get("S3.11").copied();
    let expected = match (wanted, reported) {
        (_, true) => Some(true),
        (false, false) => Some(false),
        (true, false) => None,
    };
    ensure!(
        claimed == expected,
        "S3.11 in compliance is {claimed:?}, S3 reports EventBridge notifications {reported} and the bucket wants them {wanted}: expected {expected:?}"
    );
    Ok(())
}

/// Object events go to EventBridge by default: a rule on the default bus sees a write
/// and a delete. Turning `event_notifications` off is an in-place update after which
/// no event arrives; turning it on again restores them. `compliance` claims S3.11 only
/// as far as S3 reports the setting back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_object_events_reach_eventbridge() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("events");
    let off = config_purpose(&name, "logs").replace(
        "purpose = \"logs\"",
        "purpose = \"logs\"\n  event_notifications = false",
    );
    let on = |name: String| {
        check(move |ctx| async move {
            ensure!(ctx.attr(ADDR, "event_notifications") == Some(Value::Bool(true)));
            check_s3_11(&ctx, &name, true).await?;
            let seen = s3::object_events_seen(&ctx.aws, &name).await?;
            ensure!(
                ["Object Created", "Object Deleted"]
                    .iter()
                    .all(|t| seen.iter().any(|s| s == t)),
                "EventBridge's default bus delivered {seen:?} for a write and a delete"
            );
            Ok(())
        })
    };
    let n = name.clone();
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: on(name.clone()),
                ..Step::config(config_purpose(&name, "logs"))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    check_s3_11(&ctx, &n, false).await?;
                    let seen = s3::object_events_seen(&ctx.aws, &n).await?;
                    ensure!(seen.is_empty(), "events still delivered: {seen:?}");
                    Ok(())
                }),
                ..Step::config(off)
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: on(name.clone()),
                ..Step::config(config_purpose(&name, "logs"))
            },
        ],
        check_destroy: check_gone(&name),
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_logging_and_replication() -> Result<()> {
    skip_unless_acc!();
    let logs = random_name("logs");
    let dest = random_name("dst");
    let src = random_name("src");
    const LOGS: &str = "bankplatform_compliant_bucket.logs";
    const DEST: &str = "bankplatform_compliant_bucket.destination";
    const SRC: &str = "bankplatform_compliant_bucket.source";
    let names = (logs.clone(), dest.clone(), src.clone());
    let after = (logs.clone(), dest.clone(), src.clone());
    TestCase {
        own_account: false,
        steps: vec![Step {
            check: check(move |ctx| async move {
                let (logs, dest, src) = names;
                let (aws, s3c) = (&ctx.aws, ctx.aws.s3());

                // The access-log bucket: SSE-S3, no object lock, otherwise compliant.
                ensure!(ctx.require_str(LOGS, "sse_algorithm")? == "AES256");
                checks::assert_compliant_bucket(aws, &logs, &Expect::logs()).await?;
                let c = ctx.attr(LOGS, "compliance").context("no compliance")?;
                ensure!(
                    c["S3.15"] == true && c.get("bank:default-retention").is_none(),
                    "the log bucket's compliance: {c}"
                );

                // The destination: a default bucket.
                check_default_bucket(&ctx, DEST, &dest).await?;
                let dest_arn = ctx.require_str(DEST, "arn")?;
                let dest_key = ctx.require_str(DEST, "kms_key_arn")?;

                // The source: logs to the log bucket, replicates to the destination.
                let logging = s3::logging_target(s3c, &src)
                    .await?
                    .context("access logging is off on the source bucket")?;
                ensure!(logging.target_bucket == logs, "{logging:?}");
                ensure!(
                    logging.target_prefix == format!("s3-access/{src}/"),
                    "{logging:?}"
                );
                ensure!(
                    ctx.attr_path(SRC, &["access_logging", "target_prefix"])
                        == Some(Value::from(format!("s3-access/{src}/")))
                );

                let role_arn = ctx
                    .attr_path(SRC, &["replication", "role_arn"])
                    .and_then(|v| v.as_str().map(str::to_string))
                    .context("replication.role_arn is not known")?;
                ensure!(
                    iam::role_exists(aws.iam(), &role_arn).await?,
                    "the replication role {role_arn} does not exist"
                );
                let replication = s3::replication(s3c, &src)
                    .await?
                    .context("no replication configuration on the source bucket")?;
                ensure!(
                    iam::role_name(&replication.role) == iam::role_name(&role_arn),
                    "replication uses role {}, state says {role_arn}",
                    replication.role
                );
                let rule = replication
                    .rules
                    .iter()
                    .find(|r| r.destination_bucket == dest_arn)
                    .with_context(|| {
                        format!("no rule replicates to {dest_arn}: {replication:?}")
                    })?;
                ensure!(rule.status == "Enabled", "{rule:?}");
                let replica_key = rule
                    .replica_kms_key_id
                    .as_deref()
                    .context("replicas are not encrypted with a KMS key")?;
                ensure!(
                    kms::same_key(aws.kms(), replica_key, &dest_key).await?,
                    "replicas use {replica_key}, expected the destination's key {dest_key}"
                );

                let src_key = ctx.require_str(SRC, "kms_key_arn")?;
                let expect = Expect {
                    logging_target: Some(logs.clone()),
                    replication_destination: Some(dest_arn),
                    ..Expect::transaction().with_kms_key(src_key)
                };
                checks::assert_compliant_bucket(aws, &src, &expect).await?;
                require_controls(&ctx, SRC, &[DEFAULT_CONTROLS, &["S3.9", "S3.7"]].concat())
            }),
            ..Step::config(config_logging_and_replication(&logs, &dest, &src))
        }],
        check_destroy: check(move |ctx| async move {
            let (logs, dest, src) = after;
            for bucket in [&logs, &dest, &src] {
                ensure!(
                    !s3::bucket_exists(ctx.aws.s3(), bucket).await?,
                    "bucket {bucket} still exists after destroy"
                );
            }
            let role_arn = ctx
                .attr_path(SRC, &["replication", "role_arn"])
                .and_then(|v| v.as_str().map(str::to_string))
                .context("replication.role_arn is not in the pre-destroy state")?;
            ensure!(
                !iam::role_exists(ctx.aws.iam(), &role_arn).await?,
                "the replication role {role_arn} the resource created still exists"
            );
            check_bucket_and_key_gone(&ctx, SRC, &src).await?;
            check_bucket_and_key_gone(&ctx, DEST, &dest).await
        }),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_two_accounts() -> Result<()> {
    skip_unless_acc!();
    let account = random_account_id();
    let (a, b) = (random_name("acct-a"), random_name("acct-b"));
    const A: &str = "bankplatform_compliant_bucket.a";
    const B: &str = "bankplatform_compliant_bucket.b";
    let names = (a.clone(), b.clone(), account.clone());
    let after = (a.clone(), b.clone(), account.clone());
    TestCase {
        own_account: false,
        steps: vec![Step {
            check: check(move |ctx| async move {
                let (a, b, account) = names;
                let home = &ctx.aws;
                let other = home.in_account(&account).await?;
                let in_home = s3::buckets_owned_by(home.s3()).await?;
                let in_other = s3::buckets_owned_by(other.s3()).await?;
                ensure!(
                    in_home.contains(&a) && !in_home.contains(&b),
                    "account {} should own {a} and not {b}",
                    home.account_id()
                );
                ensure!(
                    in_other.contains(&b) && !in_other.contains(&a),
                    "account {account} should own {b} and not {a}"
                );

                let key_b = ctx.require_str(B, "kms_key_arn")?;
                ensure!(
                    key_b.contains(&format!(":{account}:key/")),
                    "bucket B's key {key_b} is not in account {account}"
                );
                checks::assert_compliant_bucket(
                    &other,
                    &b,
                    &Expect::transaction().with_kms_key(&key_b),
                )
                .await?;
                let enc = s3::encryption(other.s3(), &b)
                    .await?
                    .context("no SSE on B")?;
                ensure!(enc.sse_algorithm == "aws:kms", "{enc:?}");
                ensure!(
                    kms::key_state(other.kms(), &key_b).await?.as_deref() == Some("Enabled"),
                    "bucket B's key is not an enabled key in account {account}"
                );
                require_controls(&ctx, B, DEFAULT_CONTROLS)?;
                check_default_bucket(&ctx, A, &a).await
            }),
            ..Step::config(config_two_accounts(&a, &b, &account))
        }],
        check_destroy: check(move |ctx| async move {
            let (a, b, account) = after;
            let other = ctx.aws.in_account(&account).await?;
            let in_home = s3::buckets_owned_by(ctx.aws.s3()).await?;
            let in_other = s3::buckets_owned_by(other.s3()).await?;
            ensure!(
                !in_home.contains(&a) && !in_home.contains(&b),
                "left in {}: {in_home:?}",
                ctx.aws.account_id()
            );
            ensure!(
                !in_other.contains(&a) && !in_other.contains(&b),
                "left in {account}: {in_other:?}"
            );
            let key_b = ctx.require_str(B, "kms_key_arn")?;
            let state = kms::key_state(other.kms(), &key_b).await?;
            ensure!(
                state.as_deref() == Some("PendingDeletion"),
                "bucket B's key {key_b} is {state:?} after destroy"
            );
            check_bucket_and_key_gone(&ctx, A, &a).await
        }),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_bucket_failed_create_leaves_nothing() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("failed");
    let missing = random_name("nolog");
    let (n1, n2) = (name.clone(), name.clone());
    TestCase {
        own_account: false,
        steps: vec![Step {
            expect_error: expect_error(r"(?i)access logging|logging"),
            check: check(move |ctx| async move {
                ensure!(
                    !s3::bucket_exists(ctx.aws.s3(), &n1).await?,
                    "the failed create left bucket {n1} behind"
                );
                let keys = kms::keys_tagged(ctx.aws.kms(), TAG_OWNER, &n1).await?;
                let live: Vec<_> = keys.iter().filter(|(_, s)| s != "PendingDeletion").collect();
                ensure!(
                    live.is_empty(),
                    "the failed create left KMS keys tagged {TAG_OWNER}={n1} that are not pending deletion: {live:?}"
                );
                if !ctx.addresses().is_empty() {
                    bail!("the failed create left {:?} in the state", ctx.addresses());
                }
                Ok(())
            }),
            ..Step::config(config_missing_log_target(&name, &missing))
        }],
        check_destroy: check(move |ctx| async move {
            ensure!(!s3::bucket_exists(ctx.aws.s3(), &n2).await?);
            Ok(())
        }),
        ..TestCase::default()
    }
    .run()
    .await
}

/// The standard suite (`acceptance_tests::suite`) for `bankplatform_compliant_bucket`.
mod standard {
    use acceptance_tests::checks::{self, s3, Expect};
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;

    fn with(name: &str, extra: &str) -> String {
        format!("resource \"bankplatform_compliant_bucket\" \"test\" {{\n  bucket = \"{name}\"\n{extra}\n}}\n")
    }

    pub(super) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "bkt",
        composite: Composite {
            config: super::config_basic,
            expected: &[("s3 bucket", 1), ("kms key", 1)],
            beside: &[],
        },
        updated: |name| with(name, "  tags = { env = \"test\" }"),
        replaced: |name| with(&format!("{name}-r"), ""),
        import_ignore: super::IMPORT_IGNORE,
        controls: &[
            ("CIS 3.1.1", true),
            ("S3.5", true),
            ("CIS 3.1.4", true),
            ("S3.8", true),
            ("S3.12", true),
            ("S3.14", true),
            ("S3.17", true),
            ("S3.15", true),
            ("bank:default-retention", true),
            ("S3.13", true),
            ("KMS.4", true),
            // Not configured by default: no access-log target, no replica.
            ("S3.9", false),
            ("S3.7", false),
        ],
        check: |ctx| {
            async move {
                let bucket = ctx.require_str(super::ADDR, "bucket")?;
                checks::assert_compliant_bucket(&ctx.aws, &bucket, &Expect::default()).await
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                let bucket = ctx.require_str(super::ADDR, "bucket")?;
                ctx.aws
                    .s3()
                    .delete_public_access_block()
                    .bucket(&bucket)
                    .send()
                    .await
                    .context("deleting the public access block")?;
                ensure!(s3::public_access_block(ctx.aws.s3(), &bucket)
                    .await?
                    .is_none());
                Ok(())
            }
            .boxed()
        },
        drifted: &["S3.8", "CIS 3.1.4"],
        disappear: |ctx| {
            async move {
                let bucket = ctx.require_str(super::ADDR, "bucket")?;
                s3::empty_and_delete_bucket(ctx.aws.s3(), &bucket).await
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    with(name, "  lifecycle_rules = [{ id = \"x\", prefix = \"\", transitions = null, noncurrent_transitions = null, noncurrent_expiration_days = null, expiration_days = -5, abort_incomplete_multipart_upload_days = null }]"),
                    r"(?is)invalid lifecycle rule.*lifecycle_rules\[0\]\.expiration_days",
                ),
                (
                    with(name, "  purpose     = \"logs\"\n  kms_key_arn = \"arn:aws:kms:us-east-1:111122223333:key/abc\""),
                    r"(?is)conflicting arguments.*SSE-S3",
                ),
                (
                    with(name, "  kms_key_arn = \"my-key\""),
                    r"(?is)invalid arn.*kms_key_arn",
                ),
                (
                    with(name, "  target {\n    region = \"eu-west1\"\n  }"),
                    r"(?is)invalid region.*target\.region",
                ),
            ]
        },
        fail_at: 5,
        kill_after: 3,
    };

    acceptance_tests::standard_suite!(SUITE);
}
