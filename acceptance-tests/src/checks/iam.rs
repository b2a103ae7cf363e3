//! IAM readers.

use anyhow::Result;
use aws_sdk_iam::Client;

use super::{has_code, sdk_error};

/// The role name in a role ARN (`arn:aws:iam::<acct>:role/<path/>name`), or the input
/// itself when it is already a name.
pub fn role_name(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// Whether the role (given by name or ARN) exists.
pub async fn role_exists(iam: &Client, name_or_arn: &str) -> Result<bool> {
    let name = role_name(name_or_arn);
    match iam.get_role().role_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if has_code(&e, &["NoSuchEntity"]) => Ok(false),
        Err(e) => Err(sdk_error("GetRole", name, e)),
    }
}
