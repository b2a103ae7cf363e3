//! `bankplatform_audit_trail`: the answer to an auditor's first question, "show me
//! that every API call is logged where no one can alter it, and that you would notice
//! if someone turned it off", as one resource.
//!
//! Children: a trail key (unless `kms_key_arn` brings one), the role CloudTrail
//! delivers to CloudWatch Logs as, a KMS-encrypted log group kept at least a year, an
//! encrypted alarm topic (unless `alarm_topic_arn` brings one), the multi-Region trail
//! itself (global events, log file validation, SSE-KMS, management events read and
//! write, S3 data events), logging started, and a metric filter with an alarm for
//! every CIS 5.x event set. The trail is the root: it carries the lifecycle marker.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::trail_api::{self as api, Owned};
use super::trail_model::{Desired, Names, Observed, CONTROLS, INSIGHT_TYPES, RETENTION_DAYS};
use crate::aws::{partition, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::Diagnostics;
use crate::resources::common::target_of;
use crate::resources::kit::composite::{imported, Composite, Failures, PlanRequest};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::value::{AttrPath, Type, Value};

/// The resource type.
pub struct AuditTrail {
    schema: Schema,
}

impl Default for AuditTrail {
    fn default() -> Self {
        Self::new()
    }
}

fn trail_name_problem(path: &AttrPath, v: &Value, diags: &mut Diagnostics) {
    let Some(name) = v.as_str() else { return };
    let ok = (3..=128).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        diags.attr_error(
            path.clone(),
            "Invalid trail name",
            format!("\"{name}\" cannot name a trail: use 3 to 128 letters, digits, `.`, `_` and `-`, starting with a letter or digit."),
        );
    }
}

fn retention_problem(path: &AttrPath, v: &Value, diags: &mut Diagnostics) {
    let Some(days) = v.as_i64() else { return };
    if !RETENTION_DAYS.contains(&days) {
        diags.attr_error(
            path.clone(),
            "Invalid log retention",
            format!("{days} days is not a retention CloudWatch Logs offers of at least a year (PCI DSS 10.5.1); use one of {RETENTION_DAYS:?}."),
        );
    }
}

impl AuditTrail {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The trail name."),
            Attribute::string("name").required().requires_replace()
                .validate(validators::func("3 to 128 letters, digits, `.`, `_`, `-`", trail_name_problem))
                .describe("Trail name; names its log group (`/bankplatform/cloudtrail/<name>`), role, alarm topic and alarms too."),
            Attribute::string("s3_bucket_name").required()
                .describe("Bucket the log files go to: typically a `bankplatform_compliant_bucket` of purpose `audit` in the log-archive account, whose `cloudtrail_source_arns` lists this trail."),
            Attribute::string("s3_key_prefix").optional().describe("Key prefix of the log files."),
            Attribute::bool("is_organization_trail").default(Value::Bool(false))
                .describe("Log every account of the organization (run it in the management account)."),
            Attribute::string("kms_key_arn").optional().computed().use_state_for_unknown()
                .validate(validators::arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/<id>"))
                .describe("Customer-managed key for log files, the log group and the alarm topic. When not set the trail creates one (purpose `trail`, see `bankplatform_kms_key`) and schedules its deletion when the trail is destroyed."),
            Attribute::bool("kms_key_managed").computed().use_state_for_unknown().describe("Whether the key was created by this resource."),
            Attribute::typed("data_events", Type::list(Type::String)).optional().computed()
                .describe("S3 object-level events (read and write) to record, as bucket ARNs with a trailing `/` or `arn:aws:s3` for every bucket (the default, CIS 4.8/4.9). `[]` records none, visible in the plan."),
            Attribute::typed("insight_types", Type::list(Type::String)).optional().computed()
                .describe("CloudTrail Insights to run: `ApiCallRateInsight` and `ApiErrorRateInsight` (the default) flag unusual volumes of API calls and of errors, as an attacker's enumeration or a runaway script makes. Billed per 100,000 events analysed; `[]` turns them off, visible in the plan."),
            Attribute::number("log_retention_days").default(Value::number(365))
                .validate(validators::func("one of CloudWatch Logs' retention values of a year or more", retention_problem))
                .describe("Days the log group keeps events: 365 or more (PCI DSS 10.5.1)."),
            Attribute::string("alarm_topic_arn").optional().computed().use_state_for_unknown()
                .validate(validators::arn("sns", "", "arn:aws:sns:eu-west-1:111122223333:<topic>"))
                .describe("SNS topic every alarm notifies (e.g. the security account's). When not set the trail creates `<name>-security-alarms`, encrypted with the trail key."),
            Attribute::bool("alarm_topic_managed").computed().use_state_for_unknown().describe("Whether the topic was created by this resource."),
            Attribute::string("arn").computed().use_state_for_unknown().describe("Trail ARN."),
            Attribute::string("home_region").computed().use_state_for_unknown().describe("Region the trail was created in."),
            Attribute::string("log_group_name").computed().use_state_for_unknown().describe("The CloudWatch Logs group the trail delivers to."),
            Attribute::string("role_arn").computed().use_state_for_unknown().describe("The role CloudTrail delivers to the log group as."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on every child: `default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls)."),
        ];
        AuditTrail {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "A multi-Region CloudTrail trail as an auditor expects it: global service events, management events read and write, S3 data events, log file validation, SSE-KMS with a customer-managed key, delivery to a KMS-encrypted log group kept at least a year, and a metric filter with an alarm notifying an encrypted topic for every CIS 5.x event set; logging started and read back, with a `compliance` map.".into(),
                    attributes,
                    blocks: vec![target_block("trail")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, o: &Observed) -> Value {
        let mut s = base.clone();
        let name = s.get("name").as_str().unwrap_or_default().to_string();
        let n = Names::of(&name);
        s.set_attr("id", Value::string(&name));
        s.set_attr("arn", Value::string(&o.arn));
        s.set_attr("home_region", Value::string(&o.home_region));
        s.set_attr("s3_bucket_name", Value::string(&o.bucket));
        s.set_attr(
            "s3_key_prefix",
            o.prefix.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr("is_organization_trail", Value::Bool(o.organization));
        s.set_attr(
            "kms_key_arn",
            o.kms_key.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr(
            "data_events",
            Value::List(o.data_events.iter().map(Value::string).collect()),
        );
        s.set_attr(
            "insight_types",
            Value::List(o.insights.iter().map(Value::string).collect()),
        );
        if let Some(d) = o.group_retention {
            s.set_attr("log_retention_days", Value::number(d));
        }
        s.set_attr(
            "alarm_topic_arn",
            o.topic.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr(
            "log_group_name",
            if o.log_group_arn.is_some() {
                Value::string(&n.log_group)
            } else {
                Value::Null
            },
        );
        s.set_attr(
            "role_arn",
            o.role_arn.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr("tags_all", tags::own(&o.tags));
        s.set_attr("compliance", controls::value(CONTROLS, o));
        s
    }

    /// Create (`o` is `None`: everything is sent) or update (only what differs).
    async fn converge_children(
        &self,
        c: &Clients,
        d: &mut Desired,
        o: Option<&Observed>,
    ) -> Failures {
        let n = Names::of(&d.name);
        let mut failures = Vec::new();
        // Prerequisites an update may lack (a managed key or topic turned on later).
        if d.key.is_none() {
            match api::ensure_key(c, d, &n).await {
                Ok(k) => d.key = Some(k),
                Err(e) => return vec![e],
            }
        }
        let key = d.key.clone().unwrap_or_default();
        if d.role.is_none() {
            match api::ensure_role(c, d, &n).await {
                Ok(r) => d.role = Some(r),
                Err(e) => return vec![e],
            }
        }
        let role = d.role.clone().unwrap_or_default();
        if let Some(o) = o {
            let fix = if o.group_key.is_none() && o.group_retention.is_none() {
                api::ensure_log_group(c, d, &n, &key).await
            } else if o.group_key.as_deref() != Some(key.as_str()) {
                api::rekey_log_group(c, &n, &key).await
            } else if o.group_retention != Some(d.retention_days) {
                crate::resources::logs::log_group::retain(c, &n.log_group, d.retention_days).await
            } else {
                Ok(())
            };
            failures.extend(fix.err());
        }
        if d.topic.is_none() {
            match api::ensure_topic(c, d, &n, &key).await {
                Ok(t) => d.topic = Some(t),
                Err(e) => failures.push(e),
            }
        }
        let topic = d.topic.clone().unwrap_or_default();
        let trail_ok = o.is_some_and(|o| {
            o.bucket == d.bucket
                && o.prefix == d.prefix
                && o.multi_region
                && o.global_events
                && o.validation
                && o.organization == d.organization
                && o.kms_key.as_deref() == Some(key.as_str())
                && o.role_arn.as_deref() == Some(role.as_str())
                && o.log_group_arn.is_some()
        });
        if o.is_some() && !trail_ok {
            if let Err(e) = api::update_trail(c, d, &n, &key, &role).await {
                failures.push(e);
            }
        }
        let selectors_ok = o.is_some_and(|o| {
            o.management_all
                && o.data_events == d.data_events
                && (d.data_events.is_empty() || o.data_events_all)
        });
        let logging_ok = o.is_some_and(|o| o.logging);
        let insights_ok = o.is_some_and(|o| o.insights == d.insights);
        let (sel, log, alarms, tagged) = tokio::join!(
            async {
                if !selectors_ok {
                    api::put_selectors(c, d, &n).await?;
                }
                if !insights_ok {
                    api::put_insights(c, d, &n).await?;
                }
                Ok::<(), String>(())
            },
            async {
                if logging_ok {
                    return Ok(());
                }
                api::start_logging(c, &n).await
            },
            api::ensure_alarms(c, d, &n, &topic, o),
            async {
                match o {
                    Some(o) => api::retag(c, &o.arn, &o.tags, &d.tags_all).await,
                    None => Ok(()),
                }
            },
        );
        failures.extend([sel, log, tagged].into_iter().filter_map(Result::err));
        failures.extend(alarms);
        failures
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.string_list()
}

#[async_trait]
impl Composite for AuditTrail {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_audit_trail";
    const NOUN: &'static str = "audit trail";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for (i, a) in config.get("data_events").string_list().iter().enumerate() {
            if !a.starts_with("arn:") || !a.contains(":s3") {
                diags.attr_error(
                    AttrPath::root("data_events").index(i as i64),
                    "Invalid data event target",
                    format!("\"{a}\" is not an S3 ARN: write `arn:aws:s3` for every bucket, or `arn:aws:s3:::<bucket>/` for one."),
                );
            }
        }
        for (i, t) in config.get("insight_types").string_list().iter().enumerate() {
            if !INSIGHT_TYPES.contains(&t.as_str()) {
                diags.attr_error(
                    AttrPath::root("insight_types").index(i as i64),
                    "Unknown Insights type",
                    format!("insight_types[{i}]: \"{t}\" is not a CloudTrail Insights type; use ApiCallRateInsight or ApiErrorRateInsight."),
                );
            }
        }
        tags::validate(config, diags);
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let prior = req.prior;
        let p = &mut req.planned;
        let name = p.get("name").as_str().map(str::to_string);
        if let Some(name) = &name {
            let n = Names::of(name);
            p.set_attr("id", Value::string(name));
            p.set_attr("log_group_name", Value::string(&n.log_group));
        }
        for (attr, managed) in [
            ("kms_key_arn", "kms_key_managed"),
            ("alarm_topic_arn", "alarm_topic_managed"),
        ] {
            if !config.get(attr).is_null() {
                p.set_attr(managed, Value::Bool(false));
            } else {
                p.set_attr(managed, Value::Bool(true));
                let kept = prior.get(managed).as_bool() == Some(true) && !prior.get(attr).is_null();
                p.set_attr(
                    attr,
                    if kept {
                        prior.get(attr).clone()
                    } else {
                        Value::unknown()
                    },
                );
            }
        }
        if config.get("data_events").is_null() {
            p.set_attr(
                "data_events",
                Value::List(vec![Value::string("arn:aws:s3")]),
            );
        }
        if config.get("insight_types").is_null() {
            p.set_attr(
                "insight_types",
                Value::List(INSIGHT_TYPES.iter().map(|t| Value::string(*t)).collect()),
            );
        }
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));
        let clients = match req.ctx {
            Some(ctx) => ctx.clients(&target_of(config)).await.ok(),
            None => None,
        };
        if let (Some(c), Some(name)) = (&clients, &name) {
            if let (Ok(arn), Ok(account)) = (api::trail_arn(c, name).await, c.account_id().await) {
                p.set_attr("arn", Value::string(arn));
                p.set_attr("home_region", Value::string(&c.region));
                if prior.get("role_arn").is_null() {
                    p.set_attr(
                        "role_arn",
                        Value::string(format!(
                            "arn:{}:iam::{account}:role/{}",
                            partition(&c.region),
                            Names::of(name).role
                        )),
                    );
                }
            }
        }
        // Every control holds by construction; S3 data events only when recorded, and
        // the key of a topic brought from elsewhere is known only after reading it.
        let data = p.get("data_events");
        let insights = p.get("insight_types");
        let topic_brought = !config.get("alarm_topic_arn").is_null();
        if data.is_fully_known() && insights.is_fully_known() && !topic_brought {
            let recorded = !strings(data).is_empty();
            let watched = strings(insights);
            let insights_on = INSIGHT_TYPES.iter().all(|t| watched.iter().any(|w| w == t));
            let m: BTreeMap<String, Value> = CONTROLS
                .iter()
                .map(|c| {
                    (
                        c.id.to_string(),
                        Value::Bool(match c.id {
                            "CIS 4.8" | "CIS 4.9" => recorded,
                            "bank:trail-insights" => insights_on,
                            _ => true,
                        }),
                    )
                })
                .collect();
            p.set_attr("compliance", Value::Map(m));
        } else {
            p.set_attr("compliance", Value::unknown());
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let managed = |attr: &str| planned.get(attr).as_bool().unwrap_or(true);
        let known = |attr: &str| planned.get(attr).as_str().map(str::to_string);
        Ok(Desired {
            name: planned.get("name").as_str().unwrap_or_default().to_string(),
            bucket: planned
                .get("s3_bucket_name")
                .as_str()
                .unwrap_or_default()
                .to_string(),
            prefix: known("s3_key_prefix"),
            organization: planned
                .get("is_organization_trail")
                .as_bool()
                .unwrap_or(false),
            kms_key_arn: if managed("kms_key_managed") {
                None
            } else {
                known("kms_key_arn")
            },
            data_events: strings(planned.get("data_events")),
            insights: {
                let mut v = strings(planned.get("insight_types"));
                v.sort();
                v.dedup();
                v
            },
            retention_days: planned.get("log_retention_days").as_i64().unwrap_or(365),
            alarm_topic_arn: if managed("alarm_topic_managed") {
                None
            } else {
                known("alarm_topic_arn")
            },
            tags_all: tags::all(planned),
            key: known("kms_key_arn"),
            topic: known("alarm_topic_arn"),
            // Ensured by create; an update takes it from the trail (see `converge`).
            role: None,
            adopted: false,
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("name").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v
    }

    fn applied(&self, planned: &Value, root: &str, d: &Desired, _creating: bool) -> Value {
        let mut s = self.with_root(planned.clone(), root);
        s.set_attr(
            "kms_key_arn",
            d.key.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr(
            "alarm_topic_arn",
            d.topic.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s.set_attr(
            "role_arn",
            d.role.clone().map(Value::String).unwrap_or(Value::Null),
        );
        s
    }

    /// The trail's prerequisites (key; then role, log group and topic concurrently),
    /// then the trail marked `creating`. What was made is removed again on failure.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        let n = Names::of(&d.name);
        let undo = |d: &Desired| Owned {
            key: if d.kms_key_arn.is_none() {
                d.key.clone()
            } else {
                None
            },
            topic: d.alarm_topic_arn.is_none(),
        };
        let made = async {
            // The role needs no key: it is made beside it; the group and topic after.
            let (key, role) = tokio::join!(api::ensure_key(c, d, &n), api::ensure_role(c, d, &n));
            // Known to the rollback even when the role failed.
            d.key = key.as_ref().ok().cloned();
            let (key, role) = (key?, role?);
            let (group, topic) = tokio::join!(
                api::ensure_log_group(c, d, &n, &key),
                api::ensure_topic(c, d, &n, &key),
            );
            let topic = topic?;
            group?;
            d.role = Some(role.clone());
            d.topic = Some(topic);
            api::create_trail(c, d, &n, &key, &role).await
        }
        .await;
        match made {
            Ok(adopted) => {
                d.adopted = adopted;
                Ok((d.name.clone(), adopted))
            }
            Err(e) => match api::destroy(c, &n, &undo(d)).await {
                Ok(()) => Err(e),
                Err(left) => Err(format!("{e}\nCleanup also failed: {}", left.join("; "))),
            },
        }
    }

    async fn converge(
        &self,
        c: &Clients,
        _root: &str,
        d: &mut Desired,
        prior: Option<&Value>,
    ) -> Result<(), Failures> {
        let observed = match prior {
            None => None,
            Some(_) => match api::observe(c, &Names::of(&d.name)).await {
                Ok(Some(o)) => Some(o),
                Ok(None) => return Err(vec![format!("CloudTrail trail ({}) is gone.", d.name)]),
                Err(e) => return Err(vec![e]),
            },
        };
        if prior.is_some() {
            // The role is ours by name; an update re-ensures it only when the trail lost it.
            d.role = observed.as_ref().and_then(|o| o.role_arn.clone());
        }
        let failures = self.converge_children(c, d, observed.as_ref()).await;
        if failures.is_empty() {
            if prior.is_some() {
                api::mark_created(c, &d.name).await.map_err(|e| vec![e])?;
            }
            Ok(())
        } else {
            Err(failures)
        }
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        api::mark_created(c, root).await
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        api::observe(c, &Names::of(root)).await
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        let n = Names::of(root);
        let key = if state.get("kms_key_managed").as_bool() != Some(false) {
            match state.get("kms_key_arn").as_str() {
                Some(k) => Some(k.to_string()),
                // A rolled-back create whose state never learnt the key.
                None => api::find_managed_key(c, &n).await.map_err(|e| vec![e])?,
            }
        } else {
            None
        };
        let owned = Owned {
            key,
            topic: state.get("alarm_topic_managed").as_bool() != Some(false),
        };
        api::destroy(c, &n, &owned).await
    }

    fn state(&self, _c: &Clients, base: &Value, o: &Observed) -> Value {
        self.state_from(base, o)
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn audit_notes(&self) -> Option<&'static str> {
        Some(
            "- `s3_bucket_no_mfa_delete` / `cloudtrail_bucket_requires_mfa_delete` and `cloudtrail_logs_s3_bucket_access_logging_enabled`: settings of the bucket the trail writes to (see `bankplatform_compliant_bucket`).
- `cloudtrail_cloudwatch_logging_enabled`: emulator only (no `LatestCloudWatchLogsDeliveryTime`); delivery to the encrypted log group is read back as `CloudTrail.5`.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by trail name, in the provider's own account and region. The key and topic count as managed when they carry the names the resource gives them (`alias/bankplatform/trail/<name>`, `<name>-security-alarms`)."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let n = Names::of(id);
        let o = imported(api::observe(c, &n).await, "CloudTrail trail", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s.set_attr("name", Value::string(id));
        let managed_key = match (api::find_managed_key(c, &n).await, &o.kms_key) {
            (Ok(Some(k)), Some(actual)) => &k == actual || k.ends_with(actual.as_str()),
            _ => false,
        };
        s.set_attr("kms_key_managed", Value::Bool(managed_key));
        let managed_topic = match (&o.topic, api::topic_arn(c, &n.topic).await) {
            (Some(t), Ok(ours)) => t == &ours,
            _ => false,
        };
        s.set_attr("alarm_topic_managed", Value::Bool(managed_topic));
        let defaults = ctx.default_tags();
        if let Some(t) = tags::imported(&o.tags, defaults) {
            s.set_attr("tags", t);
        }
        Ok(self.state_from(&s, &o))
    }
}
