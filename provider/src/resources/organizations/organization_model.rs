//! `bankplatform_organization`'s models and control table (pure).

use std::collections::{BTreeMap, BTreeSet};

use super::guardrails::{self, Guardrail, Kind};
use crate::resources::kit::controls::Control;

/// The OUs made when none are configured: grouped by environment and sensitivity
/// (CIS 2.1.3/2.1.4; AWS's multi-account guidance).
pub(crate) const DEFAULT_OUS: &[&str] = &[
    "Security",
    "Infrastructure",
    "Workloads/Prod",
    "Workloads/NonProd",
    "Sandbox",
    "Suspended",
];

/// The role every account created by Organizations carries: exempt from the
/// guardrails by default, so that the operator can still change the baseline.
pub(crate) const DEFAULT_EXEMPT_ROLE: &str = "OrganizationAccountAccessRole";

/// The tag keys the tag policy names when none are configured.
pub(crate) const DEFAULT_TAG_KEYS: &[&str] = &["owner", "cost_center", "data_class", "compliance"];

/// A security service administered from the security account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Delegation {
    GuardDuty,
    SecurityHub,
    Config,
    AccessAnalyzer,
}

/// Every delegated service, in the order they are registered.
pub(crate) const DELEGATIONS: &[Delegation] = &[
    Delegation::GuardDuty,
    Delegation::SecurityHub,
    Delegation::Config,
    Delegation::AccessAnalyzer,
];

impl Delegation {
    /// The service principals registered through Organizations (GuardDuty and
    /// Security Hub register their administrator through their own APIs).
    pub(crate) fn principals(self) -> &'static [&'static str] {
        match self {
            Delegation::GuardDuty | Delegation::SecurityHub => &[],
            // Aggregators (config) and organization rules and packs (multiaccountsetup).
            Delegation::Config => &[
                "config.amazonaws.com",
                "config-multiaccountsetup.amazonaws.com",
            ],
            Delegation::AccessAnalyzer => &["access-analyzer.amazonaws.com"],
        }
    }
}

/// The services given trusted access: the delegated ones, the organization trail,
/// and IAM's centralized root access.
pub(crate) const TRUSTED_SERVICES: &[&str] = &[
    "access-analyzer.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "guardduty.amazonaws.com",
    "iam.amazonaws.com",
    "securityhub.amazonaws.com",
];

/// The organization as configured.
#[derive(Clone, Debug)]
pub(crate) struct Desired {
    pub(crate) name: String,
    /// Every OU path, parents included, parents first.
    pub(crate) ous: Vec<String>,
    /// Account id → OU path.
    pub(crate) accounts: BTreeMap<String, String>,
    pub(crate) security_account: Option<String>,
    /// The allowed Regions: where GuardDuty and Security Hub are delegated.
    pub(crate) regions: Vec<String>,
    pub(crate) guardrails: Vec<Guardrail>,
    pub(crate) tags_all: BTreeMap<String, String>,
    /// What a create just made (the organization and its marked root): converge
    /// starts from it instead of reading everything back.
    pub(crate) fresh: Option<Box<Observed>>,
}

/// `paths` with every parent added, parents first (by depth, then name).
pub(crate) fn with_parents(paths: &[String]) -> Vec<String> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    for p in paths {
        let parts: Vec<&str> = p.split('/').collect();
        for i in 1..=parts.len() {
            all.insert(parts[..i].join("/"));
        }
    }
    let mut v: Vec<String> = all.into_iter().collect();
    v.sort_by_key(|p| (p.matches('/').count(), p.clone()));
    v
}

/// The paths no other path lies below: what configures a tree (for import).
pub(crate) fn leaves(paths: &BTreeSet<String>) -> Vec<String> {
    let leaves: Vec<String> = paths
        .iter()
        .filter(|p| !paths.iter().any(|q| q.starts_with(&format!("{p}/"))))
        .cloned()
        .collect();
    let defaults: BTreeSet<&str> = DEFAULT_OUS.iter().copied().collect();
    if leaves.iter().map(String::as_str).collect::<BTreeSet<_>>() == defaults {
        DEFAULT_OUS.iter().map(|s| s.to_string()).collect()
    } else {
        leaves
    }
}

/// What the guardrails' documents are written from.
pub(crate) struct PolicySettings {
    pub(crate) regions: Vec<String>,
    pub(crate) exempt_roles: Vec<String>,
    pub(crate) ai_opt_out: bool,
    pub(crate) tag_keys: Vec<String>,
}

impl Desired {
    pub(crate) fn new(
        name: String,
        ous: &[String],
        accounts: BTreeMap<String, String>,
        security_account: Option<String>,
        p: &PolicySettings,
        tags_all: BTreeMap<String, String>,
    ) -> Desired {
        let mut all = guardrails::guardrails(&name, &p.regions, &p.exempt_roles);
        all.extend(guardrails::management_policies(
            &name,
            p.ai_opt_out,
            &p.tag_keys,
        ));
        Desired {
            // The Regions, exempt roles and tag keys live in the guardrails' documents.
            guardrails: all,
            regions: p.regions.clone(),
            name,
            ous: with_parents(ous),
            accounts,
            security_account,
            tags_all,
            fresh: None,
        }
    }
}

/// A customer-managed SCP attached to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) id: String,
    pub(crate) content: String,
}

/// What AWS reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub(crate) id: String,
    pub(crate) management: String,
    pub(crate) all_features: bool,
    pub(crate) root_id: String,
    /// Policy types enabled on the root.
    pub(crate) policy_types: BTreeSet<String>,
    pub(crate) root_tags: BTreeMap<String, String>,
    /// Every OU, by path.
    pub(crate) ous: BTreeMap<String, String>,
    /// Accounts in an OU: account id → path (accounts at the root are absent).
    pub(crate) placed: BTreeMap<String, String>,
    /// Customer-managed SCPs attached to the root, by name.
    pub(crate) policies: BTreeMap<String, Policy>,
    /// Services with trusted access.
    pub(crate) services: BTreeSet<String>,
    /// Service → its delegated administrators (`None`: the endpoint cannot say).
    pub(crate) delegated: BTreeMap<Delegation, Option<BTreeSet<String>>>,
    /// Centralized root access (`None`: the endpoint has no such API).
    pub(crate) root_access: Option<bool>,
    /// The configuration, filled from the state before judging.
    pub(crate) wanted: Option<Desired>,
}

impl Observed {
    /// The configured guardrails of `kind` are attached to the root as written (false
    /// when the configuration turned that kind off).
    fn guardrails_hold(&self, kind: Kind) -> bool {
        let Some(d) = &self.wanted else { return false };
        let of_kind: Vec<&Guardrail> = d.guardrails.iter().filter(|g| g.kind == kind).collect();
        !of_kind.is_empty()
            && self.policy_types.contains(kind.policy_type())
            && of_kind.iter().all(|g| {
                self.policies
                    .get(&g.name)
                    .is_some_and(|p| guardrails::holds(&p.content, g))
            })
    }

    fn delegated_to_security(&self, service: Delegation) -> Option<bool> {
        let security = self.wanted.as_ref()?.security_account.as_ref();
        let Some(security) = security else {
            // No security account named: nothing is delegated.
            return Some(false);
        };
        self.delegated
            .get(&service)
            .cloned()
            .flatten()
            .map(|admins| admins.contains(security))
    }

    /// The configured tree and placements exist.
    fn laid_out(&self) -> bool {
        let Some(d) = &self.wanted else { return false };
        self.all_features
            && d.ous.iter().all(|p| self.ous.contains_key(p))
            && d.accounts
                .iter()
                .all(|(a, p)| self.placed.get(a) == Some(p))
    }
}

macro_rules! delegated {
    ($id:literal, $service:expr, $title:literal, $evidence:literal) => {
        Control {
            id: $id,
            title: $title,
            evidence: $evidence,
            judge: |o| o.delegated_to_security($service),
        }
    };
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "CIS 2.1.2",
        title: "SCPs are enabled and the guardrails are attached to the root as written: member accounts cannot stop or change the audit trail, Config, GuardDuty, Security Hub or Access Analyzer, turn off EBS default encryption, change the S3 account public access block or the password policy, disable or delete keys (exempt roles aside), act as the root user, or leave the organization.",
        evidence: "`organizations:ListRoots` → `PolicyTypes[SERVICE_CONTROL_POLICY] = ENABLED`; `ListPoliciesForTarget(root)`; `DescribePolicy` → `Content`",
        judge: |o| Some(o.guardrails_hold(Kind::Baseline)),
    },
    Control {
        id: "bank:org-allowed-regions",
        title: "The Region guardrail is attached to the root as written: outside `allowed_regions` member accounts can use only global services.",
        evidence: "`organizations:ListPoliciesForTarget(root)`; `DescribePolicy` → `Content`",
        judge: |o| Some(o.guardrails_hold(Kind::Regions)),
    },
    Control {
        id: "bank:org-ai-opt-out",
        title: "The AI services opt-out policy is attached to the root: no AWS AI service stores or uses the organization's content, and no account may opt back in (false when `ai_services_opt_out = false`).",
        evidence: "`organizations:ListPoliciesForTarget(root, AISERVICES_OPT_OUT_POLICY)`; `DescribePolicy` → `Content`",
        judge: |o| Some(o.guardrails_hold(Kind::AiOptOut)),
    },
    Control {
        id: "bank:org-tag-policy",
        title: "The tag policy naming the platform's tag keys is attached to the root (false when `tag_policy_keys` is empty).",
        evidence: "`organizations:ListPoliciesForTarget(root, TAG_POLICY)`; `DescribePolicy` → `Content`",
        judge: |o| Some(o.guardrails_hold(Kind::TagKeys)),
    },
    Control {
        id: "CIS 2.1.4",
        title: "All features are enabled, every configured OU exists, and every listed account is in its OU.",
        evidence: "`organizations:DescribeOrganization` → `FeatureSet = ALL`; `ListOrganizationalUnitsForParent`; `ListAccountsForParent`",
        judge: |o| Some(o.laid_out()),
    },
    Control {
        id: "CIS 2.1.1",
        title: "Centralized root access: member accounts' root credentials are managed (and root sessions taken) from the organization (left out where the endpoint has no such API).",
        evidence: "`iam:ListOrganizationsFeatures` → `RootCredentialsManagement`, `RootSessions`; `organizations:ListAWSServiceAccessForOrganization` ∋ `iam.amazonaws.com`",
        judge: |o| o.root_access.map(|on| on && o.services.contains("iam.amazonaws.com")),
    },
    delegated!(
        "bank:delegated-guardduty",
        Delegation::GuardDuty,
        "GuardDuty is administered from the security account in every allowed Region (CIS 2.1.6); false when no `security_account_id` is set.",
        "`guardduty:ListOrganizationAdminAccounts` → `AdminAccountId`, in each allowed Region"
    ),
    delegated!(
        "bank:delegated-securityhub",
        Delegation::SecurityHub,
        "Security Hub is administered from the security account in every allowed Region (CIS 2.1.6; left out where the endpoint cannot say).",
        "`securityhub:ListOrganizationAdminAccounts` → `AccountId`, `Status = ENABLED`, in each allowed Region"
    ),
    delegated!(
        "bank:delegated-config",
        Delegation::Config,
        "AWS Config (aggregators, organization rules and packs) is administered from the security account (CIS 2.1.6; left out where the endpoint cannot say).",
        "`organizations:ListDelegatedAdministrators` for `config.amazonaws.com` and `config-multiaccountsetup.amazonaws.com`"
    ),
    delegated!(
        "bank:delegated-access-analyzer",
        Delegation::AccessAnalyzer,
        "IAM Access Analyzer is administered from the security account (an organization zone of trust; CIS 2.1.6).",
        "`organizations:ListDelegatedAdministrators` for `access-analyzer.amazonaws.com`"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_leaves_give_the_tree_back() {
        let ous: Vec<String> = DEFAULT_OUS.iter().map(|s| s.to_string()).collect();
        let all = with_parents(&ous);
        assert_eq!(all.len(), 7);
        assert!(
            all.iter().position(|p| p == "Workloads")
                < all.iter().position(|p| p == "Workloads/Prod")
        );
        let set: BTreeSet<String> = all.into_iter().collect();
        assert_eq!(leaves(&set), ous);
        let set: BTreeSet<String> = ["A".to_string(), "A/B".into(), "C".into()].into();
        assert_eq!(leaves(&set), ["A/B", "C"]);
    }

    fn judged(security: Option<&str>, admins: Option<&[&str]>) -> BTreeMap<String, bool> {
        let d = Desired::new(
            "bank".into(),
            &["Security".into()],
            BTreeMap::new(),
            security.map(str::to_string),
            &PolicySettings {
                regions: vec!["eu-west-1".into()],
                exempt_roles: vec![DEFAULT_EXEMPT_ROLE.into()],
                ai_opt_out: true,
                tag_keys: vec!["owner".into()],
            },
            BTreeMap::new(),
        );
        let mut o = Observed {
            all_features: true,
            policy_types: guardrails::POLICY_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
            ous: [("Security".to_string(), "ou-1".to_string())].into(),
            ..Observed::default()
        };
        for g in &d.guardrails {
            o.policies.insert(
                g.name.clone(),
                Policy {
                    id: "p".into(),
                    content: g.content(),
                },
            );
        }
        for s in DELEGATIONS {
            o.delegated.insert(
                *s,
                admins.map(|a| a.iter().map(|x| x.to_string()).collect()),
            );
        }
        o.wanted = Some(d);
        crate::resources::kit::controls::evaluate(CONTROLS, &o)
    }

    #[test]
    fn what_the_endpoint_cannot_show_is_left_out_and_a_missing_security_account_is_false() {
        let all = judged(Some("210000000001"), Some(&["210000000001"]));
        assert!(all.values().all(|v| *v), "{all:?}");
        // No root-access API: CIS 2.1.1 is left out.
        assert!(!all.contains_key("CIS 2.1.1"));
        let unknown = judged(Some("210000000001"), None);
        assert!(!unknown.contains_key("bank:delegated-config"));
        let none = judged(None, None);
        assert_eq!(none.get("bank:delegated-guardduty"), Some(&false));
        let other = judged(Some("210000000001"), Some(&["210000000002"]));
        assert_eq!(other.get("bank:delegated-access-analyzer"), Some(&false));
    }
}
