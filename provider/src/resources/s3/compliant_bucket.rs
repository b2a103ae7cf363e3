//! `bankplatform_compliant_bucket`: an S3 bucket that passes a bank's audit
//! with no further settings.
//!
//! Creates: the bucket (ACLs disabled; object lock when its purpose or the
//! configuration asks), a customer-managed KMS key with rotation (unless
//! `kms_key_arn` brings one), and for replication an IAM role (unless
//! `replication.role_arn` is given). Sets, concurrently: public access block,
//! ownership controls, versioning, SSE-KMS with bucket key, tags, object lock
//! retention, lifecycle rules, server access logging, a policy that denies
//! non-TLS and TLS < 1.2 access; then replication.
//!
//! Controls (read back on every refresh into `compliance`): Security Hub S3.5,
//! S3.7, S3.8, S3.9, S3.12, S3.13, S3.14, S3.15, S3.17, KMS.4; CIS 3.1.1, 3.1.4.
//! Drift shows up in the plan as a control going from false back to true.
//!
//! A create that fails half-way deletes what it made (bucket, key, role) and
//! reports both the failure and the rollback.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::bucket_api as api;
use super::bucket_model::{self as model, Desired, Observed, PURPOSES, PURPOSE_TAG};
use crate::aws::{Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::validators::{self, int_between, one_of};
use crate::framework::Diagnostics;
use crate::resources::common::target_of;
use crate::resources::kit::composite::{imported, with_undo, Composite, Invalid, PlanRequest};
use crate::resources::kit::controls::Control;
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::resources::kms::managed_key;
use crate::value::{Type, Value};

/// The resource type.
pub struct CompliantBucket {
    schema: Schema,
}

impl Default for CompliantBucket {
    fn default() -> Self {
        Self::new()
    }
}

impl CompliantBucket {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The bucket name."),
            Attribute::string("bucket").optional().computed().requires_replace().use_state_for_unknown()
                .describe("Bucket name. Generated from `bucket_prefix` (or `bankplatform-`) when not set."),
            Attribute::string("bucket_prefix").optional().requires_replace()
                .describe("Prefix of a generated bucket name (at most 37 characters)."),
            Attribute::string("purpose").default(Value::string("transaction"))
                .validate(one_of("Invalid purpose", PURPOSES))
                .describe("What the bucket holds; chooses defaults. `transaction` (GOVERNANCE lock 30 days), `archive` and `audit` (COMPLIANCE lock 2555 days), `logs` (server access log target: SSE-S3 and object lock without a default retention, as AWS requires for log delivery)."),
            Attribute::string("kms_key_arn").optional().computed().use_state_for_unknown()
                .validate(validators::arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/<id>"))
                .describe("Customer-managed KMS key for SSE-KMS. When not set the resource creates one with rotation on, and schedules its deletion when the bucket is destroyed."),
            Attribute::bool("kms_key_managed").computed().use_state_for_unknown()
                .describe("Whether the KMS key was created by this resource."),
            Attribute::string("sse_algorithm").computed().describe("Default encryption: `aws:kms`, or `AES256` for purpose `logs`."),
            Attribute::bool("force_destroy").default(Value::Bool(false))
                .describe("Delete every object version when the bucket is destroyed. Off by default: destroying a non-empty bucket fails."),
            Attribute::bool("event_notifications").default(Value::Bool(true))
                .describe("Send the bucket's object events (created, removed, restored, tagged, …) to Amazon EventBridge's default bus in the bucket's account and Region (Security Hub S3.11), for security monitoring and data pipelines to match with rules. EventBridge does not charge for events no rule matches. Notification targets set elsewhere (SNS, SQS, Lambda) are kept; a tool that rewrites the bucket's whole notification configuration must include EventBridge, or the next plan shows the drift. `false` stops sending them, visible in the plan."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on the bucket: `default_tags` merged with `tags`."),
            Attribute::string("policy_statements").optional()
                .describe("Extra bucket policy statements, as a JSON array (`jsonencode([...])`), merged after the TLS-only statements. Public `Allow` statements without a condition are refused."),
            Attribute::typed("delivery_sources", Type::map(Type::list(Type::String))).optional()
                .validate(validators::func("keys cloudtrail, config, guardduty; values ARNs, account ids or names", delivery_sources_problem))
                .describe("AWS services that deliver into this bucket, each admitted only for the listed sources: `cloudtrail` (trail ARNs, or trail names in the bucket's account and region), `config` and `guardduty` (account ids or ARNs); `\"self\"` is the bucket's own account. For the audit buckets of a log-archive account: `{ cloudtrail = [<trail ARN>, ...] }`. Each source becomes an `aws:SourceArn`/`aws:SourceAccount` condition, on the bucket policy and, for a KMS-encrypted bucket with a managed key, on the key policy (so a recorder or trail in another account can write with the bucket's key: `bank:key-admits-writers`)."),
            Attribute::string("policy").computed().describe("The effective bucket policy (canonical JSON)."),
            Attribute::typed("lifecycle_rules", lifecycle_rules_type()).optional().computed()
                .describe("Lifecycle rules, each an object with `id`, `prefix`, `transitions` and `noncurrent_transitions` (lists of `{ days, storage_class }`), `noncurrent_expiration_days`, `expiration_days` and `abort_incomplete_multipart_upload_days` (write `null` for what you do not use). Defaults by purpose: tiering, noncurrent expiry, aborting incomplete uploads after 7 days."),
            Attribute::string("arn").computed().use_state_for_unknown().describe("Bucket ARN."),
            Attribute::string("regional_domain_name").computed().use_state_for_unknown().describe("Regional domain name of the bucket."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (a control that fails shows in the next plan, and apply repairs it). `S3.5`/`CIS 3.1.1`: policy denies non-TLS requests. `S3.8`/`CIS 3.1.4`: all four public access block switches on (bucket level). `S3.12`: ACLs disabled (BucketOwnerEnforced). `S3.14`: versioning enabled. `S3.17`: SSE-KMS with a customer-managed key and bucket key. `KMS.4`: that key rotates. `S3.15`: object lock enabled. `bank:default-retention` (except `logs`): the purpose's default retention. `S3.11`: object events go to EventBridge (left out where the endpoint does not report that setting back: the local emulator). `S3.13`: lifecycle rules. `S3.9`: server access logging. `S3.7`: cross-region replication."),
        ];
        CompliantBucket {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "An S3 bucket that passes a bank's audit with no further settings: SSE-KMS with a rotating customer-managed key, versioning, object lock, public access blocked, ACLs disabled, TLS-only policy, lifecycle tiers, optional access logging and cross-region replication, and a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![
                        NestedBlock::group("object_lock", Block {
                            description: "Object lock (WORM). Defaults by purpose; turning it off takes `enabled = false`, visible in the plan.".into(),
                            attributes: vec![
                                Attribute::bool("enabled").optional().computed()
                                    .requires_replace_when(|prior, planned| prior.as_bool() == Some(true) && planned.as_bool() == Some(false), "Turning it on is done in place; S3 cannot turn it off, so turning it off replaces the bucket.")
                                    .describe("Object lock on the bucket (default on for every purpose)."),
                                Attribute::string("mode").optional().computed().validate(one_of("Invalid object lock mode", &["GOVERNANCE", "COMPLIANCE"])).describe("Default retention mode: GOVERNANCE or COMPLIANCE (none on a `logs` bucket)."),
                                Attribute::number("retention_days").optional().computed().validate(int_between("Invalid object lock retention", 1, 36500)).describe("Default retention in days (1 to 36500)."),
                            ],
                            blocks: vec![],
                        }),
                        NestedBlock::single("access_logging", Block {
                            description: "Server access logging (Security Hub S3.9).".into(),
                            attributes: vec![
                                Attribute::string("target_bucket").required().describe("Bucket receiving the server access logs (a bucket of purpose `logs`)."),
                                Attribute::string("target_prefix").optional().computed().describe("Key prefix for the logs; default `s3-access/<bucket>/`."),
                            ],
                            blocks: vec![],
                        }),
                        NestedBlock::single("replication", Block {
                            description: "Cross-region replication of every object (Security Hub S3.7).".into(),
                            attributes: vec![
                                Attribute::string("destination_bucket_arn").required().describe("ARN of the destination bucket (versioned; e.g. another compliant bucket in the DR region)."),
                                Attribute::string("destination_kms_key_arn").required().describe("KMS key replicas are encrypted with, in the destination region."),
                                Attribute::string("role_arn").optional().computed().validate(validators::arn("iam", "role/", "arn:aws:iam::111122223333:role/<name>")).describe("Role S3 replicates as; created when not set."),
                                Attribute::string("storage_class").optional().computed().describe("Storage class of replicas (default STANDARD)."),
                            ],
                            blocks: vec![],
                        }),
                        target_block("bucket"),
                    ],
                },
            },
        }
    }
}

fn delivery_sources_problem(path: &crate::value::AttrPath, v: &Value, diags: &mut Diagnostics) {
    for (service, list) in v.as_map().into_iter().flatten() {
        if !model::DELIVERY_SERVICES
            .iter()
            .any(|(s, _, _)| s == service)
        {
            diags.attr_error(
                path.clone().key(service),
                "Unknown delivering service",
                format!("\"{service}\" is not a service that delivers to buckets here; use cloudtrail, config or guardduty."),
            );
        }
        for (i, src) in list.string_list().iter().enumerate() {
            let account = src.len() == 12 && src.chars().all(|c| c.is_ascii_digit());
            let name_ok = !src.is_empty()
                && src
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !account && !src.starts_with("arn:") && !name_ok {
                diags.attr_error(
                    path.clone().key(service).index(i as i64),
                    "Invalid delivery source",
                    format!("\"{src}\" is neither an ARN, a 12-digit account id, nor the name of a source in the bucket's account."),
                );
            }
        }
    }
}

/// `list(object({...}))` of `lifecycle_rules`: a plain attribute type (not
/// nested attributes, which Terraform 1.0 cannot plan), so every supported
/// Terraform handles it.
fn lifecycle_rules_type() -> Type {
    let transition = Type::object([("days", Type::Number), ("storage_class", Type::String)]);
    Type::list(Type::object([
        ("id", Type::String),
        ("prefix", Type::String),
        ("transitions", Type::list(transition.clone())),
        ("noncurrent_transitions", Type::list(transition)),
        ("noncurrent_expiration_days", Type::Number),
        ("expiration_days", Type::Number),
        ("abort_incomplete_multipart_upload_days", Type::Number),
    ]))
}

/// Sets the default access-log prefix when logging is on and no prefix is configured.
fn fill_log_prefix(planned: &mut Value, config: &Value, bucket: &str) {
    let logging = config.get("access_logging");
    if logging.is_null() || !logging.is_known() || !logging.get("target_prefix").is_null() {
        return;
    }
    if let Some(obj) = planned
        .as_object_mut()
        .and_then(|o| o.get_mut("access_logging"))
    {
        if !obj.is_null() {
            obj.set_attr(
                "target_prefix",
                Value::string(format!("s3-access/{bucket}/")),
            );
        }
    }
}

impl CompliantBucket {
    /// Fills what follows from the configuration: purpose defaults, names,
    /// the policy, and the controls that must hold.
    async fn plan_known_values(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let purpose = req
            .planned
            .get("purpose")
            .as_str()
            .unwrap_or("transaction")
            .to_string();
        let defaults = model::purpose_defaults(&purpose);
        let p = &mut req.planned;

        // Name, id, ARN, domain.
        let region = req
            .ctx
            .map(|c| target_of(config).region.unwrap_or_else(|| c.region()));
        if let Some(name) = p.get("bucket").as_str().map(str::to_string) {
            p.set_attr("id", Value::string(&name));
            let part = model::partition(region.as_deref().unwrap_or("us-east-1"));
            p.set_attr("arn", Value::string(model::bucket_arn(part, &name)));
            match &region {
                Some(r) => p.set_attr(
                    "regional_domain_name",
                    Value::string(model::regional_domain_name(&name, r)),
                ),
                None => p.set_attr("regional_domain_name", Value::unknown()),
            }
        }

        // Encryption.
        p.set_attr(
            "sse_algorithm",
            Value::string(if defaults.sse_kms {
                "aws:kms"
            } else {
                "AES256"
            }),
        );
        if !config.get("kms_key_arn").is_null() {
            p.set_attr("kms_key_managed", Value::Bool(false));
        } else if !defaults.sse_kms {
            p.set_attr("kms_key_arn", Value::Null);
            p.set_attr("kms_key_managed", Value::Bool(false));
        } else if req.prior.get("kms_key_managed").as_bool() == Some(true)
            && !req.prior.get("kms_key_arn").is_null()
        {
            p.set_attr("kms_key_arn", req.prior.get("kms_key_arn").clone());
            p.set_attr("kms_key_managed", Value::Bool(true));
        } else {
            p.set_attr("kms_key_arn", Value::unknown());
            p.set_attr("kms_key_managed", Value::Bool(true));
        }

        // Object lock: configuration, else purpose defaults.
        let lock_cfg = config.get("object_lock");
        if lock_cfg.is_known() {
            let enabled = match lock_cfg.get("enabled").as_bool() {
                Some(e) => e,
                None if !lock_cfg.get("mode").is_null()
                    || !lock_cfg.get("retention_days").is_null() =>
                {
                    true
                }
                None => defaults.lock_enabled,
            };
            let mode = lock_cfg
                .get("mode")
                .as_str()
                .map(str::to_string)
                .or_else(|| defaults.lock.as_ref().map(|l| l.mode.clone()));
            let days = lock_cfg
                .get("retention_days")
                .as_i64()
                .or_else(|| defaults.lock.as_ref().map(|l| l.days));
            // A log bucket has none: AWS delivers access logs only without one.
            let lock = model::Lock::from_parts(enabled, mode, days);
            let mut v = model::lock_to_value(enabled, lock.as_ref());
            // Keep configured values exactly as written (Terraform checks it).
            for k in ["enabled", "mode", "retention_days"] {
                if !lock_cfg.get(k).is_null() {
                    v.set_attr(k, lock_cfg.get(k).clone());
                }
            }
            p.set_attr("object_lock", v);
        }

        // Lifecycle: configuration, else purpose defaults.
        if config.get("lifecycle_rules").is_null() {
            p.set_attr(
                "lifecycle_rules",
                model::lifecycle_to_value(&defaults.lifecycle),
            );
        }

        // Access logging prefix.
        if let Some(name) = p.get("bucket").as_str().map(str::to_string) {
            fill_log_prefix(p, config, &name);
        }

        // Replication: role and storage class defaults.
        let repl_cfg = config.get("replication");
        if repl_cfg.is_known() && !repl_cfg.is_null() {
            let prior_role = req.prior.get("replication").get("role_arn").clone();
            if let Some(obj) = p.as_object_mut().and_then(|o| o.get_mut("replication")) {
                if repl_cfg.get("role_arn").is_null() {
                    obj.set_attr(
                        "role_arn",
                        if prior_role.is_null() {
                            Value::unknown()
                        } else {
                            prior_role
                        },
                    );
                }
                if repl_cfg.get("storage_class").is_null() {
                    obj.set_attr("storage_class", Value::string("STANDARD"));
                }
            }
        }

        // Tags.
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));

        // Policy: needs the bucket ARN, the statements, and for log buckets the account.
        let extra = config.get("policy_statements");
        let arn = p.get("arn").as_str().map(str::to_string);
        let names_sources = model::delivery_sources(config)
            .values()
            .flatten()
            .any(|s| model::is_source_name(s));
        let account = if purpose == "logs" || names_sources {
            match req.ctx {
                Some(ctx) => match ctx.clients(&target_of(config)).await {
                    Ok(c) => c.account_id().await.ok(),
                    Err(_) => None,
                },
                None => None,
            }
        } else {
            Some(String::new())
        };
        let sources_known = config.get("delivery_sources").is_fully_known();
        let policy = match (arn, extra.is_known() && sources_known, account) {
            (Some(arn), true, Some(account)) => {
                let here = region.as_deref().map(|r| (account.as_str(), r));
                let mut stmts =
                    model::delivery_statements(&arn, &model::delivery_sources(config), here);
                stmts.extend(
                    extra
                        .as_str()
                        .map(model::parse_statements)
                        .transpose()
                        .unwrap_or_default()
                        .unwrap_or_default(),
                );
                let acct = (purpose == "logs").then_some(account.as_str());
                Value::string(model::bucket_policy(&arn, acct, &stmts))
            }
            _ => Value::unknown(),
        };
        p.set_attr("policy", policy);

        // Controls that must hold, when everything they depend on is known.
        let prior_control = |id: &str| {
            req.prior
                .get("compliance")
                .as_map()
                .and_then(|m| m.get(id))
                .and_then(Value::as_bool)
        };
        let prior_kms4 = prior_control("KMS.4");
        let byo_key = (prior_kms4, prior_control("bank:key-admits-writers"));
        let delivers = model::delivery_sources(config)
            .values()
            .any(|l| !l.is_empty());
        let mut d = model::desired_from_planned(p);
        // What the configuration asks for counts, even while a name it
        // refers to is still unknown.
        if d.logging.is_none() && !config.get("access_logging").is_null() {
            d.logging = Some((String::new(), String::new()));
        }
        let wants_replication = !config.get("replication").is_null();
        let known = p.get("object_lock").is_known()
            && p.get("lifecycle_rules").is_known()
            && config.get("access_logging").is_known()
            && config.get("replication").is_known()
            && p.get("event_notifications").is_known();
        let compliance = if known {
            let mut m = model::expected_compliance(&d, delivers, byo_key);
            m.insert("S3.7".into(), wants_replication);
            // S3.11 wanted and on before: it holds if the prior state saw it hold; a
            // prior state that leaves it out was read from an endpoint that does not
            // report it (`model::eventbridge_reported`). Otherwise (a create, an
            // import, turning it on, a repair) only the read-back after the apply
            // can say.
            let was_on = req.prior.get("event_notifications").as_bool() == Some(true);
            let events_unknown = if d.event_notifications {
                match req.prior.get("compliance").as_map().map(|m| m.get("S3.11")) {
                    Some(Some(held)) if was_on && held.as_bool() == Some(true) => {
                        m.insert("S3.11".into(), true);
                        false
                    }
                    Some(None) if was_on => false,
                    _ => true,
                }
            } else {
                m.insert("S3.11".into(), false);
                false
            };
            // A key brought by the user: rotation is known only after reading it.
            let byo_key_unread = d.sse_kms && !d.kms_key_managed && prior_kms4.is_none();
            if events_unknown || byo_key_unread {
                Value::unknown()
            } else {
                Value::Map(m.into_iter().map(|(k, v)| (k, Value::Bool(v))).collect())
            }
        } else {
            Value::unknown()
        };
        p.set_attr("compliance", compliance);
    }

    /// Turns what AWS reports into state, keeping configuration-only
    /// attributes from the prior state.
    fn state_from(
        &self,
        prior: &Value,
        bucket: &str,
        region: &str,
        o: &Observed,
        managed_key: bool,
    ) -> Value {
        let mut s = prior.clone();
        s.set_attr("id", Value::string(bucket));
        s.set_attr("bucket", Value::string(bucket));
        s.set_attr(
            "arn",
            Value::string(model::bucket_arn(model::partition(region), bucket)),
        );
        s.set_attr(
            "regional_domain_name",
            Value::string(model::regional_domain_name(bucket, region)),
        );
        if let Some(p) = o.tags.get(PURPOSE_TAG) {
            s.set_attr("purpose", Value::string(p));
        }
        if s.get("purpose").is_null() {
            s.set_attr("purpose", Value::string("transaction"));
        }
        if s.get("force_destroy").is_null() {
            s.set_attr("force_destroy", Value::Bool(false));
        }
        s.set_attr(
            "sse_algorithm",
            o.sse_algorithm
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
        let key = if o.sse_algorithm.as_deref() == Some("AES256") {
            None
        } else {
            o.kms_key.clone()
        };
        // Keep the key we manage in state even if encryption was changed
        // behind our back: it is ours to restore (and to delete).
        let key = if managed_key {
            prior
                .get("kms_key_arn")
                .as_str()
                .map(str::to_string)
                .or(key)
        } else {
            key
        };
        s.set_attr("kms_key_arn", key.map(Value::String).unwrap_or(Value::Null));
        s.set_attr("kms_key_managed", Value::Bool(managed_key));
        s.set_attr(
            "object_lock",
            model::lock_to_value(o.lock_enabled, o.lock.as_ref().filter(|_| o.lock_enabled)),
        );
        // Keep the prior value when it means the same (null vs [] lists,
        // transition order), so a refresh shows no false change.
        if model::lifecycle_from_value(prior.get("lifecycle_rules")) != o.lifecycle
            || !prior.get("lifecycle_rules").is_known()
        {
            s.set_attr("lifecycle_rules", model::lifecycle_to_value(&o.lifecycle));
        }
        s.set_attr(
            "access_logging",
            match &o.logging {
                Some((t, p)) => Value::object([
                    ("target_bucket", Value::string(t)),
                    ("target_prefix", Value::string(p)),
                ]),
                None => Value::Null,
            },
        );
        s.set_attr(
            "replication",
            match &o.replication {
                Some(r) => Value::object([
                    (
                        "destination_bucket_arn",
                        Value::string(&r.destination_bucket_arn),
                    ),
                    (
                        "destination_kms_key_arn",
                        Value::string(&r.destination_kms_key_arn),
                    ),
                    (
                        "role_arn",
                        r.role_arn.clone().map(Value::String).unwrap_or(Value::Null),
                    ),
                    ("storage_class", Value::string(&r.storage_class)),
                ]),
                None => Value::Null,
            },
        );
        let tags_all: BTreeMap<String, String> = o
            .tags
            .iter()
            .filter(|(k, _)| {
                !model::RESERVED_TAG_PREFIXES
                    .iter()
                    .any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        s.set_attr("tags_all", Value::string_map(tags_all));
        let same_policy = prior
            .get("policy")
            .as_str()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .is_some_and(|p| Some(model::canonical_json(&p)) == o.policy);
        if !same_policy {
            s.set_attr(
                "policy",
                o.policy
                    .as_ref()
                    .map(|p| Value::string(p.to_string()))
                    .unwrap_or(Value::Null),
            );
        }
        // S3.11 as far as the endpoint shows it, given what the state knew.
        // An import sets `event_notifications` only when S3 reports it on: an endpoint
        // that does not report it cannot tell off from on, and the next plan then
        // writes the configured value.
        let reported = o.eventbridge.unwrap_or(false);
        if s.get("event_notifications").is_null() && reported {
            s.set_attr("event_notifications", Value::Bool(true));
        }
        let wanted = s.get("event_notifications").as_bool().unwrap_or(true);
        let known = prior
            .get("compliance")
            .as_map()
            .map(|m| m.get("S3.11").and_then(Value::as_bool));
        let o = &Observed {
            eventbridge: model::eventbridge_reported(wanted, reported, known),
            ..o.clone()
        };
        s.set_attr(
            "compliance",
            Value::Map(
                model::compliance(o)
                    .into_iter()
                    .map(|(k, v)| (k, Value::Bool(v)))
                    .collect(),
            ),
        );
        s
    }

    /// Puts the desired settings, creating the replication role first when needed.
    async fn put_settings(
        &self,
        c: &Clients,
        d: &mut Desired,
        bucket_arn: &str,
        lock_on_bucket: bool,
    ) -> Result<(), Vec<String>> {
        if let Some(r) = d.replication.as_mut() {
            api::check_replication_destination(c, r)
                .await
                .map_err(|e| vec![e])?;
            if r.role_arn.is_none()
                || r.role_arn
                    .as_deref()
                    .is_some_and(|a| api::is_managed_role(&d.bucket, a))
            {
                let key = d.kms_key_arn.clone();
                r.role_arn = Some(
                    api::ensure_replication_role(c, bucket_arn, &d.bucket, key.as_deref(), r)
                        .await
                        .map_err(|e| vec![e])?,
                );
            }
        }
        api::apply_settings(c, d, lock_on_bucket).await
    }
}

/// The bucket policy when the plan could not know it (a name or the log
/// bucket's account id was unknown at plan time).
async fn apply_time_policy(c: &Clients, planned: &Value, d: &Desired, arn: &str) -> String {
    // Only log buckets and named delivery sources depend on the account id, fetched now.
    let sources = model::delivery_sources(planned);
    let names_sources = sources.values().flatten().any(|s| model::is_source_name(s));
    let account = if d.purpose == "logs" || names_sources {
        c.account_id().await.ok()
    } else {
        None
    };
    let here = account.as_deref().map(|a| (a, c.region.as_str()));
    let mut stmts = model::delivery_statements(arn, &sources, here);
    let account = account.filter(|_| d.purpose == "logs");
    stmts.extend(
        planned
            .get("policy_statements")
            .as_str()
            .and_then(|t| model::parse_statements(t).ok())
            .unwrap_or_default(),
    );
    model::bucket_policy(arn, account.as_deref(), &stmts)
}

fn generated_name(prefix: Option<&str>) -> String {
    let prefix = prefix.unwrap_or("bankplatform-");
    let stamp = time::OffsetDateTime::now_utc();
    let suffix: u64 = rand::random::<u64>() % 1_000_000;
    format!(
        "{prefix}{:04}{:02}{:02}{:02}{:02}{:02}{:06}{:06}",
        stamp.year(),
        u8::from(stamp.month()),
        stamp.day(),
        stamp.hour(),
        stamp.minute(),
        stamp.second(),
        stamp.microsecond() % 1_000_000,
        suffix
    )
}

#[async_trait]
impl Composite for CompliantBucket {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_compliant_bucket";
    const NOUN: &'static str = "compliant bucket";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        model::validate(config, diags);
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        model::CONTROLS
    }

    fn audit_notes(&self) -> Option<&'static str> {
        Some(
            "- `s3_bucket_no_mfa_delete`: AWS lets only the root user, with its MFA device, turn MFA delete on; no API call a provider makes can. Object lock retention protects the records instead (`S3.15`).
- `s3_bucket_cross_region_replication`: needs a destination in a DR Region; set `replication` (the generated tree does for pilot light and up). `S3.7` reads false without it.
- `s3_bucket_server_access_logging_enabled`: set `access_logging` to a bucket of purpose `logs`; `S3.9` reads false without it.
- On a bucket of purpose `logs`, `s3_bucket_kms_encryption`: AWS delivers access logs only to SSE-S3 buckets, so `S3.17` reads false for it. Its object lock is on without a default retention (AWS refuses a log target with one): `S3.15` holds and `bank:default-retention` does not apply. A log bucket made before object lock was its default gets it in place.
- `s3_bucket_event_notifications_enabled`: emulator only. Object events go to EventBridge by default (`event_notifications`, `S3.11`), and on the emulator they arrive (the acceptance tests match them with a rule), but the emulator answers GetBucketNotificationConfiguration without the EventBridge setting, which is what Prowler reads; `S3.11` is left out of `compliance` there for the same reason.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by bucket name. The bucket must be in the provider's own account and region; a KMS key aliased `alias/bankplatform/s3/<bucket>` is recognised as managed by the resource."
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        self.plan_known_values(req).await;
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        Ok(model::desired_from_planned(planned))
    }

    /// A name generated from `bucket_prefix` (and the log prefix derived from it),
    /// and the bucket policy when the plan could not know it.
    async fn prepare(&self, c: &Clients, planned: &Value) -> Result<(Value, Desired), Invalid> {
        let mut planned = planned.clone();
        if !planned.get("bucket").is_known() || planned.get("bucket").is_null() {
            let name = generated_name(planned.get("bucket_prefix").as_str());
            planned.set_attr("bucket", Value::string(&name));
            if !planned
                .get("access_logging")
                .get("target_prefix")
                .is_known()
            {
                if let Some(obj) = planned
                    .as_object_mut()
                    .and_then(|o| o.get_mut("access_logging"))
                {
                    obj.set_attr("target_prefix", Value::Null);
                }
                let cfg = planned.clone();
                fill_log_prefix(&mut planned, &cfg, &name);
            }
        }
        let mut d = model::desired_from_planned(&planned);
        if !planned.get("policy").is_known() {
            let arn = model::bucket_arn(model::partition(&c.region), &d.bucket);
            d.policy = apply_time_policy(c, &planned, &d, &arn).await;
        }
        Ok((planned, d))
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("bucket").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v.set_attr("bucket", Value::string(root));
        v
    }

    fn applied(&self, planned: &Value, root: &str, d: &Desired, creating: bool) -> Value {
        let mut s = self.with_root(planned.clone(), root);
        if creating {
            s.set_attr(
                "kms_key_managed",
                Value::Bool(d.sse_kms && d.kms_key_managed),
            );
        }
        s.set_attr(
            "kms_key_arn",
            d.kms_key_arn
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
        s
    }

    /// The bucket and its managed key, concurrently (they are independent). If one
    /// fails, the other is removed again before the error is returned.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        let bucket = d.bucket.clone();
        let create_key = d.sse_kms && d.kms_key_managed;
        let (bucket_res, key_res) =
            tokio::join!(api::create_bucket(c, &bucket, d.lock_enabled), async {
                if !create_key {
                    return None;
                }
                // A key left by an earlier bucket of this name (deleted behind
                // Terraform's back) is reused rather than orphaned.
                Some(match api::find_managed_key(c, &bucket).await {
                    Ok(Some(k)) => managed_key::reuse(c, k).await,
                    Ok(None) => api::create_key(c, d).await,
                    Err(e) => Err(e),
                })
            });
        match (bucket_res, key_res) {
            (Ok(()), None) => Ok((bucket, false)),
            (Ok(()), Some(Ok(k))) => {
                d.kms_key_arn = Some(k);
                Ok((bucket, false))
            }
            (Ok(()), Some(Err(e))) => {
                let undo = api::delete_bucket(c, &bucket).await.err();
                Err(with_undo(e, undo))
            }
            (Err(e), Some(Ok(k))) => {
                let undo = api::retire_key(c, &bucket, &k).await.err();
                Err(with_undo(e, undo))
            }
            (Err(e), Some(Err(k))) => Err(format!("{e}\n{k}")),
            (Err(e), None) => Err(e),
        }
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        prior: Option<&Value>,
    ) -> Result<(), Vec<String>> {
        let arn = model::bucket_arn(model::partition(&c.region), root);
        let Some(prior) = prior else {
            let lock_on_bucket = d.lock_enabled;
            return self.put_settings(c, d, &arn, lock_on_bucket).await;
        };
        // A managed key is needed when the plan asks for one and there is none yet.
        if d.sse_kms && d.kms_key_managed && d.kms_key_arn.is_none() {
            d.kms_key_arn = Some(match api::find_managed_key(c, root).await {
                Ok(Some(k)) => managed_key::reuse(c, k).await.map_err(|e| vec![e])?,
                Ok(None) => api::create_key(c, d).await.map_err(|e| vec![e])?,
                Err(e) => return Err(vec![e]),
            });
        } else if let Some(key) = d
            .kms_key_arn
            .clone()
            .filter(|_| d.sse_kms && d.kms_key_managed)
        {
            // The writers the bucket admits may have changed: the key follows them.
            let writers = |p: &str| {
                serde_json::from_str(p)
                    .map(|p| model::delivery_key_statements(&p))
                    .unwrap_or_default()
            };
            let prior_policy = prior.get("policy").as_str().unwrap_or_default();
            let admits = prior
                .get("compliance")
                .as_map()
                .and_then(|m| m.get("bank:key-admits-writers"))
                .and_then(Value::as_bool);
            if writers(&d.policy) != writers(prior_policy) || admits == Some(false) {
                api::converge_key_policy(c, d, &key)
                    .await
                    .map_err(|e| vec![e])?;
            }
        }
        let lock_on_bucket = prior
            .get("object_lock")
            .get("enabled")
            .as_bool()
            .unwrap_or(false);
        self.put_settings(c, d, &arn, lock_on_bucket).await?;
        // What the new configuration no longer uses.
        let mut errors = Vec::new();
        let prior_key = prior.get("kms_key_arn").as_str();
        if prior.get("kms_key_managed").as_bool() == Some(true) && !d.kms_key_managed {
            if let Some(k) = prior_key {
                errors.extend(api::retire_key(c, root, k).await.err());
            }
        }
        let prior_role = prior.get("replication").get("role_arn").as_str();
        let new_role = d.replication.as_ref().and_then(|r| r.role_arn.as_deref());
        if prior_role.is_some_and(|r| api::is_managed_role(root, r)) && new_role != prior_role {
            errors.extend(api::delete_replication_role(c, root).await.err());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    async fn mark_created(&self, _c: &Clients, _root: &str) -> Result<(), String> {
        // Every finished bucket is tagged by its settings; a bare or `creating`
        // bucket is what an interrupted create left (`bucket_api::create_bucket`).
        Ok(())
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        api::read_observed(c, root).await
    }

    async fn destroy(&self, c: &Clients, bucket: &str, state: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        match api::bucket_exists(c, bucket).await {
            Ok(true) => {
                let force = state.get("force_destroy").as_bool().unwrap_or(false);
                match api::bucket_is_empty(c, bucket).await {
                    Ok(true) => {}
                    Ok(false) if force => {
                        // The bucket goes away: drop its policy first, so its
                        // deny statements cannot block emptying it (moto applies
                        // the TLS-only deny even to TLS requests).
                        errors.extend(api::delete_policy(c, bucket).await.err());
                        errors.extend(api::empty_bucket(c, bucket).await.err());
                    }
                    Ok(false) => {
                        return Err(vec![format!("S3 Bucket ({bucket}) still holds objects, and force_destroy is false, so it was not deleted (nothing was changed). To delete it with every object version, set force_destroy = true and apply before destroying; or empty it yourself.")]);
                    }
                    Err(e) => errors.push(e),
                }
                if errors.is_empty() {
                    errors.extend(api::delete_bucket(c, bucket).await.err());
                }
            }
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // The bucket is gone: retire what was created for it, concurrently.
        let key = (state.get("kms_key_managed").as_bool() == Some(true))
            .then(|| state.get("kms_key_arn").as_str().map(str::to_string))
            .flatten();
        // The managed replication role: named in the state, or (a rolled-back create,
        // whose state never learnt it) looked for when replication is configured.
        let replication = state.get("replication");
        let role = match replication.get("role_arn").as_str() {
            Some(r) => api::is_managed_role(bucket, r),
            None if !replication.is_null() => {
                api::role_exists(c, &api::replication_role_name(bucket))
                    .await
                    .unwrap_or(true)
            }
            None => false,
        };
        let (k, r) = tokio::join!(
            async {
                match &key {
                    Some(k) => api::retire_key(c, bucket, k).await,
                    None => Ok(()),
                }
            },
            async {
                if role {
                    api::delete_replication_role(c, bucket).await
                } else {
                    Ok(())
                }
            }
        );
        let errors: Vec<String> = [k, r].into_iter().filter_map(Result::err).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn state(&self, c: &Clients, base: &Value, o: &Observed) -> Value {
        let bucket = base.get("bucket").as_str().unwrap_or_default().to_string();
        let managed = base.get("kms_key_managed").as_bool().unwrap_or(false);
        self.state_from(base, &bucket, &c.region, o, managed)
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let mut d = Diagnostics::new();
        if let Some(why) = model::bucket_name_problem(id) {
            d.error(
                "Invalid import ID",
                format!(
                    "Import a compliant bucket by its name; \"{id}\" is not a bucket name: {why}."
                ),
            );
            return Err(d);
        }
        let mut state = Value::null_object(&self.schema.block.implied_type());
        state.set_attr("bucket", Value::string(id));
        state.set_attr("id", Value::string(id));
        state.set_attr("force_destroy", Value::Bool(false));
        let observed = imported(api::read_observed(c, id).await, "S3 bucket", id)?;
        let managed = match (api::find_managed_key(c, id).await, &observed.kms_key) {
            (Ok(Some(k)), Some(actual)) => &k == actual || k.ends_with(actual.as_str()),
            _ => false,
        };
        state.set_attr("kms_key_managed", Value::Bool(managed));
        let defaults = ctx.default_tags();
        let own: BTreeMap<String, String> = observed
            .tags
            .iter()
            .filter(|(k, v)| {
                !model::RESERVED_TAG_PREFIXES
                    .iter()
                    .any(|p| k.starts_with(p))
                    && defaults.get(*k) != Some(v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() {
            state.set_attr("tags", Value::string_map(own));
        }
        if let Some(p) = &observed.policy {
            let user = model::user_statements(p);
            if !user.is_empty() {
                state.set_attr(
                    "policy_statements",
                    Value::string(serde_json::Value::Array(user).to_string()),
                );
            }
        }
        let s = self.state_from(&state, id, &c.region, &observed, managed);
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kit::composite::Kit;

    #[test]
    fn generated_names_are_valid_bucket_names() {
        let n = generated_name(Some("bp-acc-"));
        assert!(model::bucket_name_problem(&n).is_none(), "{n}");
        assert!(n.len() <= 63);
        assert_eq!(n.len(), "bp-acc-".len() + 26);
    }

    #[test]
    fn rejects_bad_input_with_paths() {
        let r = Kit::new(CompliantBucket::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("bucket", Value::string("Bad_Bucket"));
        config.set_attr("bucket_prefix", Value::string("x-"));
        config.set_attr("purpose", Value::string("archiv"));
        config.set_attr(
            "object_lock",
            Value::object([
                ("enabled", Value::Null),
                ("mode", Value::Null),
                ("retention_days", Value::number(0)),
            ]),
        );
        let d = crate::framework::plan::validate_config(&r, &config);
        let got: Vec<(String, String)> = d
            .iter()
            .map(|d| {
                (
                    d.path.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                    d.summary.clone(),
                )
            })
            .collect();
        for want in [
            ("bucket", "Invalid bucket name"),
            ("bucket_prefix", "Conflicting arguments"),
            ("purpose", "Invalid purpose"),
            (
                "object_lock.retention_days",
                "Invalid object lock retention",
            ),
        ] {
            assert!(
                got.iter().any(|(p, s)| p == want.0 && s == want.1),
                "missing {want:?} in {got:?}"
            );
        }
    }

    #[tokio::test]
    async fn plan_fills_purpose_defaults_and_expected_controls() {
        let r = Kit::new(CompliantBucket::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("bucket", Value::string("bp-archive-1"));
        config.set_attr("purpose", Value::string("archive"));
        let out =
            crate::framework::plan::plan_resource_change(&r, None, &Value::Null, &config, &config)
                .await;
        assert!(!out.diags.has_errors());
        let p = &out.planned;
        assert_eq!(
            p.get("object_lock").get("mode"),
            &Value::string("COMPLIANCE")
        );
        assert_eq!(
            p.get("object_lock").get("retention_days"),
            &Value::number(2555)
        );
        assert_eq!(p.get("arn"), &Value::string("arn:aws:s3:::bp-archive-1"));
        assert!(p.get("kms_key_arn").is_unknown());
        // S3.11 (EventBridge, on by default) is known only from the read-back.
        assert!(p.get("compliance").is_unknown());
        let mut quiet = config.clone();
        quiet.set_attr("event_notifications", Value::Bool(false));
        let out =
            crate::framework::plan::plan_resource_change(&r, None, &Value::Null, &quiet, &quiet)
                .await;
        let comp = out
            .planned
            .get("compliance")
            .as_map()
            .expect("known compliance");
        assert_eq!(comp["S3.17"], Value::Bool(true));
        assert_eq!(comp["S3.9"], Value::Bool(false));
        assert_eq!(comp["S3.11"], Value::Bool(false));

        // Later plans take S3.11 from the prior state: held stays held; a map that
        // leaves it out (an endpoint that does not report it) keeps leaving it out;
        // false (turned on now, or drifted) is known only after the apply.
        let mut prior = out.planned.clone();
        prior.set_attr(
            "kms_key_arn",
            Value::string("arn:aws:kms:us-east-1:1:key/k"),
        );
        let turned_off = prior.clone();
        prior.set_attr("event_notifications", Value::Bool(true));
        let on = &prior;
        let planned_with = |prior: &Value, s3_11: Option<bool>| {
            let mut prior = prior.clone();
            let mut m = comp.clone();
            match s3_11 {
                Some(b) => m.insert("S3.11".into(), Value::Bool(b)),
                None => m.remove("S3.11"),
            };
            m.insert("KMS.4".into(), Value::Bool(true));
            prior.set_attr("compliance", Value::Map(m));
            let config = config.clone();
            let r = &r;
            async move {
                crate::framework::plan::plan_resource_change(r, None, &prior, &config, &config)
                    .await
                    .planned
                    .get("compliance")
                    .clone()
            }
        };
        let held = planned_with(on, Some(true)).await;
        assert_eq!(held.as_map().unwrap()["S3.11"], Value::Bool(true));
        let unreported = planned_with(on, None).await;
        assert!(!unreported.as_map().expect("known").contains_key("S3.11"));
        assert!(planned_with(on, Some(false)).await.is_unknown());
        // Turning it on again: only the read-back can say.
        assert!(planned_with(&turned_off, Some(false)).await.is_unknown());
        assert!(planned_with(&turned_off, None).await.is_unknown());
        assert!(p
            .get("policy")
            .as_str()
            .unwrap()
            .contains("aws:SecureTransport"));
    }
}
