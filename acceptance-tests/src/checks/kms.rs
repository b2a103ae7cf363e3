//! KMS readers: key state, rotation, tags and aliases.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_kms::Client;

use super::{has_code, sdk_error};

/// The key's state (`Enabled`, `PendingDeletion`, ...), or `None` when it does not exist.
pub async fn key_state(kms: &Client, key: &str) -> Result<Option<String>> {
    match kms.describe_key().key_id(key).send().await {
        Ok(out) => Ok(out
            .key_metadata()
            .and_then(|m| m.key_state())
            .map(|s| s.as_str().to_string())),
        Err(e) if has_code(&e, &["NotFoundException"]) => Ok(None),
        Err(e) => Err(sdk_error("DescribeKey", key, e)),
    }
}

/// The key's ARN (resolving an id, ARN or alias), or `None` when it does not exist.
pub async fn key_arn(kms: &Client, key: &str) -> Result<Option<String>> {
    match kms.describe_key().key_id(key).send().await {
        Ok(out) => Ok(out.key_metadata().and_then(|m| m.arn()).map(str::to_string)),
        Err(e) if has_code(&e, &["NotFoundException"]) => Ok(None),
        Err(e) => Err(sdk_error("DescribeKey", key, e)),
    }
}

/// Whether `a` and `b` (ids, ARNs or aliases) name the same existing key.
pub async fn same_key(kms: &Client, a: &str, b: &str) -> Result<bool> {
    if a == b {
        return Ok(true);
    }
    let (a, b) = (key_arn(kms, a).await?, key_arn(kms, b).await?);
    Ok(a.is_some() && a == b)
}

/// Whether automatic rotation is on for the key.
pub async fn key_rotation_enabled(kms: &Client, key: &str) -> Result<bool> {
    let out = kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .map_err(|e| sdk_error("GetKeyRotationStatus", key, e))?;
    Ok(out.key_rotation_enabled())
}

/// The key's tags.
pub async fn key_tags(kms: &Client, key: &str) -> Result<BTreeMap<String, String>> {
    let mut tags = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let out = kms
            .list_resource_tags()
            .key_id(key)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| sdk_error("ListResourceTags", key, e))?;
        tags.extend(
            out.tags()
                .iter()
                .map(|t| (t.tag_key().to_string(), t.tag_value().to_string())),
        );
        match out.next_marker() {
            Some(next) if out.truncated() => marker = Some(next.to_string()),
            _ => return Ok(tags),
        }
    }
}

/// Every key carrying the tag `tag_key = tag_value`, as `(key id, key state)`.
///
/// This lists all keys of the account, so it is slow on a long-lived moto; use it for
/// the few checks that cannot know the key id (a create that failed half way).
pub async fn keys_tagged(
    kms: &Client,
    tag_key: &str,
    tag_value: &str,
) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = kms
            .list_keys()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| sdk_error("ListKeys", "", e))?;
        for key in out.keys() {
            let Some(id) = key.key_id() else { continue };
            let tags = match kms.list_resource_tags().key_id(id).send().await {
                Ok(tags) => tags,
                Err(e) if has_code(&e, &["NotFoundException"]) => continue,
                Err(e) => return Err(sdk_error("ListResourceTags", id, e)),
            };
            let tagged = tags
                .tags()
                .iter()
                .any(|t| t.tag_key() == tag_key && t.tag_value() == tag_value);
            if tagged {
                let state = key_state(kms, id).await?.unwrap_or_default();
                found.push((id.to_string(), state));
            }
        }
        match out.next_marker() {
            Some(next) if out.truncated() => marker = Some(next.to_string()),
            _ => return Ok(found),
        }
    }
}

/// The key id an alias (such as `alias/bankplatform/s3/<bucket>`) points to, or `None`.
pub async fn alias_target(kms: &Client, alias: &str) -> Result<Option<String>> {
    let mut marker: Option<String> = None;
    loop {
        let out = kms
            .list_aliases()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| sdk_error("ListAliases", "", e))?;
        if let Some(a) = out.aliases().iter().find(|a| a.alias_name() == Some(alias)) {
            return Ok(a.target_key_id().map(str::to_string));
        }
        match out.next_marker() {
            Some(next) if out.truncated() => marker = Some(next.to_string()),
            _ => return Ok(None),
        }
    }
}
