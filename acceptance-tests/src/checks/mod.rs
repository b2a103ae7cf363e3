//! Readers that fetch resources back through the AWS API and return plain Rust data, and
//! [`assert_compliant_bucket`], which checks a bucket against the provider's defaults.
//!
//! Readers return `Ok(None)` (or an empty collection) when the setting is not configured,
//! and `Err` for any other API failure, with the operation and the resource in the message.

pub mod ec2;
pub mod iam;
pub mod inventory;
pub mod kms;
pub mod s3;

use std::fmt::Write as _;

use anyhow::{bail, Result};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::aws::Aws;

/// An SDK error as one line naming the call, with its whole cause chain.
pub fn sdk<E: std::error::Error + Send + Sync + 'static>(what: &str, e: E) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: {}",
        aws_smithy_types::error::display::DisplayErrorContext(e)
    )
}

/// What [`assert_compliant_bucket`] expects beyond the controls every bucket must pass.
///
/// `Expect::default()` describes a bucket with the default purpose ("transaction").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// The default-encryption algorithm: `aws:kms`, or `AES256` for access-log buckets.
    pub sse_algorithm: String,
    /// The KMS key the bucket must use (`aws:kms` only); `None` accepts any key.
    pub kms_key_arn: Option<String>,
    /// Object lock on the bucket.
    pub lock_enabled: bool,
    /// Default object-lock retention `(mode, days)`; `None` means no default retention.
    pub object_lock: Option<(String, i32)>,
    /// The access-log target bucket; `None` means access logging must be off.
    pub logging_target: Option<String>,
    /// The replication destination bucket ARN; `None` means replication must be off.
    pub replication_destination: Option<String>,
}

impl Default for Expect {
    fn default() -> Self {
        Self::transaction()
    }
}

impl Expect {
    /// Purpose "transaction": SSE-KMS, object lock GOVERNANCE 30 days.
    pub fn transaction() -> Self {
        Self {
            sse_algorithm: "aws:kms".into(),
            kms_key_arn: None,
            lock_enabled: true,
            object_lock: Some(("GOVERNANCE".into(), 30)),
            logging_target: None,
            replication_destination: None,
        }
    }

    /// Purposes "archive" and "audit": SSE-KMS, object lock COMPLIANCE 2555 days.
    pub fn archive() -> Self {
        Self {
            object_lock: Some(("COMPLIANCE".into(), 2555)),
            ..Self::transaction()
        }
    }

    /// Purpose "logs": SSE-S3 and object lock without a default retention (log
    /// delivery requires both).
    pub fn logs() -> Self {
        Self {
            sse_algorithm: "AES256".into(),
            object_lock: None,
            ..Self::transaction()
        }
    }

    /// The same expectation with the bucket's KMS key pinned.
    pub fn with_kms_key(mut self, arn: impl Into<String>) -> Self {
        self.kms_key_arn = Some(arn.into());
        self
    }
}

/// Checks `bucket`, read through `aws` (the clients of the account holding it), against
/// the defaults every compliant bucket has, plus `expect`:
/// - S3.17: default encryption as expected, with S3 Bucket Keys on for `aws:kms`;
/// - KMS.4: rotation on for the bucket's KMS key;
/// - S3.14: versioning Enabled;
/// - S3.8 / CIS 3.1.4: all four public-access-block switches on;
/// - S3.12: object ownership BucketOwnerEnforced (ACLs off);
/// - S3.5 / CIS 3.1.1: a policy statement denying requests without TLS;
/// - S3.15: object lock on (or off) as expected, with the default retention expected;
/// - S3.13: an Enabled lifecycle rule expiring noncurrent versions and one aborting
///   incomplete multipart uploads;
/// - S3.9: access logging as expected; S3.7: replication as expected.
///
/// Every failing control is listed in the error, each under its control id.
pub async fn assert_compliant_bucket(aws: &Aws, bucket: &str, expect: &Expect) -> Result<()> {
    let s3c = aws.s3();
    if !s3::bucket_exists(s3c, bucket).await? {
        bail!(
            "bucket {bucket} does not exist in account {}",
            aws.account_id()
        );
    }
    let mut failed: Vec<String> = Vec::new();
    let mut fail = |control: &str, what: String| failed.push(format!("{control}: {what}"));

    match s3::encryption(s3c, bucket).await? {
        None => fail("S3.17 (default encryption)", "no default encryption".into()),
        Some(enc) => {
            if enc.sse_algorithm != expect.sse_algorithm {
                fail(
                    "S3.17 (default encryption)",
                    format!(
                        "algorithm {}, expected {}",
                        enc.sse_algorithm, expect.sse_algorithm
                    ),
                );
            }
            if expect.sse_algorithm.starts_with("aws:kms") {
                if !enc.bucket_key_enabled {
                    fail(
                        "S3.17 (default encryption)",
                        "S3 Bucket Key not enabled".into(),
                    );
                }
                match (&enc.kms_key_id, &expect.kms_key_arn) {
                    (None, _) => fail("S3.17 (default encryption)", "no KMS key configured".into()),
                    (Some(actual), Some(wanted)) => {
                        if !kms::same_key(aws.kms(), actual, wanted).await? {
                            fail(
                                "S3.17 (default encryption)",
                                format!("KMS key {actual}, expected {wanted}"),
                            );
                        }
                    }
                    (Some(_), None) => {}
                }
                if let Some(key) = &enc.kms_key_id {
                    if !kms::key_rotation_enabled(aws.kms(), key).await? {
                        fail("KMS.4 (key rotation)", format!("rotation off for {key}"));
                    }
                }
            }
        }
    }

    match s3::versioning_status(s3c, bucket).await?.as_deref() {
        Some("Enabled") => {}
        other => fail(
            "S3.14 (versioning)",
            format!("status {other:?}, expected Enabled"),
        ),
    }

    match s3::public_access_block(s3c, bucket).await? {
        Some([true, true, true, true]) => {}
        other => fail(
            "S3.8 / CIS 3.1.4 (public access block)",
            format!(
                "[BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets] = {other:?}, expected all true"
            ),
        ),
    }

    match s3::ownership(s3c, bucket).await?.as_deref() {
        Some("BucketOwnerEnforced") => {}
        other => fail(
            "S3.12 (ACLs disabled)",
            format!("object ownership {other:?}, expected BucketOwnerEnforced"),
        ),
    }

    match s3::policy_json(s3c, bucket).await? {
        None => fail("S3.5 / CIS 3.1.1 (TLS only)", "no bucket policy".into()),
        Some(policy) if !s3::has_tls_only_deny(&policy) => fail(
            "S3.5 / CIS 3.1.1 (TLS only)",
            format!("no Deny statement on aws:SecureTransport = false in {policy}"),
        ),
        Some(_) => {}
    }

    let lock = s3::object_lock(s3c, bucket).await?;
    match (&expect.object_lock, &lock) {
        _ if !expect.lock_enabled => {
            if lock.as_ref().is_some_and(|l| l.enabled) {
                fail(
                    "S3.15 (object lock)",
                    format!("object lock is on ({lock:?}), expected off"),
                );
            }
        }
        (None, l) => {
            if !l
                .as_ref()
                .is_some_and(|l| l.enabled && l.mode.is_none() && l.days.is_none())
            {
                fail(
                    "S3.15 (object lock)",
                    format!("read back {l:?}, expected enabled without a default retention"),
                );
            }
        }
        (Some((mode, days)), l) => {
            let ok = l.as_ref().is_some_and(|l| {
                l.enabled && l.mode.as_deref() == Some(mode.as_str()) && l.days == Some(*days)
            });
            if !ok {
                fail(
                    "S3.15 (object lock)",
                    format!("read back {l:?}, expected enabled, {mode}, {days} days"),
                );
            }
        }
    }

    let rules = s3::lifecycle_rules(s3c, bucket).await?;
    let enabled = rules.iter().filter(|r| r.status == "Enabled");
    let noncurrent = enabled
        .clone()
        .any(|r| r.noncurrent_expiration_days.is_some());
    let abort = enabled.clone().any(|r| r.abort_mpu_days.is_some());
    if !noncurrent || !abort {
        fail(
            "S3.13 (lifecycle)",
            format!(
                "need Enabled rules with noncurrent-version expiration ({noncurrent}) and abort of incomplete multipart uploads ({abort}); rules: {rules:?}"
            ),
        );
    }

    let logging = s3::logging_target(s3c, bucket).await?;
    match (&expect.logging_target, &logging) {
        (None, None) => {}
        (Some(target), Some(l)) if &l.target_bucket == target => {}
        (wanted, actual) => fail(
            "S3.9 (access logging)",
            format!("read back {actual:?}, expected target {wanted:?}"),
        ),
    }

    let replication = s3::replication(s3c, bucket).await?;
    match (&expect.replication_destination, &replication) {
        (None, None) => {}
        (Some(dest), Some(r))
            if r.rules
                .iter()
                .any(|rule| &rule.destination_bucket == dest && rule.status == "Enabled") => {}
        (wanted, actual) => fail(
            "S3.7 (replication)",
            format!("read back {actual:?}, expected an Enabled rule to {wanted:?}"),
        ),
    }

    if failed.is_empty() {
        return Ok(());
    }
    let mut msg = format!(
        "bucket {bucket} (account {}) fails {} control(s):",
        aws.account_id(),
        failed.len()
    );
    for f in &failed {
        let _ = write!(msg, "\n  - {f}");
    }
    bail!(msg)
}

/// Whether an SDK error carries one of the service error `codes`.
pub(crate) fn has_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>, codes: &[&str]) -> bool {
    err.code().is_some_and(|c| codes.contains(&c))
}

/// The HTTP status of an SDK error's response, if there was one.
pub(crate) fn http_status<E>(
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// An SDK error as an `anyhow` error naming the operation and its target.
pub(crate) fn sdk_error<E, R>(op: &str, target: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    anyhow::anyhow!(
        "{op} {target}: {}",
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    )
}
