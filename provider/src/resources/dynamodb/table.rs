//! `bankplatform_dynamodb_table`: a DynamoDB table as an auditor expects it with no
//! arguments beyond a name and a key: encrypted with a customer-managed key (made
//! for it unless one is given), point-in-time recovery on, deletion protection on,
//! on-demand capacity (it scales with demand), tagged, and a `compliance` map read
//! back from AWS. The generated tree's Terraform state lock is one (key `LockID`).
//!
//! Children: the managed key (made before the table, retired after it), the table
//! (root: created with its ownership marker, key and tags in one call), its
//! continuous backups, its deletion protection, its tags.
//!
//! Deletion protection holds against `terraform destroy` too, as in AWS: a table
//! this resource finished creating is removed only once `deletion_protection =
//! false` has been applied. A create that failed or was interrupted (the table
//! still marked `creating`) is rolled back whatever the setting.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types as t;

use crate::aws::{error_code, error_message, is_not_found, partition, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{arn, one_of};
use crate::framework::Diagnostics;
use crate::resources::iam::service_role::digest;
use crate::resources::kit::calls::{self, pause, unanswered, GoneIsDone};
use crate::resources::kit::composite::{
    done, imported, with_undo, Composite, Failures, PlanRequest,
};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::resources::kit::wait::{self, Poll};
use crate::resources::kms::key_policy::KeyPolicy;
use crate::resources::kms::managed_key;
use crate::value::{AttrPath, Type, Value};

/// Key attribute types: string, number, binary.
const KEY_TYPES: &[&str] = &["S", "N", "B"];
/// Where the managed key's alias starts.
const ALIAS_PREFIX: &str = "alias/bankplatform/dynamodb/";
/// How long a table may take to become ACTIVE, or to go away.
const TABLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The table as configured.
pub(crate) struct Desired {
    name: String,
    hash: (String, String),
    range: Option<(String, String)>,
    /// The key: given, or made (and then set by `create_root`).
    key: Option<String>,
    key_managed: bool,
    pitr: bool,
    deletion_protection: bool,
    tags_all: BTreeMap<String, String>,
}

/// The table as AWS reports it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    name: String,
    arn: String,
    status: String,
    hash: Option<(String, String)>,
    range: Option<(String, String)>,
    /// The KMS key of SSE-KMS (`None`: encrypted with an AWS-owned key).
    key: Option<String>,
    on_demand: bool,
    deletion_protection: bool,
    /// `None` when continuous backups cannot be read.
    pitr: Option<bool>,
    tags: BTreeMap<String, String>,
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "DynamoDB.1",
        title: "Capacity scales with demand (on-demand billing).",
        evidence: "`dynamodb:DescribeTable` → `BillingModeSummary`",
        judge: |o| Some(o.on_demand),
    },
    Control {
        id: "DynamoDB.2",
        title: "Point-in-time recovery is enabled.",
        evidence: "`dynamodb:DescribeContinuousBackups` → `PointInTimeRecoveryStatus`",
        judge: |o| Some(o.pitr == Some(true)),
    },
    Control {
        id: "DynamoDB.6",
        title: "Deletion protection is enabled.",
        evidence: "`dynamodb:DescribeTable` → `DeletionProtectionEnabled`",
        judge: |o| Some(o.deletion_protection),
    },
    Control {
        id: "bank:table-cmk",
        title: "The table is encrypted with a customer-managed KMS key (not an AWS-owned or AWS-managed one).",
        evidence: "`dynamodb:DescribeTable` → `SSEDescription`",
        judge: |o| Some(o.key.as_deref().is_some_and(|k| k.starts_with("arn:") && !k.contains("alias/aws/"))),
    },
];

/// The resource type.
pub struct DynamodbTable {
    schema: Schema,
}

impl Default for DynamodbTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The managed key's alias. KMS aliases take no `.`, which table names may hold: such
/// a name is spelled with `_` and a digest of the real name, so two tables never
/// share a key.
fn key_alias(name: &str) -> String {
    if name.contains('.') {
        format!(
            "{ALIAS_PREFIX}{}-{:08x}",
            name.replace('.', "_"),
            digest(name) as u32
        )
    } else {
        format!("{ALIAS_PREFIX}{name}")
    }
}

/// AWS's limit on table names (255), less what the managed key's alias (at most
/// 256) puts around the name.
const MAX_NAME: usize = 256 - ALIAS_PREFIX.len() - 9;

fn key_of(v: &Value, name: &str, ty: &str) -> Option<(String, String)> {
    Some((
        v.get(name).as_str()?.to_string(),
        v.get(ty).as_str().unwrap_or("S").to_string(),
    ))
}

impl DynamodbTable {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let key_type = |name: &'static str, doc: &'static str| {
            Attribute::string(name)
                .optional()
                .computed()
                .requires_replace()
                .validate(one_of("Invalid key attribute type", KEY_TYPES))
                .describe(doc)
        };
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The table name."),
            Attribute::string("name").required().requires_replace()
                .describe("Table name (3 to 220 letters, digits, `_`, `-` and `.`)."),
            Attribute::string("hash_key").required().requires_replace().describe("Partition key attribute (e.g. `LockID` for a Terraform state lock)."),
            key_type("hash_key_type", "Type of the partition key: `S` (string, the default), `N` (number) or `B` (binary)."),
            Attribute::string("range_key").optional().requires_replace().describe("Sort key attribute, if any."),
            key_type("range_key_type", "Type of the sort key: `S` (string, the default when `range_key` is set), `N` or `B`."),
            Attribute::string("kms_key_arn").optional().computed().use_state_for_unknown()
                .validate(arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
                .describe("Customer-managed key the table is encrypted with. Default: a key made for the table (alias `alias/bankplatform/dynamodb/<name>`, purpose `dynamodb`, rotation on), retired with it. Changing it re-encrypts in place."),
            Attribute::bool("point_in_time_recovery").default(Value::Bool(true))
                .describe("Continuous backups with point-in-time recovery (35 days). `false` weakens DynamoDB.2, visibly in the plan's `compliance`."),
            Attribute::bool("deletion_protection").default(Value::Bool(true))
                .describe("Deletion protection. While on, the table cannot be deleted, not even by `terraform destroy`: apply `false` first. `false` weakens DynamoDB.6, visibly in the plan's `compliance`."),
            Attribute::string("arn").computed().use_state_for_unknown().describe("Table ARN."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on the table: `default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls)."),
        ];
        DynamodbTable {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "A DynamoDB table with on-demand capacity, encrypted with a customer-managed key, point-in-time recovery and deletion protection on, and a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("table")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(&o.name));
        s.set_attr("name", Value::string(&o.name));
        s.set_attr("arn", Value::string(&o.arn));
        if let Some((k, ty)) = &o.hash {
            s.set_attr("hash_key", Value::string(k));
            s.set_attr("hash_key_type", Value::string(ty));
        }
        match &o.range {
            Some((k, ty)) => {
                s.set_attr("range_key", Value::string(k));
                s.set_attr("range_key_type", Value::string(ty));
            }
            None => {
                s.set_attr("range_key", Value::Null);
                s.set_attr("range_key_type", Value::Null);
            }
        }
        s.set_attr(
            "kms_key_arn",
            o.key.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr("point_in_time_recovery", Value::Bool(o.pitr == Some(true)));
        s.set_attr("deletion_protection", Value::Bool(o.deletion_protection));
        s.set_attr("tags_all", tags::own(&o.tags));
        s.set_attr("compliance", controls::value(CONTROLS, o));
        s
    }
}

fn ddb_tag(k: &str, v: &str) -> Result<t::Tag, String> {
    t::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| e.to_string())
}

fn key_element(name: &str, kind: t::KeyType) -> Result<t::KeySchemaElement, String> {
    t::KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| e.to_string())
}

fn definition(name: &str, ty: &str) -> Result<t::AttributeDefinition, String> {
    t::AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t::ScalarAttributeType::from(ty))
        .build()
        .map_err(|e| e.to_string())
}

fn sse(key: &str) -> t::SseSpecification {
    t::SseSpecification::builder()
        .enabled(true)
        .sse_type(t::SseType::Kms)
        .kms_master_key_id(key)
        .build()
}

/// The managed key's policy: DynamoDB's use of it in this account and Region.
async fn key_policy_for(c: &Clients) -> Result<serde_json::Value, String> {
    let account = c.account_id().await?;
    Ok(KeyPolicy {
        partition: partition(&c.region),
        region: &c.region,
        account: &account,
        purpose: "dynamodb",
        administrators: &[],
        users: &[],
        source_accounts: &[],
        source_arns: &[],
        publishers: &[],
        extra: &[],
    }
    .document())
}

/// The managed key: found by its alias (an interrupted create's), or made.
async fn ensure_key(c: &Clients, d: &Desired) -> Result<String, String> {
    managed_key::ensure(
        c,
        &key_alias(&d.name),
        &format!("DynamoDB table {} (bankplatform)", d.name),
        &d.tags_all,
        key_policy_for(c),
    )
    .await
}

async fn observe(c: &Clients, name: &str) -> Result<Option<Observed>, String> {
    let what = |e: String| format!("reading DynamoDB Table ({name}): {e}");
    let table = match c.dynamodb.describe_table().table_name(name).send().await {
        Ok(o) => match o.table {
            Some(t) => t,
            None => return Err(what("DynamoDB answered without the table".into())),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(what(error_message(&e))),
    };
    if table.table_status() == Some(&t::TableStatus::Deleting) {
        return Ok(None);
    }
    let arn = table.table_arn().unwrap_or_default().to_string();
    let (backups, tags) = tokio::join!(
        c.dynamodb
            .describe_continuous_backups()
            .table_name(name)
            .send(),
        c.dynamodb.list_tags_of_resource().resource_arn(&arn).send()
    );
    let pitr = match backups {
        Ok(b) => b
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .map(|s| s == &t::PointInTimeRecoveryStatus::Enabled),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(what(error_message(&e))),
    };
    let tags = tags
        .map_err(|e| what(error_message(&e)))?
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let types: BTreeMap<&str, &str> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    let key = |kind: t::KeyType| {
        table
            .key_schema()
            .iter()
            .find(|k| k.key_type() == &kind)
            .map(|k| {
                let n = k.attribute_name();
                (n.to_string(), types.get(n).unwrap_or(&"S").to_string())
            })
    };
    let sse = table.sse_description();
    let kms = sse.is_some_and(|s| {
        s.status() == Some(&t::SseStatus::Enabled) && s.sse_type() == Some(&t::SseType::Kms)
    });
    Ok(Some(Observed {
        name: name.to_string(),
        arn,
        status: table
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        hash: key(t::KeyType::Hash),
        range: key(t::KeyType::Range),
        key: sse
            .and_then(|s| s.kms_master_key_arn())
            .filter(|_| kms)
            .map(str::to_string),
        // A table never switched to provisioned reports no summary: on demand only
        // when it says so.
        on_demand: table.billing_mode_summary().and_then(|b| b.billing_mode())
            == Some(&t::BillingMode::PayPerRequest),
        deletion_protection: table.deletion_protection_enabled() == Some(true),
        pitr,
        tags,
    }))
}

/// Waits until the table is ACTIVE (a create or an update of its encryption is done).
async fn active(c: &Clients, name: &str) -> Result<(), String> {
    wait::until(
        c,
        &format!("DynamoDB Table ({name})"),
        "active",
        TABLE_TIMEOUT,
        || async {
            Ok(match observe(c, name).await? {
                Some(o) if o.status == "ACTIVE" => Poll::Done,
                Some(_) => Poll::Pending,
                None => Poll::Never("disappeared".into()),
            })
        },
    )
    .await
}

/// Deletes the table and waits until it is gone (a replacement of the same name
/// would otherwise be refused while it is DELETING).
async fn delete_table(c: &Clients, name: &str) -> Result<(), String> {
    c.dynamodb
        .delete_table()
        .table_name(name)
        .send()
        .await
        .gone_is_done(&format!("deleting DynamoDB Table ({name})"))?;
    wait::until(
        c,
        &format!("DynamoDB Table ({name})"),
        "deleted",
        TABLE_TIMEOUT,
        || async {
            Ok(
                match c.dynamodb.describe_table().table_name(name).send().await {
                    Err(e) if is_not_found(&e) => Poll::Done,
                    Err(e) => {
                        return Err(format!(
                            "reading DynamoDB Table ({name}): {}",
                            error_message(&e)
                        ))
                    }
                    Ok(_) => Poll::Pending,
                },
            )
        },
    )
    .await
}

/// Turns deletion protection on or off.
async fn protect(c: &Clients, name: &str, on: bool) -> Result<(), String> {
    c.dynamodb
        .update_table()
        .table_name(name)
        .deletion_protection_enabled(on)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting deletion protection of DynamoDB Table ({name}): {}",
                error_message(&e)
            )
        })
}

/// Turns point-in-time recovery on or off. Just after a create, AWS can answer that
/// continuous backups are not yet available: asked again with backoff.
async fn set_pitr(c: &Clients, name: &str, on: bool) -> Result<(), String> {
    let spec = t::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(on)
        .build()
        .map_err(|e| e.to_string())?;
    let what = format!("setting point-in-time recovery of DynamoDB Table ({name})");
    let mut attempt = 0;
    loop {
        attempt += 1;
        match c
            .dynamodb
            .update_continuous_backups()
            .table_name(name)
            .point_in_time_recovery_specification(spec.clone())
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if error_code(&e) == Some("ContinuousBackupsUnavailableException")
                    && attempt < 10 =>
            {
                pause(c, calls::backoff(attempt + 2), &what).await?;
            }
            Err(e) => return Err(format!("{what}: {}", error_message(&e))),
        }
    }
}

#[async_trait]
impl Composite for DynamodbTable {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_dynamodb_table";
    const NOUN: &'static str = "DynamoDB table";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(name) = config.get("name").as_str() {
            let ok = (3..=MAX_NAME).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !ok {
                diags.attr_error(
                    AttrPath::root("name"),
                    "Invalid table name",
                    format!("\"{name}\" must be 3 to {MAX_NAME} letters, digits, '_', '-' or '.'."),
                );
            }
        }
        for attr in ["hash_key", "range_key"] {
            if config
                .get(attr)
                .as_str()
                .is_some_and(|k| k.is_empty() || k.len() > 255)
            {
                diags.attr_error(
                    AttrPath::root(attr),
                    "Invalid key attribute",
                    format!("{attr} must be 1 to 255 characters."),
                );
            }
        }
        let (hash, range) = (config.get("hash_key").as_str(), config.get("range_key"));
        if range.is_null() && !config.get("range_key_type").is_null() {
            diags.attr_error(
                AttrPath::root("range_key_type"),
                "Sort key type without a sort key",
                "range_key_type is set but range_key is not: set both, or neither.",
            );
        }
        if hash.is_some() && range.as_str() == hash {
            diags.attr_error(
                AttrPath::root("range_key"),
                "Invalid sort key",
                "range_key names the same attribute as hash_key: a sort key must be another attribute.",
            );
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
        // The key types are what is configured, `S` by default (never unknown: a
        // computed attribute left unknown would force a replacement on any change).
        let typed = |key: &str, ty: &str| {
            let k = config.get(key);
            if k.is_null() {
                Value::Null
            } else if config.get(ty).is_null() {
                Value::string("S")
            } else {
                config.get(ty).clone()
            }
        };
        p.set_attr("hash_key_type", typed("hash_key", "hash_key_type"));
        p.set_attr("range_key_type", typed("range_key", "range_key_type"));
        // What the configuration asks for is what must hold: a weakened setting shows
        // as a false control in the plan.
        let (pitr, protection) = (
            p.get("point_in_time_recovery").clone(),
            p.get("deletion_protection").clone(),
        );
        let compliance = match (pitr.as_bool(), protection.as_bool()) {
            (Some(pitr), Some(protection)) => Value::Map(
                [
                    ("DynamoDB.1", true),
                    ("DynamoDB.2", pitr),
                    ("DynamoDB.6", protection),
                    ("bank:table-cmk", true),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::Bool(v)))
                .collect(),
            ),
            _ => Value::unknown(),
        };
        p.set_attr("compliance", compliance);
        // A table without a customer-managed key (imported with none) gets the
        // managed one: not known until apply.
        if config.get("kms_key_arn").is_null()
            && !req.prior.is_null()
            && !req
                .prior
                .get("kms_key_arn")
                .as_str()
                .is_some_and(|k| k.starts_with("arn:"))
        {
            req.planned.set_attr("kms_key_arn", Value::unknown());
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let key = planned.get("kms_key_arn").as_str().map(str::to_string);
        Ok(Desired {
            name: planned.get("name").as_str().unwrap_or_default().to_string(),
            hash: key_of(planned, "hash_key", "hash_key_type").unwrap_or_default(),
            range: key_of(planned, "range_key", "range_key_type"),
            key_managed: key.is_none(),
            key,
            pitr: planned.get("point_in_time_recovery").as_bool() != Some(false),
            deletion_protection: planned.get("deletion_protection").as_bool() != Some(false),
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

    fn applied(&self, planned: &Value, root: &str, d: &Desired, _creating: bool) -> Value {
        let mut s = self.with_root(planned.clone(), root);
        s.set_attr(
            "kms_key_arn",
            d.key.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s
    }

    /// The key (made, or the one an interrupted create left), then the table with its
    /// key, tags and ownership marker in one call. A table of the name is taken only
    /// when an unfinished create of this resource left it (a lost answer included).
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        if d.key_managed {
            d.key = Some(ensure_key(c, d).await?);
        }
        let key = d.key.clone().unwrap_or_default();
        let made = async {
            let mut req = c
                .dynamodb
                .create_table()
                .table_name(&d.name)
                .billing_mode(t::BillingMode::PayPerRequest)
                .key_schema(key_element(&d.hash.0, t::KeyType::Hash)?)
                .attribute_definitions(definition(&d.hash.0, &d.hash.1)?)
                .sse_specification(sse(&key))
                // Turned on by converge, once the rest is in place: a rollback must
                // not have to lift it.
                .deletion_protection_enabled(false)
                .tags(ddb_tag(LIFECYCLE_TAG, CREATING)?);
            if let Some((k, ty)) = &d.range {
                req = req
                    .key_schema(key_element(k, t::KeyType::Range)?)
                    .attribute_definitions(definition(k, ty)?);
            }
            for (k, v) in &d.tags_all {
                req = req.tags(ddb_tag(k, v)?);
            }
            let adopted = match req.send().await {
                Ok(_) => false,
                // The name is taken (by this resource's unfinished create, whose
                // answer may have been lost), or the answer never came.
                Err(e) if error_code(&e) == Some("ResourceInUseException") || unanswered(&e) => {
                    let o = observe(c, &d.name).await?;
                    let Some(o) = o else {
                        return Err(format!(
                            "creating DynamoDB Table ({}): {}",
                            d.name,
                            error_message(&e)
                        ));
                    };
                    if claim(o.tags.get(LIFECYCLE_TAG).map(String::as_str)) == Claim::Refuse {
                        return Err(format!("DynamoDB Table {} already exists (not made by an unfinished create of this resource). Import it (terraform import <address> {}) or choose another name.", d.name, d.name));
                    }
                    tracing::info!(table = %d.name, "continuing with the table an interrupted create made");
                    true
                }
                Err(e) => {
                    return Err(format!(
                        "creating DynamoDB Table ({}): {}",
                        d.name,
                        error_message(&e)
                    ))
                }
            };
            Ok(adopted)
        };
        match made.await {
            Ok(adopted) => Ok((d.name.clone(), adopted)),
            Err(e) => {
                let undo = match (&d.key, d.key_managed) {
                    (Some(k), true) => managed_key::retire(c, &key_alias(&d.name), k).await.err(),
                    _ => None,
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
            return Err(vec![format!("DynamoDB Table ({root}) is gone.")]);
        };
        if o.status != "ACTIVE" {
            active(c, root).await.map_err(|e| vec![e])?;
        }
        if d.key.is_none() {
            // Planned unknown: the table has no customer-managed key yet (an imported
            // one). The managed key is found by its alias, or made.
            d.key = Some(ensure_key(c, d).await.map_err(|e| vec![e])?);
        }
        // The table's own settings, one UpdateTable at a time (AWS refuses a second
        // while the first is in progress).
        let table = async {
            if let Some(k) = d.key.as_deref().filter(|k| o.key.as_deref() != Some(*k)) {
                c.dynamodb
                    .update_table()
                    .table_name(root)
                    .sse_specification(sse(k))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "changing the key of DynamoDB Table ({root}): {}",
                            error_message(&e)
                        )
                    })?;
                active(c, root).await?;
            }
            if o.deletion_protection != d.deletion_protection {
                protect(c, root, d.deletion_protection).await?;
            }
            Ok::<(), String>(())
        };
        let backups = async {
            if o.pitr == Some(d.pitr) {
                return Ok(());
            }
            set_pitr(c, root, d.pitr).await
        };
        let arn = o.arn.as_str();
        let tagged = tags::write(
            &o.tags,
            &d.tags_all,
            |missing| async move {
                let tags: Result<Vec<_>, String> =
                    missing.iter().map(|(k, v)| ddb_tag(k, v)).collect();
                c.dynamodb
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags?))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("tagging DynamoDB Table ({root}): {}", error_message(&e)))
            },
            |stale| async move {
                c.dynamodb
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!("untagging DynamoDB Table ({root}): {}", error_message(&e))
                    })
            },
        );
        let (a, b, t) = tokio::join!(table, backups, tagged);
        done(
            [a, b]
                .into_iter()
                .filter_map(Result::err)
                .chain(t)
                .collect(),
        )
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        let arn = c.arn("dynamodb", &format!("table/{root}")).await?;
        c.dynamodb
            .tag_resource()
            .resource_arn(&arn)
            .tags(ddb_tag(LIFECYCLE_TAG, CREATED)?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "marking DynamoDB Table ({root}) created: {}",
                    error_message(&e)
                )
            })
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        observe(c, root).await
    }

    /// The table (deletion protection permitting), then the managed key.
    async fn destroy(&self, c: &Clients, root: &str, _state: &Value) -> Result<(), Failures> {
        if let Some(o) = observe(c, root).await.map_err(|e| vec![e])? {
            if o.deletion_protection {
                // A create that never finished is rolled back whatever the setting; a
                // finished table is protected against this destroy too.
                if o.tags.get(LIFECYCLE_TAG).map(String::as_str) != Some(CREATING) {
                    return Err(vec![format!("DynamoDB Table {root} has deletion protection on, so it is not deleted. To delete it, set deletion_protection = false, apply, then destroy.")]);
                }
                protect(c, root, false).await.map_err(|e| vec![e])?;
            }
            delete_table(c, root).await.map_err(|e| vec![e])?;
        }
        managed_key::retire_behind(c, &key_alias(root))
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
            "- `dynamodb_table_deletion_protection_enabled`: only where the configuration turns it off, visibly (the examples do, so that they can be destroyed); `DynamoDB.6` then reads false in the plan and in `compliance`.
- `dynamodb_table_protected_by_backup_plan`: the table has point-in-time recovery (`DynamoDB.2`, 35 days of restore points), but no AWS Backup plan: vaulted, cross-account copies belong to the data layer's backup composite, not yet built.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by table name, in the provider's own account and region."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let name = id.rsplit('/').next().unwrap_or(id);
        let o = imported(observe(c, name).await, "DynamoDB table", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s = self.with_root(s, name);
        if let Some(t) = tags::imported(&o.tags, ctx.default_tags()) {
            s.set_attr("tags", t);
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
        let r = Kit::new(DynamodbTable::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("a b"));
        config.set_attr("hash_key", Value::string("LockID"));
        config.set_attr("hash_key_type", Value::string("STRING"));
        config.set_attr("range_key", Value::string("LockID"));
        config.set_attr("kms_key_arn", Value::string("alias/aws/dynamodb"));
        let d = crate::framework::plan::validate_config(&r, &config);
        let got: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
            .collect();
        for want in ["name", "hash_key_type", "range_key", "kms_key_arn"] {
            assert!(got.iter().any(|p| p == want), "missing {want} in {got:?}");
        }
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("locks"));
        config.set_attr("hash_key", Value::string("LockID"));
        config.set_attr("range_key_type", Value::string("N"));
        let d = crate::framework::plan::validate_config(&r, &config);
        assert!(d
            .iter()
            .any(|d| d.path.as_ref().map(|p| p.to_string()).as_deref() == Some("range_key_type")));
    }

    #[test]
    fn names_with_dots_get_their_own_key_alias() {
        assert_eq!(key_alias("locks"), "alias/bankplatform/dynamodb/locks");
        let (a, b) = (key_alias("a.b"), key_alias("a_b"));
        assert_ne!(a, b);
        assert!(!a.contains('.'));
        assert!(key_alias(&"x".repeat(MAX_NAME)).len() <= 256);
        assert!(key_alias(&"x.".repeat(MAX_NAME / 2)).len() <= 256);
    }

    #[test]
    fn the_controls_read_the_table_as_aws_reports_it() {
        let good = Observed {
            name: "t".into(),
            key: Some("arn:aws:kms:eu-west-1:111122223333:key/k".into()),
            on_demand: true,
            deletion_protection: true,
            pitr: Some(true),
            ..Observed::default()
        };
        assert!(controls::evaluate(CONTROLS, &good).values().all(|v| *v));
        let bare = Observed {
            key: None,
            on_demand: false,
            deletion_protection: false,
            pitr: None,
            ..good.clone()
        };
        assert!(controls::evaluate(CONTROLS, &bare).values().all(|v| !*v));
    }
}
