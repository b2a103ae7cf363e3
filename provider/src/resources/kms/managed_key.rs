//! A customer-managed KMS key that a resource creates for itself (a bucket's
//! SSE-KMS key, a VPC's flow-log key): rotation on, tagged, found again by
//! its alias (so an interrupted apply or an import recognises it), and on
//! destroy scheduled for deletion with the longest window AWS allows.

use crate::aws::{error_code, error_message, is_not_found, Clients};

/// Deletion window for keys this provider created: a key removed by mistake
/// can be recovered for 30 days.
const KEY_DELETION_WINDOW_DAYS: i32 = 30;

/// The key an alias points to, if any.
pub(crate) async fn find(c: &Clients, alias: &str) -> Result<Option<String>, String> {
    match c.kms.describe_key().key_id(alias).send().await {
        Ok(out) => Ok(out.key_metadata.and_then(|m| m.arn)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(format!("reading KMS alias {alias}: {}", error_message(&e))),
    }
}

/// Creates a key with rotation on, the given tags and (optionally) key
/// policy, and points `alias` at it. Returns its ARN.
pub(crate) async fn create(
    c: &Clients,
    alias: &str,
    description: &str,
    tags: &[(String, String)],
    policy: Option<String>,
) -> Result<String, String> {
    let mut req = c
        .kms
        .create_key()
        .description(description)
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .set_policy(policy);
    for (k, v) in tags {
        req = req.tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    let out = req
        .send()
        .await
        .map_err(|e| format!("creating KMS key ({description}): {}", error_message(&e)))?;
    let meta = out
        .key_metadata
        .ok_or("KMS CreateKey returned no key metadata")?;
    let arn = meta.arn.clone().unwrap_or_else(|| meta.key_id.clone());
    let (r, a) = tokio::join!(
        c.kms.enable_key_rotation().key_id(&meta.key_id).send(),
        c.kms
            .create_alias()
            .alias_name(alias)
            .target_key_id(&meta.key_id)
            .send()
    );
    r.map_err(|e| {
        format!(
            "enabling rotation of KMS Key ({arn}): {}",
            error_message(&e)
        )
    })?;
    a.map_err(|e| format!("aliasing KMS Key ({arn}): {}", error_message(&e)))?;
    Ok(arn)
}

/// Removes the alias and schedules the key's deletion; already gone or
/// already pending is fine.
pub(crate) async fn retire(c: &Clients, alias: &str, key_arn: &str) -> Result<(), String> {
    let _ = c.kms.delete_alias().alias_name(alias).send().await;
    // The key id (the ARN's last part) works everywhere; moto accepts no ARN here.
    let key_id = key_arn.rsplit('/').next().unwrap_or(key_arn);
    match c
        .kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(KEY_DELETION_WINDOW_DAYS)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) || error_code(&e) == Some("KMSInvalidStateException") => Ok(()),
        Err(e) => Err(format!(
            "scheduling deletion of KMS Key ({key_arn}): {}",
            error_message(&e)
        )),
    }
}

/// Whether automatic rotation is on (None when it cannot be read).
pub(crate) async fn rotation(c: &Clients, key_arn: &str) -> Option<bool> {
    c.kms
        .get_key_rotation_status()
        .key_id(key_arn)
        .send()
        .await
        .ok()
        .map(|o| o.key_rotation_enabled)
}
