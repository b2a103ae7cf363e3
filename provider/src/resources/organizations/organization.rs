//! `bankplatform_organization`: the management account's organization, laid out
//! for a bank. All features; OUs by environment and sensitivity; the guardrail SCPs
//! on the root; trusted access for the security services; GuardDuty, Security Hub,
//! Config and Access Analyzer administered from the security account; listed
//! accounts placed in their OUs; centralized root access.
//!
//! The organization is the root of the composite. Its root (`r-…`) carries the
//! composite's identity and lifecycle marker as tags, written right after the
//! organization is created (CreateOrganization takes no tags); an organization with
//! nothing in it and no marker is what a create killed in between leaves, and is
//! continued. OUs and policies carry the identity from their create call. Destroy
//! removes everything the resource made, and the organization itself when this
//! resource created it and no member account is left (AWS deletes only an empty
//! organization).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};
use futures::future::join_all;

use crate::aws::{error_code, error_message, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::Diagnostics;
use crate::resources::kit::calls::{
    create_once, few_retries, no_retries, probing, unsupported, GoneIsDone,
};
use crate::resources::kit::composite::{done, imported, Composite, Failures, PlanRequest};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kit::schema::{check_account_id, check_regions, target_block};
use crate::resources::kit::tags;
use crate::value::{AttrPath, Type, Value};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::guardrails::{self, MAX_POLICY_CHARS};
use super::org_api::{self as api, lacks_principal, tag, IDENTITY_TAG, MADE_TAG, MAX_DEPTH};
use super::organization_model::{
    leaves, Delegation, Desired, Observed, PolicySettings, CONTROLS, DEFAULT_EXEMPT_ROLE,
    DEFAULT_OUS, DEFAULT_TAG_KEYS, DELEGATIONS, TRUSTED_SERVICES,
};

/// The resource type.
pub struct Organization {
    schema: Schema,
}

impl Default for Organization {
    fn default() -> Self {
        Self::new()
    }
}

/// The Regions a state or plan allows (where GuardDuty and Security Hub are
/// delegated); the clients' Region when it names none.
fn regions_of(v: &Value, c: &Clients) -> Vec<String> {
    let regions = strings(v.get("allowed_regions"));
    if regions.is_empty() {
        vec![c.region.clone()]
    } else {
        regions
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.string_list()
}

fn list(items: &[String]) -> Value {
    Value::List(items.iter().map(Value::string).collect())
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_map()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

/// An OU name: 1 to 128 characters, no `/` (it separates path levels).
fn ou_name_ok(n: &str) -> bool {
    !n.is_empty() && n.len() <= 128 && n.trim() == n && !n.chars().any(char::is_control)
}

impl Organization {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let strings_t = || Type::list(Type::String);
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The organization id (`o-…`)."),
            Attribute::string("name").default(Value::string("bankplatform")).requires_replace()
                .describe("Names the guardrail policies (`<name>-protect-baseline`, `<name>-deny-root-and-leaving`, `<name>-allowed-regions`) and tags what this resource makes (`bankplatform:organization = <name>`)."),
            Attribute::typed("organizational_units", strings_t())
                .default(list(&DEFAULT_OUS.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
                .describe("OUs as paths below the root (`Workloads/Prod`); parents are made too. Up to five levels."),
            Attribute::typed("accounts", Type::map(Type::String)).optional()
                .describe("Member accounts to place: account id → OU path (one of `organizational_units` or a parent of one). Each must already be a member of the organization; destroy moves them back to the root."),
            Attribute::string("security_account_id").optional()
                .describe("The security account: delegated administrator of GuardDuty and Security Hub in every Region of `allowed_regions` (a Region dropped from the list loses its delegation), and of Config and IAM Access Analyzer (organization-wide). Must be a member. Without it, the `bank:delegated-*` controls read false."),
            Attribute::typed("allowed_regions", strings_t()).optional().computed()
                .describe("Regions member accounts may act in (global services excepted), and where GuardDuty and Security Hub are delegated to `security_account_id`. Defaults to the resource's Region, shown in the plan: add the DR Region explicitly."),
            Attribute::typed("exempt_role_names", strings_t())
                .default(list(&[DEFAULT_EXEMPT_ROLE.to_string()]))
                .describe("Roles (in any member account) the baseline and Region guardrails let through: the pipelines' deploy role and a break-glass role. Never the root user."),
            Attribute::bool("ai_services_opt_out").default(Value::Bool(true))
                .describe("Attach an AI services opt-out policy to the root: no AWS AI service stores or uses the organization's content to improve itself, and no account may opt back in. `false` reads `bank:org-ai-opt-out` false."),
            Attribute::typed("tag_policy_keys", strings_t())
                .default(list(&DEFAULT_TAG_KEYS.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
                .describe("Tag keys a tag policy on the root names, so that every account writes them one way (reported, not enforced). Empty: no tag policy, and `bank:org-tag-policy` reads false."),
            Attribute::string("root_id").computed().use_state_for_unknown().describe("The organization's root (`r-…`)."),
            Attribute::string("management_account_id").computed().use_state_for_unknown().describe("The management account."),
            Attribute::typed("organizational_unit_ids", Type::map(Type::String)).computed()
                .describe("OU path → OU id, for every configured OU and its parents."),
            Attribute::typed("guardrail_policy_ids", Type::map(Type::String)).computed()
                .describe("Guardrail policy name → SCP id."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags for the root, the OUs and the policies; merged over `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("`default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls). Controls the endpoint cannot show are left out, never reported as holding."),
        ];
        Organization {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "The management account's AWS Organization, laid out for a bank: all features, OUs by environment and sensitivity, guardrail SCPs on the root (the security baseline cannot be turned off, no root user, no leaving, allowed Regions only), trusted access and delegated administration of GuardDuty, Security Hub, Config and Access Analyzer to the security account, accounts placed in their OUs, centralized root access; with a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("organization")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(&o.id));
        s.set_attr("root_id", Value::string(&o.root_id));
        s.set_attr("management_account_id", Value::string(&o.management));
        let wanted = self.desired(base).ok();
        let ous: BTreeMap<String, String> = match &wanted {
            Some(d) => d
                .ous
                .iter()
                .filter_map(|p| o.ous.get(p).map(|id| (p.clone(), id.clone())))
                .collect(),
            None => o.ous.clone(),
        };
        s.set_attr("organizational_unit_ids", Value::string_map(ous));
        let ids: BTreeMap<String, String> = match &wanted {
            Some(d) => d
                .guardrails
                .iter()
                .filter_map(|g| {
                    o.policies
                        .get(&g.name)
                        .map(|p| (g.name.clone(), p.id.clone()))
                })
                .collect(),
            None => BTreeMap::new(),
        };
        s.set_attr("guardrail_policy_ids", Value::string_map(ids));
        s.set_attr("tags_all", tags::own(&o.root_tags));
        let mut judged = o.clone();
        judged.wanted = wanted;
        s.set_attr("compliance", controls::value(CONTROLS, &judged));
        s
    }

    /// The organization this account manages, if a create of this composite may
    /// continue from it: one marked `creating` with this identity, or one with no
    /// marker and nothing in it (a create killed before its marker was written).
    /// Returns its id and whether it already carries the marker.
    async fn unfinished(&self, c: &Clients, name: &str) -> Result<Option<(String, bool)>, String> {
        let Some((id, _, _)) = api::organization(c).await? else {
            return Ok(None);
        };
        let (root, _) = api::root(c).await?;
        let t = api::tags_of(c, &root).await?;
        let marker = t.get(LIFECYCLE_TAG).map(String::as_str);
        let owner = t.get(IDENTITY_TAG).map(String::as_str);
        let import =
            format!("Import it (terraform import <address> {id}) to manage it with this resource.");
        match (claim(marker), owner) {
            (Claim::Adopt, Some(o)) if o == name => Ok(Some((id, true))),
            (_, Some(o)) => Err(format!(
                "This account already manages organization {id}, made by bankplatform_organization \"{o}\"; an account manages one organization. {import}"
            )),
            (_, None) => {
                let (ous, policies, accounts) = tokio::join!(
                    api::children(c, &root),
                    api::policies(c),
                    c.organizations.list_accounts().send()
                );
                let members = accounts
                    .map_err(|e| format!("listing the organization's accounts: {}", error_message(&e)))?
                    .accounts()
                    .len();
                if ous?.is_empty() && policies?.is_empty() && members <= 1 {
                    Ok(Some((id, false)))
                } else {
                    Err(format!(
                        "This account already manages organization {id}, not made by this resource. {import}"
                    ))
                }
            }
        }
    }
}

/// The root's tags that make the organization this composite's (made by it, its
/// create under way).
/// Returns the root and the tags written.
async fn write_marker(
    c: &Clients,
    d: &Desired,
) -> Result<(String, BTreeMap<String, String>), String> {
    let (root, _) = api::root(c).await?;
    let mut t = d.tags_all.clone();
    t.insert(IDENTITY_TAG.into(), d.name.clone());
    t.insert(MADE_TAG.into(), "true".into());
    t.insert(LIFECYCLE_TAG.into(), CREATING.into());
    api::write_tags(c, &root, t.clone().into_iter().collect()).await?;
    Ok((root, t))
}

/// Creates the OUs of `d` that `have` lacks, level by level (each level
/// concurrently); `have` gains their ids.
async fn ensure_ous(
    c: &Clients,
    root: &str,
    d: &Desired,
    have: &mut BTreeMap<String, String>,
) -> Failures {
    let mut failures = Vec::new();
    let mut identity = d.tags_all.clone();
    identity.insert(IDENTITY_TAG.into(), d.name.clone());
    let tags: Vec<_> = identity.iter().map(|(k, v)| tag(k, v)).collect();
    for depth in 0..MAX_DEPTH {
        let missing: Vec<&String> = d
            .ous
            .iter()
            .filter(|p| p.matches('/').count() == depth && !have.contains_key(*p))
            .collect();
        let made = join_all(missing.iter().map(|path| {
            let (parent, leaf) = match path.rsplit_once('/') {
                Some((parent, leaf)) => (have.get(parent).cloned(), leaf.to_string()),
                None => (Some(root.to_string()), path.to_string()),
            };
            let tags = tags.clone();
            async move {
                let parent = parent.ok_or_else(|| format!("OU {path}: its parent was not made"))?;
                let what = format!("creating OU {path}");
                let id = create_once(
                    c,
                    &what,
                    || async {
                        match c
                            .organizations
                            .create_organizational_unit()
                            .parent_id(&parent)
                            .name(&leaf)
                            .set_tags(Some(tags.clone()))
                            .customize()
                            .config_override(once())
                            .send()
                            .await
                        {
                            Ok(o) => Ok(o
                                .organizational_unit()
                                .and_then(|u| u.id())
                                .map(str::to_string)),
                            // Made by an attempt whose answer was lost: found below.
                            Err(e)
                                if error_code(&e)
                                    == Some("DuplicateOrganizationalUnitException") =>
                            {
                                Ok(None)
                            }
                            Err(e) => Err(e),
                        }
                    },
                    || async {
                        Ok(api::children(c, &parent)
                            .await?
                            .into_iter()
                            .find(|(n, _)| *n == leaf)
                            .map(|(_, id)| id))
                    },
                )
                .await?;
                Ok::<_, String>(((*path).clone(), id))
            }
        }))
        .await;
        for m in made {
            match m {
                Ok((path, id)) => {
                    have.insert(path, id);
                }
                Err(e) => failures.push(e),
            }
        }
    }
    failures
}

/// Each guardrail attached to the root with its document: updated when changed,
/// made (or found by name) when missing.
async fn ensure_guardrails(c: &Clients, o: &Observed, d: &Desired) -> Failures {
    let existing = match o.policies.len() < d.guardrails.len() {
        true => match api::policies(c).await {
            Ok(p) => p,
            Err(e) => return vec![e],
        },
        false => BTreeMap::new(),
    };
    let mut tags = d.tags_all.clone();
    tags.insert(IDENTITY_TAG.into(), d.name.clone());
    let tags: Vec<_> = tags.iter().map(|(k, v)| tag(k, v)).collect();
    let results = join_all(d.guardrails.iter().map(|g| {
        let tags = tags.clone();
        let existing = &existing;
        async move {
            let content = g.content();
            if content.len() > MAX_POLICY_CHARS {
                return Err(format!("guardrail {} is {} characters, over AWS's {MAX_POLICY_CHARS}: allow fewer Regions or exempt fewer roles.", g.name, content.len()));
            }
            if let Some(p) = o.policies.get(&g.name) {
                if !guardrails::holds(&p.content, g) {
                    c.organizations
                        .update_policy()
                        .policy_id(&p.id)
                        .content(&content)
                        .send()
                        .await
                        .map_err(|e| format!("updating SCP {}: {}", g.name, error_message(&e)))?;
                }
                return Ok(());
            }
            let id = match existing.get(&g.name) {
                Some(id) => {
                    // Made earlier but detached (or changed): brought back as written.
                    c.organizations
                        .update_policy()
                        .policy_id(id)
                        .content(&content)
                        .send()
                        .await
                        .map_err(|e| format!("updating SCP {}: {}", g.name, error_message(&e)))?;
                    id.clone()
                }
                None => {
                    create_once(
                        c,
                        &format!("creating SCP {}", g.name),
                        || async {
                            match c
                                .organizations
                                .create_policy()
                                .name(&g.name)
                                .description(g.description)
                                .content(&content)
                                .r#type(PolicyType::from(g.kind.policy_type()))
                                .set_tags(Some(tags.clone()))
                                .customize()
                                .config_override(once())
                                .send()
                                .await
                            {
                                Ok(o) => Ok(o
                                    .policy()
                                    .and_then(|p| p.policy_summary())
                                    .and_then(|s| s.id())
                                    .map(str::to_string)),
                                Err(e) if error_code(&e) == Some("DuplicatePolicyException") => Ok(None),
                                Err(e) => Err(e),
                            }
                        },
                        || async { Ok(api::policies(c).await?.get(&g.name).cloned()) },
                    )
                    .await?
                }
            };
            match c
                .organizations
                .attach_policy()
                .policy_id(&id)
                .target_id(&o.root_id)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if error_code(&e) == Some("DuplicatePolicyAttachmentException") => Ok(()),
                Err(e) => Err(format!("attaching SCP {} to the root: {}", g.name, error_message(&e))),
            }
        }
    }))
    .await;
    results.into_iter().filter_map(Result::err).collect()
}

/// Trusted access for every security service, and centralized root access.
async fn ensure_services(c: &Clients, o: &Observed) -> Failures {
    let mut failures: Failures = join_all(
        TRUSTED_SERVICES
            .iter()
            .filter(|s| !o.services.contains(**s))
            .map(|s| async move {
                match c
                    .organizations
                    .enable_aws_service_access()
                    .service_principal(*s)
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if lacks_principal(&e) => {
                        tracing::warn!(service = s, "the endpoint does not know this service principal: requested, left out of compliance");
                        Ok(())
                    }
                    Err(e) => Err(format!("enabling trusted access for {s}: {}", error_message(&e))),
                }
            }),
    )
    .await
    .into_iter()
    .filter_map(Result::err)
    .collect();
    if o.root_access != Some(true) {
        let (creds, sessions) = tokio::join!(
            probing(c, "enabling centralized root credentials", || c
                .iam
                .enable_organizations_root_credentials_management()
                .customize()
                .config_override(probe_iam())
                .send()),
            probing(c, "enabling centralized root sessions", || c
                .iam
                .enable_organizations_root_sessions()
                .customize()
                .config_override(probe_iam())
                .send()),
        );
        failures.extend(switched("root credentials management", creds));
        failures.extend(switched("root sessions", sessions));
    }
    failures
}

/// One centralized-root-access switch's outcome: the failure to report, if any (an
/// endpoint without the API gets the request and the control is left out).
fn switched<T, E>(what: &str, r: Result<T, SdkError<E, HttpResponse>>) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match r {
        Ok(_) => None,
        Err(e) if unsupported(&e) => {
            tracing::warn!(what, "the endpoint has no centralized root access API: requested, left out of compliance");
            None
        }
        Err(e) if error_code(&e) == Some("EntityAlreadyExists") => None,
        Err(e) => Some(format!(
            "enabling centralized {what}: {}",
            error_message(&e)
        )),
    }
}

fn probe_iam() -> aws_sdk_iam::config::Builder {
    aws_sdk_iam::config::Builder::new().retry_config(few_retries())
}

/// One create attempt, the SDK's retries off (see `create_once`).
fn once() -> aws_sdk_organizations::config::Builder {
    aws_sdk_organizations::config::Builder::new().retry_config(no_retries())
}

/// Makes `account` the administrator of every security service that does not
/// name it yet; of GuardDuty and Security Hub in each of `regions`.
async fn delegate(c: &Clients, o: &Observed, account: &str, regions: &[String]) -> Failures {
    let results = join_all(DELEGATIONS.iter().map(|d| async move {
        if o.delegated.get(d).cloned().flatten().is_some_and(|a| a.contains(account)) {
            return Ok(());
        }
        match d {
            Delegation::GuardDuty | Delegation::SecurityHub => {
                in_each_region(c, regions, |rc| async move { delegate_in(&rc, *d, account).await })
                    .await
            }
            Delegation::Config | Delegation::AccessAnalyzer => {
                for p in d.principals() {
                    match c
                        .organizations
                        .register_delegated_administrator()
                        .account_id(account)
                        .service_principal(*p)
                        .send()
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if error_code(&e) == Some("AccountAlreadyRegisteredException") => {}
                        Err(e) if lacks_principal(&e) => {
                            tracing::warn!(service = p, "the endpoint does not know this service principal: requested, left out of compliance")
                        }
                        Err(e) if error_code(&e) == Some("AccountNotFoundException") => {
                            return Err(format!("security_account_id {account} is not a member of this organization: invite it (or create it) before delegating to it."))
                        }
                        Err(e) => return Err(format!("making {account} the delegated administrator of {p}: {}", error_message(&e))),
                    }
                }
                Ok(())
            }
        }
    }))
    .await;
    results.into_iter().filter_map(Result::err).collect()
}

/// Runs `step` with these clients in each of `regions`, concurrently; every failure
/// is reported (one line each).
async fn in_each_region<F, Fut>(c: &Clients, regions: &[String], step: F) -> Result<(), String>
where
    F: Fn(Clients) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let failed: Failures = join_all(regions.iter().map(|r| step(c.in_region(r))))
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

/// Makes `account` the administrator of a Regional service (GuardDuty, Security Hub)
/// in the clients' Region, unless it is already.
async fn delegate_in(c: &Clients, service: Delegation, account: &str) -> Result<(), String> {
    let admins = match service {
        Delegation::GuardDuty => api::guardduty_admins(c).await?,
        _ => api::securityhub_admins(c).await?,
    };
    if admins.is_some_and(|a| a.contains(account)) {
        return Ok(());
    }
    let region = &c.region;
    match service {
        Delegation::GuardDuty => c
            .guardduty
            .enable_organization_admin_account()
            .admin_account_id(account)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "making {account} GuardDuty's administrator in {region}: {}",
                    error_message(&e)
                )
            }),
        _ => match c
            .securityhub
            .enable_organization_admin_account()
            .admin_account_id(account)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceConflictException") => Ok(()),
            Err(e) => Err(format!(
                "making {account} Security Hub's administrator in {region}: {}",
                error_message(&e)
            )),
        },
    }
}

/// Takes a Regional service's (GuardDuty's, Security Hub's) administration away from
/// `account` in the clients' Region.
async fn undelegate_in(c: &Clients, service: Delegation, account: &str) -> Result<(), String> {
    let region = &c.region;
    match service {
        Delegation::GuardDuty => match c
            .guardduty
            .disable_organization_admin_account()
            .admin_account_id(account)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if unsupported(&e) => {
                tracing::warn!("the endpoint cannot remove GuardDuty's administrator");
                Ok(())
            }
            r => r.map(|_| ()).gone_is_done(&format!(
                "removing {account} as GuardDuty's administrator in {region}"
            )),
        },
        _ => match c
            .securityhub
            .disable_organization_admin_account()
            .admin_account_id(account)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if unsupported(&e) => {
                tracing::warn!("the endpoint cannot remove Security Hub's administrator");
                Ok(())
            }
            r => r.map(|_| ()).gone_is_done(&format!(
                "removing {account} as Security Hub's administrator in {region}"
            )),
        },
    }
}

/// Takes every security service's administration away from `account`; GuardDuty's
/// and Security Hub's in each of `regions`.
async fn undelegate(c: &Clients, account: &str, regions: &[String]) -> Failures {
    let results = join_all(DELEGATIONS.iter().map(|d| async move {
        match d {
            Delegation::GuardDuty | Delegation::SecurityHub => {
                in_each_region(c, regions, |rc| async move {
                    undelegate_in(&rc, *d, account).await
                })
                .await
            }
            Delegation::Config | Delegation::AccessAnalyzer => {
                for p in d.principals() {
                    match c
                        .organizations
                        .deregister_delegated_administrator()
                        .account_id(account)
                        .service_principal(*p)
                        .send()
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if lacks_principal(&e) => {}
                        Err(e)
                            if matches!(
                                error_code(&e),
                                Some("AccountNotRegisteredException" | "AccountNotFoundException")
                            ) => {}
                        Err(e) => {
                            return Err(format!(
                                "removing {account} as the delegated administrator of {p}: {}",
                                error_message(&e)
                            ))
                        }
                    }
                }
                Ok(())
            }
        }
    }))
    .await;
    results.into_iter().filter_map(Result::err).collect()
}

/// Deletes the OUs of `paths` (deepest first), each only when the state records it
/// (`recorded` ids) or it carries this organization's identity (a rollback's plan
/// knows no ids).
async fn remove_ous(
    c: &Clients,
    name: &str,
    ous: &BTreeMap<String, String>,
    paths: &[String],
    recorded: &BTreeSet<String>,
) -> Failures {
    let mut failures = Vec::new();
    for depth in (0..MAX_DEPTH).rev() {
        let level: Vec<(&String, &String)> = ous
            .iter()
            .filter(|(p, _)| p.matches('/').count() == depth && paths.contains(p))
            .collect();
        let results = join_all(level.iter().map(|(path, id)| async move {
            if !recorded.contains(*id) {
                let t = api::tags_of(c, id).await?;
                if t.get(IDENTITY_TAG).map(String::as_str) != Some(name) {
                    return Ok(());
                }
            }
            match c
                .organizations
                .delete_organizational_unit()
                .organizational_unit_id(*id)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if error_code(&e) == Some("OrganizationalUnitNotEmptyException") => Err(format!(
                    "OU {path} still holds accounts or OUs this resource did not place there: move them out, then apply (or destroy) again."
                )),
                r => r.map(|_| ()).gone_is_done(&format!("deleting OU {path}")),
            }
        }))
        .await;
        failures.extend(results.into_iter().filter_map(Result::err));
    }
    failures
}

#[async_trait]
impl Composite for Organization {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_organization";
    const NOUN: &'static str = "organization";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let name = config.get("name");
        if let Some(n) = name.as_str() {
            // SCP names: up to 128 characters; ours add up to 25.
            if n.is_empty()
                || n.len() > 100
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                diags.attr_error(AttrPath::root("name"), "Invalid organization name", format!("\"{n}\" must be 1 to 100 letters, digits, '-' or '_' (it names the guardrail policies)."));
            }
        }
        let ous = config.get("organizational_units");
        let mut known: BTreeSet<String> = BTreeSet::new();
        if ous.is_fully_known() {
            let paths = match ous.is_null() {
                true => DEFAULT_OUS.iter().map(|s| s.to_string()).collect(),
                false => strings(ous),
            };
            for (i, p) in paths.iter().enumerate() {
                let parts: Vec<&str> = p.split('/').collect();
                if parts.len() > MAX_DEPTH || !parts.iter().all(|n| ou_name_ok(n)) {
                    diags.attr_error(
                        AttrPath::root("organizational_units").index(i as i64),
                        "Invalid OU path",
                        format!("\"{p}\" must be up to {MAX_DEPTH} OU names (1 to 128 characters each, no leading or trailing spaces) joined by '/', as in \"Workloads/Prod\"."),
                    );
                }
                for k in 1..=parts.len() {
                    known.insert(parts[..k].join("/"));
                }
            }
        }
        let accounts = config.get("accounts");
        for (a, p) in accounts.as_map().into_iter().flatten() {
            check_account_id(AttrPath::root("accounts").key(a), a, diags);
            if let Some(p) = p.as_str() {
                if ous.is_fully_known() && !known.contains(p) {
                    diags.attr_error(
                        AttrPath::root("accounts").key(a),
                        "Unknown OU",
                        format!("Account {a} is placed in \"{p}\", which is not in organizational_units (nor a parent of one): add it there, or choose one of {}.", known.iter().cloned().collect::<Vec<_>>().join(", ")),
                    );
                }
            }
        }
        if let Some(s) = config.get("security_account_id").as_str() {
            check_account_id(AttrPath::root("security_account_id"), s, diags);
        }
        check_regions(config, "allowed_regions", diags);
        if config
            .get("allowed_regions")
            .as_list()
            .is_some_and(|l| l.is_empty())
        {
            diags.attr_error(AttrPath::root("allowed_regions"), "No Region allowed", "allowed_regions would deny every regional service in every member account: list at least the home Region (and the DR Region).");
        }
        for (i, r) in strings(config.get("exempt_role_names")).iter().enumerate() {
            let ok = !r.is_empty()
                && r.len() <= 64
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !ok || r == "*" {
                diags.attr_error(
                    AttrPath::root("exempt_role_names").index(i as i64),
                    "Invalid role name",
                    format!("\"{r}\" is not an IAM role name (1 to 64 of letters, digits and +=,.@_-; no wildcards: an exemption names the role it lets through)."),
                );
            }
        }
        tags::validate(config, diags);
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let prior = req.prior;
        let region = config
            .get("target")
            .get("region")
            .as_str()
            .map(str::to_string)
            .or_else(|| req.ctx.map(|c| c.region()));
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        let p = &mut req.planned;
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));
        if config.get("allowed_regions").is_null() {
            // The default, visible in the plan.
            match (prior.get("allowed_regions").as_list(), region) {
                (Some(l), _) if !prior.is_null() && !l.is_empty() => {
                    let kept = prior.get("allowed_regions").clone();
                    p.set_attr("allowed_regions", kept)
                }
                (_, Some(r)) => p.set_attr("allowed_regions", list(&[r])),
                _ => {}
            }
        }
        // Unchanged settings keep their ids and their controls (read back as holding
        // after the apply, where the endpoint showed them); changed ones are known
        // only after the apply.
        let settings = [
            "name",
            "organizational_units",
            "accounts",
            "security_account_id",
            "allowed_regions",
            "exempt_role_names",
            "ai_services_opt_out",
            "tag_policy_keys",
        ];
        let unchanged = !prior.is_null() && settings.iter().all(|a| p.get(a) == prior.get(a));
        let security = !p.get("security_account_id").is_null();
        let compliance = match prior.get("compliance").as_map() {
            Some(m) if unchanged => Value::Map(
                m.keys()
                    .map(|k| {
                        let holds = match k.as_str() {
                            k if k.starts_with("bank:delegated-") => security,
                            "bank:org-ai-opt-out" => {
                                p.get("ai_services_opt_out").as_bool() != Some(false)
                            }
                            "bank:org-tag-policy" => !strings(p.get("tag_policy_keys")).is_empty(),
                            _ => true,
                        };
                        (k.clone(), Value::Bool(holds))
                    })
                    .collect(),
            ),
            _ => Value::unknown(),
        };
        p.set_attr("compliance", compliance);
        // Ids stay as they are when nothing changed and nothing is missing (a
        // detached guardrail or a deleted OU is made again, with a new id).
        let complete = unchanged
            && self.desired(p).is_ok_and(|d| {
                let has = |a: &str, n: usize| prior.get(a).as_map().is_some_and(|m| m.len() == n);
                has("organizational_unit_ids", d.ous.len())
                    && has("guardrail_policy_ids", d.guardrails.len())
            });
        for a in ["organizational_unit_ids", "guardrail_policy_ids"] {
            let v = match complete {
                true => prior.get(a).clone(),
                false => Value::unknown(),
            };
            p.set_attr(a, v);
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let name = planned
            .get("name")
            .as_str()
            .unwrap_or("bankplatform")
            .to_string();
        let ous = match planned.get("organizational_units").as_list() {
            Some(_) => strings(planned.get("organizational_units")),
            None => DEFAULT_OUS.iter().map(|s| s.to_string()).collect(),
        };
        let exempt = match planned.get("exempt_role_names").as_list() {
            Some(_) => strings(planned.get("exempt_role_names")),
            None => vec![DEFAULT_EXEMPT_ROLE.to_string()],
        };
        let tag_keys = match planned.get("tag_policy_keys").as_list() {
            Some(_) => strings(planned.get("tag_policy_keys")),
            None => DEFAULT_TAG_KEYS.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Desired::new(
            name,
            &ous,
            string_map(planned.get("accounts")),
            planned
                .get("security_account_id")
                .as_str()
                .map(str::to_string),
            &PolicySettings {
                regions: strings(planned.get("allowed_regions")),
                exempt_roles: exempt,
                ai_opt_out: planned.get("ai_services_opt_out").as_bool() != Some(false),
                tag_keys,
            },
            tags::all(planned),
        ))
    }

    async fn prepare(
        &self,
        c: &Clients,
        planned: &Value,
    ) -> Result<(Value, Desired), crate::resources::kit::composite::Invalid> {
        let mut p = planned.clone();
        if p.get("allowed_regions")
            .as_list()
            .is_none_or(|l| l.is_empty())
        {
            p.set_attr("allowed_regions", list(std::slice::from_ref(&c.region)));
        }
        let d = self.desired(&p)?;
        Ok((p, d))
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("id").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v
    }

    /// The organization (all features) with its marker on the root; or the one an
    /// interrupted create of this composite left.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        if let Some((id, marked)) = self.unfinished(c, &d.name).await? {
            if !marked {
                write_marker(c, d).await?;
            }
            return Ok((id, true));
        }
        let id = create_once(
            c,
            "creating the organization",
            || async {
                match c
                    .organizations
                    .create_organization()
                    .feature_set(OrganizationFeatureSet::All)
                    .customize()
                    .config_override(once())
                    .send()
                    .await
                {
                    Ok(o) => Ok(o.organization().and_then(|o| o.id()).map(str::to_string)),
                    // An attempt whose answer was lost made it: found below.
                    Err(e) if error_code(&e) == Some("AlreadyInOrganizationException") => Ok(None),
                    Err(e) => Err(e),
                }
            },
            || async { Ok(api::organization(c).await?.map(|(id, _, _)| id)) },
        )
        .await?;
        match write_marker(c, d).await {
            Ok((root, tags)) => {
                // Nothing else exists yet: converge starts from this, without a read.
                d.fresh = Some(Box::new(Observed {
                    id: id.clone(),
                    all_features: true,
                    root_id: root,
                    root_tags: tags,
                    ..Observed::default()
                }));
            }
            Err(e) => {
                // An organization without its marker would be refused by the next apply.
                let undo = c
                    .organizations
                    .delete_organization()
                    .send()
                    .await
                    .err()
                    .map(|e| format!("deleting organization {id}: {}", error_message(&e)));
                return Err(crate::resources::kit::composite::with_undo(e, undo));
            }
        }
        Ok((id, false))
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        prior: Option<&Value>,
    ) -> Result<(), Failures> {
        let mut o = match d.fresh.take() {
            Some(o) => *o,
            None => api::observe(c, root, &d.regions)
                .await
                .map_err(|e| vec![e])?
                .ok_or_else(|| vec![format!("organization {root} is gone")])?,
        };
        // Phase 1: SCPs on, trusted access, root tags, the OU tree.
        let mut identity = d.tags_all.clone();
        identity.insert(IDENTITY_TAG.into(), d.name.clone());
        for k in [MADE_TAG, LIFECYCLE_TAG] {
            if let Some(v) = o.root_tags.get(k) {
                identity.insert(k.into(), v.clone());
            }
        }
        let root_id = o.root_id.clone();
        let mut ous = o.ous.clone();
        let types: BTreeSet<&str> = d
            .guardrails
            .iter()
            .map(|g| g.kind.policy_type())
            .filter(|t| !o.policy_types.contains(*t))
            .collect();
        let (scp, services, tagged, made) = tokio::join!(
            async {
                let root_id = &root_id;
                let enabled = join_all(types.iter().map(|t| async move {
                    match c
                        .organizations
                        .enable_policy_type()
                        .root_id(root_id)
                        .policy_type(PolicyType::from(*t))
                        .send()
                        .await
                    {
                        Ok(_) => Ok(()),
                        Err(e) if error_code(&e) == Some("PolicyTypeAlreadyEnabledException") => {
                            Ok(())
                        }
                        Err(e) => Err(format!("enabling {t} on the root: {}", error_message(&e))),
                    }
                }))
                .await;
                enabled
                    .into_iter()
                    .collect::<Result<Vec<()>, String>>()
                    .map(|_| ())
            },
            ensure_services(c, &o),
            tags::write(
                &o.root_tags,
                &identity,
                |add| api::write_tags(c, &root_id, add),
                |stale| api::remove_tags(c, &root_id, stale),
            ),
            ensure_ous(c, &root_id, d, &mut ous),
        );
        let mut failures: Failures = scp.err().into_iter().collect();
        failures.extend(services);
        failures.extend(tagged);
        failures.extend(made);
        if !failures.is_empty() {
            return Err(failures);
        }
        o.policy_types.extend(types.iter().map(|t| t.to_string()));
        o.ous = ous;
        // Phase 2: guardrails, placements, delegation.
        let prior_accounts = prior
            .map(|p| string_map(p.get("accounts")))
            .unwrap_or_default();
        let prior_security =
            prior.and_then(|p| p.get("security_account_id").as_str().map(str::to_string));
        let moves = async {
            let mut jobs: Vec<(String, String)> = d
                .accounts
                .iter()
                .filter(|(a, p)| o.placed.get(*a) != Some(*p))
                .map(|(a, p)| (a.clone(), o.ous.get(p).cloned().unwrap_or_default()))
                .collect();
            // Accounts no longer listed go back to the root.
            jobs.extend(
                prior_accounts
                    .keys()
                    .filter(|a| !d.accounts.contains_key(*a) && o.placed.contains_key(*a))
                    .map(|a| (a.clone(), o.root_id.clone())),
            );
            join_all(jobs.iter().map(|(a, to)| api::move_account(c, a, to)))
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect::<Failures>()
        };
        let delegation = async {
            let mut f = Vec::new();
            let prior_regions = prior.map(|p| regions_of(p, c)).unwrap_or_default();
            if let Some(old) = prior_security
                .as_ref()
                .filter(|old| d.security_account.as_ref() != Some(*old))
            {
                f.extend(undelegate(c, old, &prior_regions).await);
            }
            if let Some(s) = &d.security_account {
                f.extend(delegate(c, &o, s, &d.regions).await);
                // Regions no longer allowed keep no delegated administrator.
                if prior_security.as_ref() == Some(s) {
                    let dropped: Vec<String> = prior_regions
                        .iter()
                        .filter(|r| !d.regions.contains(r))
                        .cloned()
                        .collect();
                    let gone = join_all([Delegation::GuardDuty, Delegation::SecurityHub].map(
                        |service| {
                            in_each_region(c, &dropped, move |rc| async move {
                                undelegate_in(&rc, service, s).await
                            })
                        },
                    ))
                    .await;
                    f.extend(gone.into_iter().filter_map(Result::err));
                }
            }
            f
        };
        let (g, m, del) = tokio::join!(ensure_guardrails(c, &o, d), moves, delegation);
        failures.extend(g);
        failures.extend(m);
        failures.extend(del);
        if !failures.is_empty() {
            return Err(failures);
        }
        // Phase 3: OUs no longer configured.
        if let Some(prior) = prior {
            let gone: Vec<String> = string_map(prior.get("organizational_unit_ids"))
                .into_keys()
                .filter(|p| !d.ous.contains(p))
                .collect();
            let recorded: BTreeSet<String> = string_map(prior.get("organizational_unit_ids"))
                .into_values()
                .collect();
            failures.extend(remove_ous(c, &d.name, &o.ous, &gone, &recorded).await);
            if o.root_tags.get(LIFECYCLE_TAG).map(String::as_str) != Some(CREATED) {
                failures.extend(self.mark_created(c, root).await.err());
            }
        }
        done(failures)
    }

    async fn mark_created(&self, c: &Clients, _root: &str) -> Result<(), String> {
        let (root, _) = api::root(c).await?;
        api::write_tags(c, &root, vec![(LIFECYCLE_TAG.into(), CREATED.into())]).await
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        api::observe(c, root, std::slice::from_ref(&c.region)).await
    }

    /// GuardDuty and Security Hub are delegated in every allowed Region, and read there.
    async fn observe_for(
        &self,
        c: &Clients,
        root: &str,
        known: &Value,
    ) -> Result<Option<Observed>, String> {
        api::observe(c, root, &regions_of(known, c)).await
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        let Some(o) = api::skeleton(c, root).await.map_err(|e| vec![e])? else {
            return Ok(());
        };
        let d = self.desired(state).map_err(|e| vec![e])?;
        let name = o
            .root_tags
            .get(IDENTITY_TAG)
            .cloned()
            .unwrap_or(d.name.clone());
        // Delegation and placements first, then the guardrails, then the OUs.
        let undelegated = async {
            match state.get("security_account_id").as_str() {
                Some(s) => undelegate(c, s, &regions_of(state, c)).await,
                None => Vec::new(),
            }
        };
        let moved = async {
            // Listed accounts still in an OU of the organization go back to the root.
            let ous: BTreeSet<&String> = o.ous.values().collect();
            let listed = string_map(state.get("accounts"));
            let root_id = &o.root_id;
            join_all(listed.keys().map(|a| {
                let ous = &ous;
                async move {
                    let parent = match api::parent_of(c, a).await {
                        Ok(p) => p,
                        // No longer a member: nothing to move.
                        Err(e) if e.contains("is not a member") => return Ok(()),
                        Err(e) => return Err(e),
                    };
                    match ous.contains(&parent) {
                        true => api::move_account(c, a, root_id).await,
                        false => Ok(()),
                    }
                }
            }))
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect::<Failures>()
        };
        let policies = async {
            let names: BTreeSet<String> = guardrails::names(&name).into_iter().collect();
            let all = match api::policies(c).await {
                Ok(p) => p,
                Err(e) => return vec![e],
            };
            join_all(
                all.iter()
                    .filter(|(n, _)| names.contains(*n))
                    .map(|(n, id)| async move {
                        let targets = c
                            .organizations
                            .list_targets_for_policy()
                            .policy_id(id)
                            .send()
                            .await
                            .map_err(|e| {
                                format!("listing the targets of SCP {n}: {}", error_message(&e))
                            })?;
                        for t in targets.targets() {
                            let target = t.target_id().unwrap_or_default();
                            match c
                                .organizations
                                .detach_policy()
                                .policy_id(id)
                                .target_id(target)
                                .send()
                                .await
                            {
                                Err(e) if error_code(&e) == Some("PolicyNotAttachedException") => {}
                                r => r.gone_is_done(&format!("detaching SCP {n}"))?,
                            }
                        }
                        c.organizations
                            .delete_policy()
                            .policy_id(id)
                            .send()
                            .await
                            .gone_is_done(&format!("deleting SCP {n}"))
                    }),
            )
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect::<Failures>()
        };
        let (mut failures, m, p) = tokio::join!(undelegated, moved, policies);
        failures.extend(m);
        failures.extend(p);
        if !failures.is_empty() {
            return Err(failures);
        }
        let all: Vec<String> = o.ous.keys().cloned().collect();
        let recorded: BTreeSet<String> = string_map(state.get("organizational_unit_ids"))
            .into_values()
            .collect();
        failures.extend(remove_ous(c, &name, &o.ous, &all, &recorded).await);
        if !failures.is_empty() {
            return Err(failures);
        }
        // Trusted access goes with what used it.
        failures.extend(
            join_all(
                TRUSTED_SERVICES
                    .iter()
                    .filter(|s| o.services.contains(**s))
                    .map(|s| async move {
                        match c
                            .organizations
                            .disable_aws_service_access()
                            .service_principal(*s)
                            .send()
                            .await
                        {
                            Err(e) if lacks_principal(&e) => Ok(()),
                            r => r
                                .map(|_| ())
                                .gone_is_done(&format!("disabling trusted access for {s}")),
                        }
                    }),
            )
            .await
            .into_iter()
            .filter_map(Result::err),
        );
        if !failures.is_empty() {
            return Err(failures);
        }
        if o.root_tags.get(MADE_TAG).map(String::as_str) != Some("true") {
            tracing::info!(organization = root, "kept: this resource did not create it");
            return Ok(());
        }
        let members = c
            .organizations
            .list_accounts()
            .send()
            .await
            .map_err(|e| {
                vec![format!(
                    "listing the organization's accounts: {}",
                    error_message(&e)
                )]
            })?
            .accounts()
            .iter()
            .filter(|a| a.id() != Some(o.management.as_str()))
            .count();
        if members > 0 {
            tracing::warn!(organization = root, members, "kept, empty of everything this resource made: AWS deletes an organization only when it has no member accounts");
            // What is left is an organization with no marker: no later create takes it.
            let _ = api::remove_tags(
                c,
                &o.root_id,
                vec![IDENTITY_TAG.into(), MADE_TAG.into(), LIFECYCLE_TAG.into()],
            )
            .await;
            return Ok(());
        }
        match c.organizations.delete_organization().send().await {
            Err(e) if error_code(&e) == Some("AWSOrganizationsNotInUseException") => Ok(()),
            r => r
                .map(|_| ())
                .gone_is_done(&format!("deleting organization {root}"))
                .map_err(|e| vec![e]),
        }
    }

    fn state(&self, _c: &Clients, base: &Value, o: &Observed) -> Value {
        self.state_from(base, o)
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn audit_notes(&self) -> Option<&'static str> {
        Some(
            "- The emulator does not enforce SCPs: the guardrails are shown by their documents read back (`CIS 2.1.2`), not by a member account being refused.
- The emulator lacks IAM's centralized root access API and does not know `iam.amazonaws.com`, `config.amazonaws.com` or Security Hub as delegated services: `CIS 2.1.1`, `bank:delegated-securityhub` and `bank:delegated-config` are requested and left out of `compliance` there.
- Destroy keeps an organization that still has member accounts (AWS deletes only an empty one), with nothing of this resource left in it.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by organization id (`o-…`), from the management account."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let here = std::slice::from_ref(&c.region);
        let o = imported(api::observe(c, id, here).await, "organization", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        let name = o
            .root_tags
            .get(IDENTITY_TAG)
            .cloned()
            .unwrap_or_else(|| "bankplatform".into());
        s.set_attr("name", Value::string(&name));
        let paths: BTreeSet<String> = o.ous.keys().cloned().collect();
        s.set_attr("organizational_units", list(&leaves(&paths)));
        if let Some(p) = o.policies.get(&format!("{name}-allowed-regions")) {
            if let Some((regions, exempt)) = serde_json::from_str(&p.content)
                .ok()
                .as_ref()
                .and_then(guardrails::settings_of)
            {
                s.set_attr("allowed_regions", list(&regions));
                s.set_attr("exempt_role_names", list(&exempt));
            }
        }
        s.set_attr(
            "ai_services_opt_out",
            Value::Bool(o.policies.contains_key(&format!("{name}-ai-opt-out"))),
        );
        // The tag keys, in the order the policy names them.
        let keys: Vec<String> = o
            .policies
            .get(&format!("{name}-tag-keys"))
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.content).ok())
            .and_then(|d| d["tags"].as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default();
        s.set_attr("tag_policy_keys", list(&keys));
        if s.get("exempt_role_names").is_null() {
            s.set_attr(
                "exempt_role_names",
                list(&[DEFAULT_EXEMPT_ROLE.to_string()]),
            );
        }
        if !o.placed.is_empty() {
            s.set_attr("accounts", Value::string_map(o.placed.clone()));
        }
        if let Some(Some(admins)) = o.delegated.get(&Delegation::GuardDuty) {
            if let Some(a) = admins.iter().next() {
                s.set_attr("security_account_id", Value::string(a));
            }
        }
        if let Some(t) = tags::imported(&o.root_tags, ctx.default_tags()) {
            s.set_attr("tags", t);
        }
        Ok(self.state_from(&s, &o))
    }
}
