//! `bankplatform_kms_key`: a customer-managed key for one named purpose, as an
//! auditor expects it with no arguments beyond a name: rotation on, a 30-day
//! deletion window, a key policy that separates administrators from users and
//! admits only the service principals the purpose needs (each restricted by
//! source account, source ARN or encryption context), an alias, and a
//! `compliance` map read back from AWS on every refresh.
//!
//! Children: the key (root, created with its ownership marker and policy), its
//! rotation, its alias. The keys other composites make for themselves come from
//! the same code (`managed_key`, `key_policy`).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde_json::Value as Json;

use super::key_policy::{self, KeyPolicy, PURPOSES, SID_ADMIN, SID_USE};
use super::managed_key::{self, KEY_DELETION_WINDOW_DAYS};
use super::replicas::{self, Replica, ReplicaSpec};
use crate::aws::{error_message, is_not_found, partition, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{self, int_between, one_of};
use crate::framework::Diagnostics;
use crate::resources::common::target_of;
use crate::resources::iam::policy_doc::{canonical_json, parse_statements};
use crate::resources::kit::composite::{done, Composite, Failures, Invalid, PlanRequest};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::value::{AttrPath, Type, Value};

/// The purpose, on the key itself (so import knows it).
const PURPOSE_TAG: &str = "bankplatform:purpose";

/// The key as configured.
pub(crate) struct Desired {
    alias: String,
    purpose: String,
    description: String,
    policy: String,
    multi_region: bool,
    /// Regions to keep a replica in; `None` (unset): replicas are not managed here
    /// (made with another tool: never removed by this resource).
    replicas: Option<BTreeSet<String>>,
    /// The key policy of each replica's Region (set by `prepare`).
    replica_policies: BTreeMap<String, String>,
    deletion_window_days: i32,
    tags_all: BTreeMap<String, String>,
    /// Set by `create_root` when it made the key just now with every setting.
    fresh: bool,
}

/// The key as AWS reports it.
#[derive(Clone)]
pub(crate) struct Observed {
    arn: String,
    key_id: String,
    state: String,
    customer_managed: bool,
    symmetric: bool,
    multi_region: bool,
    description: String,
    rotation: bool,
    policy: Option<Json>,
    tags: BTreeMap<String, String>,
    /// Aliases pointing at the key.
    aliases: Vec<String>,
    /// Replicas by Region (a multi-Region primary's).
    replicas: BTreeMap<String, Replica>,
    /// The Regions the configuration wants replicas in (set when judging).
    wanted_replicas: BTreeSet<String>,
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "KMS.4",
        title: "Automatic key rotation is on.",
        evidence: "`kms:GetKeyRotationStatus` → `KeyRotationEnabled`",
        judge: |o| Some(o.rotation),
    },
    Control {
        id: "CIS 4.6",
        title: "Rotation is on for the customer-created symmetric key (same read as KMS.4).",
        evidence: "`kms:GetKeyRotationStatus` → `KeyRotationEnabled`; `DescribeKey` → `KeySpec`",
        judge: |o| Some(o.rotation && o.symmetric),
    },
    Control {
        id: "KMS.3",
        title: "The key is enabled, customer-managed and not pending deletion.",
        evidence: "`kms:DescribeKey` → `KeyState = Enabled`, `KeyManager = CUSTOMER`",
        judge: |o| Some(o.state == "Enabled" && o.customer_managed),
    },
    Control {
        id: "KMS.5",
        title: "The key policy allows no principal `*` without a condition (CIS 2.21).",
        evidence: "`kms:GetKeyPolicy` → `Policy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(key_policy::no_public_principal)),
    },
    Control {
        id: "bank:key-duties-separated",
        title: "No statement grants `kms:*`, or both the management and the use of the key.",
        evidence: "`kms:GetKeyPolicy` → `Policy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(key_policy::duties_separated)),
    },
    Control {
        id: "bank:key-services-scoped",
        title: "Every service principal admitted is restricted by source account, source ARN or encryption context.",
        evidence: "`kms:GetKeyPolicy` → `Policy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(key_policy::services_scoped)),
    },
    Control {
        id: "bank:key-replicated",
        title: "Every Region of `replica_regions` holds an enabled replica under the key's alias (judged only when replicas are asked for).",
        evidence: "`kms:DescribeKey` → `MultiRegionConfiguration.ReplicaKeys`; in each Region `DescribeKey` → `KeyState`, `ListAliases`",
        judge: |o| {
            (!o.wanted_replicas.is_empty()).then(|| {
                o.wanted_replicas
                    .iter()
                    .all(|r| o.replicas.get(r).is_some_and(|x| x.enabled && x.aliased))
            })
        },
    },
];

/// The resource type.
pub struct KmsKey {
    schema: Schema,
}

impl Default for KmsKey {
    fn default() -> Self {
        Self::new()
    }
}

impl KmsKey {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let list = || Type::list(Type::String);
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The key id."),
            Attribute::string("name").required().requires_replace()
                .validate(validators::func("letters, digits, `/`, `_` and `-`, not starting with `aws/`", |path, v, diags| {
                    if let Some(why) = alias_name_problem(v) {
                        diags.attr_error(path.clone(), "Invalid key name", why);
                    }
                }))
                .describe("Name of the key; its alias is `alias/<name>` (e.g. `bankplatform/prod/trail`)."),
            Attribute::string("purpose").required()
                .validate(one_of("Invalid key purpose", PURPOSES))
                .describe("What the key protects; chooses the service principals its policy admits and the service users must go through (`kms:ViaService`). `general`, `logs` (CloudWatch Logs), `trail` (CloudTrail, its log group and alarm topic), `s3`, `sns`, `sqs`, `rds`, `secrets`, `ebs`, `dynamodb`, `kinesis`, `config`, `guardduty`."),
            Attribute::string("description").optional().computed().describe("Description; default names the purpose."),
            Attribute::typed("administrators", list()).optional().computed()
                .describe("Principals (ARNs) that manage the key and cannot use it. Default: the account (`arn:aws:iam::<account>:root`: whoever IAM policies allow). When set, include the role Terraform runs as, or it cannot change the key again."),
            Attribute::typed("users", list()).optional().computed()
                .describe("Principals (ARNs) that use the key and cannot manage it, through the purpose's service only. Default: the account."),
            Attribute::typed("source_accounts", list()).optional()
                .describe("Accounts whose services may use the key (e.g. every account's trail writing to the log archive). Default: this account."),
            Attribute::typed("source_arns", list()).optional()
                .describe("ARNs (wildcards allowed) that narrow the admitted services further: a trail, a log group, a topic."),
            Attribute::string("policy_statements").optional()
                .describe("Extra key policy statements, as a JSON array (`jsonencode([...])`), appended. Public `Allow` statements without a condition are refused."),
            Attribute::string("policy").computed().describe("The effective key policy (canonical JSON)."),
            Attribute::number("deletion_window_days").default(Value::number(i64::from(KEY_DELETION_WINDOW_DAYS)))
                .validate(int_between("Invalid deletion window", 7, 30))
                .describe("Days between `terraform destroy` and the key's deletion (7 to 30; default 30, the longest AWS allows: a key removed by mistake can be recovered meanwhile)."),
            Attribute::bool("multi_region").default(Value::Bool(false)).requires_replace()
                .describe("A multi-Region primary key, for DR replicas in other Regions."),
            Attribute::typed("replica_regions", list()).optional()
                .describe("Regions to keep a replica of the key in, for disaster recovery (needs `multi_region = true`): each replica has the same key material and id, its own key policy naming its Region, and the same alias, so data encrypted here can be decrypted there without a call back. Adding or removing a Region changes the replicas in place; a removed replica is scheduled for deletion after `deletion_window_days`."),
            Attribute::typed("replica_arns", Type::map(Type::String)).computed()
                .describe("Region → ARN of the replica there."),
            Attribute::string("arn").computed().use_state_for_unknown().describe("Key ARN."),
            Attribute::string("alias").computed().use_state_for_unknown().describe("`alias/<name>`."),
            Attribute::string("alias_arn").computed().use_state_for_unknown().describe("Alias ARN."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on the key: `default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls)."),
        ];
        KmsKey {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "A customer-managed KMS key for one purpose: rotation on, 30-day deletion window, a key policy separating administrators from users and admitting only the service principals the purpose needs (each restricted by source account, ARN or encryption context), an alias, and a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("key")],
                },
            },
        }
    }
}

fn alias_name_problem(v: &Value) -> Option<String> {
    let name = v.as_str()?;
    let ok = !name.is_empty()
        && name.len() <= 250
        && !name.starts_with("aws/")
        && !name.starts_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'));
    (!ok).then(|| format!("\"{name}\" cannot name a KMS alias: use letters, digits, `/`, `_` and `-` (at most 250), not starting with `aws/` or `/`."))
}

/// A key id (`1234abcd-...` or a multi-Region `mrk-...`).
fn looks_like_key_id(s: &str) -> bool {
    let hex = s.trim_start_matches("mrk-");
    hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

fn strings(v: &Value) -> Vec<String> {
    v.string_list()
}

/// The key policy of a configuration, given the account and region.
fn policy_of(v: &Value, account: &str, region: &str) -> Result<Json, String> {
    let extra = match v.get("policy_statements").as_str() {
        Some(t) => parse_statements(t).map_err(|e| format!("policy_statements: {e}"))?,
        None => vec![],
    };
    let purpose = v.get("purpose").as_str().unwrap_or("general").to_string();
    let (admins, users) = (strings(v.get("administrators")), strings(v.get("users")));
    let (accounts, arns) = (
        strings(v.get("source_accounts")),
        strings(v.get("source_arns")),
    );
    Ok(KeyPolicy {
        partition: partition(region),
        region,
        account,
        purpose: &purpose,
        administrators: &admins,
        users: &users,
        source_accounts: &accounts,
        source_arns: &arns,
        publishers: &[],
        extra: &extra,
    }
    .document())
}

fn alias_of(name: &str) -> String {
    format!("alias/{name}")
}

fn own_region(region: &str) -> String {
    format!("replica_regions holds {region}, the key's own Region: a replica must be in another Region.")
}

/// The Regions of `replica_regions` (unknown or unset: none).
fn replica_regions(v: &Value) -> BTreeSet<String> {
    v.get("replica_regions").string_list().into_iter().collect()
}

/// The controls a policy (and asking for replicas) makes hold (rotation and state
/// are the key's own).
fn expected(policy: &Json, replicated: bool) -> Value {
    Value::Map(
        [
            ("bank:key-replicated", replicated),
            ("KMS.4", true),
            ("CIS 4.6", true),
            ("KMS.3", true),
            ("KMS.5", key_policy::no_public_principal(policy)),
            (
                "bank:key-duties-separated",
                key_policy::duties_separated(policy),
            ),
            (
                "bank:key-services-scoped",
                key_policy::services_scoped(policy),
            ),
        ]
        .into_iter()
        .filter(|(k, _)| replicated || *k != "bank:key-replicated")
        .map(|(k, v)| (k.to_string(), Value::Bool(v)))
        .collect(),
    )
}

impl KmsKey {
    /// The key by id or alias, with everything the controls read; `None` when it is
    /// gone or pending deletion.
    async fn read(&self, c: &Clients, key: &str) -> Result<Option<Observed>, String> {
        let meta = match c.kms.describe_key().key_id(key).send().await {
            Ok(o) => o
                .key_metadata
                .ok_or_else(|| format!("reading KMS Key ({key}): KMS answered without the key"))?,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(format!("reading KMS Key ({key}): {}", error_message(&e))),
        };
        let state = meta
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if state == "PendingDeletion" || state == "PendingReplicaDeletion" {
            return Ok(None);
        }
        let key_id = meta.key_id().to_string();
        let (rotation, policy, tags, aliases) = tokio::join!(
            c.kms.get_key_rotation_status().key_id(&key_id).send(),
            c.kms
                .get_key_policy()
                .key_id(&key_id)
                .policy_name("default")
                .send(),
            c.kms.list_resource_tags().key_id(&key_id).send(),
            c.kms.list_aliases().key_id(&key_id).send(),
        );
        let what = |e: String| format!("reading KMS Key ({key_id}): {e}");
        let rotation = rotation
            .map_err(|e| what(error_message(&e)))?
            .key_rotation_enabled;
        let policy = policy
            .map_err(|e| what(error_message(&e)))?
            .policy
            .and_then(|p| serde_json::from_str::<Json>(&p).ok());
        let tags = tags
            .map_err(|e| what(error_message(&e)))?
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.tag_key, t.tag_value))
            .collect();
        let aliases: Vec<String> = aliases
            .map_err(|e| what(error_message(&e)))?
            .aliases
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.alias_name)
            .collect();
        // Replicas are read whatever the aliases: a replica must never escape a
        // destroy because the primary's alias was taken away.
        let replicas = if meta.multi_region().unwrap_or(false) {
            replicas::observe(c, &meta, &aliases).await?
        } else {
            BTreeMap::new()
        };
        Ok(Some(Observed {
            arn: meta.arn().unwrap_or_default().to_string(),
            customer_managed: meta.key_manager().is_some_and(|m| m.as_str() == "CUSTOMER"),
            symmetric: meta
                .key_spec()
                .is_none_or(|s| s.as_str() == "SYMMETRIC_DEFAULT"),
            multi_region: meta.multi_region().unwrap_or(false),
            description: meta.description().unwrap_or_default().to_string(),
            key_id,
            state,
            rotation,
            policy,
            tags,
            aliases,
            replicas,
            wanted_replicas: BTreeSet::new(),
        }))
    }

    fn state_from(&self, base: &Value, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(&o.key_id));
        s.set_attr("arn", Value::string(&o.arn));
        s.set_attr("description", Value::string(&o.description));
        s.set_attr("multi_region", Value::Bool(o.multi_region));
        if let Some(p) = o.tags.get(PURPOSE_TAG) {
            s.set_attr("purpose", Value::string(p));
        }
        if let Some(p) = &o.policy {
            let same = base
                .get("policy")
                .as_str()
                .and_then(|t| serde_json::from_str::<Json>(t).ok())
                .is_some_and(|b| canonical_json(&b) == canonical_json(p));
            if !same {
                s.set_attr("policy", Value::string(canonical_json(p).to_string()));
            }
            for (attr, sid) in [("administrators", SID_ADMIN), ("users", SID_USE)] {
                let found = key_policy::principals(p, sid);
                if strings(base.get(attr)) != found {
                    s.set_attr(
                        attr,
                        Value::List(found.into_iter().map(Value::String).collect()),
                    );
                }
            }
        } else {
            s.set_attr("policy", Value::Null);
        }
        s.set_attr("tags_all", tags::own(&o.tags));
        s.set_attr(
            "replica_arns",
            Value::string_map(
                o.replicas
                    .iter()
                    .filter(|(_, r)| !r.pending_deletion)
                    .map(|(region, r)| (region.clone(), r.arn.clone())),
            ),
        );
        let judged = Observed {
            wanted_replicas: replica_regions(base),
            ..o.clone()
        };
        s.set_attr("compliance", controls::value(CONTROLS, &judged));
        s
    }

    /// Makes the key's settings match `d`, from what `o` reports.
    async fn converge_key(&self, c: &Clients, d: &Desired, o: &Observed) -> Failures {
        let key = o.key_id.as_str();
        let want_policy: Option<Json> = serde_json::from_str(&d.policy).ok();
        let policy_ok =
            o.policy.as_ref().map(canonical_json) == want_policy.as_ref().map(canonical_json);
        let mut tags_wanted = d.tags_all.clone();
        tags_wanted.insert(PURPOSE_TAG.into(), d.purpose.clone());
        let tags::TagChanges { missing, stale } = tags::changes(&o.tags, &tags_wanted);
        let missing: Vec<aws_sdk_kms::types::Tag> = missing
            .iter()
            .filter_map(|(k, v)| {
                aws_sdk_kms::types::Tag::builder()
                    .tag_key(k)
                    .tag_value(v)
                    .build()
                    .ok()
            })
            .collect();
        let (p, r, desc, tag, untag, alias) = tokio::join!(
            async {
                if policy_ok {
                    return Ok(());
                }
                managed_key::put_policy(c, key, &d.policy).await
            },
            async {
                if o.rotation {
                    return Ok(());
                }
                c.kms
                    .enable_key_rotation()
                    .key_id(key)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "enabling rotation of KMS Key ({key}): {}",
                            error_message(&e)
                        )
                    })
            },
            async {
                if o.description == d.description {
                    return Ok(());
                }
                c.kms
                    .update_key_description()
                    .key_id(key)
                    .description(&d.description)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("describing KMS Key ({key}): {}", error_message(&e)))
            },
            async {
                if missing.is_empty() {
                    return Ok(());
                }
                c.kms
                    .tag_resource()
                    .key_id(key)
                    .set_tags(Some(missing.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("tagging KMS Key ({key}): {}", error_message(&e)))
            },
            async {
                if stale.is_empty() {
                    return Ok(());
                }
                c.kms
                    .untag_resource()
                    .key_id(key)
                    .set_tag_keys(Some(stale.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("untagging KMS Key ({key}): {}", error_message(&e)))
            },
            async {
                if o.aliases.iter().any(|a| a == &d.alias) {
                    return Ok(());
                }
                managed_key::point_alias(c, &d.alias, key).await
            },
        );
        [p, r, desc, tag, untag, alias]
            .into_iter()
            .filter_map(Result::err)
            .collect()
    }
}

#[async_trait]
impl Composite for KmsKey {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_kms_key";
    const NOUN: &'static str = "KMS key";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(t) = config.get("policy_statements").as_str() {
            if let Err(e) = parse_statements(t) {
                diags.attr_error(
                    AttrPath::root("policy_statements"),
                    "Invalid policy statements",
                    format!("policy_statements: {e}."),
                );
            }
        }
        for attr in ["administrators", "users", "source_arns"] {
            for (i, a) in config.get(attr).string_list().iter().enumerate() {
                if !a.starts_with("arn:") {
                    diags.attr_error(
                        AttrPath::root(attr).index(i as i64),
                        "Invalid ARN",
                        format!("\"{a}\" is not an ARN; write it as arn:aws:iam::111122223333:role/<name>."),
                    );
                }
            }
        }
        crate::resources::kit::schema::check_account_ids(config, "source_accounts", diags);
        crate::resources::kit::schema::check_regions(config, "replica_regions", diags);
        let multi_region = config.get("multi_region");
        if !replica_regions(config).is_empty()
            && multi_region.is_known()
            && multi_region.as_bool() != Some(true)
        {
            diags.attr_error(
                AttrPath::root("replica_regions"),
                "Replicas need a multi-Region key",
                "Only a multi-Region key can be replicated: set multi_region = true (on an existing key this replaces it), or remove replica_regions.",
            );
        }
        tags::validate(config, diags);
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let p = &mut req.planned;
        if let Some(name) = p.get("name").as_str().map(str::to_string) {
            p.set_attr("alias", Value::string(alias_of(&name)));
        }
        if config.get("description").is_null() && p.get("purpose").is_known() {
            let purpose = p.get("purpose").as_str().unwrap_or("general").to_string();
            let name = p.get("name").as_str().unwrap_or_default().to_string();
            p.set_attr(
                "description",
                Value::string(format!("{name}: {purpose} key (bankplatform)")),
            );
        }
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));
        // The replicas' ARNs are known when the Regions are those already there.
        let regions = config.get("replica_regions");
        let prior_arns = req.prior.get("replica_arns");
        let prior_regions: BTreeSet<String> = prior_arns
            .as_map()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let arns = if !regions.is_fully_known() {
            Value::unknown()
        } else if regions.is_null() {
            // Not managed here: whatever AWS has (none on a new key).
            if req.prior.is_null() {
                Value::string_map(BTreeMap::<String, String>::new())
            } else {
                prior_arns.clone()
            }
        } else if replica_regions(config).is_empty() {
            Value::string_map(BTreeMap::<String, String>::new())
        } else if prior_arns.is_known() && prior_regions == replica_regions(config) {
            // Every configured Region holds a replica already (as refreshed).
            prior_arns.clone()
        } else {
            Value::unknown()
        };
        p.set_attr("replica_arns", arns);
        // The policy names the account and region: known at plan when the provider is
        // configured (one STS call, cached).
        let place = match req.ctx {
            Some(ctx) => match ctx.clients(&target_of(config)).await {
                Ok(c) => c.account_id().await.ok().map(|a| (a, c.region.clone())),
                Err(_) => None,
            },
            None => None,
        };
        let inputs_known = [
            "purpose",
            "administrators",
            "users",
            "source_accounts",
            "source_arns",
            "policy_statements",
        ]
        .iter()
        .all(|a| config.get(a).is_fully_known());
        match place {
            Some((account, region)) if inputs_known => {
                for (i, r) in config
                    .get("replica_regions")
                    .string_list()
                    .iter()
                    .enumerate()
                {
                    if *r == region {
                        req.diags.attr_error(
                            AttrPath::root("replica_regions").index(i as i64),
                            "Invalid replica Region",
                            own_region(&region),
                        );
                    }
                }
                let root = key_policy::account_root(partition(&region), &account);
                for attr in ["administrators", "users"] {
                    if config.get(attr).is_null() {
                        p.set_attr(attr, Value::List(vec![Value::string(&root)]));
                    }
                }
                match policy_of(p, &account, &region) {
                    Ok(doc) => {
                        let replicated = !replica_regions(config).is_empty();
                        p.set_attr("compliance", expected(&doc, replicated));
                        p.set_attr("policy", Value::string(doc.to_string()));
                    }
                    Err(_) => p.set_attr("policy", Value::unknown()),
                }
                if let Some(name) = p.get("name").as_str().map(str::to_string) {
                    p.set_attr(
                        "alias_arn",
                        Value::string(format!(
                            "arn:{}:kms:{region}:{account}:{}",
                            partition(&region),
                            alias_of(&name)
                        )),
                    );
                }
            }
            _ => {
                for attr in ["policy", "compliance"] {
                    p.set_attr(attr, Value::unknown());
                }
                for attr in ["administrators", "users"] {
                    if config.get(attr).is_null() {
                        p.set_attr(attr, Value::unknown());
                    }
                }
            }
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let name = planned.get("name").as_str().unwrap_or_default();
        Ok(Desired {
            alias: alias_of(name),
            purpose: planned
                .get("purpose")
                .as_str()
                .unwrap_or("general")
                .to_string(),
            description: planned
                .get("description")
                .as_str()
                .unwrap_or_default()
                .to_string(),
            policy: planned
                .get("policy")
                .as_str()
                .unwrap_or_default()
                .to_string(),
            multi_region: planned.get("multi_region").as_bool().unwrap_or(false),
            replicas: (!planned.get("replica_regions").is_null()).then(|| replica_regions(planned)),
            replica_policies: BTreeMap::new(),
            deletion_window_days: planned
                .get("deletion_window_days")
                .as_i64()
                .and_then(|d| i32::try_from(d).ok())
                .unwrap_or(KEY_DELETION_WINDOW_DAYS),
            tags_all: tags::all(planned),
            fresh: false,
        })
    }

    /// The policy, defaults and ARNs when the plan could not know the account.
    async fn prepare(&self, c: &Clients, planned: &Value) -> Result<(Value, Desired), Invalid> {
        let mut p = planned.clone();
        let account = c.account_id().await?;
        let root = key_policy::account_root(partition(&c.region), &account);
        for attr in ["administrators", "users"] {
            if !p.get(attr).is_known() {
                p.set_attr(attr, Value::List(vec![Value::string(&root)]));
            }
        }
        if !p.get("policy").is_known() {
            let doc = policy_of(&p, &account, &c.region)?;
            p.set_attr("policy", Value::string(doc.to_string()));
        }
        let mut d = self.desired(&p)?;
        if d.replicas.as_ref().is_some_and(|r| r.contains(&c.region)) {
            return Err(Invalid::at(
                AttrPath::root("replica_regions"),
                own_region(&c.region),
            ));
        }
        for region in d.replicas.iter().flatten() {
            let doc = policy_of(&p, &account, region)?;
            d.replica_policies.insert(region.clone(), doc.to_string());
        }
        Ok((p, d))
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("id").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v
    }

    /// The key, created with its policy, tags and lifecycle marker, then rotation and
    /// alias; or the key an interrupted create of this name left (its alias, or its
    /// alias tag, still marked `creating`).
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        if let Some(arn) = managed_key::find(c, &d.alias).await? {
            match self.read(c, &arn).await? {
                Some(o) => {
                    if claim(o.tags.get(LIFECYCLE_TAG).map(String::as_str)) == Claim::Refuse {
                        return Err(format!("KMS alias {} already names key {} (not made by an unfinished create of this resource). Import it (terraform import <address> {}) or choose another name.", d.alias, o.arn, d.alias.trim_start_matches("alias/")));
                    }
                    tracing::info!(key = %o.key_id, alias = %d.alias, "continuing with the key an interrupted create made");
                    return Ok((o.key_id, true));
                }
                // The alias points at a key pending deletion: take the alias over.
                None => {
                    let _ = c.kms.delete_alias().alias_name(&d.alias).send().await;
                }
            }
        }
        let mut tags: Vec<(String, String)> = d
            .tags_all
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.push((PURPOSE_TAG.into(), d.purpose.clone()));
        tags.push((LIFECYCLE_TAG.into(), CREATING.into()));
        let (arn, continued) = managed_key::create_or_continue(
            c,
            &d.alias,
            &d.description,
            &tags,
            Some(d.policy.clone()),
            d.multi_region,
        )
        .await?;
        d.fresh = !continued;
        let key_id = arn.rsplit('/').next().unwrap_or(&arn).to_string();
        Ok((key_id, false))
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        _prior: Option<&Value>,
    ) -> Result<(), Failures> {
        if d.fresh && d.replicas.as_ref().is_none_or(BTreeSet::is_empty) {
            // Made just now with every setting (managed_key::create).
            return Ok(());
        }
        let o = match self.read(c, root).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                return Err(vec![format!(
                    "KMS Key ({root}) is gone or pending deletion."
                )])
            }
            Err(e) => return Err(vec![e]),
        };
        let mut failures = if d.fresh {
            vec![]
        } else {
            self.converge_key(c, d, &o).await
        };
        if let (true, Some(wanted)) = (o.multi_region, &d.replicas) {
            let mut tags = d.tags_all.clone();
            tags.insert(PURPOSE_TAG.into(), d.purpose.clone());
            failures.extend(
                replicas::converge(
                    c,
                    &o.key_id,
                    &o.replicas,
                    wanted,
                    |region| ReplicaSpec {
                        alias: &d.alias,
                        description: &d.description,
                        policy: d.replica_policies.get(region).cloned().unwrap_or_default(),
                        tags: &tags,
                    },
                    d.deletion_window_days,
                )
                .await,
            );
        }
        done(failures)
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        let tag = aws_sdk_kms::types::Tag::builder()
            .tag_key(LIFECYCLE_TAG)
            .tag_value(CREATED)
            .build()
            .map_err(|e| e.to_string())?;
        c.kms
            .tag_resource()
            .key_id(root)
            .tags(tag)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("marking KMS Key ({root}) created: {}", error_message(&e)))
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        self.read(c, root).await
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        let alias = alias_of(state.get("name").as_str().unwrap_or_default());
        let days = state
            .get("deletion_window_days")
            .as_i64()
            .and_then(|d| i32::try_from(d).ok())
            .unwrap_or(KEY_DELETION_WINDOW_DAYS);
        // Replicas first (AWS deletes a primary only once it has none), when this
        // resource manages them; replicas made elsewhere are theirs to remove.
        if state.get("multi_region").as_bool() == Some(true)
            && !state.get("replica_regions").is_null()
        {
            if let Some(o) = self.read(c, root).await.map_err(|e| vec![e])? {
                done(replicas::retire_all(c, &o.replicas, days).await)?;
            }
        }
        managed_key::retire_after(c, &alias, root, days)
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
            "- `kms_cmk_not_multi_region` (medium), on the example's `data` key only: that key is multi-Region on purpose, with a replica in the recovery Region, to show the DR option. The check flags every multi-Region key, because its material can then be used outside the key's own Region. The default is `multi_region = false`, which passes; turning it on is visible in the plan, and each replica's policy names its own Region.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by name (the alias without `alias/`), key id or key ARN, in the provider's own account and region. The purpose is read from the key's `bankplatform:purpose` tag; `source_accounts` and `source_arns` cannot be read back and are taken from the configuration at the next apply."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let mut d = Diagnostics::new();
        // A name (the alias without `alias/`), the alias, the key id or the key ARN.
        let is_key = id.starts_with("arn:") || looks_like_key_id(id);
        if !is_key {
            if let Some(why) = alias_name_problem(&Value::string(id.trim_start_matches("alias/"))) {
                d.error("Invalid import ID", why);
                return Err(d);
            }
        }
        let lookup = if is_key {
            id.to_string()
        } else {
            alias_of(id.trim_start_matches("alias/"))
        };
        let o = match self.read(c, &lookup).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                d.error(
                    "Cannot import non-existent key",
                    format!("No usable KMS key is {lookup} in the provider's account and region."),
                );
                return Err(d);
            }
            Err(e) => {
                d.error("Cannot read the key", e);
                return Err(d);
            }
        };
        let name = if is_key {
            match o.aliases.first() {
                Some(a) => a.trim_start_matches("alias/").to_string(),
                None => {
                    d.error("Cannot import an unaliased key", format!("KMS Key ({lookup}) has no alias; bankplatform_kms_key names every key by its alias. Give it one (aws kms create-alias) and import it by that name."));
                    return Err(d);
                }
            }
        } else {
            id.trim_start_matches("alias/").to_string()
        };
        let name = name.as_str();
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s.set_attr("name", Value::string(name));
        s.set_attr("alias", Value::string(alias_of(name)));
        s.set_attr(
            "deletion_window_days",
            Value::number(i64::from(KEY_DELETION_WINDOW_DAYS)),
        );
        if let Ok(account) = c.account_id().await {
            s.set_attr(
                "alias_arn",
                Value::string(format!(
                    "arn:{}:kms:{}:{account}:{}",
                    partition(&c.region),
                    c.region,
                    alias_of(name)
                )),
            );
        }
        let defaults = ctx.default_tags();
        if let Some(t) = tags::imported(&o.tags, defaults) {
            s.set_attr("tags", t);
        }
        if let Some(p) = &o.policy {
            let user = key_policy::user_statements(p);
            if !user.is_empty() {
                s.set_attr(
                    "policy_statements",
                    Value::string(Json::Array(user).to_string()),
                );
            }
        }
        s.set_attr("multi_region", Value::Bool(o.multi_region));
        let live: Vec<Value> = o
            .replicas
            .iter()
            .filter(|(_, r)| !r.pending_deletion)
            .map(|(region, _)| Value::string(region))
            .collect();
        if !live.is_empty() {
            s.set_attr("replica_regions", Value::List(live));
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
        let r = Kit::new(KmsKey::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("aws/mine"));
        config.set_attr("purpose", Value::string("trial"));
        config.set_attr("deletion_window_days", Value::number(3));
        config.set_attr("administrators", Value::List(vec![Value::string("admin")]));
        config.set_attr(
            "policy_statements",
            Value::string(
                r#"[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]"#,
            ),
        );
        let d = crate::framework::plan::validate_config(&r, &config);
        let got: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
            .collect();
        for want in [
            "name",
            "purpose",
            "deletion_window_days",
            "administrators[0]",
            "policy_statements",
        ] {
            assert!(got.iter().any(|p| p == want), "missing {want} in {got:?}");
        }
    }
}
