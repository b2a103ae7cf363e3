//! `bankplatform_deploy_role`: the role a pipeline (GitHub Actions, GitLab CI)
//! assumes in an account through OIDC, with no stored credentials: the account's
//! identity provider for the issuer (made when missing), a trust policy admitting
//! only that issuer's tokens for a fixed audience and subjects that each name a
//! project, one-hour sessions, the permissions the provider's composites need (no
//! `*`, IAM only on `bankplatform-*` service roles, nothing on itself), and, when
//! given, the state bucket, its key and the lock table. `compliance` is read back.
//!
//! Children: the identity provider (shared by every role trusting the issuer: made
//! and tagged by the first, removed only by the role that made it), the role (root:
//! created with its ownership marker, trust policy and tags in one call), its inline
//! policy.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::deploy_policy::{self as doc, Permissions, POLICY_NAME};
use super::policy_doc::canonical_json;
use crate::aws::{error_code, error_message, is_not_found, partition, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{arn, int_between, one_of};
use crate::framework::Diagnostics;
use crate::resources::kit::calls::GoneIsDone;
use crate::resources::kit::composite::{
    done, imported, with_undo, Composite, Failures, PlanRequest,
};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::value::{AttrPath, Type, Value};

/// GitHub Actions' issuer, the default.
const GITHUB: &str = "https://token.actions.githubusercontent.com";
/// On the identity provider: the role that made it (and alone may remove it).
const MADE_BY_TAG: &str = "bankplatform:made-by";
/// Certificate thumbprints IAM stores with a new identity provider (AWS no longer
/// checks them for the well-known issuers; older APIs and emulators want one).
const THUMBPRINTS: &[&str] = &[
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
];

/// The role as configured.
pub(crate) struct Desired {
    name: String,
    issuer: String,
    audience: String,
    subjects: Vec<String>,
    session_seconds: i32,
    plan_only: bool,
    state_bucket: Option<String>,
    state_key: Option<String>,
    lock_table: Option<String>,
    tags_all: BTreeMap<String, String>,
}

/// The role as AWS reports it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    name: String,
    arn: String,
    trust: Option<Json>,
    session_seconds: i32,
    policy: Option<Json>,
    attached: Vec<String>,
    tags: BTreeMap<String, String>,
    /// The identity provider the trust names, and the audiences it accepts (`None`:
    /// it does not exist).
    provider_audiences: Option<Vec<String>>,
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "bank:deploy-trust-scoped",
        title: "Only web-identity tokens of an existing OIDC identity provider may assume the role, for a fixed audience and subjects that each name one project (no `repo:*`).",
        evidence: "`iam:GetRole` → `AssumeRolePolicyDocument`; `iam:GetOpenIDConnectProvider`",
        judge: |o| Some(o.provider_audiences.is_some() && o.trust.as_ref().is_some_and(doc::trust_scoped)),
    },
    Control {
        id: "bank:deploy-session-1h",
        title: "Sessions last at most one hour.",
        evidence: "`iam:GetRole` → `MaxSessionDuration`",
        judge: |o| Some(o.session_seconds > 0 && o.session_seconds <= 3600),
    },
    Control {
        id: "bank:deploy-no-admin",
        title: "No administrative privileges: no `*` action, no full KMS, CloudTrail or IAM access, no AdministratorAccess attached.",
        evidence: "`iam:GetRolePolicy`, `iam:ListAttachedRolePolicies`",
        judge: |o| Some(
            o.policy.as_ref().is_some_and(doc::not_admin)
                && !o.attached.iter().any(|a| a.ends_with("/AdministratorAccess") || a.ends_with("/IAMFullAccess"))
        ),
    },
    Control {
        id: "bank:deploy-not-itself",
        title: "The role is denied every IAM action on itself and its identity provider (a pipeline cannot widen its own trust).",
        evidence: "`iam:GetRolePolicy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(|p| doc::denies_itself(p, &o.arn))),
    },
];

/// The resource type.
pub struct DeployRole {
    schema: Schema,
}

impl Default for DeployRole {
    fn default() -> Self {
        Self::new()
    }
}

impl DeployRole {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The role name."),
            Attribute::string("name").required().requires_replace()
                .describe("Role name (1 to 64 letters, digits and `+=,.@_-`); the generated pipelines assume `bankplatform-deploy`."),
            Attribute::string("issuer_url").default(Value::string(GITHUB)).requires_replace()
                .describe("OIDC issuer whose tokens are admitted: `https://token.actions.githubusercontent.com` (GitHub Actions, the default) or `https://gitlab.com` (or your GitLab's URL)."),
            Attribute::string("audience").default(Value::string("sts.amazonaws.com"))
                .describe("The tokens' `aud` claim (GitHub's default; set the same in GitLab's `id_tokens`)."),
            Attribute::typed("subjects", Type::list(Type::String)).required()
                .describe("Subjects (`sub` claims) admitted, each naming one project: `repo:<org>/<repo>:ref:refs/heads/main`, `repo:<org>/<repo>:environment:production`, `project_path:<group>/<project>:ref_type:branch:ref:main`. Wildcards may follow the project, never stand for it."),
            Attribute::string("access").default(Value::string("apply"))
                .validate(one_of("Invalid access", &["apply", "plan"]))
                .describe("`apply`: what the composites need to create, change and delete (the default). `plan`: reads only, and of the state only reading it and taking its lock (for plans on pull requests and drift checks)."),
            Attribute::number("max_session_hours").default(Value::number(1))
                .validate(int_between("Invalid session length", 1, 12))
                .describe("Longest session, in hours (1 to 12). More than 1 weakens `bank:deploy-session-1h`, visibly in the plan."),
            Attribute::string("state_bucket").optional()
                .describe("Bucket holding Terraform state: the role may list it and read, write and delete its objects."),
            Attribute::string("state_kms_key_arn").optional()
                .validate(arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
                .describe("Key the state is encrypted with: the role may encrypt and decrypt with it."),
            Attribute::string("lock_table_arn").optional()
                .validate(arn("dynamodb", "table/", "arn:aws:dynamodb:eu-west-1:111122223333:table/terraform-lock"))
                .describe("DynamoDB table locking the state (Terraform < 1.10): the role may take and release locks."),
            Attribute::string("arn").computed().use_state_for_unknown().describe("Role ARN: what the pipeline assumes."),
            Attribute::string("oidc_provider_arn").computed().use_state_for_unknown().describe("The account's identity provider for `issuer_url`."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on the role: `default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls)."),
        ];
        DeployRole {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "The role a pipeline assumes through OIDC (GitHub Actions, GitLab CI): trusted only for named projects' tokens, one-hour sessions, the permissions the provider's composites need and no more, unable to change itself, with a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("role")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(&o.name));
        s.set_attr("name", Value::string(&o.name));
        s.set_attr("arn", Value::string(&o.arn));
        // What AWS holds, in the configuration's terms (so drift shows in the plan).
        if let Some(t) = &o.trust {
            let st = &t["Statement"][0];
            if let Some(f) = st["Principal"]["Federated"].as_str() {
                s.set_attr("oidc_provider_arn", Value::string(f));
            }
            let c = &st["Condition"];
            if let Some((_, aud)) = c["StringEquals"]
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.ends_with(":aud")))
            {
                if let Some(a) = aud.as_str() {
                    s.set_attr("audience", Value::string(a));
                }
            }
            let subjects: Vec<Value> = c["StringLike"]
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.ends_with(":sub")))
                .map(|(_, v)| match v {
                    Json::String(x) => vec![Value::string(x)],
                    Json::Array(l) => l
                        .iter()
                        .filter_map(Json::as_str)
                        .map(Value::string)
                        .collect(),
                    _ => vec![],
                })
                .unwrap_or_default();
            if !subjects.is_empty() {
                s.set_attr("subjects", Value::List(subjects));
            }
        }
        if o.session_seconds > 0 {
            s.set_attr(
                "max_session_hours",
                Value::number(i64::from(o.session_seconds / 3600)),
            );
        }
        s.set_attr("tags_all", tags::own(&o.tags));
        s.set_attr("compliance", controls::value(CONTROLS, o));
        s
    }
}

fn iam_tag(k: &str, v: &str) -> Result<aws_sdk_iam::types::Tag, String> {
    aws_sdk_iam::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| e.to_string())
}

fn opt(v: &Value, attr: &str) -> Option<String> {
    v.get(attr).as_str().map(str::to_string)
}

/// The documents of `d` in the clients' account: (provider ARN, trust, permissions).
async fn documents(c: &Clients, d: &Desired) -> Result<(String, Json, Json), String> {
    let account = c.account_id().await?;
    let p = partition(&c.region);
    let provider = doc::provider_arn(p, &account, &d.issuer);
    let trust = doc::trust(&provider, &d.issuer, &d.audience, &d.subjects);
    let permissions = Permissions {
        partition: p,
        account: &account,
        role: &d.name,
        provider_arn: &provider,
        plan_only: d.plan_only,
        state_bucket: d.state_bucket.as_deref(),
        state_key: d.state_key.as_deref(),
        lock_table: d.lock_table.as_deref(),
    }
    .document();
    Ok((provider, trust, permissions))
}

/// The identity provider of `arn`: the audiences it accepts and its tags (`None`:
/// it does not exist).
async fn identity_provider(
    c: &Clients,
    arn: &str,
) -> Result<Option<(Vec<String>, BTreeMap<String, String>)>, String> {
    match c
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(o) => Ok(Some((
            o.client_id_list().to_vec(),
            o.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        ))),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(format!(
            "reading IAM OIDC provider ({arn}): {}",
            error_message(&e)
        )),
    }
}

/// The identity provider for the issuer, accepting the audience: made (tagged as this
/// role's) when the account has none. Returns whether this call made it.
async fn ensure_provider(c: &Clients, d: &Desired, arn: &str) -> Result<bool, String> {
    match identity_provider(c, arn).await? {
        Some((audiences, _)) => {
            if !audiences.contains(&d.audience) {
                c.iam
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(&d.audience)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "adding audience {} to IAM OIDC provider ({arn}): {}",
                            d.audience,
                            error_message(&e)
                        )
                    })?;
            }
            Ok(false)
        }
        None => {
            let mut req = c
                .iam
                .create_open_id_connect_provider()
                .url(&d.issuer)
                .client_id_list(&d.audience)
                .tags(iam_tag(MADE_BY_TAG, &d.name)?);
            for t in THUMBPRINTS {
                req = req.thumbprint_list(*t);
            }
            match req.send().await {
                Ok(_) => Ok(true),
                // Made meanwhile (another role's create, or a lost answer): use it.
                Err(e) if error_code(&e) == Some("EntityAlreadyExists") => Ok(false),
                Err(e) => Err(format!(
                    "creating IAM OIDC provider ({}): {}",
                    d.issuer,
                    error_message(&e)
                )),
            }
        }
    }
}

/// Removes the identity provider when this role made it.
async fn release_provider(c: &Clients, role: &str, arn: &str) -> Result<(), String> {
    let Some((_, tags)) = identity_provider(c, arn).await? else {
        return Ok(());
    };
    if tags.get(MADE_BY_TAG).map(String::as_str) != Some(role) {
        return Ok(());
    }
    c.iam
        .delete_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .gone_is_done(&format!("deleting IAM OIDC provider ({arn})"))
}

async fn observe(c: &Clients, name: &str) -> Result<Option<Observed>, String> {
    let what = |e: String| format!("reading IAM Role ({name}): {e}");
    let role = match c.iam.get_role().role_name(name).send().await {
        Ok(o) => match o.role {
            Some(r) => r,
            None => return Err(what("IAM answered without the role".into())),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(what(error_message(&e))),
    };
    let (policy, attached) = tokio::join!(
        c.iam
            .get_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .send(),
        c.iam.list_attached_role_policies().role_name(name).send(),
    );
    let policy = match policy {
        Ok(p) => doc::from_iam(p.policy_document()),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(what(error_message(&e))),
    };
    let attached = attached
        .map_err(|e| what(error_message(&e)))?
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    // GetRole carries the role's tags (at most 50, all of them).
    let tags = role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let trust = role.assume_role_policy_document().and_then(doc::from_iam);
    let provider = trust
        .as_ref()
        .and_then(|t| t["Statement"][0]["Principal"]["Federated"].as_str())
        .map(str::to_string);
    let provider_audiences = match provider {
        Some(p) => identity_provider(c, &p).await?.map(|(a, _)| a),
        None => None,
    };
    Ok(Some(Observed {
        name: name.to_string(),
        arn: role.arn().to_string(),
        trust,
        session_seconds: role.max_session_duration().unwrap_or(3600),
        policy,
        attached,
        tags,
        provider_audiences,
    }))
}

#[async_trait]
impl Composite for DeployRole {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_deploy_role";
    const NOUN: &'static str = "deploy role";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(name) = config.get("name").as_str() {
            let ok = (1..=64).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !ok {
                diags.attr_error(
                    AttrPath::root("name"),
                    "Invalid role name",
                    format!("\"{name}\" must be 1 to 64 letters, digits or +=,.@_-."),
                );
            }
        }
        if let Some(url) = config.get("issuer_url").as_str() {
            let host = doc::issuer_host(url);
            if !url.starts_with("https://") || host.is_empty() || host.contains(' ') {
                diags.attr_error(
                    AttrPath::root("issuer_url"),
                    "Invalid issuer",
                    format!("\"{url}\" is not an https URL of an OIDC issuer (e.g. https://token.actions.githubusercontent.com)."),
                );
            }
        }
        let subjects = config.get("subjects");
        if subjects.is_fully_known() && subjects.string_list().is_empty() {
            diags.attr_error(
                AttrPath::root("subjects"),
                "No subjects",
                "Name at least one subject (repo:<org>/<repo>:ref:refs/heads/main): a role every project could assume is refused.",
            );
        }
        for (i, s) in subjects.string_list().iter().enumerate() {
            if let Some(why) = doc::subject_problem(s) {
                let path = AttrPath::root("subjects").index(i as i64);
                diags.attr_error(
                    path.clone(),
                    "Subject admits too much",
                    format!("{path}: {why}"),
                );
            }
        }
        tags::validate(config, diags);
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        let p = &mut req.planned;
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));
        let hours = p.get("max_session_hours").as_i64();
        p.set_attr(
            "compliance",
            match hours {
                Some(h) => Value::Map(
                    CONTROLS
                        .iter()
                        .map(|c| {
                            let holds = c.id != "bank:deploy-session-1h" || h <= 1;
                            (c.id.to_string(), Value::Bool(holds))
                        })
                        .collect(),
                ),
                None => Value::unknown(),
            },
        );
        // The identity provider is known once the account is (the prior ARN names it)
        // and the issuer is unchanged.
        let prior = req
            .prior
            .get("oidc_provider_arn")
            .as_str()
            .map(str::to_string);
        let same_issuer = req.prior.get("issuer_url") == config.get("issuer_url")
            || (config.get("issuer_url").is_null()
                && req.prior.get("issuer_url").as_str() == Some(GITHUB));
        req.planned.set_attr(
            "oidc_provider_arn",
            match prior {
                Some(a) if same_issuer => Value::string(a),
                _ => Value::unknown(),
            },
        );
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        Ok(Desired {
            name: opt(planned, "name").unwrap_or_default(),
            issuer: opt(planned, "issuer_url").unwrap_or_else(|| GITHUB.into()),
            audience: opt(planned, "audience").unwrap_or_else(|| "sts.amazonaws.com".into()),
            subjects: planned.get("subjects").string_list(),
            session_seconds: planned.get("max_session_hours").as_i64().unwrap_or(1) as i32 * 3600,
            plan_only: planned.get("access").as_str() == Some("plan"),
            state_bucket: opt(planned, "state_bucket"),
            state_key: opt(planned, "state_kms_key_arn"),
            lock_table: opt(planned, "lock_table_arn"),
            tags_all: tags::all(planned),
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("name").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v.set_attr("name", Value::string(root));
        v
    }

    /// The identity provider (made when the account has none), then the role with its
    /// trust policy, session length, tags and ownership marker in one call. A role of
    /// the name is taken only when an unfinished create of this resource left it.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        let (provider, trust, _) = documents(c, d).await?;
        let made_provider = ensure_provider(c, d, &provider).await?;
        let made = async {
            let mut req = c
                .iam
                .create_role()
                .role_name(&d.name)
                .assume_role_policy_document(trust.to_string())
                .max_session_duration(d.session_seconds)
                .description("Deploy role for pipelines (bankplatform)")
                .tags(iam_tag(LIFECYCLE_TAG, CREATING)?);
            for (k, v) in &d.tags_all {
                req = req.tags(iam_tag(k, v)?);
            }
            match req.send().await {
                Ok(_) => Ok(false),
                Err(e) if error_code(&e) == Some("EntityAlreadyExists") => {
                    let marker = observe(c, &d.name)
                        .await?
                        .and_then(|o| o.tags.get(LIFECYCLE_TAG).cloned());
                    if claim(marker.as_deref()) == Claim::Refuse {
                        return Err(format!("IAM Role {} already exists (not made by an unfinished create of this resource). Import it (terraform import <address> {}) or choose another name.", d.name, d.name));
                    }
                    Ok(true)
                }
                Err(e) => Err(format!(
                    "creating IAM Role ({}): {}",
                    d.name,
                    error_message(&e)
                )),
            }
        };
        match made.await {
            Ok(adopted) => Ok((d.name.clone(), adopted)),
            Err(e) => {
                let undo = if made_provider {
                    release_provider(c, &d.name, &provider).await.err()
                } else {
                    None
                };
                Err(with_undo(e, undo))
            }
        }
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        _prior: Option<&Value>,
    ) -> Result<(), Failures> {
        let Some(o) = observe(c, root).await.map_err(|e| vec![e])? else {
            return Err(vec![format!("IAM Role ({root}) is gone.")]);
        };
        let (provider, trust, permissions) = documents(c, d).await.map_err(|e| vec![e])?;
        // The identity provider first: the trust policy names it (the observation
        // read it when the role trusts it already).
        let trusted_provider = o
            .trust
            .as_ref()
            .and_then(|t| t["Statement"][0]["Principal"]["Federated"].as_str())
            == Some(provider.as_str());
        let provider_ready = trusted_provider
            && o.provider_audiences
                .as_ref()
                .is_some_and(|a| a.contains(&d.audience));
        if !provider_ready {
            ensure_provider(c, d, &provider)
                .await
                .map_err(|e| vec![e])?;
        }
        let (t, s, p, tagged) = tokio::join!(
            async {
                if o.trust.as_ref().map(canonical_json) == Some(canonical_json(&trust)) {
                    return Ok(());
                }
                c.iam
                    .update_assume_role_policy()
                    .role_name(root)
                    .policy_document(trust.to_string())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "writing the trust policy of IAM Role ({root}): {}",
                            error_message(&e)
                        )
                    })
            },
            async {
                if o.session_seconds == d.session_seconds {
                    return Ok(());
                }
                c.iam
                    .update_role()
                    .role_name(root)
                    .max_session_duration(d.session_seconds)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "setting the session length of IAM Role ({root}): {}",
                            error_message(&e)
                        )
                    })
            },
            async {
                if o.policy.as_ref().map(canonical_json) == Some(canonical_json(&permissions)) {
                    return Ok(());
                }
                c.iam
                    .put_role_policy()
                    .role_name(root)
                    .policy_name(POLICY_NAME)
                    .policy_document(permissions.to_string())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "writing the policy of IAM Role ({root}): {}",
                            error_message(&e)
                        )
                    })
            },
            tags::write(
                &o.tags,
                &d.tags_all,
                |missing| async move {
                    let tags: Result<Vec<_>, String> =
                        missing.iter().map(|(k, v)| iam_tag(k, v)).collect();
                    c.iam
                        .tag_role()
                        .role_name(root)
                        .set_tags(Some(tags?))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("tagging IAM Role ({root}): {}", error_message(&e)))
                },
                |stale| async move {
                    c.iam
                        .untag_role()
                        .role_name(root)
                        .set_tag_keys(Some(stale))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("untagging IAM Role ({root}): {}", error_message(&e)))
                },
            ),
        );
        done(
            [t, s, p]
                .into_iter()
                .filter_map(Result::err)
                .chain(tagged)
                .collect(),
        )
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        c.iam
            .tag_role()
            .role_name(root)
            .tags(iam_tag(LIFECYCLE_TAG, CREATED)?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("marking IAM Role ({root}) created: {}", error_message(&e)))
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        observe(c, root).await
    }

    /// The inline policy, the role, then the identity provider if this role made it.
    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        let provider = match observe(c, root).await.map_err(|e| vec![e])? {
            Some(o) => {
                c.iam
                    .delete_role_policy()
                    .role_name(root)
                    .policy_name(POLICY_NAME)
                    .send()
                    .await
                    .gone_is_done(&format!("deleting the policy of IAM Role ({root})"))
                    .map_err(|e| vec![e])?;
                c.iam
                    .delete_role()
                    .role_name(root)
                    .send()
                    .await
                    .gone_is_done(&format!("deleting IAM Role ({root})"))
                    .map_err(|e| vec![e])?;
                o.trust
                    .as_ref()
                    .and_then(|t| t["Statement"][0]["Principal"]["Federated"].as_str())
                    .map(str::to_string)
            }
            None => None,
        };
        // The provider the role trusted, or (a create that failed before the role
        // existed) the one its configuration names.
        let provider = match provider.or_else(|| opt(state, "oidc_provider_arn")) {
            Some(p) => p,
            None => {
                let d = self.desired(state).map_err(|e| vec![e])?;
                documents(c, &d).await.map_err(|e| vec![e])?.0
            }
        };
        release_provider(c, root, &provider)
            .await
            .map_err(|e| vec![e])
    }

    fn state(&self, _c: &Clients, base: &Value, o: &Observed) -> Value {
        self.state_from(base, o)
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn audit_notes(&self) -> Option<&'static str> {
        Some(
            "- `iam_inline_policy_allows_privilege_escalation` (high), on the `apply` role only: Prowler flags any inline policy that may write IAM policies (`iam:PutRolePolicy`, `iam:UpdateAssumeRolePolicy`), whatever its `Resource`. A role that applies the composites must: they make service roles (flow logs, Config, the trail's CloudWatch delivery). The grant is limited to roles named `bankplatform-*`, the role is denied every IAM action on itself and its identity provider (`bank:deploy-not-itself`), and it is assumable only by the named project's tokens (`bank:deploy-trust-scoped`). The `plan` role has no IAM write and passes.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by role name, in the provider's own account. `issuer_url`, `audience` and `subjects` are read from the trust policy; `state_bucket`, `state_kms_key_arn` and `lock_table_arn` from the role's policy."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let name = id.rsplit('/').next().unwrap_or(id);
        let o = imported(observe(c, name).await, "IAM role", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s = self.with_root(s, name);
        if let Some(t) = tags::imported(&o.tags, ctx.default_tags()) {
            s.set_attr("tags", t);
        }
        s.set_attr("issuer_url", Value::string(GITHUB));
        if let Some(f) = o
            .trust
            .as_ref()
            .and_then(|t| t["Statement"][0]["Principal"]["Federated"].as_str())
        {
            if let Some((_, host)) = f.split_once(":oidc-provider/") {
                s.set_attr("issuer_url", Value::string(format!("https://{host}")));
            }
        }
        // The state grants, from the policy's own statements.
        let statements: Vec<Json> = o
            .policy
            .as_ref()
            .and_then(|p| p["Statement"].as_array().cloned())
            .unwrap_or_default();
        let resource = |sid: &str| {
            statements
                .iter()
                .find(|st| st["Sid"] == sid)
                .and_then(|st| st["Resource"].as_str())
                .map(str::to_string)
        };
        if let Some(b) = resource("BankplatformStateList") {
            s.set_attr(
                "state_bucket",
                Value::string(b.rsplit(":::").next().unwrap_or(&b)),
            );
        }
        if let Some(k) = resource("BankplatformStateKey") {
            s.set_attr("state_kms_key_arn", Value::string(k));
        }
        let plan = statements.iter().any(|st| st["Sid"] == "BankplatformPlan");
        s.set_attr("access", Value::string(if plan { "plan" } else { "apply" }));
        if let Some(t) = resource("BankplatformStateLock") {
            s.set_attr("lock_table_arn", Value::string(t));
        }
        Ok(self.state_from(&s, &o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kit::composite::Kit;

    #[test]
    fn rejects_bad_input_with_paths() {
        let r = Kit::new(DeployRole::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("deploy role"));
        config.set_attr("issuer_url", Value::string("http://gitlab.example"));
        config.set_attr(
            "subjects",
            Value::List(vec![
                Value::string("repo:acme/platform:ref:refs/heads/main"),
                Value::string("repo:*"),
            ]),
        );
        config.set_attr("max_session_hours", Value::number(24));
        config.set_attr("lock_table_arn", Value::string("terraform-lock"));
        let d = crate::framework::plan::validate_config(&r, &config);
        let got: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
            .collect();
        for want in [
            "name",
            "issuer_url",
            "subjects[1]",
            "max_session_hours",
            "lock_table_arn",
        ] {
            assert!(got.iter().any(|p| p == want), "missing {want} in {got:?}");
        }
    }
}
