//! The organization's guardrails: the service control policies (SCPs) that keep
//! member accounts from turning off what the security baseline builds (CIS 2.1.2).
//! Pure: the documents, from the organization's name, the Regions accounts may act
//! in and the roles that may still change the baseline (the pipelines' deploy role,
//! a break-glass role).
//!
//! Three policies, because AWS caps an SCP at 5,120 characters and a target at five
//! attached policies (AWS's `FullAWSAccess` is one of them):
//! - `<name>-protect-baseline`: audit, detection and account settings;
//! - `<name>-deny-root-and-leaving`: the root user, and leaving the organization;
//! - `<name>-allowed-regions`: every Region but the allowed ones, global services
//!   excepted.

use serde_json::{json, Value as Json};

/// AWS's limit on one SCP's size (characters, whitespace counted).
pub(crate) const MAX_POLICY_CHARS: usize = 5_120;

/// What member accounts may not do, unless they act as an exempt role.
const PROTECTED_ACTIONS: &[&str] = &[
    // The audit trail.
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
    // Config.
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:StopConfigurationRecorder",
    // GuardDuty and Security Hub, and their membership.
    "guardduty:DeleteDetector",
    "guardduty:DeletePublishingDestination",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "securityhub:BatchDisableStandards",
    "securityhub:DisableSecurityHub",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:DisassociateFromMasterAccount",
    // IAM Access Analyzer.
    "access-analyzer:DeleteAnalyzer",
    // Account settings of the baseline.
    "ec2:DisableEbsEncryptionByDefault",
    "iam:DeleteAccountPasswordPolicy",
    "s3:PutAccountPublicAccessBlock",
    // Keys: no deletion, no disabling (logs and data would become unreadable).
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
];

/// Services that are global (or answer from us-east-1) and must stay reachable
/// from every allowed Region: AWS's own list for Region-restricting SCPs.
const GLOBAL_ACTIONS: &[&str] = &[
    "a4b:*",
    "acm:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "kms:*",
    "mobileanalytics:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
];

/// What a guardrail is (each kind has its own control).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An SCP protecting the baseline (or denying the root user and leaving).
    Baseline,
    /// The SCP of allowed Regions.
    Regions,
    /// The AI services opt-out policy: no AWS AI service keeps the organization's
    /// content to improve itself, and no account may opt back in.
    AiOptOut,
    /// The tag policy: the platform's tag keys, written one way everywhere.
    TagKeys,
}

impl Kind {
    /// The Organizations policy type.
    pub(crate) fn policy_type(self) -> &'static str {
        match self {
            Kind::Baseline | Kind::Regions => "SERVICE_CONTROL_POLICY",
            Kind::AiOptOut => "AISERVICES_OPT_OUT_POLICY",
            Kind::TagKeys => "TAG_POLICY",
        }
    }
}

/// Every policy type a guardrail may be.
pub(crate) const POLICY_TYPES: &[&str] = &[
    "SERVICE_CONTROL_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "TAG_POLICY",
];

/// One guardrail: its policy name and document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Guardrail {
    pub(crate) name: String,
    pub(crate) description: &'static str,
    pub(crate) document: Json,
    pub(crate) kind: Kind,
}

impl Guardrail {
    /// The document as sent (compact: AWS counts every character).
    pub(crate) fn content(&self) -> String {
        self.document.to_string()
    }
}

fn exempt_arns(exempt_roles: &[String]) -> Vec<String> {
    exempt_roles
        .iter()
        .map(|r| format!("arn:*:iam::*:role/{r}"))
        .collect()
}

/// The guardrails of organization `name`.
pub(crate) fn guardrails(
    name: &str,
    regions: &[String],
    exempt_roles: &[String],
) -> Vec<Guardrail> {
    let exempt = exempt_arns(exempt_roles);
    let unless_exempt = |mut statement: Json| {
        if !exempt.is_empty() {
            statement["Condition"]["ArnNotLike"] = json!({ "aws:PrincipalArn": exempt });
        }
        statement
    };
    vec![
        Guardrail {
            name: format!("{name}-protect-baseline"),
            description: "Member accounts cannot stop or delete the audit trail, Config, GuardDuty, Security Hub or Access Analyzer, nor weaken the account baseline or delete keys (bankplatform)",
            document: json!({
                "Version": "2012-10-17",
                "Statement": [unless_exempt(json!({
                    "Sid": "ProtectSecurityBaseline",
                    "Effect": "Deny",
                    "Action": PROTECTED_ACTIONS,
                    "Resource": "*",
                }))],
            }),
            kind: Kind::Baseline,
        },
        Guardrail {
            name: format!("{name}-deny-root-and-leaving"),
            description: "No member account acts as its root user or leaves the organization (bankplatform)",
            document: json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyRootUser",
                        "Effect": "Deny",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:*:iam::*:root"}},
                    },
                    {
                        "Sid": "DenyLeavingOrganization",
                        "Effect": "Deny",
                        "Action": "organizations:LeaveOrganization",
                        "Resource": "*",
                    },
                ],
            }),
            kind: Kind::Baseline,
        },
        Guardrail {
            name: format!("{name}-allowed-regions"),
            description: "Member accounts act only in the allowed Regions; global services excepted (bankplatform)",
            document: json!({
                "Version": "2012-10-17",
                "Statement": [unless_exempt(json!({
                    "Sid": "DenyOutsideAllowedRegions",
                    "Effect": "Deny",
                    "NotAction": GLOBAL_ACTIONS,
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": regions}},
                }))],
            }),
            kind: Kind::Regions,
        },
    ]
}

/// The management policies of organization `name`: the AI services opt-out (when
/// `ai_opt_out`) and the tag policy for `tag_keys` (when there are any).
pub(crate) fn management_policies(
    name: &str,
    ai_opt_out: bool,
    tag_keys: &[String],
) -> Vec<Guardrail> {
    let mut out = Vec::new();
    if ai_opt_out {
        out.push(Guardrail {
            name: format!("{name}-ai-opt-out"),
            description: "No AWS AI service stores or uses the organization's content, and no account opts back in (bankplatform)",
            document: json!({"services": {"default": {"opt_out_policy": {
                "@@assign": "optOut",
                "@@operators_allowed_for_child_policies": ["@@none"],
            }}}}),
            kind: Kind::AiOptOut,
        });
    }
    if !tag_keys.is_empty() {
        let tags: serde_json::Map<String, Json> = tag_keys
            .iter()
            .map(|k| (k.clone(), json!({"tag_key": {"@@assign": k}})))
            .collect();
        out.push(Guardrail {
            name: format!("{name}-tag-keys"),
            description: "The platform's tag keys, written one way in every account (bankplatform)",
            document: json!({ "tags": tags }),
            kind: Kind::TagKeys,
        });
    }
    out
}

/// The name of every guardrail organization `name` may have (what destroy removes).
pub(crate) fn names(name: &str) -> [String; 5] {
    [
        "protect-baseline",
        "deny-root-and-leaving",
        "allowed-regions",
        "ai-opt-out",
        "tag-keys",
    ]
    .map(|g| format!("{name}-{g}"))
}

/// The allowed Regions and exempt roles written in an existing set of guardrails
/// (for import): `None` when a document is not one of ours.
pub(crate) fn settings_of(region_doc: &Json) -> Option<(Vec<String>, Vec<String>)> {
    let st = region_doc["Statement"].get(0)?;
    let regions = strings(&st["Condition"]["StringNotEquals"]["aws:RequestedRegion"])?;
    let exempt = strings(&st["Condition"]["ArnNotLike"]["aws:PrincipalArn"])
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| a.rsplit_once(":role/").map(|(_, r)| r.to_string()))
        .collect();
    Some((regions, exempt))
}

fn strings(v: &Json) -> Option<Vec<String>> {
    match v {
        Json::String(s) => Some(vec![s.clone()]),
        Json::Array(a) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}

/// Whether a policy's content (as AWS returns it) is `want`'s document.
pub(crate) fn holds(content: &str, want: &Guardrail) -> bool {
    serde_json::from_str::<Json>(content).is_ok_and(|have| have == want.document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Guardrail> {
        guardrails(
            "bank",
            &["eu-west-1".into(), "eu-central-1".into()],
            &[
                "OrganizationAccountAccessRole".into(),
                "bankplatform-deploy".into(),
            ],
        )
    }

    #[test]
    fn every_guardrail_fits_in_an_scp() {
        for g in sample() {
            assert!(
                g.content().len() <= MAX_POLICY_CHARS,
                "{} is {} characters",
                g.name,
                g.content().len()
            );
            assert!(g.name.starts_with("bank-"));
            assert!(holds(&g.content(), &g));
            // AWS may return the document pretty-printed: still the same policy.
            assert!(holds(
                &serde_json::to_string_pretty(&g.document).unwrap(),
                &g
            ));
        }
    }

    #[test]
    fn exempt_roles_pass_the_baseline_and_region_guardrails_only() {
        let g = sample();
        let exempt = &g[0].document["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
        assert_eq!(exempt[1], "arn:*:iam::*:role/bankplatform-deploy");
        // The root user and leaving the organization have no exemption.
        assert!(g[1].content().find("ArnNotLike").is_none());
        let (regions, roles) = settings_of(&g[2].document).unwrap();
        assert_eq!(regions, ["eu-west-1", "eu-central-1"]);
        assert_eq!(
            roles,
            ["OrganizationAccountAccessRole", "bankplatform-deploy"]
        );
    }

    #[test]
    fn the_ai_opt_out_binds_every_account_and_the_tag_policy_names_each_key() {
        let m = management_policies("bank", true, &["owner".into(), "data_class".into()]);
        assert_eq!(m.len(), 2);
        let ai = &m[0].document["services"]["default"]["opt_out_policy"];
        assert_eq!(ai["@@assign"], "optOut");
        assert_eq!(
            ai["@@operators_allowed_for_child_policies"],
            json!(["@@none"])
        );
        assert_eq!(
            m[1].document["tags"]["data_class"]["tag_key"]["@@assign"],
            "data_class"
        );
        assert_eq!(m[1].kind.policy_type(), "TAG_POLICY");
        assert!(management_policies("bank", false, &[]).is_empty());
        let every: Vec<String> = sample().into_iter().chain(m).map(|g| g.name).collect();
        assert_eq!(every, names("bank"));
    }

    #[test]
    fn a_changed_document_no_longer_holds() {
        let g = sample();
        let mut weakened = g[0].document.clone();
        weakened["Statement"][0]["Action"] = json!(["cloudtrail:StopLogging"]);
        assert!(!holds(&weakened.to_string(), &g[0]));
        assert!(!holds("not json", &g[0]));
    }
}
