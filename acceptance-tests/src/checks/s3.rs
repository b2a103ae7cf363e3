//! S3 readers: one function per bucket setting, each returning plain data read back
//! through the API, plus the few calls tests make behind Terraform's back.
//!
//! moto quirks handled here: object-lock default retention comes back with `Years: 0`
//! next to `Days`, so 0 is read as unset.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::Client;
use serde_json::Value;

use super::{has_code, http_status, sdk_error};

/// Default encryption of a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encryption {
    /// `aws:kms`, `aws:kms:dsse` or `AES256`.
    pub sse_algorithm: String,
    /// The KMS key id or ARN, as configured.
    pub kms_key_id: Option<String>,
    /// Whether S3 Bucket Keys are on.
    pub bucket_key_enabled: bool,
}

/// Object-lock configuration of a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLock {
    /// `ObjectLockEnabled = Enabled`.
    pub enabled: bool,
    /// Default retention mode: `GOVERNANCE` or `COMPLIANCE`.
    pub mode: Option<String>,
    /// Default retention in days (moto's `0` read as unset).
    pub days: Option<i32>,
    /// Default retention in years (moto's `0` read as unset).
    pub years: Option<i32>,
}

/// Server access logging of a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logging {
    /// The bucket receiving the logs.
    pub target_bucket: String,
    /// The key prefix of the logs.
    pub target_prefix: String,
}

/// One lifecycle rule, flattened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleRule {
    /// The rule id.
    pub id: Option<String>,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// The key prefix (from the filter, or the legacy top-level prefix).
    pub prefix: Option<String>,
    /// Current-version expiration in days.
    pub expiration_days: Option<i32>,
    /// Noncurrent-version expiration in days.
    pub noncurrent_expiration_days: Option<i32>,
    /// Days after which incomplete multipart uploads are aborted.
    pub abort_mpu_days: Option<i32>,
    /// Transitions as `(days, storage class)`.
    pub transitions: Vec<(Option<i32>, String)>,
    /// Noncurrent-version transitions as `(days, storage class)`.
    pub noncurrent_transitions: Vec<(Option<i32>, String)>,
}

/// A bucket's replication configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replication {
    /// The IAM role S3 assumes.
    pub role: String,
    /// The rules.
    pub rules: Vec<ReplicationRule>,
}

/// One replication rule, flattened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationRule {
    /// The rule id.
    pub id: Option<String>,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// The destination bucket ARN.
    pub destination_bucket: String,
    /// The KMS key replicas are encrypted with.
    pub replica_kms_key_id: Option<String>,
    /// The replicas' storage class.
    pub storage_class: Option<String>,
}

/// Whether the bucket exists (HeadBucket; 404 or NoSuchBucket means no).
pub async fn bucket_exists(s3: &Client, bucket: &str) -> Result<bool> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if http_status(&e) == Some(404) || has_code(&e, &["NoSuchBucket", "NotFound"]) => {
            Ok(false)
        }
        Err(e) => Err(sdk_error("HeadBucket", bucket, e)),
    }
}

/// The first default-encryption rule, or `None` when none is configured.
pub async fn encryption(s3: &Client, bucket: &str) -> Result<Option<Encryption>> {
    let out = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, &["ServerSideEncryptionConfigurationNotFoundError"]) => {
            return Ok(None)
        }
        Err(e) => return Err(sdk_error("GetBucketEncryption", bucket, e)),
    };
    let Some(rule) = out
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
    else {
        return Ok(None);
    };
    let Some(default) = rule.apply_server_side_encryption_by_default() else {
        return Ok(None);
    };
    Ok(Some(Encryption {
        sse_algorithm: default.sse_algorithm().as_str().to_string(),
        kms_key_id: default.kms_master_key_id().map(str::to_string),
        bucket_key_enabled: rule.bucket_key_enabled().unwrap_or(false),
    }))
}

/// The versioning status (`Enabled` or `Suspended`), or `None` if never configured.
///
/// moto 5.2.5 answers GetBucketVersioning with the root element
/// `<GetBucketVersioningResponse>` instead of `<VersioningConfiguration>`, which the Rust
/// SDK rejects ("encountered invalid XML root"). The error keeps the raw 200 response,
/// so the status is read from its body in that case.
pub async fn versioning_status(s3: &Client, bucket: &str) -> Result<Option<String>> {
    match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => Ok(out.status().map(|s| s.as_str().to_string())),
        Err(e) => {
            let raw = e
                .raw_response()
                .filter(|r| r.status().is_success())
                .and_then(|r| r.body().bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .filter(|body| body.contains("<GetBucketVersioningResponse"));
            match raw {
                Some(body) => Ok(xml_element_text(&body, "Status")),
                None => Err(sdk_error("GetBucketVersioning", bucket, e)),
            }
        }
    }
}

/// The text of the first `<name>text</name>` element in `xml`.
fn xml_element_text(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..start + len].to_string())
}

/// The object-lock configuration, or `None` when the bucket has none.
pub async fn object_lock(s3: &Client, bucket: &str) -> Result<Option<ObjectLock>> {
    let out = match s3
        .get_object_lock_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if has_code(&e, &["ObjectLockConfigurationNotFoundError"]) => return Ok(None),
        Err(e) => return Err(sdk_error("GetObjectLockConfiguration", bucket, e)),
    };
    let Some(config) = out.object_lock_configuration() else {
        return Ok(None);
    };
    let retention = config.rule().and_then(|r| r.default_retention());
    let nonzero = |v: Option<i32>| v.filter(|v| *v != 0);
    Ok(Some(ObjectLock {
        enabled: config
            .object_lock_enabled()
            .is_some_and(|e| e.as_str() == "Enabled"),
        mode: retention
            .and_then(|r| r.mode())
            .map(|m| m.as_str().to_string()),
        days: nonzero(retention.and_then(|r| r.days())),
        years: nonzero(retention.and_then(|r| r.years())),
    }))
}

/// The bucket's public access block as `[BlockPublicAcls, IgnorePublicAcls,
/// BlockPublicPolicy, RestrictPublicBuckets]`, or `None` when there is none.
pub async fn public_access_block(s3: &Client, bucket: &str) -> Result<Option<[bool; 4]>> {
    let out = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, &["NoSuchPublicAccessBlockConfiguration"]) => return Ok(None),
        Err(e) => return Err(sdk_error("GetPublicAccessBlock", bucket, e)),
    };
    Ok(out.public_access_block_configuration().map(|c| {
        [
            c.block_public_acls().unwrap_or(false),
            c.ignore_public_acls().unwrap_or(false),
            c.block_public_policy().unwrap_or(false),
            c.restrict_public_buckets().unwrap_or(false),
        ]
    }))
}

/// The object-ownership setting (such as `BucketOwnerEnforced`), or `None`.
pub async fn ownership(s3: &Client, bucket: &str) -> Result<Option<String>> {
    let out = match s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if has_code(&e, &["OwnershipControlsNotFoundError"]) => return Ok(None),
        Err(e) => return Err(sdk_error("GetBucketOwnershipControls", bucket, e)),
    };
    Ok(out
        .ownership_controls()
        .and_then(|c| c.rules().first())
        .map(|r| r.object_ownership().as_str().to_string()))
}

/// The bucket policy as JSON, or `None` when there is none.
pub async fn policy_json(s3: &Client, bucket: &str) -> Result<Option<Value>> {
    let out = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, &["NoSuchBucketPolicy"]) => return Ok(None),
        Err(e) => return Err(sdk_error("GetBucketPolicy", bucket, e)),
    };
    out.policy()
        .map(|p| {
            serde_json::from_str(p)
                .with_context(|| format!("the policy of {bucket} is not JSON: {p}"))
        })
        .transpose()
}

/// Whether `policy` has a Deny statement conditioned on `aws:SecureTransport` = false.
pub fn has_tls_only_deny(policy: &Value) -> bool {
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    };
    statements.into_iter().any(|st| {
        st["Effect"] == "Deny" && {
            let v = &st["Condition"]["Bool"]["aws:SecureTransport"];
            let is_false = |v: &Value| v == "false" || *v == Value::Bool(false);
            match v {
                Value::Array(values) => !values.is_empty() && values.iter().all(is_false),
                v => is_false(v),
            }
        }
    })
}

/// The access-log target, or `None` when logging is off.
pub async fn logging_target(s3: &Client, bucket: &str) -> Result<Option<Logging>> {
    let out = s3
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| sdk_error("GetBucketLogging", bucket, e))?;
    Ok(out.logging_enabled().map(|l| Logging {
        target_bucket: l.target_bucket().to_string(),
        target_prefix: l.target_prefix().to_string(),
    }))
}

/// The lifecycle rules, empty when there is no lifecycle configuration.
pub async fn lifecycle_rules(s3: &Client, bucket: &str) -> Result<Vec<LifecycleRule>> {
    let out = match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if has_code(&e, &["NoSuchLifecycleConfiguration"]) => return Ok(Vec::new()),
        Err(e) => return Err(sdk_error("GetBucketLifecycleConfiguration", bucket, e)),
    };
    Ok(out
        .rules()
        .iter()
        .map(|r| {
            #[allow(deprecated)]
            let legacy_prefix = r.prefix().map(str::to_string);
            let filter_prefix = r.filter().and_then(|f| {
                f.prefix()
                    .or_else(|| f.and().and_then(|a| a.prefix()))
                    .map(str::to_string)
            });
            LifecycleRule {
                id: r.id().map(str::to_string),
                status: r.status().as_str().to_string(),
                prefix: filter_prefix.or(legacy_prefix),
                expiration_days: r.expiration().and_then(|e| e.days()),
                noncurrent_expiration_days: r
                    .noncurrent_version_expiration()
                    .and_then(|e| e.noncurrent_days()),
                abort_mpu_days: r
                    .abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation()),
                transitions: r
                    .transitions()
                    .iter()
                    .map(|t| {
                        let class = t.storage_class().map(|c| c.as_str().to_string());
                        (t.days(), class.unwrap_or_default())
                    })
                    .collect(),
                noncurrent_transitions: r
                    .noncurrent_version_transitions()
                    .iter()
                    .map(|t| {
                        let class = t.storage_class().map(|c| c.as_str().to_string());
                        (t.noncurrent_days(), class.unwrap_or_default())
                    })
                    .collect(),
            }
        })
        .collect())
}

/// The replication configuration, or `None` when there is none.
pub async fn replication(s3: &Client, bucket: &str) -> Result<Option<Replication>> {
    let out = match s3.get_bucket_replication().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, &["ReplicationConfigurationNotFoundError"]) => return Ok(None),
        Err(e) => return Err(sdk_error("GetBucketReplication", bucket, e)),
    };
    Ok(out.replication_configuration().map(|c| Replication {
        role: c.role().to_string(),
        rules: c
            .rules()
            .iter()
            .map(|r| ReplicationRule {
                id: r.id().map(str::to_string),
                status: r.status().as_str().to_string(),
                destination_bucket: r
                    .destination()
                    .map(|d| d.bucket().to_string())
                    .unwrap_or_default(),
                replica_kms_key_id: r
                    .destination()
                    .and_then(|d| d.encryption_configuration())
                    .and_then(|e| e.replica_kms_key_id())
                    .map(str::to_string),
                storage_class: r
                    .destination()
                    .and_then(|d| d.storage_class())
                    .map(|s| s.as_str().to_string()),
            })
            .collect(),
    }))
}

/// The bucket's tags, empty when it has none.
pub async fn tags(s3: &Client, bucket: &str) -> Result<BTreeMap<String, String>> {
    let out = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, &["NoSuchTagSet"]) => return Ok(BTreeMap::new()),
        Err(e) => return Err(sdk_error("GetBucketTagging", bucket, e)),
    };
    Ok(out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// The names of the buckets the client's account owns (ListBuckets).
pub async fn buckets_owned_by(s3: &Client) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = s3
            .list_buckets()
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error("ListBuckets", "", e))?;
        names.extend(
            out.buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string)),
        );
        match out.continuation_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(names),
        }
    }
}

/// Deletes every object version and delete marker, then the bucket itself, as someone
/// acting behind Terraform's back would. Governance-mode retention is bypassed.
pub async fn empty_and_delete_bucket(s3: &Client, bucket: &str) -> Result<()> {
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let out = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(|e| sdk_error("ListObjectVersions", bucket, e))?;
        let versions = out
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                out.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        for (key, version) in versions {
            let key = key.unwrap_or_default();
            s3.delete_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version.map(str::to_string))
                .bypass_governance_retention(true)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteObject", &format!("{bucket}/{key}"), e))?;
        }
        if out.is_truncated() == Some(true) {
            key_marker = out.next_key_marker().map(str::to_string);
            version_marker = out.next_version_id_marker().map(str::to_string);
        } else {
            break;
        }
    }
    s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| sdk_error("DeleteBucket", bucket, e))?;
    Ok(())
}

/// Whether S3 reports that the bucket sends its object events to EventBridge
/// (GetBucketNotificationConfiguration). The emulator never does, though it delivers
/// them (see [`object_events_seen`]), and answers a bucket without notification
/// targets with an empty `<GetBucketNotificationResponse/>` the SDK refuses (HTTP
/// 200, no error code): read as none.
pub async fn eventbridge_reported(s3: &Client, bucket: &str) -> Result<bool> {
    match s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => Ok(out.event_bridge_configuration().is_some()),
        Err(e)
            if http_status(&e) == Some(200)
                && e.code().is_none()
                && e.raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(String::from_utf8_lossy)
                    .is_some_and(|b| {
                        b.contains("<GetBucketNotificationResponse")
                            && b.trim_end().ends_with("/>")
                            && b.matches('<').count() == 2
                    }) =>
        {
            Ok(false)
        }
        Err(e) => Err(sdk_error("GetBucketNotificationConfiguration", bucket, e)),
    }
}

/// Writes one object into `bucket` and deletes it again, and returns the S3 event
/// types (`Object Created`, `Object Deleted`, …) EventBridge's default bus delivered
/// for it: a rule made for the purpose matches the bucket's events and sends them to
/// an SQS queue, which is read back. Rule and queue are removed afterwards, whatever
/// happened; the bucket policy, set aside for the write (the emulator applies the
/// TLS-only deny without its condition, so it refuses every write), is put back as
/// it was.
pub async fn object_events_seen(aws: &crate::Aws, bucket: &str) -> Result<Vec<String>> {
    let (events, sqs) = (aws.events(), aws.sqs());
    // Fresh names each time: SQS refuses a name deleted less than 60 s ago.
    let probe = crate::random_name("ev");
    let (rule, queue) = (probe.clone(), probe);
    let queue_url = sqs
        .create_queue()
        .queue_name(&queue)
        .send()
        .await
        .map_err(|e| sdk_error("CreateQueue", &queue, e))?
        .queue_url
        .context("CreateQueue answered without a queue URL")?;
    let seen = deliver_and_read(aws, bucket, &rule, &queue, &queue_url).await;
    // Clean up whatever the probe made, then report the first failure.
    let removed = events
        .remove_targets()
        .rule(&rule)
        .ids("queue")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("RemoveTargets", &rule, e));
    let deleted = events
        .delete_rule()
        .name(&rule)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("DeleteRule", &rule, e));
    let queue_gone = sqs
        .delete_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("DeleteQueue", &queue, e));
    let seen = seen?;
    queue_gone?;
    if let (Err(e), _) | (_, Err(e)) = (removed, deleted) {
        // A rule that was never made cannot be removed; anything else is a leftover.
        if !format!("{e:#}").contains("ResourceNotFound") {
            return Err(e);
        }
    }
    Ok(seen)
}

async fn deliver_and_read(
    aws: &crate::Aws,
    bucket: &str,
    rule: &str,
    queue: &str,
    queue_url: &str,
) -> Result<Vec<String>> {
    let (s3, events, sqs) = (aws.s3(), aws.events(), aws.sqs());
    let key = "bankplatform-event-probe.txt";
    let pattern = serde_json::json!({
        "source": ["aws.s3"],
        "detail": { "bucket": { "name": [bucket] } },
    });
    events
        .put_rule()
        .name(rule)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| sdk_error("PutRule", rule, e))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(format!(
            "arn:aws:sqs:{}:{}:{queue}",
            crate::aws::REGION,
            aws.account_id()
        ))
        .build()
        .context("building the rule's target")?;
    events
        .put_targets()
        .rule(rule)
        .targets(target)
        .send()
        .await
        .map_err(|e| sdk_error("PutTargets", rule, e))?;

    let policy = s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| sdk_error("GetBucketPolicy", bucket, e))?
        .policy
        .context("the bucket has no policy")?;
    s3.delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| sdk_error("DeleteBucketPolicy", bucket, e))?;
    let written = async {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"probe"))
            .send()
            .await
            .map_err(|e| sdk_error("PutObject", bucket, e))?;
        let versions = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .map_err(|e| sdk_error("ListObjectVersions", bucket, e))?;
        for v in versions.versions() {
            s3.delete_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(v.version_id().map(str::to_string))
                .bypass_governance_retention(true)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteObject", bucket, e))?;
        }
        anyhow::Ok(())
    }
    .await;
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .map_err(|e| sdk_error("PutBucketPolicy", bucket, e))?;
    written?;

    // The emulator delivers while answering the write; a short wait covers a slower
    // delivery without making "nothing arrived" a quick guess.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| sdk_error("ReceiveMessage", queue, e))?;
        for m in got.messages() {
            let event: Value = serde_json::from_str(m.body().unwrap_or_default())
                .with_context(|| format!("a message in {queue} is not JSON: {m:?}"))?;
            if event["detail"]["object"]["key"] == key {
                seen.push(
                    event["detail-type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
    Ok(seen)
}
