//! The spec resolved into Terraform roots: one per (account, region, stack), with stable
//! ids and the dependencies that decide the apply order.
//!
//! Ids are `<account>/<region>/<stack>` and come from names only, never from list
//! positions, so adding an account or environment never renames an existing root (and
//! never moves its state). Which roots exist follows the seed's architecture:
//! - `bootstrap` in the management account, in the state region: the state bucket; first.
//! - `organization` in the management account, primary region: OUs, guardrail SCPs,
//!   the security account as delegated administrator; before the security root.
//! - `log_archive` in the log-archive account: audit, archive and flow-log buckets; the
//!   audit bucket admits only the organization trail.
//! - `audit` in the management account, primary region: the organization trail
//!   (`bankplatform_audit_trail`), after the log archive whose audit bucket it writes to.
//! - `baseline` in every account and every region of the spec: the account baseline
//!   (account-wide settings from the primary region's).
//! - `network` per environment in its primary region, and in its secondary region as
//!   the DR strategy says: nothing for backup & restore, a pilot-light network (two
//!   zones, no NAT) for pilot light, a scaled-down copy (one NAT) for warm standby, a
//!   full copy for multi-region.
//! - `storage` per environment in its primary region: the transaction bucket, replicated
//!   to the secondary region for pilot light and up.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::spec::{DrStrategy, Role, Spec};

/// What a root holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stack {
    /// The state bucket.
    Bootstrap,
    /// The organization (management account): OUs, guardrail SCPs, trusted access,
    /// the security account as delegated administrator, accounts placed in OUs.
    Organization,
    /// Audit, archive and flow-log buckets.
    LogArchive,
    /// The organization trail (management account), writing to the log archive's
    /// audit bucket.
    Audit,
    /// The security account's view across the platform: the Config aggregator over
    /// every account and region of the spec.
    Security,
    /// One account's baseline in one region (`bankplatform_account_baseline`).
    Baseline {
        /// Whether it owns the account-wide settings (the primary region's does).
        account_wide: bool,
    },
    /// One environment's VPC in one region.
    Network {
        /// The environment.
        environment: String,
        /// Whether this is the DR copy in the secondary region.
        secondary: bool,
        /// The VPC CIDR.
        #[serde(serialize_with = "ser_display")]
        cidr: Ipv4Net,
        /// Availability zones.
        az_count: u32,
        /// NAT layout.
        nat_gateway_strategy: String,
    },
    /// One environment's transaction bucket.
    Storage {
        /// The environment.
        environment: String,
        /// The region replicas go to, if any.
        replica_region: Option<String>,
    },
}

fn ser_display<S: serde::Serializer>(v: &Ipv4Net, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Stack {
    /// The directory name of the root, and the last part of its id.
    pub fn dir_name(&self) -> &'static str {
        match self {
            Stack::Bootstrap => "bootstrap",
            Stack::Organization => "organization",
            Stack::LogArchive => "log_archive",
            Stack::Audit => "audit",
            Stack::Security => "security",
            Stack::Baseline { .. } => "baseline",
            Stack::Network { .. } => "network",
            Stack::Storage { .. } => "storage",
        }
    }

    /// The modules (directory names under the modules directory) the root calls.
    pub fn modules(&self) -> &'static [&'static str] {
        match self {
            Stack::Bootstrap => &["state_backend"],
            Stack::Organization => &["organization"],
            Stack::LogArchive | Stack::Storage { .. } => &["storage"],
            Stack::Audit => &["audit_trail"],
            Stack::Security => &["config_aggregator", "alarm_topic"],
            Stack::Baseline { .. } => &["account_baseline", "config_recorder", "threat_detection"],
            Stack::Network { .. } => &["network"],
        }
    }

    /// The environment the root belongs to, if any.
    pub fn environment(&self) -> Option<&str> {
        match self {
            Stack::Network { environment, .. } | Stack::Storage { environment, .. } => {
                Some(environment)
            }
            Stack::Bootstrap
            | Stack::Organization
            | Stack::LogArchive
            | Stack::Audit
            | Stack::Security
            | Stack::Baseline { .. } => None,
        }
    }
}

/// One Terraform root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// `<account>/<region>/<stack>`: also its directory under `live/`.
    pub id: String,
    /// Account name.
    pub account: String,
    /// Region.
    pub region: String,
    /// What it holds.
    #[serde(flatten)]
    pub stack: Stack,
    /// Ids of the roots it reads through `terraform_remote_state` or needs applied first.
    pub depends_on: Vec<String>,
}

/// Every root, in apply order.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The spec it came from.
    pub spec: Spec,
    /// Roots in dependency order (ties broken by id).
    pub units: Vec<Unit>,
    /// Position of each root in `units`, by id.
    index: BTreeMap<String, usize>,
}

impl Layout {
    /// The root with `id`.
    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.index.get(id).map(|&i| &self.units[i])
    }

    /// The roots that depend on each root, by id (in apply order).
    pub fn dependents(&self) -> BTreeMap<&str, Vec<&Unit>> {
        let mut out: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
        for u in &self.units {
            for d in &u.depends_on {
                out.entry(d.as_str()).or_default().push(u);
            }
        }
        out
    }

    /// The roots of each account, by account name (in apply order).
    pub fn by_account(&self) -> BTreeMap<&str, Vec<&Unit>> {
        let mut out: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
        for u in &self.units {
            out.entry(u.account.as_str()).or_default().push(u);
        }
        out
    }

    /// The roots in waves: a root's wave is one more than the latest wave of the roots
    /// it depends on, so every root of a wave can be applied in parallel once the waves
    /// before it are done. Within a wave, apply order.
    pub fn waves(&self) -> Vec<Vec<&Unit>> {
        let mut wave_of: BTreeMap<&str, usize> = BTreeMap::new();
        let mut waves: Vec<Vec<&Unit>> = Vec::new();
        // `units` is in dependency order, so every dependency is placed first.
        for u in &self.units {
            let w = u
                .depends_on
                .iter()
                .filter_map(|d| wave_of.get(d.as_str()))
                .map(|w| w + 1)
                .max()
                .unwrap_or(0);
            wave_of.insert(&u.id, w);
            if waves.len() <= w {
                waves.resize_with(w + 1, Vec::new);
            }
            waves[w].push(u);
        }
        waves
    }

    /// Whether applying `u` waits for an approval: its account hosts a protected
    /// environment, or is the management, security or log-archive account.
    pub fn protected(&self, u: &Unit) -> bool {
        self.protected_account(&u.account)
    }

    /// Whether applies to `account` wait for an approval: the management, security and
    /// log-archive accounts, and the accounts of protected environments.
    pub fn protected_account(&self, account: &str) -> bool {
        let spec = &self.spec;
        let role = spec.accounts.get(account).map(|a| a.role);
        matches!(
            role,
            Some(Role::Management | Role::Security | Role::LogArchive)
        ) || spec
            .pipelines
            .protected_environments
            .iter()
            .filter_map(|e| spec.environments.get(e))
            .any(|e| e.account == account)
    }
}

fn unit_id(account: &str, region: &str, stack: &str) -> String {
    format!("{account}/{region}/{stack}")
}

/// Resolves `spec` into roots.
pub fn resolve(spec: &Spec) -> Layout {
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let mgmt = spec
        .account_with_role(Role::Management)
        .expect("the spec has a management account");
    let bootstrap = unit_id(&mgmt.name, &spec.state_region, "bootstrap");
    units.insert(
        bootstrap.clone(),
        Unit {
            id: bootstrap.clone(),
            account: mgmt.name.clone(),
            region: spec.state_region.clone(),
            stack: Stack::Bootstrap,
            depends_on: vec![],
        },
    );
    // The organization: its OUs, guardrails and delegated administration.
    let organization = unit_id(&mgmt.name, &spec.primary_region, "organization");
    units.insert(
        organization.clone(),
        Unit {
            id: organization.clone(),
            account: mgmt.name.clone(),
            region: spec.primary_region.clone(),
            stack: Stack::Organization,
            depends_on: vec![bootstrap.clone()],
        },
    );
    let mut log_archive = None;
    if spec.features.log_archive {
        let acct = spec
            .account_with_role(Role::LogArchive)
            .expect("the spec has a log-archive account");
        let id = unit_id(&acct.name, &spec.primary_region, "log_archive");
        units.insert(
            id.clone(),
            Unit {
                id: id.clone(),
                account: acct.name.clone(),
                region: spec.primary_region.clone(),
                stack: Stack::LogArchive,
                depends_on: vec![bootstrap.clone()],
            },
        );
        // The organization trail: every API call of every account, into the audit
        // bucket of the log archive, from the management account.
        let audit = unit_id(&mgmt.name, &spec.primary_region, "audit");
        units.insert(
            audit.clone(),
            Unit {
                id: audit,
                account: mgmt.name.clone(),
                region: spec.primary_region.clone(),
                stack: Stack::Audit,
                depends_on: vec![bootstrap.clone(), id.clone()],
            },
        );
        log_archive = Some(id);
    }
    // The security account's view across the platform (one Config aggregator), in
    // the primary region.
    if let Some(acct) = spec.account_with_role(Role::Security) {
        let id = unit_id(&acct.name, &spec.primary_region, "security");
        units.insert(
            id.clone(),
            Unit {
                id,
                account: acct.name.clone(),
                region: spec.primary_region.clone(),
                stack: Stack::Security,
                // The security account administers the security services once the
                // organization delegates them.
                depends_on: vec![bootstrap.clone(), organization.clone()],
            },
        );
    }
    // Every account, in every region of the spec: its baseline (password policy, EBS
    // encryption, S3 account block, Access Analyzer); account-wide settings from the
    // primary region's.
    let regions: Vec<(&String, bool)> = std::iter::once((&spec.primary_region, true))
        .chain(spec.secondary_region.iter().map(|r| (r, false)))
        .collect();
    for acct in spec.accounts.values() {
        for (region, account_wide) in &regions {
            let id = unit_id(&acct.name, region, "baseline");
            units.insert(
                id.clone(),
                Unit {
                    id,
                    account: acct.name.clone(),
                    region: (*region).clone(),
                    stack: Stack::Baseline {
                        account_wide: *account_wide,
                    },
                    // Config delivers into the log archive's Config bucket. (The
                    // authorization of the security account's aggregator needs only
                    // the spec, not that root.)
                    // The security account's home-region detector administers the
                    // organization once the organization delegates to it.
                    depends_on: std::iter::once(bootstrap.clone())
                        .chain(log_archive.clone())
                        .chain(
                            (acct.role == Role::Security && *account_wide)
                                .then(|| organization.clone()),
                        )
                        .collect(),
                },
            );
        }
    }
    let network_deps = |bootstrap: &String| {
        let mut deps = vec![bootstrap.clone()];
        if spec.features.central_flow_logs {
            deps.extend(log_archive.clone());
        }
        deps
    };
    for env in spec.environments.values() {
        let id = unit_id(&env.account, &env.region, "network");
        units.insert(
            id.clone(),
            Unit {
                id,
                account: env.account.clone(),
                region: env.region.clone(),
                stack: Stack::Network {
                    environment: env.name.clone(),
                    secondary: false,
                    cidr: env.cidr,
                    az_count: env.az_count,
                    nat_gateway_strategy: env.nat_gateway_strategy.clone(),
                },
                depends_on: network_deps(&bootstrap),
            },
        );
        if let (true, Some(region), Some(cidr)) = (
            env.dr_strategy.needs_secondary(),
            env.secondary_region.as_ref(),
            env.secondary_cidr,
        ) {
            let (az_count, nat) = match env.dr_strategy {
                DrStrategy::PilotLight => (env.az_count.min(2), "none".to_string()),
                DrStrategy::WarmStandby => (env.az_count, "single".to_string()),
                _ => (env.az_count, env.nat_gateway_strategy.clone()),
            };
            let id = unit_id(&env.account, region, "network");
            units.insert(
                id.clone(),
                Unit {
                    id,
                    account: env.account.clone(),
                    region: region.clone(),
                    stack: Stack::Network {
                        environment: env.name.clone(),
                        secondary: true,
                        cidr,
                        az_count,
                        nat_gateway_strategy: nat,
                    },
                    depends_on: network_deps(&bootstrap),
                },
            );
        }
        let replica_region = if spec.features.replicate_storage && env.dr_strategy.needs_secondary()
        {
            env.secondary_region.clone()
        } else {
            None
        };
        let id = unit_id(&env.account, &env.region, "storage");
        units.insert(
            id.clone(),
            Unit {
                id,
                account: env.account.clone(),
                region: env.region.clone(),
                stack: Stack::Storage {
                    environment: env.name.clone(),
                    replica_region,
                },
                depends_on: vec![bootstrap.clone()],
            },
        );
    }
    let units = topo_sort(units);
    let index = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.clone(), i))
        .collect();
    Layout {
        spec: spec.clone(),
        units,
        index,
    }
}

/// Kahn's algorithm, always taking the smallest ready id, so the order is stable.
fn topo_sort(mut units: BTreeMap<String, Unit>) -> Vec<Unit> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(units.len());
    while !units.is_empty() {
        let ready: Vec<String> = units
            .values()
            .filter(|u| u.depends_on.iter().all(|d| done.contains(d)))
            .map(|u| u.id.clone())
            .collect();
        assert!(!ready.is_empty(), "cycle among roots: {:?}", units.keys());
        // Taking every ready root of this wave in id order keeps the run linear in waves.
        for id in ready {
            let unit = units.remove(&id).expect("ready ids come from the map");
            done.insert(id);
            out.push(unit);
        }
    }
    out
}
