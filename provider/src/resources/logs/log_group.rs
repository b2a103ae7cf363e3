//! A CloudWatch Logs group a composite writes to (VPC flow logs, a trail's events):
//! encrypted with a customer-managed key, kept for a set number of days, tagged.
//! Creating is idempotent (an existing group of the name is brought to these
//! settings), and so is removing (already gone is done).

use crate::aws::{error_code, error_message, is_not_found, Clients};

/// Creates the group (or keeps the existing one) with `key` and `retention_days`.
pub(crate) async fn ensure(
    c: &Clients,
    name: &str,
    key: &str,
    retention_days: i64,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    match c
        .logs
        .create_log_group()
        .log_group_name(name)
        .kms_key_id(key)
        .set_tags(Some(tags.clone().into_iter().collect()))
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if error_code(&e) == Some("ResourceAlreadyExistsException") => {}
        Err(e) => return Err(format!("creating log group {name}: {}", error_message(&e))),
    }
    retain(c, name, retention_days).await
}

/// Sets the group's retention.
pub(crate) async fn retain(c: &Clients, name: &str, retention_days: i64) -> Result<(), String> {
    c.logs
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(i32::try_from(retention_days).unwrap_or(365))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting the retention of log group {name}: {}",
                error_message(&e)
            )
        })
}

/// The group's KMS key and retention; `None` when it does not exist.
pub(crate) async fn read(
    c: &Clients,
    name: &str,
) -> Result<Option<(Option<String>, Option<i64>)>, String> {
    let out = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| format!("reading log group {name}: {}", error_message(&e)))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| {
            (
                g.kms_key_id().map(str::to_string),
                g.retention_in_days().map(i64::from),
            )
        }))
}

/// Deletes the group; already gone is done.
pub(crate) async fn remove(c: &Clients, name: &str) -> Result<(), String> {
    match c.logs.delete_log_group().log_group_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(format!("deleting log group {name}: {}", error_message(&e))),
    }
}
