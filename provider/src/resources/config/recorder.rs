//! `bankplatform_config_recorder`: AWS Config recording every supported resource type
//! (global types in the home region only), delivering to a bucket with a key and a
//! topic, started, with a pack of AWS managed rules mirroring the ★ controls
//! (`rules = "bank-baseline"`, adjusted by `extra_rules` / `excluded_rules`).
//!
//! The recorder is the root (one per account and region; its name is its identity):
//! every child is an idempotent put, so a killed create is finished by the next
//! apply. It "disappears" when the recorder is deleted.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::recorder_api::{self as api, Desired, Observed, BANK_BASELINE};
use crate::aws::{Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{self, one_of};
use crate::framework::Diagnostics;
use crate::resources::kit::composite::{done, imported, Composite, Failures, PlanRequest};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::schema::{check_account_id, target_block, RegionName};
use crate::value::{AttrPath, Type, Value};

const FREQUENCIES: &[&str] = &[
    "One_Hour",
    "Three_Hours",
    "Six_Hours",
    "Twelve_Hours",
    "TwentyFour_Hours",
];

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "Config.1",
        title: "Config records every supported resource type, is recording, and delivers (CIS 4.3).",
        evidence: "`config:DescribeConfigurationRecorders` → `recordingGroup.allSupported`; `DescribeConfigurationRecorderStatus` → `recording`; `DescribeDeliveryChannels` → `s3BucketName`",
        judge: |o| Some(o.all_supported && o.recording && o.channel.is_some()),
    },
    Control {
        id: "CIS 4.3",
        title: "Same read as Config.1, and the recorder uses the service-linked role.",
        evidence: "as Config.1; `roleARN` ends with `AWSServiceRoleForConfig`",
        judge: |o| Some(o.all_supported && o.recording && o.channel.is_some() && o.role.ends_with("/AWSServiceRoleForConfig")),
    },
    Control {
        id: "bank:config-delivery-encrypted",
        title: "Configuration snapshots are delivered with SSE-KMS under a customer-managed key.",
        evidence: "`config:DescribeDeliveryChannels` → `s3KmsKeyArn`",
        judge: |o| Some(o.channel.as_ref().is_some_and(|c| c.kms_key_arn.is_some())),
    },
    Control {
        id: "bank:config-rules-active",
        title: "Every managed rule of the configured pack is deployed and ACTIVE (one deleted or turned off reads false).",
        evidence: "`config:DescribeConfigRules` → `ConfigRuleState = ACTIVE`, `Source.SourceIdentifier`",
        judge: |o| Some(!o.rules.is_empty() && o.rules.values().all(|a| *a)),
    },
];

/// The resource type.
pub struct ConfigRecorder {
    schema: Schema,
}

impl Default for ConfigRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigRecorder {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let list = || Type::list(Type::String);
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The recorder name."),
            Attribute::string("name").default(Value::string("bankplatform")).requires_replace()
                .describe("Recorder (and delivery channel) name; AWS allows one recorder per account and Region."),
            Attribute::bool("include_global_resource_types").default(Value::Bool(true))
                .describe("Record global types (IAM) too: true in the account's home Region only, so they are recorded exactly once."),
            Attribute::string("s3_bucket_name").required().describe("Bucket configuration snapshots go to (the log archive's Config bucket; its `delivery_sources` should admit `config` for this account)."),
            Attribute::string("s3_key_prefix").optional().describe("Key prefix of the snapshots."),
            Attribute::string("kms_key_arn").optional()
                .validate(validators::arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/<id>"))
                .describe("Customer-managed key the snapshots are encrypted with (SSE-KMS)."),
            Attribute::string("sns_topic_arn").optional()
                .validate(validators::arn("sns", "", "arn:aws:sns:eu-west-1:111122223333:<topic>"))
                .describe("Topic configuration changes are announced on."),
            Attribute::string("delivery_frequency").default(Value::string("TwentyFour_Hours"))
                .validate(one_of("Invalid delivery frequency", FREQUENCIES))
                .describe("How often snapshots are delivered."),
            Attribute::string("rules").default(Value::string("bank-baseline"))
                .validate(one_of("Invalid rule pack", &["bank-baseline", "none"]))
                .describe("The pack of AWS managed rules: `bank-baseline` (the rules mirroring the bank's ★ controls: CloudTrail, S3, VPC, EBS, IAM, KMS, GuardDuty, Security Hub, RDS, DynamoDB, Secrets Manager, CloudWatch Logs) or `none`."),
            Attribute::typed("extra_rules", list()).optional().describe("AWS managed rule identifiers added to the pack (e.g. `INCOMING_SSH_DISABLED`; rules with required parameters are refused by AWS)."),
            Attribute::typed("excluded_rules", list()).optional().describe("Identifiers of the pack's rules to leave out; visible in the plan."),
            Attribute::string("aggregator_account_id").optional()
                .describe("Account whose Config aggregator may collect this recorder's data (the security account); with `aggregator_region`. Needed for an aggregator over listed accounts, not for one over the organization."),
            Attribute::string("aggregator_region").optional().validate(RegionName)
                .describe("Region of that aggregator; with `aggregator_account_id`."),
            Attribute::typed("rule_identifiers", list()).computed().describe("The managed rules deployed (identifiers, sorted); each is named `bankplatform-<identifier>`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls). The rules' own findings are not read: the emulator lacks DescribeComplianceByConfigRule."),
        ];
        ConfigRecorder {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "AWS Config as an auditor expects it: every supported resource type recorded (global types in the home Region only) with the service-linked role, delivery to a bucket with a customer-managed key and a topic, recording started, and a pack of AWS managed rules mirroring the bank's controls; with a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("recorder")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, name: &str, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(name));
        s.set_attr("name", Value::string(name));
        s.set_attr("include_global_resource_types", Value::Bool(o.global_types));
        if let Some(api::Channel {
            bucket,
            prefix,
            kms_key_arn: key,
            topic_arn: topic,
        }) = &o.channel
        {
            s.set_attr("s3_bucket_name", Value::string(bucket));
            s.set_attr(
                "s3_key_prefix",
                prefix.clone().map(Value::String).unwrap_or(Value::Null),
            );
            s.set_attr(
                "kms_key_arn",
                key.clone().map(Value::String).unwrap_or(Value::Null),
            );
            s.set_attr(
                "sns_topic_arn",
                topic.clone().map(Value::String).unwrap_or(Value::Null),
            );
        }
        if let Some(f) = &o.frequency {
            s.set_attr("delivery_frequency", Value::string(f));
        }
        // The aggregator's authorization, as configured while AWS still holds it.
        let pair = aggregator_of(base);
        if pair.is_some_and(|p| !o.authorizations.contains(&p)) {
            s.set_attr("aggregator_account_id", Value::Null);
            s.set_attr("aggregator_region", Value::Null);
        }
        // Only ACTIVE rules count as deployed: one turned off shows as missing.
        let ids: Vec<Value> = o
            .rules
            .iter()
            .filter(|(_, a)| **a)
            .map(|(id, _)| Value::string(id))
            .collect();
        s.set_attr("rule_identifiers", Value::List(ids));
        // A rule of the configured pack that is gone counts as not active.
        let mut judged = o.clone();
        for wanted in rules_of(base) {
            judged.rules.entry(wanted).or_insert(false);
        }
        s.set_attr("compliance", controls::value(CONTROLS, &judged));
        s
    }
}

/// The aggregator (account, Region) a configuration authorizes, if any.
fn aggregator_of(v: &Value) -> Option<(String, String)> {
    Some((
        v.get("aggregator_account_id").as_str()?.to_string(),
        v.get("aggregator_region").as_str()?.to_string(),
    ))
}

/// The rule identifiers a configuration asks for.
fn rules_of(v: &Value) -> BTreeSet<String> {
    let mut rules: BTreeSet<String> = if v.get("rules").as_str() == Some("none") {
        BTreeSet::new()
    } else {
        BANK_BASELINE.iter().map(|s| s.to_string()).collect()
    };
    rules.extend(v.get("extra_rules").string_list());
    for r in v.get("excluded_rules").string_list() {
        rules.remove(&r);
    }
    rules
}

#[async_trait]
impl Composite for ConfigRecorder {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_config_recorder";
    const NOUN: &'static str = "Config recorder";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // The aggregator's account and Region go together.
        let account = config.get("aggregator_account_id");
        let region = config.get("aggregator_region");
        for (set, other, missing) in [
            (account, region, "aggregator_region"),
            (region, account, "aggregator_account_id"),
        ] {
            if set.is_known() && !set.is_null() && other.is_known() && other.is_null() {
                diags.attr_error(
                    AttrPath::root(missing),
                    "Incomplete aggregator",
                    "aggregator_account_id and aggregator_region go together: set both to authorize the security account's aggregator, or neither.",
                );
            }
        }
        if let Some(a) = account.as_str() {
            check_account_id(AttrPath::root("aggregator_account_id"), a, diags);
        }
        for attr in ["extra_rules", "excluded_rules"] {
            for (i, r) in config.get(attr).string_list().iter().enumerate() {
                let ok = !r.is_empty()
                    && r.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !ok {
                    diags.attr_error(
                        AttrPath::root(attr).index(i as i64),
                        "Invalid rule identifier",
                        format!("\"{r}\" is not an AWS managed rule identifier (upper case with underscores, e.g. CLOUD_TRAIL_ENABLED)."),
                    );
                }
            }
        }
        for (i, r) in config
            .get("excluded_rules")
            .string_list()
            .iter()
            .enumerate()
        {
            if !BANK_BASELINE.contains(&r.as_str()) && config.get("excluded_rules").is_fully_known()
            {
                diags.attr_error(
                    AttrPath::root("excluded_rules").index(i as i64),
                    "Rule not in the pack",
                    format!("{r} is not one of the bank-baseline rules, so it cannot be left out."),
                );
            }
        }
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let p = &mut req.planned;
        if let Some(name) = p.get("name").as_str().map(str::to_string) {
            p.set_attr("id", Value::string(name));
        }
        let known = ["rules", "extra_rules", "excluded_rules"]
            .iter()
            .all(|a| config.get(a).is_fully_known());
        if known {
            let rules = rules_of(config);
            p.set_attr(
                "rule_identifiers",
                Value::List(rules.iter().map(Value::string).collect()),
            );
            let m = [
                ("Config.1", true),
                ("CIS 4.3", true),
                (
                    "bank:config-delivery-encrypted",
                    !config.get("kms_key_arn").is_null(),
                ),
                ("bank:config-rules-active", !rules.is_empty()),
            ];
            if config.get("kms_key_arn").is_known() {
                p.set_attr(
                    "compliance",
                    Value::Map(
                        m.into_iter()
                            .map(|(k, v)| (k.to_string(), Value::Bool(v)))
                            .collect(),
                    ),
                );
            } else {
                p.set_attr("compliance", Value::unknown());
            }
        } else {
            p.set_attr("rule_identifiers", Value::unknown());
            p.set_attr("compliance", Value::unknown());
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let s = |a: &str| planned.get(a).as_str().map(str::to_string);
        Ok(Desired {
            name: s("name").unwrap_or_else(|| "bankplatform".into()),
            global_types: planned
                .get("include_global_resource_types")
                .as_bool()
                .unwrap_or(true),
            bucket: s("s3_bucket_name").unwrap_or_default(),
            prefix: s("s3_key_prefix"),
            kms_key_arn: s("kms_key_arn"),
            sns_topic_arn: s("sns_topic_arn"),
            frequency: s("delivery_frequency").unwrap_or_else(|| "TwentyFour_Hours".into()),
            rules: rules_of(planned),
            aggregator: aggregator_of(planned),
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("name").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v
    }

    /// The recorder (a put: a recorder of this name an interrupted create left is
    /// simply written again).
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        api::put_recorder(c, d).await?;
        Ok((d.name.clone(), false))
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        prior: Option<&Value>,
    ) -> Result<(), Failures> {
        let o = match prior {
            None => None,
            Some(_) => match api::observe(c, root).await {
                Ok(o) => o,
                Err(e) => return Err(vec![e]),
            },
        };
        let mut failures = Vec::new();
        if let Some(o) = &o {
            if !o.all_supported
                || o.global_types != d.global_types
                || !o.role.ends_with("/AWSServiceRoleForConfig")
            {
                failures.extend(api::put_recorder(c, d).await.err());
            }
        }
        // The channel before starting: AWS refuses to record without one.
        let channel_ok = o.as_ref().is_some_and(|o| {
            o.channel.as_ref().is_some_and(|ch| {
                ch.bucket == d.bucket
                    && ch.prefix == d.prefix
                    && ch.kms_key_arn == d.kms_key_arn
                    && ch.topic_arn == d.sns_topic_arn
            }) && o.frequency.as_deref() == Some(d.frequency.as_str())
        });
        if !channel_ok {
            if let Err(e) = api::put_channel(c, d).await {
                failures.push(e);
                return Err(failures);
            }
        }
        let have: BTreeSet<String> = o
            .as_ref()
            .map(|o| {
                o.rules
                    .iter()
                    .filter(|(_, a)| **a)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        let owned: BTreeSet<String> = o
            .as_ref()
            .map(|o| o.rules.keys().cloned().collect())
            .unwrap_or_default();
        let add: Vec<String> = d.rules.difference(&have).cloned().collect();
        let remove: Vec<String> = owned.difference(&d.rules).cloned().collect();
        // The aggregator's authorization: the configured one, and not the prior one.
        if let Some(pair) = &d.aggregator {
            if !o.as_ref().is_some_and(|o| o.authorizations.contains(pair)) {
                failures.extend(api::authorize(c, pair).await.err());
            }
        }
        if let Some(old) = prior.and_then(aggregator_of) {
            if d.aggregator.as_ref() != Some(&old) {
                failures.extend(api::deauthorize(c, &old).await.err());
            }
        }
        let recording = o.as_ref().is_some_and(|o| o.recording);
        let (started, rules) = tokio::join!(
            async {
                if recording {
                    Ok(())
                } else {
                    api::start(c, root).await
                }
            },
            api::put_rules(c, &add, &remove),
        );
        failures.extend(started.err());
        failures.extend(rules);
        done(failures)
    }

    async fn mark_created(&self, _c: &Clients, _root: &str) -> Result<(), String> {
        Ok(())
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        api::observe(c, root).await
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        // The rules deployed, read in one call (a rolled-back create's state may not
        // know which were written); every rule the configuration names if that read fails.
        let rules: Vec<String> = match api::owned_rules(c).await {
            Ok(owned) => owned.into_keys().collect(),
            Err(_) => rules_of(state).into_iter().collect(),
        };
        let mut failures = api::destroy(c, root, &rules).await;
        if let Some(pair) = aggregator_of(state) {
            failures.extend(api::deauthorize(c, &pair).await.err());
        }
        done(failures)
    }

    fn state(&self, _c: &Clients, base: &Value, o: &Observed) -> Value {
        let name = base
            .get("name")
            .as_str()
            .unwrap_or("bankplatform")
            .to_string();
        self.state_from(base, &name, o)
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn import_help(&self) -> &'static str {
        "Import by recorder name, in the provider's own account and region. The rule pack is read back as `extra_rules`/`excluded_rules` against `bank-baseline`."
    }

    async fn import(
        &self,
        _ctx: &ProviderCtx,
        c: &Clients,
        id: &str,
    ) -> Result<Value, Diagnostics> {
        let o = imported(api::observe(c, id).await, "Config recorder", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s.set_attr("rules", Value::string("bank-baseline"));
        let pack: BTreeSet<String> = BANK_BASELINE.iter().map(|s| s.to_string()).collect();
        let have: BTreeSet<String> = o.rules.keys().cloned().collect();
        let extra: Vec<Value> = have.difference(&pack).map(Value::string).collect();
        let excluded: Vec<Value> = pack.difference(&have).map(Value::string).collect();
        if !extra.is_empty() {
            s.set_attr("extra_rules", Value::List(extra));
        }
        if !excluded.is_empty() {
            s.set_attr("excluded_rules", Value::List(excluded));
        }
        Ok(self.state_from(&s, id, &o))
    }
}
