//! A customer-managed KMS key that a resource creates for itself (a bucket's
//! SSE-KMS key, a VPC's flow-log key): rotation on, tagged, found again by
//! its alias (so an interrupted apply or an import recognises it), and on
//! destroy scheduled for deletion with the longest window AWS allows.

use crate::aws::{error_code, error_message, is_not_found, Clients};
use crate::resources::kit::calls::{create_once, no_retries, settled};

/// Deletion window for keys this provider created: a key removed by mistake
/// can be recovered for 30 days.
pub(crate) const KEY_DELETION_WINDOW_DAYS: i32 = 30;

/// The key an alias points to, if any.
pub(crate) async fn find(c: &Clients, alias: &str) -> Result<Option<String>, String> {
    match c.kms.describe_key().key_id(alias).send().await {
        // AWS answers a missing alias with NotFoundException; an answer without the
        // key is malformed, and must not be taken for "no key" (a rollback would
        // leave the key behind).
        Ok(out) => out
            .key_metadata
            .and_then(|m| m.arn)
            .map(Some)
            .ok_or_else(|| format!("reading KMS alias {alias}: KMS answered without the key")),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(format!("reading KMS alias {alias}: {}", error_message(&e))),
    }
}

/// The tag that names, on the key itself, the alias it is created for: an
/// interrupted create (the provider killed between CreateKey and CreateAlias) leaves
/// a key with no alias, which the next create finds by this tag instead of making a
/// second one.
const ALIAS_TAG: &str = "bankplatform:key-alias";

/// A usable key tagged for `alias` (not pending deletion), found through the
/// Resource Groups Tagging API in one call.
async fn tagged_for(c: &Clients, alias: &str) -> Result<Option<String>, String> {
    let out = c
        .tagging
        .get_resources()
        .resource_type_filters("kms:key")
        .tag_filters(
            aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                .key(ALIAS_TAG)
                .values(alias)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("looking for the KMS key of {alias}: {}", error_message(&e)))?;
    for arn in out
        .resource_tag_mapping_list()
        .iter()
        .filter_map(|m| m.resource_arn())
    {
        let key_id = arn.rsplit('/').next().unwrap_or(arn);
        let state = c
            .kms
            .describe_key()
            .key_id(key_id)
            .send()
            .await
            .ok()
            .and_then(|o| o.key_metadata)
            .and_then(|m| m.key_state);
        if matches!(state, Some(aws_sdk_kms::types::KeyState::Enabled)) {
            return Ok(Some(arn.to_string()));
        }
    }
    Ok(None)
}

/// Creates a key with rotation on, the given tags and (optionally) key
/// policy, and points `alias` at it. Returns its ARN. A key an interrupted
/// create made for the same alias is taken instead of making another; a lost
/// CreateKey response is looked up, not sent twice.
pub(crate) async fn create(
    c: &Clients,
    alias: &str,
    description: &str,
    tags: &[(String, String)],
    policy: Option<String>,
    multi_region: bool,
) -> Result<String, String> {
    create_or_continue(c, alias, description, tags, policy, multi_region)
        .await
        .map(|(arn, _)| arn)
}

/// [`create`], also telling whether the key is one an interrupted create made
/// (`true`: its settings may be older than these and need converging).
pub(crate) async fn create_or_continue(
    c: &Clients,
    alias: &str,
    description: &str,
    tags: &[(String, String)],
    policy: Option<String>,
    multi_region: bool,
) -> Result<(String, bool), String> {
    let mut kms_tags = Vec::new();
    for (k, v) in tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(std::iter::once((ALIAS_TAG, alias)))
    {
        kms_tags.push(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    let found = tagged_for(c, alias).await?;
    let continued = found.is_some();
    let arn = match found {
        Some(arn) => {
            tracing::info!(key = %arn, alias, "continuing with the key an interrupted create made");
            arn
        }
        None => {
            create_once(
                c,
                &format!("creating KMS key ({description})"),
                || async {
                    // A policy naming a role IAM has not yet published is refused
                    // (invalid principals) until it has: sent again, never twice made.
                    let out = settled(c, "creating a KMS key", || {
                        c.kms
                            .create_key()
                            .description(description)
                            .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
                            .set_policy(policy.clone())
                            .set_multi_region(multi_region.then_some(true))
                            .set_tags(Some(kms_tags.clone()))
                            .customize()
                            .config_override(
                                aws_sdk_kms::config::Builder::new().retry_config(no_retries()),
                            )
                            .send()
                    })
                    .await?;
                    Ok(out.key_metadata.map(|m| m.arn.unwrap_or(m.key_id)))
                },
                || tagged_for(c, alias),
            )
            .await?
        }
    };
    let key_id = arn.rsplit('/').next().unwrap_or(&arn).to_string();
    if let Err(e) = rotate_and_alias(c, alias, &arn, &key_id).await {
        // Unaliased, the key would be found by no one: schedule its deletion now.
        let undo = retire(c, alias, &arn)
            .await
            .err()
            .map(|u| format!("; removing the key again also failed: {u}"))
            .unwrap_or_default();
        return Err(format!("{e}{undo}"));
    }
    Ok((arn, continued))
}

/// Turns rotation on and points `alias` at the key.
async fn rotate_and_alias(c: &Clients, alias: &str, arn: &str, key_id: &str) -> Result<(), String> {
    let (r, a) = tokio::join!(
        c.kms.enable_key_rotation().key_id(key_id).send(),
        c.kms
            .create_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
    );
    r.map_err(|e| {
        format!(
            "enabling rotation of KMS Key ({arn}): {}",
            error_message(&e)
        )
    })?;
    match a {
        Ok(_) => {}
        // A retry after a lost response: fine if the alias points at this key.
        Err(e) if error_code(&e) == Some("AlreadyExistsException") => {
            let target = find(c, alias).await?;
            if !target
                .as_deref()
                .is_some_and(|t| t == arn || t.ends_with(&key_id))
            {
                return Err(format!(
                    "aliasing KMS Key ({arn}): {alias} already points at another key ({})",
                    target.unwrap_or_default()
                ));
            }
        }
        Err(e) => return Err(format!("aliasing KMS Key ({arn}): {}", error_message(&e))),
    }
    Ok(())
}

/// Points `alias` at `key` (creating it, or moving it from another key: one pending
/// deletion, or a replica's earlier copy).
pub(crate) async fn point_alias(c: &Clients, alias: &str, key: &str) -> Result<(), String> {
    match c
        .kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(key)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("AlreadyExistsException") => c
            .kms
            .update_alias()
            .alias_name(alias)
            .target_key_id(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("pointing {alias} at KMS Key ({key}): {}", error_message(&e))),
        Err(e) => Err(format!(
            "aliasing KMS Key ({key}) as {alias}: {}",
            error_message(&e)
        )),
    }
}

/// The key a resource makes for itself under `alias`: the one an earlier (or
/// interrupted) create left behind the alias, taken again with rotation on, or a new
/// one with `tags` and the policy `policy` computes (only then).
pub(crate) async fn ensure<P>(
    c: &Clients,
    alias: &str,
    description: &str,
    tags: &std::collections::BTreeMap<String, String>,
    policy: P,
) -> Result<String, String>
where
    P: std::future::Future<Output = Result<serde_json::Value, String>>,
{
    if let Some(k) = find(c, alias).await? {
        return reuse(c, k).await;
    }
    let tags: Vec<(String, String)> = tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let policy = policy.await?.to_string();
    create(c, alias, description, &tags, Some(policy), false).await
}

/// Retires the key behind `alias` (the one a resource made for itself; a key the user
/// gave is not behind it, and stays). No key behind it is done.
pub(crate) async fn retire_behind(c: &Clients, alias: &str) -> Result<(), String> {
    match find(c, alias).await? {
        Some(k) => retire(c, alias, &k).await,
        None => Ok(()),
    }
}

/// Removes the alias and schedules the key's deletion; already gone or
/// already pending is fine.
pub(crate) async fn retire(c: &Clients, alias: &str, key_arn: &str) -> Result<(), String> {
    retire_after(c, alias, key_arn, KEY_DELETION_WINDOW_DAYS).await
}

/// [`retire`] with a deletion window of `days` (7 to 30).
pub(crate) async fn retire_after(
    c: &Clients,
    alias: &str,
    key_arn: &str,
    days: i32,
) -> Result<(), String> {
    let _ = c.kms.delete_alias().alias_name(alias).send().await;
    schedule_deletion(c, key_arn, days).await
}

/// Schedules a key's deletion after `days`; already gone or already pending is fine.
pub(crate) async fn schedule_deletion(c: &Clients, key_arn: &str, days: i32) -> Result<(), String> {
    // The key id (the ARN's last part) works everywhere; moto accepts no ARN here.
    let key_id = key_arn.rsplit('/').next().unwrap_or(key_arn);
    match c
        .kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(days)
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

/// A key found by its alias, taken again: rotation is turned on (idempotent), since a
/// create interrupted between CreateAlias and EnableKeyRotation leaves it off.
pub(crate) async fn reuse(c: &Clients, key_arn: String) -> Result<String, String> {
    let key_id = key_arn.rsplit('/').next().unwrap_or(&key_arn);
    c.kms
        .enable_key_rotation()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "enabling rotation of KMS Key ({key_arn}): {}",
                error_message(&e)
            )
        })?;
    Ok(key_arn)
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

/// A key's policy (None when it cannot be read).
pub(crate) async fn policy(c: &Clients, key_arn: &str) -> Option<serde_json::Value> {
    let out = c
        .kms
        .get_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .send()
        .await
        .ok()?;
    serde_json::from_str(out.policy()?)
        .ok()
        .map(|p| crate::resources::iam::policy_doc::canonical_json(&p))
}

/// Replaces a key's policy.
pub(crate) async fn put_policy(c: &Clients, key_arn: &str, policy: &str) -> Result<(), String> {
    // A policy naming a role IAM has not yet published is refused as naming
    // invalid principals until it has.
    let req = c
        .kms
        .put_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .policy(policy);
    settled(c, "putting a key policy", || req.clone().send())
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "putting the policy of KMS Key ({key_arn}): {}",
                error_message(&e)
            )
        })
}
