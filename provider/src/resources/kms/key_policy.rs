//! Key policies, written once for every customer-managed key the provider makes
//! (`bankplatform_kms_key`, and the keys a bucket, a VPC or a trail makes for
//! itself): administrators separated from users, the service principals a
//! purpose needs, each restricted by `aws:SourceAccount`/`aws:SourceArn` or an
//! encryption context, and never `Principal: "*"` without a condition
//! (CIS 2.21, Security Hub KMS.5).

use serde_json::{json, Value as Json};

use crate::resources::iam::policy_doc::{actions, canonical_json, is_public, statements};

/// Sids of the statements the provider owns in a key policy.
pub(crate) const SID_ADMIN: &str = "BankplatformKeyAdministration";
pub(crate) const SID_USE: &str = "BankplatformKeyUse";
pub(crate) const SID_GRANTS: &str = "BankplatformKeyGrantsForAwsResources";
const SID_SERVICE: &str = "BankplatformService";

/// What administrators may do: manage the key, never use it.
const ADMIN_ACTIONS: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];
/// What users may do: use the key, never manage it.
const USE_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
];

/// The purposes a key can serve; each chooses the service principals admitted and
/// the service through which users may use the key.
pub(crate) const PURPOSES: &[&str] = &[
    "general",
    "logs",
    "trail",
    "s3",
    "sns",
    "sqs",
    "rds",
    "secrets",
    "ebs",
    "dynamodb",
    "kinesis",
    "config",
    "guardduty",
];

/// A service principal's grant: what it may do, and under which condition.
struct ServiceGrant {
    service: String,
    actions: &'static [&'static str],
    condition: Json,
}

/// A key policy to write.
pub(crate) struct KeyPolicy<'a> {
    pub(crate) partition: &'a str,
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    /// One of [`PURPOSES`].
    pub(crate) purpose: &'a str,
    /// Principals that manage the key (empty: the account, through IAM policies).
    pub(crate) administrators: &'a [String],
    /// Principals that use the key (empty: the account, through IAM policies).
    pub(crate) users: &'a [String],
    /// Accounts whose services may use the key (empty: this account). A log-archive
    /// key written by every account's trail lists them.
    pub(crate) source_accounts: &'a [String],
    /// ARNs that narrow the service principals further (a trail, a log group).
    pub(crate) source_arns: &'a [String],
    /// Services that publish encrypted messages (purposes `sns` and `sqs`), by name
    /// (`events`); empty: the purpose's usual publishers.
    pub(crate) publishers: &'a [String],
    /// The user's own statements, appended.
    pub(crate) extra: &'a [Json],
}

/// The account root principal: "whoever IAM policies in the account allow".
pub(crate) fn account_root(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

impl KeyPolicy<'_> {
    fn accounts(&self) -> Vec<String> {
        if self.source_accounts.is_empty() {
            vec![self.account.to_string()]
        } else {
            self.source_accounts.to_vec()
        }
    }

    /// The service through which users may use the key (`kms:ViaService`).
    fn via_service(&self) -> Option<&'static str> {
        Some(match self.purpose {
            "s3" => "s3",
            "sns" => "sns",
            "sqs" => "sqs",
            "rds" => "rds",
            "secrets" => "secretsmanager",
            "ebs" => "ec2",
            "dynamodb" => "dynamodb",
            "kinesis" => "kinesis",
            _ => return None,
        })
    }

    fn source_account_condition(&self) -> Json {
        let mut c = json!({"StringEquals": {"aws:SourceAccount": self.accounts()}});
        if !self.source_arns.is_empty() {
            c["ArnLike"] = json!({"aws:SourceArn": self.source_arns});
        }
        c
    }

    fn logs_grant(&self) -> ServiceGrant {
        let groups: Vec<String> = if self.source_arns.is_empty() {
            self.accounts()
                .iter()
                .map(|a| {
                    format!(
                        "arn:{}:logs:{}:{a}:log-group:*",
                        self.partition, self.region
                    )
                })
                .collect()
        } else {
            self.source_arns.to_vec()
        };
        ServiceGrant {
            service: format!("logs.{}.amazonaws.com", self.region),
            actions: &[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            condition: json!({"ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups}}),
        }
    }

    /// Publishers to an encrypted topic or queue (alarms, events, S3 notifications).
    fn publisher_grants(&self, services: &[&str]) -> Vec<ServiceGrant> {
        services
            .iter()
            .map(|s| ServiceGrant {
                service: format!("{s}.amazonaws.com"),
                actions: &["kms:Decrypt", "kms:GenerateDataKey*"],
                condition: self.source_account_condition(),
            })
            .collect()
    }

    /// The configured publishers' grants, or `usual`'s.
    fn publishers_or(&self, usual: &[&str]) -> Vec<ServiceGrant> {
        if self.publishers.is_empty() {
            return self.publisher_grants(usual);
        }
        let named: Vec<&str> = self.publishers.iter().map(String::as_str).collect();
        self.publisher_grants(&named)
    }

    fn service_grants(&self) -> Vec<ServiceGrant> {
        match self.purpose {
            "logs" => vec![self.logs_grant()],
            "trail" => {
                let trails: Vec<String> = self
                    .accounts()
                    .iter()
                    .map(|a| format!("arn:{}:cloudtrail:*:{a}:trail/*", self.partition))
                    .collect();
                let mut encrypt =
                    json!({"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails}});
                if !self.source_arns.is_empty() {
                    encrypt["ArnLike"] = json!({"aws:SourceArn": self.source_arns});
                }
                let mut g = vec![
                    ServiceGrant {
                        service: "cloudtrail.amazonaws.com".into(),
                        actions: &["kms:GenerateDataKey*"],
                        condition: encrypt,
                    },
                    ServiceGrant {
                        service: "cloudtrail.amazonaws.com".into(),
                        actions: &["kms:DescribeKey"],
                        condition: json!({"StringEquals": {"aws:SourceAccount": self.accounts()}}),
                    },
                    self.logs_grant(),
                ];
                // The trail's alarms notify a topic encrypted with the same key.
                g.extend(self.publisher_grants(&["cloudwatch"]));
                g
            }
            "sns" => self.publishers_or(&["cloudwatch", "events", "s3"]),
            "sqs" => self.publishers_or(&["sns", "events", "s3"]),
            "config" => self.publisher_grants(&["config"]),
            "guardduty" => self.publisher_grants(&["guardduty"]),
            _ => vec![],
        }
    }

    /// The policy document (canonical JSON).
    pub(crate) fn document(&self) -> Json {
        let root = account_root(self.partition, self.account);
        let or_root = |list: &[String]| -> Json {
            if list.is_empty() {
                json!(root)
            } else if list.len() == 1 {
                json!(list[0])
            } else {
                json!(list)
            }
        };
        let mut use_condition = json!({"StringEquals": {"kms:CallerAccount": self.account}});
        if let Some(via) = self.via_service() {
            use_condition["StringEquals"]["kms:ViaService"] =
                json!(format!("{via}.{}.amazonaws.com", self.region));
        }
        let mut st = vec![
            json!({"Sid": SID_ADMIN, "Effect": "Allow", "Principal": {"AWS": or_root(self.administrators)},
                   "Action": ADMIN_ACTIONS, "Resource": "*"}),
            json!({"Sid": SID_USE, "Effect": "Allow", "Principal": {"AWS": or_root(self.users)},
                   "Action": USE_ACTIONS, "Resource": "*", "Condition": use_condition}),
        ];
        if matches!(self.purpose, "rds" | "ebs" | "secrets" | "dynamodb") {
            st.push(json!({"Sid": SID_GRANTS, "Effect": "Allow", "Principal": {"AWS": or_root(self.users)},
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}));
        }
        for (i, g) in self.service_grants().into_iter().enumerate() {
            st.push(
                json!({"Sid": format!("{SID_SERVICE}{i}"), "Effect": "Allow",
                "Principal": {"Service": g.service}, "Action": g.actions, "Resource": "*",
                "Condition": g.condition}),
            );
        }
        st.extend(self.extra.iter().cloned());
        canonical_json(&json!({"Version": "2012-10-17", "Statement": st}))
    }
}

/// The principals of the provider's statement `sid` (for the state).
pub(crate) fn principals(policy: &Json, sid: &str) -> Vec<String> {
    let Some(s) = statements(policy)
        .into_iter()
        .find(|s| s.get("Sid").and_then(Json::as_str) == Some(sid))
    else {
        return vec![];
    };
    match s.get("Principal").and_then(|p| p.get("AWS")) {
        Some(Json::String(a)) => vec![a.clone()],
        Some(Json::Array(l)) => l
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The user's own statements (not the provider's).
pub(crate) fn user_statements(policy: &Json) -> Vec<Json> {
    statements(policy)
        .into_iter()
        .filter(|s| {
            !s.get("Sid")
                .and_then(Json::as_str)
                .is_some_and(|sid| sid.starts_with("Bankplatform"))
        })
        .cloned()
        .collect()
}

fn allows(s: &Json) -> bool {
    s.get("Effect").and_then(Json::as_str) == Some("Allow")
}

/// KMS.5 / CIS 2.21: no `Allow` to any principal without a condition.
pub(crate) fn no_public_principal(policy: &Json) -> bool {
    statements(policy)
        .into_iter()
        .all(|s| !(allows(s) && is_public(s) && s.get("Condition").is_none()))
}

/// Every service principal admitted is restricted by a condition (source account,
/// source ARN or encryption context): the confused-deputy rule.
pub(crate) fn services_scoped(policy: &Json) -> bool {
    statements(policy).into_iter().all(|s| {
        !(allows(s)
            && s.get("Principal").and_then(|p| p.get("Service")).is_some()
            && s.get("Condition").is_none())
    })
}

fn is_admin_action(a: &str) -> bool {
    [
        "kms:Put",
        "kms:Delete",
        "kms:Disable",
        "kms:Schedule",
        "kms:Update",
        "kms:Create",
    ]
    .iter()
    .any(|p| a.starts_with(p))
}

fn is_use_action(a: &str) -> bool {
    [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt",
        "kms:GenerateDataKey",
    ]
    .iter()
    .any(|p| a.starts_with(p))
}

/// Administrators are separated from users: no statement grants `kms:*`, and none
/// grants a principal both the management of the key and its use.
pub(crate) fn duties_separated(policy: &Json) -> bool {
    statements(policy)
        .into_iter()
        .filter(|s| allows(s))
        .all(|s| {
            let acts = actions(s);
            let wildcard = acts.iter().any(|a| *a == "*" || *a == "kms:*");
            let both =
                acts.iter().any(|a| is_admin_action(a)) && acts.iter().any(|a| is_use_action(a));
            !wildcard && !both
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(purpose: &str) -> Json {
        KeyPolicy {
            partition: "aws",
            region: "eu-west-1",
            account: "111122223333",
            purpose,
            administrators: &[],
            users: &[],
            source_accounts: &[],
            source_arns: &[],
            publishers: &[],
            extra: &[],
        }
        .document()
    }

    #[test]
    fn a_topic_key_admits_exactly_the_named_publishers() {
        let named = ["guardduty".to_string()];
        let p = KeyPolicy {
            partition: "aws",
            region: "eu-west-1",
            account: "111122223333",
            purpose: "sns",
            administrators: &[],
            users: &[],
            source_accounts: &[],
            source_arns: &[],
            publishers: &named,
            extra: &[],
        }
        .document();
        let services: Vec<String> = statements(&p)
            .into_iter()
            .filter_map(|s| s["Principal"]["Service"].as_str().map(str::to_string))
            .collect();
        assert_eq!(services, ["guardduty.amazonaws.com"], "{p}");
        assert!(services_scoped(&p));
        let usual = policy("sns").to_string();
        assert!(
            usual.contains("cloudwatch.amazonaws.com") && usual.contains("events.amazonaws.com")
        );
    }

    #[test]
    fn every_purpose_passes_its_own_controls() {
        for p in PURPOSES {
            let doc = policy(p);
            assert!(no_public_principal(&doc), "{p}");
            assert!(services_scoped(&doc), "{p}");
            assert!(duties_separated(&doc), "{p}");
            assert_eq!(
                principals(&doc, SID_ADMIN),
                vec!["arn:aws:iam::111122223333:root".to_string()]
            );
        }
    }

    #[test]
    fn trail_keys_admit_cloudtrail_only_for_the_account_trails() {
        let doc = policy("trail").to_string();
        assert!(doc.contains("cloudtrail.amazonaws.com"));
        assert!(doc.contains("arn:aws:cloudtrail:*:111122223333:trail/*"));
        assert!(doc.contains("logs.eu-west-1.amazonaws.com"));
        let s3 = policy("s3").to_string();
        assert!(s3.contains("s3.eu-west-1.amazonaws.com"), "{s3}");
        assert!(!s3.contains("\"Service\""));
    }

    #[test]
    fn the_judges_catch_what_they_name() {
        let bad = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"}
        ]});
        assert!(!no_public_principal(&bad));
        assert!(!services_scoped(&bad));
        assert!(!duties_separated(&bad));
        let mixed = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "a"},
            "Action": ["kms:Decrypt", "kms:ScheduleKeyDeletion"], "Resource": "*"}]});
        assert!(!duties_separated(&mixed));
    }
}
