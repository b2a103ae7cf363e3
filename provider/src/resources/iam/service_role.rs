//! The IAM role an AWS service assumes on a composite's behalf (VPC flow-log
//! delivery, S3 replication, Config recording, ...), with one inline policy: one
//! implementation for every composite that needs one.
//!
//! The trust policy admits only the service principal, and only on behalf of this
//! account (`aws:SourceAccount`) and, when given, of the one resource that uses it
//! (`aws:SourceArn`): the confused-deputy protection auditors check
//! (`iam_role_cross_service_confused_deputy_prevention`). Creating is idempotent
//! (an existing role of the name gets the current trust policy), and so is
//! removing (already gone is done).

use crate::aws::{error_code, error_message, Clients};
use crate::resources::kit::calls::GoneIsDone;

/// What a service role is.
pub(crate) struct ServiceRole<'a> {
    /// Role name (unique in the account; derived from the composite's identity).
    pub(crate) name: &'a str,
    /// The service principal, e.g. `vpc-flow-logs.amazonaws.com`.
    pub(crate) service: &'a str,
    /// The resource the service acts for (`aws:SourceArn`, wildcards allowed).
    pub(crate) source_arn: Option<String>,
    /// A line for the role's description.
    pub(crate) description: String,
    /// Name and document of the inline policy.
    pub(crate) policy_name: &'a str,
    pub(crate) policy: serde_json::Value,
    /// Tags.
    pub(crate) tags: Vec<(String, String)>,
}

impl ServiceRole<'_> {
    /// The trust policy: the service, for this account (and resource) only.
    pub(crate) fn trust_policy(&self, account: &str) -> serde_json::Value {
        let mut condition = serde_json::json!({"StringEquals": {"aws:SourceAccount": account}});
        if let Some(arn) = &self.source_arn {
            condition["ArnLike"] = serde_json::json!({"aws:SourceArn": arn});
        }
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": self.service},
            "Action": "sts:AssumeRole",
            "Condition": condition,
        }]})
    }
}

/// Creates the role (or brings an existing one of the name to this trust policy) and
/// writes its inline policy. Returns the role's ARN.
pub(crate) async fn ensure(c: &Clients, role: &ServiceRole<'_>) -> Result<String, String> {
    let name = role.name;
    let trust = role.trust_policy(&c.account_id().await?).to_string();
    let mut req = c
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(&trust)
        .description(&role.description);
    for (k, v) in &role.tags {
        req = req.tags(
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    let arn = match req.send().await {
        Ok(out) => out
            .role
            .map(|r| r.arn)
            .ok_or("IAM CreateRole returned no role")?,
        Err(e) if error_code(&e) == Some("EntityAlreadyExists") => {
            c.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&trust)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "updating the trust policy of IAM Role ({name}): {}",
                        error_message(&e)
                    )
                })?;
            c.iam
                .get_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| format!("reading IAM Role ({name}): {}", error_message(&e)))?
                .role
                .map(|r| r.arn)
                .ok_or("IAM GetRole returned no role")?
        }
        Err(e) => return Err(format!("creating IAM Role ({name}): {}", error_message(&e))),
    };
    c.iam
        .put_role_policy()
        .role_name(name)
        .policy_name(role.policy_name)
        .policy_document(role.policy.to_string())
        .send()
        .await
        .map_err(|e| {
            format!(
                "writing the policy of IAM Role ({name}): {}",
                error_message(&e)
            )
        })?;
    Ok(arn)
}

/// Removes the inline policy and the role; already gone is done.
pub(crate) async fn remove(c: &Clients, name: &str, policy_name: &str) -> Result<(), String> {
    c.iam
        .delete_role_policy()
        .role_name(name)
        .policy_name(policy_name)
        .send()
        .await
        .gone_is_done(&format!("deleting the policy of IAM Role ({name})"))?;
    c.iam
        .delete_role()
        .role_name(name)
        .send()
        .await
        .gone_is_done(&format!("deleting IAM Role ({name})"))
}

/// Whether a role of this name exists.
pub(crate) async fn exists(c: &Clients, name: &str) -> Result<bool, String> {
    match c.iam.get_role().role_name(name).send().await {
        Ok(_) => Ok(true),
        Err(e) if crate::aws::is_not_found(&e) => Ok(false),
        Err(e) => Err(format!("reading IAM Role ({name}): {}", error_message(&e))),
    }
}

/// A stable 64-bit digest of a name (FNV-1a), for role names that must stay short.
pub(crate) fn digest(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `prefix` + `name` when it fits IAM's 64 characters, else `prefix` + a digest of
/// `name`: stable, so the role is found again from the composite's identity.
pub(crate) fn fitted_name(prefix: &str, name: &str) -> String {
    let full = format!("{prefix}{name}");
    if full.len() <= 64 {
        full
    } else {
        format!("{prefix}{:016x}", digest(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_is_limited_to_the_account_and_resource() {
        let role = ServiceRole {
            name: "r",
            service: "vpc-flow-logs.amazonaws.com",
            source_arn: Some("arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/*".into()),
            description: String::new(),
            policy_name: "p",
            policy: serde_json::json!({}),
            tags: vec![],
        };
        let t = role.trust_policy("111122223333");
        let st = &t["Statement"][0];
        assert_eq!(st["Principal"]["Service"], "vpc-flow-logs.amazonaws.com");
        assert_eq!(
            st["Condition"]["StringEquals"]["aws:SourceAccount"],
            "111122223333"
        );
        assert_eq!(
            st["Condition"]["ArnLike"]["aws:SourceArn"],
            "arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/*"
        );
    }

    #[test]
    fn long_names_are_fitted_to_iam_with_a_stable_digest() {
        assert_eq!(
            fitted_name("bankplatform-x-", "short"),
            "bankplatform-x-short"
        );
        let long = "a".repeat(60);
        let fitted = fitted_name("bankplatform-x-", &long);
        assert!(fitted.len() <= 64, "{fitted}");
        assert_eq!(fitted, fitted_name("bankplatform-x-", &long));
        assert_ne!(fitted, fitted_name("bankplatform-x-", &"b".repeat(60)));
    }
}
