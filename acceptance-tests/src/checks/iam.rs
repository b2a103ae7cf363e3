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

/// The trust policy of a role (given by name or ARN), decoded from the URL encoding
/// IAM returns it in.
pub async fn trust_policy(iam: &Client, name_or_arn: &str) -> Result<serde_json::Value> {
    let name = role_name(name_or_arn);
    let role = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| sdk_error("GetRole", name, e))?;
    document(
        role.role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or_default(),
    )
}

/// A policy document as IAM returns it: URL-encoded on AWS, plain on the emulator.
pub fn document(text: &str) -> Result<serde_json::Value> {
    if text.trim_start().starts_with('{') {
        return Ok(serde_json::from_str(text)?);
    }
    let mut decoded = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            decoded.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
        } else {
            decoded.push(b);
        }
    }
    Ok(serde_json::from_slice(&decoded)?)
}
