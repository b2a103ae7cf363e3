//! The policy of a topic the provider makes: the account manages it, each
//! publishing service may publish only for the listed accounts
//! (`aws:SourceAccount`), and nothing is published without TLS.

use serde_json::{json, Value as Json};

use crate::resources::kit::composite::capitalized;
use crate::resources::kms::key_policy::account_root;

/// Services that may be admitted as publishers (their principal is
/// `<name>.amazonaws.com`).
pub(crate) const PUBLISHERS: &[&str] = &[
    "cloudwatch",
    "events",
    "s3",
    "config",
    "guardduty",
    "cloudtrail",
    "budgets",
];

/// The statement id of the TLS-only rule.
pub(crate) const SID_TLS: &str = "BankplatformDenyInsecureTransport";

/// The policy of topic `arn` in `account`, admitting `publishers` for `accounts`.
pub(crate) fn document(
    partition: &str,
    account: &str,
    arn: &str,
    publishers: &[String],
    accounts: &[String],
) -> Json {
    let mut statements = vec![json!({
        "Sid": "BankplatformAccountManages", "Effect": "Allow",
        "Principal": {"AWS": account_root(partition, account)},
        "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                   "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                   "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
        "Resource": arn})];
    for p in publishers {
        statements.push(json!({
            "Sid": format!("BankplatformPublish{}", capitalized(p)), "Effect": "Allow",
            "Principal": {"Service": format!("{p}.amazonaws.com")},
            "Action": "SNS:Publish", "Resource": arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": accounts}}}));
    }
    statements.push(json!({
        "Sid": SID_TLS, "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "SNS:Publish",
        "Resource": arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}));
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn statements(policy: &Json) -> Vec<&Json> {
    match policy.get("Statement") {
        Some(Json::Array(l)) => l.iter().collect(),
        Some(s @ Json::Object(_)) => vec![s],
        _ => vec![],
    }
}

fn listed(v: Option<&Json>, what: &str) -> bool {
    match v {
        Some(Json::String(s)) => s == what || s == "*",
        Some(Json::Array(l)) => l
            .iter()
            .any(|x| x.as_str().is_some_and(|s| s == what || s == "*")),
        _ => false,
    }
}

/// Whether the policy refuses every publish sent without TLS.
pub(crate) fn tls_only(policy: &Json) -> bool {
    statements(policy).into_iter().any(|s| {
        s.get("Effect").and_then(Json::as_str) == Some("Deny")
            && (listed(s.get("Action"), "SNS:Publish") || listed(s.get("Action"), "sns:Publish"))
            && s.pointer("/Condition/Bool/aws:SecureTransport")
                .is_some_and(|v| v == "false" || v == &json!(false))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kms::key_policy::{no_public_principal, services_scoped};

    #[test]
    fn a_topic_admits_its_publishers_for_its_accounts_only_and_over_tls() {
        let arn = "arn:aws:sns:eu-west-1:111122223333:security-alarms";
        let p = document(
            "aws",
            "111122223333",
            arn,
            &["events".into(), "cloudwatch".into()],
            &["111122223333".into(), "444455556666".into()],
        );
        assert!(tls_only(&p) && services_scoped(&p) && no_public_principal(&p));
        let events = statements(&p)
            .into_iter()
            .find(|s| s["Principal"]["Service"] == "events.amazonaws.com")
            .unwrap();
        assert_eq!(
            events["Condition"]["StringEquals"]["aws:SourceAccount"],
            json!(["111122223333", "444455556666"])
        );
        let open = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "SNS:Publish", "Resource": arn}]});
        assert!(!tls_only(&open) && !no_public_principal(&open));
        let unscoped = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "SNS:Publish", "Resource": arn}]});
        assert!(!services_scoped(&unscoped));
    }
}
