//! Tests of the harness itself, with real Terraform and moto but without the provider.
//!
//! The Terraform cases use only built-in things (`terraform_data`, outputs), so they
//! prove the runner, the plan checks, the post-apply plan rules, `expect_error`, the
//! final destroy and the hooks. Several cases are built to fail, and the test asserts
//! that the harness reports them. The AWS case configures a compliant bucket by hand
//! and proves the readers and `assert_compliant_bucket` on it, including a failure.
//! Run with `TF_ACC=1 cargo test -p acceptance-tests harness_self_test`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use acceptance_tests::checks::{self, iam, kms, s3, Expect};
use acceptance_tests::{
    check, expect_error, random_account_id, random_name, skip_unless_acc, Action, Aws, PlanCheck,
    Step, TestCase, TfVersion,
};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

fn config_data(input: &str, trigger: &str) -> String {
    format!(
        r#"
resource "terraform_data" "test" {{
  input            = "{input}"
  triggers_replace = ["{trigger}"]
}}

output "echo" {{
  value = terraform_data.test.output
}}
"#
    )
}

/// A config whose plan is never empty: `timestamp()` changes on every plan.
const CONFIG_ALWAYS_CHANGES: &str = r#"
resource "terraform_data" "test" {
  input = timestamp()
}
"#;

/// A config Terraform rejects: the variable is not declared.
const CONFIG_INVALID: &str = r#"
resource "terraform_data" "test" {
  input = var.not_declared
}
"#;

fn raw(config: String) -> Step {
    Step {
        raw_config: true,
        ..Step::config(config)
    }
}

fn state_resources(state: &Value) -> usize {
    state["resources"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_self_test_config_steps() -> Result<()> {
    skip_unless_acc!();
    TestCase {
        own_account: false,
        steps: vec![
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(
                    "terraform_data.test".into(),
                    Action::Create,
                )],
                check: check(|ctx| async move {
                    ensure!(
                        ctx.state["terraform_version"]
                            .as_str()
                            .is_some_and(|v| v.starts_with("1.15.")),
                        "expected Terraform 1.15, state says {}",
                        ctx.state["terraform_version"]
                    );
                    ensure!(
                        ctx.attr_str("terraform_data.test", "output").as_deref() == Some("one")
                    );
                    ensure!(ctx.output("echo") == Some(Value::from("one")));
                    Ok(())
                }),
                ..raw(config_data("one", "a"))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(
                    "terraform_data.test".into(),
                    Action::Update,
                )],
                check: check(|ctx| async move {
                    ensure!(ctx.output("echo") == Some(Value::from("two")));
                    Ok(())
                }),
                ..raw(config_data("two", "a"))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(
                    "terraform_data.test".into(),
                    Action::Replace,
                )],
                ..raw(config_data("two", "b"))
            },
            Step {
                plan_only: true,
                expect_error: expect_error(r"(?i)reference to undeclared input variable"),
                ..raw(CONFIG_INVALID.into())
            },
            Step {
                expect_non_empty_plan: true,
                ..raw(CONFIG_ALWAYS_CHANGES.into())
            },
        ],
        check_destroy: check(|ctx| async move {
            ensure!(
                ctx.addresses() == vec!["terraform_data.test".to_string()],
                "check_destroy should see the state from before the destroy, got {:?}",
                ctx.addresses()
            );
            let path = ctx.working_dir.join("terraform.tfstate");
            let text =
                std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
            let state: Value = serde_json::from_str(&text)?;
            ensure!(
                state_resources(&state) == 0,
                "the state still holds resources: {text}"
            );
            Ok(())
        }),
        ..TestCase::default()
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_self_test_terraform_1_0_3() -> Result<()> {
    skip_unless_acc!();
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_0_3,
        steps: vec![
            Step {
                check: check(|ctx| async move {
                    ensure!(
                        ctx.state["terraform_version"] == "1.0.3",
                        "expected Terraform 1.0.3, state says {}",
                        ctx.state["terraform_version"]
                    );
                    ensure!(ctx.output("answer") == Some(Value::from("42")));
                    Ok(())
                }),
                ..raw(r#"output "answer" { value = "42" }"#.into())
            },
            Step {
                plan_only: true,
                expect_error: expect_error(r"(?i)undeclared input variable"),
                ..raw(r#"output "answer" { value = var.nope }"#.into())
            },
        ],
        ..TestCase::default()
    }
    .run()
    .await
}

/// Runs `case`, which must fail with a report containing every one of `wanted`.
async fn must_fail(case: TestCase, wanted: &[&str]) -> Result<String> {
    let report = match case.run().await {
        Ok(()) => bail!("the test case passed, but the harness should have failed it"),
        Err(e) => format!("{e:#}"),
    };
    eprintln!("--- the harness reported, as it should:\n{report}\n---");
    for w in wanted {
        ensure!(report.contains(w), "the report lacks {w:?}:\n{report}");
    }
    Ok(report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_self_test_reports_failures() -> Result<()> {
    skip_unless_acc!();

    // A plan that stays non-empty after apply fails the step.
    must_fail(
        TestCase {
            own_account: false,
            steps: vec![raw(CONFIG_ALWAYS_CHANGES.into())],
            ..TestCase::default()
        },
        &[
            "step 1/1 (config) failed",
            "After applying this test step, the non-refresh plan was not empty",
        ],
    )
    .await?;

    // expect_non_empty_plan fails on an empty plan.
    must_fail(
        TestCase {
            own_account: false,
            steps: vec![Step {
                expect_non_empty_plan: true,
                ..raw(config_data("x", "y"))
            }],
            ..TestCase::default()
        },
        &["Expected a non-empty plan, but got an empty refresh plan"],
    )
    .await?;

    // A wrong plan check fails, and the later steps do not run.
    must_fail(
        TestCase {
            own_account: false,
            steps: vec![
                Step {
                    plan_checks: vec![PlanCheck::ResourceAction(
                        "terraform_data.test".into(),
                        Action::Update,
                    )],
                    ..raw(config_data("x", "y"))
                },
                Step {
                    check: check(|_| async move { panic!("step 2 must not run") }),
                    ..raw(config_data("x", "y"))
                },
            ],
            ..TestCase::default()
        },
        &[
            "step 1/2 (config) failed",
            "plan checks failed",
            "expected Update, planned [\"create\"]",
        ],
    )
    .await?;

    // An expected error that does not happen fails the step; so does a different error.
    must_fail(
        TestCase {
            own_account: false,
            steps: vec![Step {
                expect_error: expect_error("some error"),
                ..raw(config_data("x", "y"))
            }],
            ..TestCase::default()
        },
        &["expected an error matching /some error/, but the step succeeded"],
    )
    .await?;
    must_fail(
        TestCase {
            own_account: false,
            steps: vec![Step {
                plan_only: true,
                expect_error: expect_error("Invalid bucket name"),
                ..raw(CONFIG_INVALID.into())
            }],
            ..TestCase::default()
        },
        &[
            "expected an error matching /Invalid bucket name/, got:",
            "not_declared",
        ],
    )
    .await?;

    // A panicking check is reported, the destroy still runs, and check_destroy is called.
    let destroyed = Arc::new(AtomicBool::new(false));
    let flag = destroyed.clone();
    must_fail(
        TestCase {
            own_account: false,
            steps: vec![Step {
                check: check(|_| async move { panic!("deliberate panic in a check") }),
                ..raw(config_data("x", "y"))
            }],
            check_destroy: check(move |ctx| async move {
                let path = ctx.working_dir.join("terraform.tfstate");
                let state: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
                flag.store(state_resources(&state) == 0, Ordering::SeqCst);
                Ok(())
            }),
            ..TestCase::default()
        },
        &["check: panicked: deliberate panic in a check"],
    )
    .await?;
    ensure!(
        destroyed.load(Ordering::SeqCst),
        "the destroy or check_destroy did not run after the failing check"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_self_test_aws_readers() -> Result<()> {
    skip_unless_acc!();
    let aws = Aws::new().await?;
    let account = random_account_id();
    let other = aws.in_account(&account).await?;
    ensure!(other.caller_account().await? == account);
    let bucket = random_name("self");

    // A bucket made compliant by hand, in the other account.
    let s3c = other.s3();
    s3c.create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await?;
    let key = other
        .kms()
        .create_key()
        .tags(tag("bankplatform:bucket", &bucket))
        .send()
        .await?
        .key_metadata
        .context("CreateKey returned no metadata")?;
    let key_arn = key.arn.clone().context("no key ARN")?;
    other
        .kms()
        .enable_key_rotation()
        .key_id(&key.key_id)
        .send()
        .await?;
    make_compliant(s3c, &bucket, &key_arn).await?;

    s3c.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("env")
                        .value("test")
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await?;
    let tags = s3::tags(s3c, &bucket).await?;
    ensure!(
        tags.get("env").map(String::as_str) == Some("test"),
        "{tags:?}"
    );
    ensure!(s3::buckets_owned_by(s3c).await?.contains(&bucket));
    ensure!(!s3::buckets_owned_by(aws.s3()).await?.contains(&bucket));
    let lock = s3::object_lock(s3c, &bucket)
        .await?
        .context("no object lock")?;
    ensure!(lock.days == Some(30) && lock.years.is_none(), "{lock:?}");
    checks::assert_compliant_bucket(
        &other,
        &bucket,
        &Expect::transaction().with_kms_key(&key_arn),
    )
    .await?;

    // The same bucket fails once controls are removed, and the report names them.
    s3c.delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await?;
    s3c.delete_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await?;
    let err = checks::assert_compliant_bucket(&other, &bucket, &Expect::archive())
        .await
        .expect_err("a bucket without encryption and PAB must fail")
        .to_string();
    for control in ["S3.8", "S3.17", "S3.15", "fails 3 control(s)"] {
        ensure!(err.contains(control), "the report lacks {control}: {err}");
    }

    // Clean up, and prove the destroy-side readers.
    s3::empty_and_delete_bucket(s3c, &bucket).await?;
    ensure!(!s3::bucket_exists(s3c, &bucket).await?);
    other
        .kms()
        .schedule_key_deletion()
        .key_id(&key.key_id)
        .pending_window_in_days(7)
        .send()
        .await?;
    ensure!(kms::key_state(other.kms(), &key_arn).await?.as_deref() == Some("PendingDeletion"));
    let tagged = kms::keys_tagged(other.kms(), "bankplatform:bucket", &bucket).await?;
    ensure!(
        tagged == vec![(key.key_id.clone(), "PendingDeletion".to_string())],
        "{tagged:?}"
    );
    ensure!(
        kms::key_state(other.kms(), "00000000-0000-0000-0000-000000000000")
            .await?
            .is_none()
    );

    let role = random_name("role");
    ensure!(!iam::role_exists(aws.iam(), &role).await?);
    aws.iam()
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await?;
    ensure!(iam::role_exists(aws.iam(), &format!("arn:aws:iam::123456789012:role/{role}")).await?);
    aws.iam().delete_role().role_name(&role).send().await?;
    Ok(())
}

fn tag(key: &str, value: &str) -> aws_sdk_kms::types::Tag {
    aws_sdk_kms::types::Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .expect("tag key and value are set")
}

/// Applies every default control to `bucket` through the S3 API.
async fn make_compliant(s3c: &aws_sdk_s3::Client, bucket: &str, key_arn: &str) -> Result<()> {
    use aws_sdk_s3::types::*;
    s3c.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    s3c.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id(key_arn)
                                .build()?,
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()?,
        )
        .send()
        .await?;
    s3c.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await?;
    s3c.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await?;
    s3c.put_object_lock_configuration()
        .bucket(bucket)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Governance)
                                .days(30)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;
    s3c.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(
                    LifecycleRule::builder()
                        .id("defaults")
                        .status(ExpirationStatus::Enabled)
                        .filter(LifecycleRuleFilter::builder().prefix("").build())
                        .noncurrent_version_expiration(
                            NoncurrentVersionExpiration::builder()
                                .noncurrent_days(90)
                                .build(),
                        )
                        .abort_incomplete_multipart_upload(
                            AbortIncompleteMultipartUpload::builder()
                                .days_after_initiation(7)
                                .build(),
                        )
                        .build()?,
                )
                .build()?,
        )
        .send()
        .await?;
    // The TLS-only policy goes last: moto then refuses object writes (see moto_coverage.md).
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    });
    s3c.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await?;
    Ok(())
}
