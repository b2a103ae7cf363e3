//! The documents of a pipeline's deploy role (`bankplatform_deploy_role`): the trust
//! policy admitting one OIDC issuer's tokens for named subjects only, and the
//! permissions the provider's composites need to apply — never `*`, never full
//! KMS or CloudTrail, IAM only on the provider's own service roles, and nothing on
//! the deploy role or its identity provider themselves.

use serde_json::{json, Value as Json};

use super::policy_doc::{actions, canonical_json, statements};

/// The inline policy's name.
pub(crate) const POLICY_NAME: &str = "bankplatform-deploy";
/// The statement that keeps the role from changing itself.
pub(crate) const SID_NOT_ITSELF: &str = "BankplatformNotItself";

/// What the provider's composites call, service by service. KMS and CloudTrail are
/// listed by verb (no `kms:*`, no `cloudtrail:*`: scanners flag full access to the
/// services that guard the others); `cloudtrail:StopLogging` is not granted.
const ACTIONS: &[&str] = &[
    "s3:*",
    "ec2:*",
    "logs:*",
    "cloudwatch:*",
    "sns:*",
    "config:*",
    "guardduty:*",
    "securityhub:*",
    "access-analyzer:*",
    "dynamodb:*",
    "tag:GetResources",
    "sts:GetCallerIdentity",
    "organizations:Describe*",
    "organizations:List*",
    "kms:CreateKey",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:Describe*",
    "kms:Get*",
    "kms:List*",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:PutKeyPolicy",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:ReplicateKey",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:CreateGrant",
    "cloudtrail:CreateTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:DeleteTrail",
    "cloudtrail:StartLogging",
    "cloudtrail:Describe*",
    "cloudtrail:Get*",
    "cloudtrail:List*",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:AddTags",
    "cloudtrail:RemoveTags",
    "iam:Get*",
    "iam:List*",
    "iam:UpdateAccountPasswordPolicy",
    "iam:DeleteAccountPasswordPolicy",
];

/// What a plan needs: reads of everything the composites read, never a write.
const READ_ACTIONS: &[&str] = &[
    "s3:Get*",
    "s3:List*",
    "ec2:Describe*",
    "ec2:Get*",
    "logs:Describe*",
    "logs:List*",
    "cloudwatch:Describe*",
    "cloudwatch:Get*",
    "cloudwatch:List*",
    "sns:Get*",
    "sns:List*",
    "config:Describe*",
    "config:Get*",
    "config:List*",
    "guardduty:Get*",
    "guardduty:List*",
    "securityhub:Describe*",
    "securityhub:Get*",
    "securityhub:List*",
    "access-analyzer:Get*",
    "access-analyzer:List*",
    "dynamodb:Describe*",
    "dynamodb:List*",
    "tag:GetResources",
    "sts:GetCallerIdentity",
    "organizations:Describe*",
    "organizations:List*",
    "kms:Describe*",
    "kms:Get*",
    "kms:List*",
    "cloudtrail:Describe*",
    "cloudtrail:Get*",
    "cloudtrail:List*",
    "iam:Get*",
    "iam:List*",
];

/// IAM actions on the provider's own service roles (`bankplatform-*`) only.
const ROLE_ACTIONS: &[&str] = &[
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PassRole",
];

/// The host part of an issuer URL (`token.actions.githubusercontent.com`): the
/// prefix of its claims in conditions, and of its provider's ARN.
pub(crate) fn issuer_host(url: &str) -> &str {
    url.trim_start_matches("https://").trim_end_matches('/')
}

/// The ARN of the account's identity provider for `url`.
pub(crate) fn provider_arn(partition: &str, account: &str, url: &str) -> String {
    format!(
        "arn:{partition}:iam::{account}:oidc-provider/{}",
        issuer_host(url)
    )
}

/// Who may assume the role: tokens of the identity provider `provider_arn` for
/// `audience` whose subject matches one of `subjects`.
pub(crate) fn trust(provider_arn: &str, url: &str, audience: &str, subjects: &[String]) -> Json {
    let host = issuer_host(url);
    canonical_json(&json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BankplatformPipeline",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {format!("{host}:aud"): audience},
                "StringLike": {format!("{host}:sub"): subjects},
            }
        }]
    }))
}

/// Why a subject pattern admits too much (`None`: it names a project). The claim
/// and the project (`repo:org/name`, `project_path:group/name`) must be written out;
/// wildcards are for what follows (a branch, an environment).
pub(crate) fn subject_problem(subject: &str) -> Option<String> {
    let parts: Vec<&str> = subject.splitn(3, ':').collect();
    let named = parts.len() >= 2
        && parts[..2]
            .iter()
            .all(|p| !p.is_empty() && !p.contains('*') && !p.contains('?'))
        && parts[1].contains('/');
    (!named).then(|| format!("\"{subject}\" does not name one project: write the claim and the project out (repo:<org>/<repo>:… for GitHub, project_path:<group>/<project>:… for GitLab); wildcards may follow them (ref:refs/heads/*)."))
}

/// What the role may do.
pub(crate) struct Permissions<'a> {
    pub(crate) partition: &'a str,
    pub(crate) account: &'a str,
    /// The role's own name (never editable by itself).
    pub(crate) role: &'a str,
    pub(crate) provider_arn: &'a str,
    /// Plans only: reads, and of the state only reading it and taking its lock.
    pub(crate) plan_only: bool,
    /// The state bucket, its key and the lock table, when the role keeps state.
    pub(crate) state_bucket: Option<&'a str>,
    pub(crate) state_key: Option<&'a str>,
    pub(crate) lock_table: Option<&'a str>,
}

impl Permissions<'_> {
    pub(crate) fn document(&self) -> Json {
        let p = self.partition;
        let a = self.account;
        let own = format!("arn:{p}:iam::{a}:role/{}", self.role);
        let mut st = if self.plan_only {
            vec![
                json!({"Sid": "BankplatformPlan", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": "*"}),
            ]
        } else {
            vec![
                json!({"Sid": "BankplatformDeploy", "Effect": "Allow", "Action": ACTIONS, "Resource": "*"}),
                json!({"Sid": "BankplatformServiceRoles", "Effect": "Allow", "Action": ROLE_ACTIONS,
                       "Resource": format!("arn:{p}:iam::{a}:role/bankplatform-*")}),
            ]
        };
        st.push(
            json!({"Sid": SID_NOT_ITSELF, "Effect": "Deny", "Action": "iam:*",
                       "Resource": [own, self.provider_arn]}),
        );
        if let Some(b) = self.state_bucket {
            st.push(
                json!({"Sid": "BankplatformStateList", "Effect": "Allow", "Action": "s3:ListBucket",
                           "Resource": format!("arn:{p}:s3:::{b}")}),
            );
            if self.plan_only {
                st.push(
                    json!({"Sid": "BankplatformState", "Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": format!("arn:{p}:s3:::{b}/*")}),
                );
                st.push(
                    json!({"Sid": "BankplatformStateLockFile", "Effect": "Allow",
                               "Action": ["s3:PutObject", "s3:DeleteObject"],
                               "Resource": format!("arn:{p}:s3:::{b}/*.tflock")}),
                );
            } else {
                st.push(json!({"Sid": "BankplatformState", "Effect": "Allow",
                               "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                               "Resource": format!("arn:{p}:s3:::{b}/*")}));
            }
        }
        if let Some(k) = self.state_key {
            let actions: &[&str] = if self.plan_only {
                &["kms:Decrypt", "kms:GenerateDataKey"]
            } else {
                &["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
            };
            st.push(json!({"Sid": "BankplatformStateKey", "Effect": "Allow", "Action": actions, "Resource": k}));
        }
        if let Some(t) = self.lock_table {
            st.push(json!({"Sid": "BankplatformStateLock", "Effect": "Allow",
                           "Action": ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                           "Resource": t}));
        }
        canonical_json(&json!({"Version": "2012-10-17", "Statement": st}))
    }
}

/// Whether a trust policy admits only web-identity tokens of an identity provider,
/// for a fixed audience and subjects that each name a project.
pub(crate) fn trust_scoped(policy: &Json) -> bool {
    let allows: Vec<&Json> = statements(policy)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    !allows.is_empty()
        && allows.iter().all(|s| {
            let federated = s["Principal"]["Federated"]
                .as_str()
                .is_some_and(|f| f.contains(":oidc-provider/"));
            let only_web_identity = actions(s) == ["sts:AssumeRoleWithWebIdentity"];
            let c = &s["Condition"];
            let aud = c["StringEquals"]
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k.ends_with(":aud")));
            let subjects: Vec<&str> = ["StringLike", "StringEquals"]
                .iter()
                .filter_map(|op| c[*op].as_object())
                .flat_map(|m| m.iter().filter(|(k, _)| k.ends_with(":sub")))
                .flat_map(|(_, v)| match v {
                    Json::String(s) => vec![s.as_str()],
                    Json::Array(l) => l.iter().filter_map(Json::as_str).collect(),
                    _ => vec![],
                })
                .collect();
            federated
                && only_web_identity
                && aud
                && !subjects.is_empty()
                && subjects.iter().all(|s| subject_problem(s).is_none())
        })
}

/// Whether a permissions policy allows no `*` action and no full KMS or CloudTrail
/// access (what scanners call administrative privileges).
pub(crate) fn not_admin(policy: &Json) -> bool {
    statements(policy)
        .into_iter()
        .filter(|s| s["Effect"] == "Allow")
        .all(|s| {
            s.get("NotAction").is_none()
                && actions(s)
                    .iter()
                    .all(|a| !matches!(*a, "*" | "*:*" | "kms:*" | "cloudtrail:*" | "iam:*"))
        })
}

/// Whether a permissions policy denies the role every IAM action on itself.
pub(crate) fn denies_itself(policy: &Json, own_arn: &str) -> bool {
    statements(policy).into_iter().any(|s| {
        s["Effect"] == "Deny"
            && actions(s).contains(&"iam:*")
            && match &s["Resource"] {
                Json::String(r) => r == own_arn,
                Json::Array(l) => l.iter().any(|r| r == own_arn),
                _ => false,
            }
    })
}

/// A policy document as IAM returns it: URL-encoded (AWS) or plain (emulators).
pub(crate) fn from_iam(text: &str) -> Option<Json> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://token.actions.githubusercontent.com";

    #[test]
    fn subjects_must_name_a_project() {
        for ok in [
            "repo:acme/platform:ref:refs/heads/main",
            "repo:acme/platform:environment:production",
            "repo:acme/platform:*",
            "project_path:bank/infra:ref_type:branch:ref:main",
        ] {
            assert_eq!(subject_problem(ok), None, "{ok}");
        }
        for bad in [
            "*",
            "repo:*",
            "repo:acme/*:ref:x",
            "repo:acme",
            "",
            "repo::x",
        ] {
            assert!(subject_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn the_documents_pass_their_own_controls() {
        let arn = provider_arn("aws", "111122223333", URL);
        assert_eq!(
            arn,
            "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
        );
        let t = trust(
            &arn,
            URL,
            "sts.amazonaws.com",
            &["repo:acme/platform:ref:refs/heads/main".into()],
        );
        assert!(trust_scoped(&t));
        let wide = trust(&arn, URL, "sts.amazonaws.com", &["repo:*".into()]);
        assert!(!trust_scoped(&wide));
        let p = Permissions {
            partition: "aws",
            account: "111122223333",
            role: "bankplatform-deploy",
            provider_arn: &arn,
            plan_only: false,
            state_bucket: Some("acme-tfstate"),
            state_key: None,
            lock_table: None,
        }
        .document();
        assert!(not_admin(&p));
        let plan = Permissions {
            partition: "aws",
            account: "111122223333",
            role: "bankplatform-deploy-plan",
            provider_arn: &arn,
            plan_only: true,
            state_bucket: Some("acme-tfstate"),
            state_key: None,
            lock_table: None,
        }
        .document();
        assert!(not_admin(&plan));
        // A plan role writes nothing but the state's lock files.
        let writes: Vec<String> = statements(&plan)
            .into_iter()
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| {
                actions(s)
                    .into_iter()
                    .map(move |a| format!("{a} {}", s["Resource"]))
            })
            .filter(|a| !(a.contains(":Get") || a.contains(":List") || a.contains(":Describe")))
            .collect();
        assert_eq!(
            writes,
            [
                "s3:PutObject \"arn:aws:s3:::acme-tfstate/*.tflock\"",
                "s3:DeleteObject \"arn:aws:s3:::acme-tfstate/*.tflock\""
            ]
        );
        assert!(denies_itself(
            &p,
            "arn:aws:iam::111122223333:role/bankplatform-deploy"
        ));
        assert!(!not_admin(
            &json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        ));
    }

    #[test]
    fn iam_documents_are_read_encoded_or_plain() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert!(from_iam(plain).is_some());
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(from_iam(encoded), from_iam(plain));
    }
}
