//! The AWS calls behind `bankplatform_compliant_bucket`: finders that turn
//! "not found" into `None`, the configuration puts (run concurrently), the
//! managed KMS key and replication role, and emptying/deleting a bucket.
//! Errors are strings naming the operation, the bucket and AWS's answer.

use std::time::Duration;

use aws_sdk_s3::types as s3t;
use futures::future::join_all;

use super::bucket_model as model;
use super::bucket_model::{
    canonical_json, Desired, LifecycleRule, Lock, Observed, Replication, OWNER_TAG, PURPOSE_TAG,
};
use crate::aws::{empty_document, error_code, error_message, is_not_found, Clients};
use crate::resources::iam::service_role::{self, ServiceRole};
use crate::resources::kit::ownership::{claim, Claim, LIFECYCLE_TAG};
use crate::resources::kms::key_policy::KeyPolicy;
use crate::resources::kms::managed_key;

/// How often and how long S3 configuration calls are retried on the
/// transient errors S3 returns right after a bucket is created.
const S3_CONFIG_ATTEMPTS: u32 = 8;
const S3_CONFIG_BACKOFF: Duration = Duration::from_millis(250);

fn transient(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("OperationAborted")
            | Some("NoSuchBucket")
            | Some("ServiceUnavailable")
            | Some("SlowDown")
    )
}

/// Retries an S3 call on transient codes.
async fn retry<T, E, F, Fut>(
    mut f: F,
) -> Result<
    T,
    aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
        Output = Result<
            T,
            aws_smithy_runtime_api::client::result::SdkError<
                E,
                aws_smithy_runtime_api::http::Response,
            >,
        >,
    >,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < S3_CONFIG_ATTEMPTS && transient(error_code(&e)) => {
                tokio::time::sleep(S3_CONFIG_BACKOFF * attempt).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Whether the bucket exists (HeadBucket).
pub(super) async fn bucket_exists(c: &Clients, bucket: &str) -> Result<bool, String> {
    match c.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if is_not_found(&e) => Ok(false),
        Err(e) => Err(format!(
            "reading S3 Bucket ({bucket}): {}",
            error_message(&e)
        )),
    }
}

/// Creates the bucket with ACLs disabled and, when asked, object lock enabled.
pub(super) async fn create_bucket(
    c: &Clients,
    bucket: &str,
    object_lock: bool,
) -> Result<(), String> {
    let mut req =
        c.s3.create_bucket()
            .bucket(bucket)
            .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced)
            .object_lock_enabled_for_bucket(object_lock);
    if c.region != "us-east-1" {
        req = req.create_bucket_configuration(
            s3t::CreateBucketConfiguration::builder()
                .location_constraint(s3t::BucketLocationConstraint::from(c.region.as_str()))
                .build(),
        );
    }
    let err = match req.send().await {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    if error_code(&err) == Some("BucketAlreadyOwnedByYou") && unfinished(c, bucket).await {
        tracing::info!(bucket, "continuing the bucket an interrupted create left");
        return Ok(());
    }
    Err(match error_code(&err) {
        Some("BucketAlreadyOwnedByYou") => format!(
            "creating S3 Bucket ({bucket}): it already exists in this account. Bring it under Terraform with `terraform import <address> {bucket}`, or choose another name."
        ),
        Some("BucketAlreadyExists") => format!(
            "creating S3 Bucket ({bucket}): the name is taken by another account (bucket names are global). Choose another name, or use bucket_prefix."
        ),
        _ => format!("creating S3 Bucket ({bucket}): {}", error_message(&err)),
    })
}

/// Whether an existing bucket of ours is what an interrupted create of this
/// composite left (see `kit::ownership`): its tags still say `creating`, or it has
/// no tags at all (the create was stopped before its first settings call; every
/// bucket this provider finishes is tagged). A finished bucket is never taken.
async fn unfinished(c: &Clients, bucket: &str) -> bool {
    match c.s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => {
            let marker = out
                .tag_set()
                .iter()
                .find(|t| t.key() == LIFECYCLE_TAG)
                .map(|t| t.value());
            out.tag_set().is_empty() || claim(marker) == Claim::Adopt
        }
        Err(e) => is_not_found(&e),
    }
}
/// The policy of a bucket's managed key: administered and used by the account (S3
/// only), and usable by the services the bucket policy admits as writers
/// ([`model::delivery_key_statements`]).
async fn managed_key_policy(c: &Clients, bucket_policy: &str) -> Result<serde_json::Value, String> {
    let account = c.account_id().await?;
    let writers = serde_json::from_str(bucket_policy)
        .map(|p| model::delivery_key_statements(&p))
        .unwrap_or_default();
    Ok(KeyPolicy {
        partition: crate::aws::partition(&c.region),
        region: &c.region,
        account: &account,
        purpose: "s3",
        administrators: &[],
        users: &[],
        source_accounts: &[],
        source_arns: &[],
        publishers: &[],
        extra: &writers,
    }
    .document())
}

/// Creates the bucket's customer-managed key: rotation on, tagged, aliased.
pub(super) async fn create_key(c: &Clients, d: &Desired) -> Result<String, String> {
    let bucket = &d.bucket;
    let mut all: Vec<(String, String)> = vec![(OWNER_TAG.to_string(), bucket.to_string())];
    all.extend(d.tags_all.iter().map(|(k, v)| (k.clone(), v.clone())));
    let policy = managed_key_policy(c, &d.policy).await?;
    managed_key::create(
        c,
        &key_alias(bucket),
        &format!("S3 bucket {bucket} (bankplatform)"),
        &all,
        Some(policy.to_string()),
        false,
    )
    .await
}

/// Brings a managed key's policy to what the bucket policy's writers need (after
/// `delivery_sources` changed, or on a key written before they were admitted).
pub(super) async fn converge_key_policy(
    c: &Clients,
    d: &Desired,
    key_arn: &str,
) -> Result<(), String> {
    let wanted = managed_key_policy(c, &d.policy).await?;
    if managed_key::policy(c, key_arn).await.as_ref() == Some(&wanted) {
        return Ok(());
    }
    managed_key::put_policy(c, key_arn, &wanted.to_string()).await
}

/// The alias of a bucket's managed key.
pub(super) fn key_alias(bucket: &str) -> String {
    format!("alias/bankplatform/s3/{bucket}")
}
/// The managed key of a bucket, found by its alias.
pub(super) async fn find_managed_key(c: &Clients, bucket: &str) -> Result<Option<String>, String> {
    managed_key::find(c, &key_alias(bucket)).await
}
/// Deletes the alias and schedules deletion of a managed key.
pub(super) async fn retire_key(c: &Clients, bucket: &str, key_arn: &str) -> Result<(), String> {
    managed_key::retire(c, &key_alias(bucket), key_arn).await
}
/// Whether automatic rotation is on for a key (None when it cannot be read).
pub(super) async fn key_rotation(c: &Clients, key_arn: &str) -> Option<bool> {
    managed_key::rotation(c, key_arn).await
}

/// Name of the replication role created for a bucket (stable, ≤ 64 chars).
pub(super) fn replication_role_name(bucket: &str) -> String {
    // A short stable digest, so long bucket names still fit IAM's limit.
    format!(
        "bankplatform-s3-replication-{:016x}",
        service_role::digest(bucket)
    )
}

/// Whether a role ARN is the replication role this resource creates.
pub(super) fn is_managed_role(bucket: &str, role_arn: &str) -> bool {
    role_arn.ends_with(&format!(":role/{}", replication_role_name(bucket)))
}

/// Creates (or updates the policy of) the replication role.
pub(super) async fn ensure_replication_role(
    c: &Clients,
    bucket_arn: &str,
    bucket: &str,
    source_key: Option<&str>,
    r: &Replication,
) -> Result<String, String> {
    let name = replication_role_name(bucket);
    let mut statements = vec![
        serde_json::json!({"Effect":"Allow","Action":["s3:GetReplicationConfiguration","s3:ListBucket"],"Resource":bucket_arn}),
        serde_json::json!({"Effect":"Allow","Action":["s3:GetObjectVersionForReplication","s3:GetObjectVersionAcl","s3:GetObjectVersionTagging"],"Resource":format!("{bucket_arn}/*")}),
        serde_json::json!({"Effect":"Allow","Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags"],"Resource":format!("{}/*", r.destination_bucket_arn)}),
        serde_json::json!({"Effect":"Allow","Action":["kms:Encrypt","kms:GenerateDataKey"],"Resource":r.destination_kms_key_arn}),
    ];
    if let Some(k) = source_key {
        statements
            .push(serde_json::json!({"Effect":"Allow","Action":["kms:Decrypt"],"Resource":k}));
    }
    service_role::ensure(
        c,
        &ServiceRole {
            name: &name,
            service: "s3.amazonaws.com",
            source_arn: Some(bucket_arn.to_string()),
            description: format!("S3 replication for bucket {bucket} (bankplatform)"),
            policy_name: "replication",
            policy: serde_json::json!({"Version":"2012-10-17","Statement":statements}),
            tags: vec![(OWNER_TAG.to_string(), bucket.to_string())],
        },
    )
    .await
}

/// Deletes the replication role (already gone is fine).
pub(super) async fn delete_replication_role(c: &Clients, bucket: &str) -> Result<(), String> {
    service_role::remove(c, &replication_role_name(bucket), "replication").await
}

/// Whether an IAM role exists.
pub(super) async fn role_exists(c: &Clients, role_name: &str) -> Result<bool, String> {
    service_role::exists(c, role_name).await
}

fn lifecycle_rule(r: &LifecycleRule) -> Result<s3t::LifecycleRule, String> {
    let mut b = s3t::LifecycleRule::builder()
        .id(&r.id)
        .status(s3t::ExpirationStatus::Enabled)
        .filter(
            s3t::LifecycleRuleFilter::builder()
                .prefix(r.prefix.clone().unwrap_or_default())
                .build(),
        );
    for (d, c) in &r.transitions {
        b = b.transitions(
            s3t::Transition::builder()
                .days(*d as i32)
                .storage_class(s3t::TransitionStorageClass::from(c.as_str()))
                .build(),
        );
    }
    for (d, c) in &r.noncurrent_transitions {
        b = b.noncurrent_version_transitions(
            s3t::NoncurrentVersionTransition::builder()
                .noncurrent_days(*d as i32)
                .storage_class(s3t::TransitionStorageClass::from(c.as_str()))
                .build(),
        );
    }
    if let Some(d) = r.noncurrent_expiration_days {
        b = b.noncurrent_version_expiration(
            s3t::NoncurrentVersionExpiration::builder()
                .noncurrent_days(d as i32)
                .build(),
        );
    }
    if let Some(d) = r.expiration_days {
        b = b.expiration(s3t::LifecycleExpiration::builder().days(d as i32).build());
    }
    if let Some(d) = r.abort_incomplete_multipart_upload_days {
        b = b.abort_incomplete_multipart_upload(
            s3t::AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(d as i32)
                .build(),
        );
    }
    b.build().map_err(|e| e.to_string())
}

/// Puts every setting of `d` on the bucket: independent settings
/// concurrently, replication last (it needs versioning on). Returns every
/// failure, not just the first.
pub(super) async fn apply_settings(
    c: &Clients,
    d: &Desired,
    lock_enabled_on_bucket: bool,
) -> Result<(), Vec<String>> {
    let b = d.bucket.as_str();
    let s3 = &c.s3;
    type Step<'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
    let mut steps: Vec<Step<'_>> = Vec::new();

    steps.push(Box::pin(async move {
        let cfg = s3t::PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        retry(|| {
            s3.put_public_access_block()
                .bucket(b)
                .public_access_block_configuration(cfg.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "blocking public access to S3 Bucket ({b}): {}",
                error_message(&e)
            )
        })
    }));
    steps.push(Box::pin(async move {
        let rule = s3t::OwnershipControlsRule::builder()
            .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced)
            .build()
            .map_err(|e| e.to_string())?;
        let cfg = s3t::OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|e| e.to_string())?;
        retry(|| {
            s3.put_bucket_ownership_controls()
                .bucket(b)
                .ownership_controls(cfg.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| format!("disabling ACLs on S3 Bucket ({b}): {}", error_message(&e)))
    }));
    steps.push(Box::pin(async move {
        let cfg = s3t::VersioningConfiguration::builder()
            .status(s3t::BucketVersioningStatus::Enabled)
            .build();
        retry(|| {
            s3.put_bucket_versioning()
                .bucket(b)
                .versioning_configuration(cfg.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "enabling versioning on S3 Bucket ({b}): {}",
                error_message(&e)
            )
        })
    }));
    steps.push(Box::pin(async move {
        let by_default = if d.sse_kms {
            s3t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3t::ServerSideEncryption::AwsKms)
                .set_kms_master_key_id(d.kms_key_arn.clone())
        } else {
            s3t::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(s3t::ServerSideEncryption::Aes256)
        }
        .build()
        .map_err(|e| e.to_string())?;
        let rule = s3t::ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default)
            .bucket_key_enabled(d.sse_kms)
            .build();
        let cfg = s3t::ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| e.to_string())?;
        retry(|| {
            s3.put_bucket_encryption()
                .bucket(b)
                .server_side_encryption_configuration(cfg.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting default encryption on S3 Bucket ({b}): {}",
                error_message(&e)
            )
        })
    }));
    steps.push(Box::pin(async move {
        let mut tags = Vec::new();
        for (k, v) in d
            .tags_all
            .iter()
            .chain(std::iter::once((&PURPOSE_TAG.to_string(), &d.purpose)))
        {
            tags.push(
                s3t::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        let cfg = s3t::Tagging::builder()
            .set_tag_set(Some(tags))
            .build()
            .map_err(|e| e.to_string())?;
        retry(|| {
            s3.put_bucket_tagging()
                .bucket(b)
                .tagging(cfg.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| format!("tagging S3 Bucket ({b}): {}", error_message(&e)))
    }));
    if d.lock_enabled || lock_enabled_on_bucket {
        steps.push(Box::pin(async move {
            // On (in place on an existing bucket), with the default retention when
            // there is one; without it, a retention set earlier is cleared (object
            // lock itself cannot be turned off).
            let rule = d.lock.as_ref().map(|lock| {
                let mode = if lock.mode == "COMPLIANCE" {
                    s3t::ObjectLockRetentionMode::Compliance
                } else {
                    s3t::ObjectLockRetentionMode::Governance
                };
                s3t::ObjectLockRule::builder()
                    .default_retention(
                        s3t::DefaultRetention::builder()
                            .mode(mode)
                            .days(lock.days as i32)
                            .build(),
                    )
                    .build()
            });
            let cfg = s3t::ObjectLockConfiguration::builder()
                .object_lock_enabled(s3t::ObjectLockEnabled::Enabled)
                .set_rule(rule)
                .build();
            retry(|| {
                s3.put_object_lock_configuration()
                    .bucket(b)
                    .object_lock_configuration(cfg.clone())
                    .send()
            })
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "setting object lock on S3 Bucket ({b}): {}",
                    error_message(&e)
                )
            })
        }));
    }
    steps.push(Box::pin(async move {
        if d.lifecycle.is_empty() {
            return retry(|| s3.delete_bucket_lifecycle().bucket(b).send())
                .await
                .map(|_| ())
                .map_err(|e| {
                    format!(
                        "removing lifecycle rules of S3 Bucket ({b}): {}",
                        error_message(&e)
                    )
                });
        }
        let rules = d
            .lifecycle
            .iter()
            .map(lifecycle_rule)
            .collect::<Result<Vec<_>, _>>()?;
        let cfg = s3t::BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| e.to_string())?;
        retry(|| {
            s3.put_bucket_lifecycle_configuration()
                .bucket(b)
                .lifecycle_configuration(cfg.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting lifecycle rules on S3 Bucket ({b}): {}",
                error_message(&e)
            )
        })
    }));
    steps.push(Box::pin(async move {
        let status = match &d.logging {
            Some((target, prefix)) => s3t::BucketLoggingStatus::builder()
                .logging_enabled(
                    s3t::LoggingEnabled::builder()
                        .target_bucket(target)
                        .target_prefix(prefix)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .build(),
            None => s3t::BucketLoggingStatus::builder().build(),
        };
        retry(|| {
            s3.put_bucket_logging()
                .bucket(b)
                .bucket_logging_status(status.clone())
                .send()
        })
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting server access logging on S3 Bucket ({b}): {}",
                error_message(&e)
            )
        })
    }));
    steps.push(Box::pin(async move {
        event_notifications(c, b, d.event_notifications).await
    }));
    steps.push(Box::pin(async move {
        retry(|| s3.put_bucket_policy().bucket(b).policy(&d.policy).send())
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "setting the policy of S3 Bucket ({b}): {}",
                    error_message(&e)
                )
            })
    }));

    let mut errors: Vec<String> = join_all(steps)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if errors.is_empty() {
        if let Err(e) = apply_replication(c, d).await {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The empty answers that mean "no notification targets": AWS's, and the emulator's
/// (which the SDK refuses for its name).
const NO_NOTIFICATIONS: &[&str] = &["NotificationConfiguration", "GetBucketNotificationResponse"];

/// Sends the bucket's object events to EventBridge (`on`) or stops sending them,
/// keeping every other notification target (SNS, SQS, Lambda) as it is. Skips the
/// write only when S3 reports it on and on is wanted.
async fn event_notifications(c: &Clients, b: &str, on: bool) -> Result<(), String> {
    let fail = |what: &str, e: String| {
        format!("{what} the EventBridge notifications of S3 Bucket ({b}): {e}")
    };
    let now = match retry(|| {
        c.s3.get_bucket_notification_configuration()
            .bucket(b)
            .send()
    })
    .await
    {
        Ok(now) => Some(now),
        Err(e) if empty_document(&e, NO_NOTIFICATIONS) => None,
        Err(e) => return Err(fail("reading", error_message(&e))),
    };
    // Only "on" can be read reliably: an endpoint that does not report the setting
    // reads as off whatever it holds, so "off" is always written.
    if on
        && now
            .as_ref()
            .is_some_and(|n| n.event_bridge_configuration().is_some())
    {
        return Ok(());
    }
    let cfg = match now {
        Some(n) => s3t::NotificationConfiguration::builder()
            .set_topic_configurations(n.topic_configurations)
            .set_queue_configurations(n.queue_configurations)
            .set_lambda_function_configurations(n.lambda_function_configurations),
        None => s3t::NotificationConfiguration::builder(),
    }
    .set_event_bridge_configuration(on.then(|| s3t::EventBridgeConfiguration::builder().build()))
    .build();
    retry(|| {
        c.s3.put_bucket_notification_configuration()
            .bucket(b)
            .notification_configuration(cfg.clone())
            // The other targets are kept as they are, reachable or not.
            .skip_destination_validation(true)
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| {
        fail(
            if on { "turning on" } else { "turning off" },
            error_message(&e),
        )
    })
}

async fn apply_replication(c: &Clients, d: &Desired) -> Result<(), String> {
    let b = d.bucket.as_str();
    let Some(r) = &d.replication else {
        return retry(|| c.s3.delete_bucket_replication().bucket(b).send())
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "removing replication from S3 Bucket ({b}): {}",
                    error_message(&e)
                )
            });
    };
    let role = r.role_arn.clone().ok_or("replication role ARN missing")?;
    let dest = s3t::Destination::builder()
        .bucket(&r.destination_bucket_arn)
        .storage_class(s3t::StorageClass::from(r.storage_class.as_str()))
        .encryption_configuration(
            s3t::EncryptionConfiguration::builder()
                .replica_kms_key_id(&r.destination_kms_key_arn)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let rule = s3t::ReplicationRule::builder()
        .id("bankplatform-replication")
        .priority(1)
        .status(s3t::ReplicationRuleStatus::Enabled)
        .filter(s3t::ReplicationRuleFilter::builder().prefix("").build())
        .delete_marker_replication(
            s3t::DeleteMarkerReplication::builder()
                .status(s3t::DeleteMarkerReplicationStatus::Enabled)
                .build(),
        )
        .source_selection_criteria(
            s3t::SourceSelectionCriteria::builder()
                .sse_kms_encrypted_objects(
                    s3t::SseKmsEncryptedObjects::builder()
                        .status(s3t::SseKmsEncryptedObjectsStatus::Enabled)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .build(),
        )
        .destination(dest)
        .build()
        .map_err(|e| e.to_string())?;
    let cfg = s3t::ReplicationConfiguration::builder()
        .role(role)
        .rules(rule)
        .build()
        .map_err(|e| e.to_string())?;
    retry(|| {
        c.s3.put_bucket_replication()
            .bucket(b)
            .replication_configuration(cfg.clone())
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| {
        format!(
            "setting replication on S3 Bucket ({b}): {}",
            error_message(&e)
        )
    })
}

/// Reads a bucket's versioning status ("Enabled", "Suspended"; `None` when
/// never set). Tolerant reader: some S3 implementations (moto 5.2) answer
/// with a `GetBucketVersioningResponse` root element instead of
/// `VersioningConfiguration`, which the SDK's parser rejects; the status is
/// then read from the raw body.
pub(super) async fn find_versioning(c: &Clients, bucket: &str) -> Result<Option<String>, String> {
    match c.s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(v) => Ok(v.status().map(|s| s.as_str().to_string())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => {
            let body = e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map(String::from_utf8_lossy);
            match body {
                Some(b) if b.contains("GetBucketVersioningResponse") => Ok(b
                    .split("<Status>")
                    .nth(1)
                    .and_then(|rest| rest.split("</Status>").next())
                    .map(str::to_string)),
                _ => Err(format!(
                    "reading versioning of S3 Bucket ({bucket}): {}",
                    error_message(&e)
                )),
            }
        }
    }
}

/// Checks that the replication destination is versioned (S3 requires it).
pub(super) async fn check_replication_destination(
    c: &Clients,
    r: &Replication,
) -> Result<(), String> {
    let dest = r
        .destination_bucket_arn
        .rsplit(":::")
        .next()
        .unwrap_or_default();
    if !bucket_exists(c, dest).await? {
        return Err(format!(
            "the replication destination bucket {dest} does not exist"
        ));
    }
    match find_versioning(c, dest).await? {
        Some(s) if s == "Enabled" => Ok(()),
        _ => Err(format!("the replication destination bucket {dest} does not have versioning enabled; S3 replicates only between versioned buckets (a bankplatform_compliant_bucket always is)")),
    }
}

/// Reads everything the resource manages, concurrently. `Ok(None)` when the
/// bucket is gone.
pub(super) async fn read_observed(c: &Clients, bucket: &str) -> Result<Option<Observed>, String> {
    if !bucket_exists(c, bucket).await? {
        return Ok(None);
    }
    let s3 = &c.s3;
    let ctx = |what: &str, e: String| format!("reading {what} of S3 Bucket ({bucket}): {e}");
    let (enc, ver, lock, pab, own, pol, log, lc, repl, tags, events) = tokio::join!(
        s3.get_bucket_encryption().bucket(bucket).send(),
        find_versioning(c, bucket),
        s3.get_object_lock_configuration().bucket(bucket).send(),
        s3.get_public_access_block().bucket(bucket).send(),
        s3.get_bucket_ownership_controls().bucket(bucket).send(),
        s3.get_bucket_policy().bucket(bucket).send(),
        s3.get_bucket_logging().bucket(bucket).send(),
        s3.get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send(),
        s3.get_bucket_replication().bucket(bucket).send(),
        s3.get_bucket_tagging().bucket(bucket).send(),
        s3.get_bucket_notification_configuration()
            .bucket(bucket)
            .send(),
    );
    macro_rules! found {
        ($r:expr, $what:expr) => {
            match $r {
                Ok(v) => Some(v),
                Err(e) if is_not_found(&e) => None,
                Err(e) => return Err(ctx($what, error_message(&e))),
            }
        };
    }
    let mut o = Observed::default();
    if let Some(enc) = found!(enc, "encryption") {
        if let Some(rule) = enc
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
        {
            if let Some(d) = rule.apply_server_side_encryption_by_default() {
                o.sse_algorithm = Some(d.sse_algorithm().as_str().to_string());
                o.kms_key = d.kms_master_key_id().map(str::to_string);
            }
            o.bucket_key = rule.bucket_key_enabled().unwrap_or(false);
        }
    }
    o.versioning = ver?;
    if let Some(l) = found!(lock, "object lock") {
        if let Some(cfg) = l.object_lock_configuration() {
            o.lock_enabled = cfg.object_lock_enabled() == Some(&s3t::ObjectLockEnabled::Enabled);
            if let Some(r) = cfg.rule().and_then(|r| r.default_retention()) {
                // moto reports `Years: 0` next to `Days`: treat 0 as unset.
                let days = r
                    .days()
                    .filter(|d| *d > 0)
                    .map(i64::from)
                    .or_else(|| r.years().filter(|y| *y > 0).map(|y| i64::from(y) * 365));
                if let (Some(mode), Some(days)) = (r.mode(), days) {
                    o.lock = Some(Lock {
                        mode: mode.as_str().to_string(),
                        days,
                    });
                }
            }
        }
    }
    if let Some(p) = found!(pab, "public access block") {
        if let Some(cfg) = p.public_access_block_configuration() {
            o.public_access_block = Some([
                cfg.block_public_acls().unwrap_or(false),
                cfg.ignore_public_acls().unwrap_or(false),
                cfg.block_public_policy().unwrap_or(false),
                cfg.restrict_public_buckets().unwrap_or(false),
            ]);
        }
    }
    if let Some(ow) = found!(own, "ownership controls") {
        o.ownership = ow
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string());
    }
    if let Some(p) = found!(pol, "policy") {
        o.policy = p
            .policy()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .map(|v| canonical_json(&v));
    }
    if let Some(l) = found!(log, "logging") {
        o.logging = l
            .logging_enabled()
            .map(|e| (e.target_bucket().to_string(), e.target_prefix().to_string()));
    }
    if let Some(lc) = found!(lc, "lifecycle rules") {
        o.lifecycle = lc
            .rules()
            .iter()
            .filter(|r| r.status() == &s3t::ExpirationStatus::Enabled)
            .map(|r| {
                let mut t: Vec<(i64, String)> = r
                    .transitions()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            i64::from(t.days()?),
                            t.storage_class()?.as_str().to_string(),
                        ))
                    })
                    .collect();
                t.sort();
                let mut nt: Vec<(i64, String)> = r
                    .noncurrent_version_transitions()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            i64::from(t.noncurrent_days()?),
                            t.storage_class()?.as_str().to_string(),
                        ))
                    })
                    .collect();
                nt.sort();
                // The legacy top-level Prefix is still what some S3 implementations return.
                #[allow(deprecated)]
                let legacy_prefix = r.prefix();
                LifecycleRule {
                    id: r.id().unwrap_or_default().to_string(),
                    prefix: r
                        .filter()
                        .and_then(|f| f.prefix())
                        .or(legacy_prefix)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                    transitions: t,
                    noncurrent_transitions: nt,
                    noncurrent_expiration_days: r
                        .noncurrent_version_expiration()
                        .and_then(|e| e.noncurrent_days())
                        .map(i64::from),
                    expiration_days: r
                        .expiration()
                        .and_then(|e| e.days())
                        .filter(|d| *d > 0)
                        .map(i64::from),
                    abort_incomplete_multipart_upload_days: r
                        .abort_incomplete_multipart_upload()
                        .and_then(|a| a.days_after_initiation())
                        .map(i64::from),
                }
            })
            .collect();
    }
    if let Some(r) = found!(repl, "replication") {
        if let Some(cfg) = r.replication_configuration() {
            if let Some(rule) = cfg
                .rules()
                .iter()
                .find(|r| r.status() == &s3t::ReplicationRuleStatus::Enabled)
            {
                if let Some(dest) = rule.destination() {
                    o.replication = Some(Replication {
                        destination_bucket_arn: dest.bucket().to_string(),
                        destination_kms_key_arn: dest
                            .encryption_configuration()
                            .and_then(|e| e.replica_kms_key_id())
                            .unwrap_or_default()
                            .to_string(),
                        role_arn: Some(cfg.role().to_string()),
                        storage_class: dest
                            .storage_class()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_else(|| "STANDARD".into()),
                    });
                }
            }
        }
    }
    if let Some(t) = found!(tags, "tags") {
        o.tags = t
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
    }
    o.eventbridge = Some(match events {
        Ok(n) => n.event_bridge_configuration().is_some(),
        Err(e) if empty_document(&e, NO_NOTIFICATIONS) || is_not_found(&e) => false,
        Err(e) => return Err(ctx("notifications", error_message(&e))),
    });
    if let Some(k) = o.kms_key.clone() {
        let delivers = o
            .policy
            .as_ref()
            .is_some_and(|p| !model::delivery_key_statements(p).is_empty());
        let (rotation, policy) = tokio::join!(key_rotation(c, &k), async {
            if delivers {
                managed_key::policy(c, &k).await
            } else {
                None
            }
        });
        o.key_rotation = rotation;
        o.key_policy = policy;
    }
    Ok(Some(o))
}

/// Whether the bucket holds any object version or delete marker.
pub(super) async fn bucket_is_empty(c: &Clients, bucket: &str) -> Result<bool, String> {
    let out =
        c.s3.list_object_versions()
            .bucket(bucket)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "listing objects of S3 Bucket ({bucket}): {}",
                    error_message(&e)
                )
            })?;
    Ok(out.versions().is_empty() && out.delete_markers().is_empty())
}

/// Deletes every object version and delete marker (force_destroy).
pub(super) async fn empty_bucket(c: &Clients, bucket: &str) -> Result<(), String> {
    loop {
        let out =
            c.s3.list_object_versions()
                .bucket(bucket)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "listing objects of S3 Bucket ({bucket}): {}",
                        error_message(&e)
                    )
                })?;
        let ids: Vec<s3t::ObjectIdentifier> = out
            .versions()
            .iter()
            .filter_map(|v| {
                s3t::ObjectIdentifier::builder()
                    .key(v.key()?)
                    .set_version_id(v.version_id().map(str::to_string))
                    .build()
                    .ok()
            })
            .chain(out.delete_markers().iter().filter_map(|m| {
                s3t::ObjectIdentifier::builder()
                    .key(m.key()?)
                    .set_version_id(m.version_id().map(str::to_string))
                    .build()
                    .ok()
            }))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let del = s3t::Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| e.to_string())?;
        let res =
            c.s3.delete_objects()
                .bucket(bucket)
                .bypass_governance_retention(true)
                .delete(del)
                .send()
                .await
                .map_err(|e| format!("emptying S3 Bucket ({bucket}): {}", error_message(&e)))?;
        if let Some(err) = res.errors().first() {
            return Err(format!(
                "emptying S3 Bucket ({bucket}): {} {}: {} (object versions under object lock retention cannot be deleted until it ends)",
                err.key().unwrap_or_default(),
                err.code().unwrap_or_default(),
                err.message().unwrap_or_default()
            ));
        }
    }
}

/// Removes the bucket policy.
pub(super) async fn delete_policy(c: &Clients, bucket: &str) -> Result<(), String> {
    match c.s3.delete_bucket_policy().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(format!(
            "removing the policy of S3 Bucket ({bucket}): {}",
            error_message(&e)
        )),
    }
}

/// Deletes the bucket; already gone is success.
pub(super) async fn delete_bucket(c: &Clients, bucket: &str) -> Result<(), String> {
    match c.s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(()),
        Err(e) => Err(format!(
            "deleting S3 Bucket ({bucket}): {}",
            error_message(&e)
        )),
    }
}
