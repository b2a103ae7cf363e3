//! The organization's children, read and written through Organizations, GuardDuty,
//! Security Hub and IAM: the root and its tags, the OU tree, the guardrail SCPs,
//! trusted service access, delegated administrators, account placement.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::types::{self as org, PolicyType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::join_all;

use crate::aws::{error_code, error_message, Clients};
use crate::resources::kit::calls::{few_retries, probing, unsupported};

use super::guardrails::POLICY_TYPES;
use super::organization_model::{Delegation, Observed, Policy, DELEGATIONS};

/// The OU tree's depth limit (AWS: five levels below the root).
pub(crate) const MAX_DEPTH: usize = 5;
/// The tag naming the organization resource that made an OU, a policy, or the
/// organization itself (on its root).
pub(crate) const IDENTITY_TAG: &str = "bankplatform:organization";
/// On the root: this resource created the organization (so destroy may delete it).
pub(crate) const MADE_TAG: &str = "bankplatform:made-organization";

/// An endpoint that does not know a service principal AWS documents (the emulator
/// lacks `iam.amazonaws.com`, `config.amazonaws.com` and Security Hub among its
/// delegated services): requested, left out of `compliance`, never claimed.
pub(crate) fn lacks_principal<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E, HttpResponse>,
) -> bool {
    unsupported(e)
        || (error_code(e) == Some("InvalidInputException")
            && error_message(e).contains("unrecognized service principal"))
}

fn err<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
) -> impl Fn(SdkError<E, HttpResponse>) -> String + '_ {
    move |e| format!("{what}: {}", error_message(&e))
}

pub(crate) fn tag(k: &str, v: &str) -> org::Tag {
    org::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .expect("key and value set")
}

/// The organization this account manages: `(id, all features, management account)`,
/// or `None` when it is in none.
pub(crate) async fn organization(c: &Clients) -> Result<Option<(String, bool, String)>, String> {
    match c.organizations.describe_organization().send().await {
        Ok(o) => Ok(o.organization().map(|o| {
            (
                o.id().unwrap_or_default().to_string(),
                o.feature_set().map(|f| f.as_str()) == Some("ALL"),
                o.master_account_id().unwrap_or_default().to_string(),
            )
        })),
        Err(e) if error_code(&e) == Some("AWSOrganizationsNotInUseException") => Ok(None),
        Err(e) => Err(format!("reading the organization: {}", error_message(&e))),
    }
}

/// The root: `(id, the policy types enabled on it)`.
pub(crate) async fn root(c: &Clients) -> Result<(String, BTreeSet<String>), String> {
    let out = c
        .organizations
        .list_roots()
        .send()
        .await
        .map_err(err("listing the organization's roots"))?;
    let r = out.roots().first().ok_or("the organization has no root")?;
    let enabled = r
        .policy_types()
        .iter()
        .filter(|p| p.status().map(|s| s.as_str()) == Some("ENABLED"))
        .filter_map(|p| p.r#type().map(|t| t.as_str().to_string()))
        .collect();
    Ok((r.id().unwrap_or_default().to_string(), enabled))
}

pub(crate) async fn tags_of(c: &Clients, id: &str) -> Result<BTreeMap<String, String>, String> {
    let out = c
        .organizations
        .list_tags_for_resource()
        .resource_id(id)
        .send()
        .await
        .map_err(err(&format!("reading the tags of {id}")))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

pub(crate) async fn write_tags(
    c: &Clients,
    id: &str,
    tags: Vec<(String, String)>,
) -> Result<(), String> {
    c.organizations
        .tag_resource()
        .resource_id(id)
        .set_tags(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
        .send()
        .await
        .map(|_| ())
        .map_err(err(&format!("tagging {id}")))
}

pub(crate) async fn remove_tags(c: &Clients, id: &str, keys: Vec<String>) -> Result<(), String> {
    c.organizations
        .untag_resource()
        .resource_id(id)
        .set_tag_keys(Some(keys))
        .send()
        .await
        .map(|_| ())
        .map_err(err(&format!("untagging {id}")))
}

/// The OUs directly below `parent`: `(name, id)`.
pub(crate) async fn children(c: &Clients, parent: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .organizations
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(err(&format!("listing the OUs below {parent}")))?;
        out.extend(page.organizational_units().iter().map(|u| {
            (
                u.name().unwrap_or_default().to_string(),
                u.id().unwrap_or_default().to_string(),
            )
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Every OU below the root, by path (`Workloads/Prod`), level by level.
pub(crate) async fn tree(c: &Clients, root: &str) -> Result<BTreeMap<String, String>, String> {
    let mut all = BTreeMap::new();
    let mut level: Vec<(String, String)> = vec![(String::new(), root.to_string())];
    for _ in 0..MAX_DEPTH {
        if level.is_empty() {
            break;
        }
        let found = join_all(level.iter().map(|(_, id)| children(c, id))).await;
        let mut next = Vec::new();
        for ((path, _), kids) in level.iter().zip(found) {
            for (name, id) in kids? {
                let p = if path.is_empty() {
                    name
                } else {
                    format!("{path}/{name}")
                };
                all.insert(p.clone(), id.clone());
                next.push((p, id));
            }
        }
        level = next;
    }
    Ok(all)
}

/// The accounts directly in each of `ous`: account id → path.
pub(crate) async fn placements(
    c: &Clients,
    ous: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let found = join_all(ous.iter().map(|(path, id)| async move {
        let out = c
            .organizations
            .list_accounts_for_parent()
            .parent_id(id)
            .send()
            .await
            .map_err(err(&format!("listing the accounts of OU {path}")))?;
        Ok::<_, String>(
            out.accounts()
                .iter()
                .filter_map(|a| a.id().map(|id| (id.to_string(), path.clone())))
                .collect::<Vec<_>>(),
        )
    }))
    .await;
    let mut m = BTreeMap::new();
    for f in found {
        m.extend(f?);
    }
    Ok(m)
}

/// The customer-managed SCPs attached to `target`, by name.
pub(crate) async fn attached(
    c: &Clients,
    target: &str,
) -> Result<BTreeMap<String, Policy>, String> {
    let lists = join_all(POLICY_TYPES.iter().map(|t| {
        c.organizations
            .list_policies_for_target()
            .target_id(target)
            .filter(PolicyType::from(*t))
            .send()
    }))
    .await;
    let mut ours: Vec<(String, String)> = Vec::new();
    for (t, out) in POLICY_TYPES.iter().zip(lists) {
        let out = match out {
            Ok(o) => o,
            // A policy type never enabled has nothing attached.
            Err(e) if error_code(&e) == Some("PolicyTypeNotEnabledException") => continue,
            Err(e) => {
                return Err(format!(
                    "listing the root's {t} policies: {}",
                    error_message(&e)
                ))
            }
        };
        ours.extend(
            out.policies()
                .iter()
                .filter(|p| !p.aws_managed())
                .filter_map(|p| Some((p.name()?.to_string(), p.id()?.to_string()))),
        );
    }
    let docs = join_all(ours.iter().map(|(name, id)| async move {
        c.organizations
            .describe_policy()
            .policy_id(id)
            .send()
            .await
            .map(|d| {
                d.policy()
                    .and_then(|p| p.content())
                    .unwrap_or_default()
                    .to_string()
            })
            .map_err(err(&format!("reading policy {name}")))
    }))
    .await;
    let mut m = BTreeMap::new();
    for ((name, id), doc) in ours.into_iter().zip(docs) {
        m.insert(name, Policy { id, content: doc? });
    }
    Ok(m)
}

/// Every customer-managed policy of the organization of the guardrails' types,
/// attached or not: name → id.
pub(crate) async fn policies(c: &Clients) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for t in POLICY_TYPES {
        let mut token: Option<String> = None;
        loop {
            let page = c
                .organizations
                .list_policies()
                .filter(PolicyType::from(*t))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(err(&format!("listing the organization's {t} policies")))?;
            out.extend(
                page.policies()
                    .iter()
                    .filter(|p| !p.aws_managed())
                    .filter_map(|p| Some((p.name()?.to_string(), p.id()?.to_string()))),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

/// Trusted service access: the enabled principals.
pub(crate) async fn services(c: &Clients) -> Result<BTreeSet<String>, String> {
    let out = c
        .organizations
        .list_aws_service_access_for_organization()
        .send()
        .await
        .map_err(err("reading trusted service access"))?;
    Ok(out
        .enabled_service_principals()
        .iter()
        .filter_map(|s| s.service_principal().map(str::to_string))
        .collect())
}

/// GuardDuty's delegated administrators in the clients' Region.
pub(crate) async fn guardduty_admins(c: &Clients) -> Result<Option<BTreeSet<String>>, String> {
    c.guardduty
        .list_organization_admin_accounts()
        .send()
        .await
        .map(|o| {
            Some(
                o.admin_accounts()
                    .iter()
                    .filter(|a| a.admin_status().map(|s| s.as_str()) != Some("DISABLE_IN_PROGRESS"))
                    .filter_map(|a| a.admin_account_id().map(str::to_string))
                    .collect(),
            )
        })
        .map_err(err(&format!(
            "reading GuardDuty's delegated administrator in {}",
            c.region
        )))
}

/// Security Hub's delegated administrators in the clients' Region; `None` where the
/// endpoint cannot say.
pub(crate) async fn securityhub_admins(c: &Clients) -> Result<Option<BTreeSet<String>>, String> {
    match probing(c, "reading Security Hub's delegated administrator", || {
        c.securityhub
            .list_organization_admin_accounts()
            .customize()
            .config_override(
                aws_sdk_securityhub::config::Builder::new().retry_config(few_retries()),
            )
            .send()
    })
    .await
    {
        Ok(o) => Ok(Some(
            o.admin_accounts()
                .iter()
                .filter(|a| a.status().map(|s| s.as_str()) == Some("ENABLED"))
                .filter_map(|a| a.account_id().map(str::to_string))
                .collect(),
        )),
        Err(e) if lacks_principal(&e) => Ok(None),
        Err(e) => Err(format!(
            "reading Security Hub's delegated administrator in {}: {}",
            c.region,
            error_message(&e)
        )),
    }
}

/// The accounts that administer a Regional service (GuardDuty, Security Hub) in every
/// one of `regions`; `None` where the endpoint cannot say for one of them.
async fn admins_everywhere(
    c: &Clients,
    regions: &[String],
    service: Delegation,
) -> Result<Option<BTreeSet<String>>, String> {
    let reads = join_all(regions.iter().map(|r| async move {
        let rc = c.in_region(r);
        match service {
            Delegation::GuardDuty => guardduty_admins(&rc).await,
            _ => securityhub_admins(&rc).await,
        }
    }))
    .await;
    let mut everywhere: Option<BTreeSet<String>> = None;
    for admins in reads {
        let Some(admins) = admins? else {
            return Ok(None);
        };
        everywhere = Some(match everywhere {
            None => admins,
            Some(e) => e.intersection(&admins).cloned().collect(),
        });
    }
    Ok(everywhere)
}

/// Who administers each delegated service: `None` where the endpoint cannot say.
/// GuardDuty and Security Hub are Regional: an account counts when it administers
/// them in every one of `regions` (the organization's allowed Regions).
pub(crate) async fn delegations(
    c: &Clients,
    regions: &[String],
) -> Result<BTreeMap<Delegation, Option<BTreeSet<String>>>, String> {
    let reads = join_all(DELEGATIONS.iter().map(|d| async move {
        let r: Result<Option<BTreeSet<String>>, String> = match d {
            Delegation::GuardDuty | Delegation::SecurityHub => {
                admins_everywhere(c, regions, *d).await
            }
            Delegation::Config | Delegation::AccessAnalyzer => {
                let mut admins: Option<BTreeSet<String>> = None;
                for p in d.principals() {
                    let ids = match c
                        .organizations
                        .list_delegated_administrators()
                        .service_principal(*p)
                        .send()
                        .await
                    {
                        Ok(o) => o
                            .delegated_administrators()
                            .iter()
                            .filter_map(|a| a.id().map(str::to_string))
                            .collect::<BTreeSet<_>>(),
                        Err(e) if lacks_principal(&e) => return (d, Ok(None)),
                        Err(e) => {
                            return (
                                d,
                                Err(format!(
                                    "reading the delegated administrators of {p}: {}",
                                    error_message(&e)
                                )),
                            )
                        }
                    };
                    // An account counts when it administers every principal of the service.
                    admins = Some(match admins {
                        None => ids,
                        Some(a) => a.intersection(&ids).cloned().collect(),
                    });
                }
                Ok(admins)
            }
        };
        (d, r)
    }))
    .await;
    let mut m = BTreeMap::new();
    for (d, r) in reads {
        m.insert(*d, r?);
    }
    Ok(m)
}

/// Centralized root access (IAM's organization features): `None` where the endpoint
/// has no such API.
pub(crate) async fn root_access(c: &Clients) -> Result<Option<bool>, String> {
    match probing(c, "reading IAM's organization features", || {
        c.iam
            .list_organizations_features()
            .customize()
            .config_override(aws_sdk_iam::config::Builder::new().retry_config(few_retries()))
            .send()
    })
    .await
    {
        Ok(o) => {
            let f: Vec<&str> = o.enabled_features().iter().map(|f| f.as_str()).collect();
            Ok(Some(
                f.contains(&"RootCredentialsManagement") && f.contains(&"RootSessions"),
            ))
        }
        Err(e) if unsupported(&e) || error_code(&e) == Some("ServiceAccessNotEnabledException") => {
            Ok(if unsupported(&e) { None } else { Some(false) })
        }
        Err(e) => Err(format!(
            "reading IAM's organization features: {}",
            error_message(&e)
        )),
    }
}

/// Everything the resource judges, read concurrently; `None` when `id` is not this
/// account's organization any more.
pub(crate) async fn observe(
    c: &Clients,
    id: &str,
    regions: &[String],
) -> Result<Option<Observed>, String> {
    let Some((org_id, all_features, management)) = organization(c).await? else {
        return Ok(None);
    };
    if org_id != id {
        return Ok(None);
    }
    let (root_id, policy_types) = root(c).await?;
    let (root_tags, ous, policies, services, delegated, root_access) = tokio::join!(
        tags_of(c, &root_id),
        tree(c, &root_id),
        attached(c, &root_id),
        services(c),
        delegations(c, regions),
        root_access(c),
    );
    let ous = ous?;
    let placed = placements(c, &ous).await?;
    Ok(Some(Observed {
        id: org_id,
        management,
        all_features,
        root_id,
        policy_types,
        root_tags: root_tags?,
        ous,
        placed,
        policies: policies?,
        services: services?,
        delegated: delegated?,
        root_access: root_access?,
        wanted: None,
    }))
}

/// What a destroy needs: the organization, its root and the root's tags, the OU
/// tree, trusted access (`None` when `id` is not this account's organization).
pub(crate) async fn skeleton(c: &Clients, id: &str) -> Result<Option<Observed>, String> {
    let Some((org_id, all_features, management)) = organization(c).await? else {
        return Ok(None);
    };
    if org_id != id {
        return Ok(None);
    }
    let (root_id, policy_types) = root(c).await?;
    let (root_tags, ous, services) =
        tokio::join!(tags_of(c, &root_id), tree(c, &root_id), services(c));
    Ok(Some(Observed {
        id: org_id,
        management,
        all_features,
        root_id,
        policy_types,
        root_tags: root_tags?,
        ous: ous?,
        services: services?,
        ..Observed::default()
    }))
}

/// The account's current parent (root or OU) id.
pub(crate) async fn parent_of(c: &Clients, account: &str) -> Result<String, String> {
    let out = c
        .organizations
        .list_parents()
        .child_id(account)
        .send()
        .await
        .map_err(|e| match error_code(&e) {
            Some("ChildNotFoundException" | "AccountNotFoundException") => format!(
                "account {account} is not a member of this organization: invite it (or create it) before placing it in an OU."
            ),
            _ => format!("reading the parent of account {account}: {}", error_message(&e)),
        })?;
    out.parents()
        .first()
        .and_then(|p| p.id())
        .map(str::to_string)
        .ok_or_else(|| format!("account {account} has no parent"))
}

/// Moves `account` below `to` (nothing when it is there already).
pub(crate) async fn move_account(c: &Clients, account: &str, to: &str) -> Result<(), String> {
    let from = parent_of(c, account).await?;
    if from == to {
        return Ok(());
    }
    match c
        .organizations
        .move_account()
        .account_id(account)
        .source_parent_id(&from)
        .destination_parent_id(to)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("DuplicateAccountException") => Ok(()),
        Err(e) => Err(format!(
            "moving account {account} to {to}: {}",
            error_message(&e)
        )),
    }
}
