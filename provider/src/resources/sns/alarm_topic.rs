//! `bankplatform_alarm_topic`: the SNS topic security alarms and findings go to, as
//! an auditor expects it with no arguments beyond a name: encrypted with a
//! customer-managed key (made for it unless one is given), a policy that admits
//! only the named publishing services for the named accounts (`aws:SourceAccount`)
//! and refuses publishing without TLS, subscriptions over encrypted protocols only,
//! and a `compliance` map read back from AWS.
//!
//! Children: the managed key (made before the topic, retired after it), the topic
//! (root: created with its ownership marker, policy and key in one call), its tags,
//! its subscriptions.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde_json::Value as Json;

use super::topic_policy::{self, PUBLISHERS};
use crate::aws::{error_code, error_message, is_not_found, partition, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{arn, one_of};
use crate::framework::{Diagnostics, Nesting};
use crate::resources::iam::policy_doc::canonical_json;
use crate::resources::kit::calls::GoneIsDone;
use crate::resources::kit::composite::{
    done, imported, with_undo, Composite, Failures, PlanRequest,
};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kit::schema::{check_account_ids, check_name, target_block};
use crate::resources::kit::tags;
use crate::resources::kms::key_policy::{self, KeyPolicy};
use crate::resources::kms::managed_key;
use crate::value::{AttrPath, Type, Value};

/// Publishers when none are named: CloudWatch alarms and EventBridge rules.
const DEFAULT_PUBLISHERS: &[&str] = &["cloudwatch", "events"];
/// Protocols that carry a notification encrypted (no `http`, no `sms`).
const PROTOCOLS: &[&str] = &["email", "email-json", "https", "sqs", "lambda", "firehose"];
/// AWS's limit on topic names (256), less what the managed key's alias
/// (`alias/bankplatform/sns/<name>`, at most 256) puts before the name.
const MAX_NAME: usize = 256 - "alias/bankplatform/sns/".len();

/// The topic as configured.
pub(crate) struct Desired {
    name: String,
    publishers: Vec<String>,
    /// The accounts publishers may publish for (this account when unset).
    accounts: Vec<String>,
    /// The key: given, or made (and then set by `create_root`).
    key: Option<String>,
    key_managed: bool,
    subscriptions: BTreeSet<(String, String)>,
    tags_all: BTreeMap<String, String>,
}

/// The topic as AWS reports it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    arn: String,
    key: Option<String>,
    policy: Option<Json>,
    tags: BTreeMap<String, String>,
    /// (protocol, endpoint) → subscription ARN (`PendingConfirmation` until confirmed).
    subscriptions: BTreeMap<(String, String), String>,
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "SNS.1",
        title: "The topic is encrypted at rest with a customer-managed KMS key (not `alias/aws/sns`).",
        evidence: "`sns:GetTopicAttributes` → `KmsMasterKeyId`",
        judge: |o| Some(o.key.as_deref().is_some_and(|k| !k.is_empty() && k != "alias/aws/sns")),
    },
    Control {
        id: "SNS.4",
        title: "The topic policy allows no principal `*` without a condition (CIS 2.21).",
        evidence: "`sns:GetTopicAttributes` → `Policy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(key_policy::no_public_principal)),
    },
    Control {
        id: "bank:topic-tls-only",
        title: "The topic policy refuses every publish sent without TLS (`aws:SecureTransport = false` denied).",
        evidence: "`sns:GetTopicAttributes` → `Policy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(topic_policy::tls_only)),
    },
    Control {
        id: "bank:topic-publishers-scoped",
        title: "Every service admitted to publish is restricted by source account (the confused-deputy rule).",
        evidence: "`sns:GetTopicAttributes` → `Policy`",
        judge: |o| Some(o.policy.as_ref().is_some_and(key_policy::services_scoped)),
    },
];

/// The resource type.
pub struct AlarmTopic {
    schema: Schema,
}

impl Default for AlarmTopic {
    fn default() -> Self {
        Self::new()
    }
}

fn key_alias(name: &str) -> String {
    format!("alias/bankplatform/sns/{name}")
}

fn subscriptions(v: &Value) -> BTreeSet<(String, String)> {
    v.get("subscriptions")
        .as_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            Some((
                s.get("protocol").as_str()?.to_string(),
                s.get("endpoint").as_str()?.to_string(),
            ))
        })
        .collect()
}

fn strings_or(v: &Value, default: &[&str]) -> Vec<String> {
    let l = v.string_list();
    if l.is_empty() {
        default.iter().map(|s| s.to_string()).collect()
    } else {
        l
    }
}

impl AlarmTopic {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let list = || Type::list(Type::String);
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The topic ARN."),
            Attribute::string("name").required().requires_replace()
                .describe("Topic name (letters, digits, `-` and `_`, at most 256)."),
            Attribute::typed("publishers", list()).optional()
                .describe("Services that may publish, by name (`cloudwatch`, `events`, `s3`, `config`, `guardduty`, `cloudtrail`, `budgets`); each only for `source_accounts`. Default: `cloudwatch` and `events` (alarms and EventBridge rules)."),
            Attribute::typed("source_accounts", list()).optional()
                .describe("Accounts whose services may publish (e.g. every account's EventBridge rules forwarding findings to the security account). Default: this account."),
            Attribute::string("kms_key_arn").optional().computed().use_state_for_unknown()
                .validate(arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
                .describe("Customer-managed key the topic is encrypted with; its policy must admit the publishers. Default: a key made for the topic (alias `alias/bankplatform/sns/<name>`, purpose `sns`, rotation on), retired with it. Changing it re-encrypts in place."),
            Attribute::nested("subscriptions", Nesting::List, vec![
                Attribute::string("protocol").required()
                    .validate(one_of("Invalid subscription protocol", PROTOCOLS))
                    .describe("`email`, `email-json`, `https`, `sqs`, `lambda` or `firehose` (not `http` or `sms`: a notification must travel encrypted)."),
                Attribute::string("endpoint").required().describe("Address, URL or ARN the notifications go to."),
            ]).optional()
                .describe("Who is notified. An email subscription stays pending until its recipient confirms it."),
            Attribute::string("arn").computed().use_state_for_unknown().describe("Topic ARN."),
            Attribute::string("policy").computed().describe("The effective topic policy (canonical JSON)."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on the topic: `default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls)."),
        ];
        AlarmTopic {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "An SNS topic for security alarms and findings: KMS-encrypted with a customer-managed key, publishable only by the named services for the named accounts and only over TLS, subscriptions over encrypted protocols, and a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("topic")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(&o.arn));
        s.set_attr("arn", Value::string(&o.arn));
        if let Some(name) = o.arn.rsplit(':').next() {
            s.set_attr("name", Value::string(name));
        }
        s.set_attr(
            "kms_key_arn",
            o.key.clone().map(Value::String).unwrap_or(Value::Null),
        );
        match &o.policy {
            Some(p) => {
                let same = base
                    .get("policy")
                    .as_str()
                    .and_then(|t| serde_json::from_str::<Json>(t).ok())
                    .is_some_and(|b| canonical_json(&b) == canonical_json(p));
                if !same {
                    s.set_attr("policy", Value::string(canonical_json(p).to_string()));
                }
            }
            None => s.set_attr("policy", Value::Null),
        }
        // Subscriptions as configured when AWS has the same set. A pending one (no
        // ARN until confirmed, and it cannot be removed: it expires) counts only while
        // configured, so dropping it from the configuration is not a diff forever.
        let configured = subscriptions(base);
        let have: BTreeSet<(String, String)> = o
            .subscriptions
            .iter()
            .filter(|(s, arn)| arn.starts_with("arn:") || configured.contains(*s))
            .map(|(s, _)| s.clone())
            .collect();
        if configured != have {
            s.set_attr(
                "subscriptions",
                if have.is_empty() {
                    Value::Null
                } else {
                    Value::List(
                        have.iter()
                            .map(|(p, e)| {
                                Value::object([
                                    ("protocol", Value::string(p)),
                                    ("endpoint", Value::string(e)),
                                ])
                            })
                            .collect(),
                    )
                },
            );
        }
        s.set_attr("tags_all", tags::own(&o.tags));
        s.set_attr("compliance", controls::value(CONTROLS, o));
        s
    }
}

fn sns_tag(k: &str, v: &str) -> Result<aws_sdk_sns::types::Tag, String> {
    aws_sdk_sns::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| e.to_string())
}

async fn policy_for(c: &Clients, arn: &str, d: &Desired) -> Result<Json, String> {
    let account = c.account_id().await?;
    let accounts = if d.accounts.is_empty() {
        vec![account.clone()]
    } else {
        d.accounts.clone()
    };
    Ok(topic_policy::document(
        partition(&c.region),
        &account,
        arn,
        &d.publishers,
        &accounts,
    ))
}

/// The managed key's policy: SNS use for this account, and the publishing services
/// of the source accounts (they encrypt what they publish).
async fn key_policy_for(c: &Clients, d: &Desired) -> Result<Json, String> {
    let account = c.account_id().await?;
    Ok(KeyPolicy {
        partition: partition(&c.region),
        region: &c.region,
        account: &account,
        purpose: "sns",
        administrators: &[],
        users: &[],
        source_accounts: &d.accounts,
        source_arns: &[],
        publishers: &d.publishers,
        extra: &[],
    }
    .document())
}

/// The managed key: found by its alias (an interrupted create's), or made with a
/// policy admitting the publishers for the accounts.
async fn ensure_key(c: &Clients, d: &Desired) -> Result<String, String> {
    managed_key::ensure(
        c,
        &key_alias(&d.name),
        &format!("SNS topic {} (bankplatform)", d.name),
        &d.tags_all,
        key_policy_for(c, d),
    )
    .await
}

async fn observe(c: &Clients, arn: &str) -> Result<Option<Observed>, String> {
    let what = |e: String| format!("reading SNS Topic ({arn}): {e}");
    let attrs = match c.sns.get_topic_attributes().topic_arn(arn).send().await {
        Ok(o) => o.attributes.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(what(error_message(&e))),
    };
    let (tags, subs) = tokio::join!(
        c.sns.list_tags_for_resource().resource_arn(arn).send(),
        c.sns.list_subscriptions_by_topic().topic_arn(arn).send()
    );
    let tags = tags
        .map_err(|e| what(error_message(&e)))?
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let subscriptions = subs
        .map_err(|e| what(error_message(&e)))?
        .subscriptions()
        .iter()
        .filter_map(|s| {
            Some((
                (s.protocol()?.to_string(), s.endpoint()?.to_string()),
                s.subscription_arn().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    Ok(Some(Observed {
        arn: arn.to_string(),
        key: attrs
            .get("KmsMasterKeyId")
            .filter(|k| !k.is_empty())
            .cloned(),
        policy: attrs
            .get("Policy")
            .and_then(|p| serde_json::from_str(p).ok()),
        tags,
        subscriptions,
    }))
}

#[async_trait]
impl Composite for AlarmTopic {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_alarm_topic";
    const NOUN: &'static str = "alarm topic";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_name(config, "name", MAX_NAME, "topic", diags);
        for (i, p) in config.get("publishers").string_list().iter().enumerate() {
            if !PUBLISHERS.contains(&p.as_str()) {
                diags.attr_error(
                    AttrPath::root("publishers").index(i as i64),
                    "Invalid publisher",
                    format!(
                        "\"{p}\" is not a service that can be admitted; use one of {}.",
                        PUBLISHERS.join(", ")
                    ),
                );
            }
        }
        check_account_ids(config, "source_accounts", diags);
        for (i, s) in config
            .get("subscriptions")
            .as_list()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let (Some(p), Some(e)) = (s.get("protocol").as_str(), s.get("endpoint").as_str())
            else {
                continue;
            };
            let fits = match p {
                "https" => e.starts_with("https://"),
                "email" | "email-json" => e.contains('@'),
                "sqs" | "lambda" | "firehose" => e.starts_with("arn:"),
                _ => true,
            };
            if !fits {
                diags.attr_error(
                    AttrPath::root("subscriptions").index(i as i64).attr("endpoint"),
                    "Invalid subscription endpoint",
                    format!("\"{e}\" is not an endpoint for protocol {p}: an https URL, an email address, or an ARN for sqs, lambda and firehose."),
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
        // What the configuration asks for is what must hold.
        p.set_attr(
            "compliance",
            Value::Map(
                CONTROLS
                    .iter()
                    .map(|c| (c.id.to_string(), Value::Bool(true)))
                    .collect(),
            ),
        );
        // A topic without a customer-managed key (imported with none, or with
        // `alias/aws/sns`) gets the managed one: not known until apply.
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
        // The policy is known once the topic is: its ARN names the partition and
        // account (what the policy names besides the configuration).
        let arn: Vec<&str> = req
            .prior
            .get("arn")
            .as_str()
            .unwrap_or_default()
            .split(':')
            .collect();
        let inputs_known = ["publishers", "source_accounts"]
            .iter()
            .all(|a| config.get(a).is_fully_known());
        if let [_, partition, _, _, account, _] = arn[..] {
            if inputs_known {
                let publishers = strings_or(config.get("publishers"), DEFAULT_PUBLISHERS);
                let accounts = strings_or(config.get("source_accounts"), &[account]);
                let doc = topic_policy::document(
                    partition,
                    account,
                    &arn.join(":"),
                    &publishers,
                    &accounts,
                );
                req.planned
                    .set_attr("policy", Value::string(canonical_json(&doc).to_string()));
            }
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let key = planned.get("kms_key_arn").as_str().map(str::to_string);
        Ok(Desired {
            name: planned.get("name").as_str().unwrap_or_default().to_string(),
            publishers: strings_or(planned.get("publishers"), DEFAULT_PUBLISHERS),
            accounts: planned.get("source_accounts").string_list(),
            key_managed: key.is_none(),
            key,
            subscriptions: subscriptions(planned),
            tags_all: tags::all(planned),
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("arn").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v.set_attr("arn", Value::string(root));
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

    /// The key (made, or the one an interrupted create left), then the topic with its
    /// key, policy and ownership marker in one call. CreateTopic of an existing name
    /// returns that topic: taken only when an unfinished create of this resource left
    /// it.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        if d.key_managed {
            d.key = Some(ensure_key(c, d).await?);
        }
        let key = d.key.clone().unwrap_or_default();
        let made = async {
            let arn = c.arn("sns", &d.name).await?;
            let policy = policy_for(c, &arn, d).await?;
            let mut req = c
                .sns
                .create_topic()
                .name(&d.name)
                .attributes("KmsMasterKeyId", &key)
                .attributes("Policy", policy.to_string())
                .tags(sns_tag(LIFECYCLE_TAG, CREATING)?);
            for (k, v) in &d.tags_all {
                req = req.tags(sns_tag(k, v)?);
            }
            let arn = match req.send().await {
                Ok(o) => o.topic_arn.ok_or_else(|| {
                    format!(
                        "creating SNS Topic ({}): SNS answered without the topic",
                        d.name
                    )
                })?,
                // Same name, other attributes: a topic that is not this resource's.
                Err(e)
                    if error_code(&e) == Some("InvalidParameter")
                        && error_message(&e).contains("already exists") =>
                {
                    return Err(format!("SNS Topic {} already exists with other settings (not made by an unfinished create of this resource). Import it (terraform import <address> {arn}) or choose another name.", d.name));
                }
                Err(e) => {
                    return Err(format!(
                        "creating SNS Topic ({}): {}",
                        d.name,
                        error_message(&e)
                    ))
                }
            };
            let o = observe(c, &arn).await?;
            let marker = o.as_ref().and_then(|o| o.tags.get(LIFECYCLE_TAG).cloned());
            if claim(marker.as_deref()) == Claim::Refuse {
                return Err(format!("SNS Topic {arn} already exists (not made by an unfinished create of this resource). Import it (terraform import <address> {arn}) or choose another name."));
            }
            Ok(arn)
        };
        match made.await {
            Ok(arn) => Ok((arn, false)),
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
            return Err(vec![format!("SNS Topic ({root}) is gone.")]);
        };
        if d.key.is_none() {
            // Planned unknown: the topic has no customer-managed key yet (an imported
            // one). The managed key is found by its alias, or made.
            d.key = Some(ensure_key(c, d).await.map_err(|e| vec![e])?);
        }
        let policy = policy_for(c, root, d).await.map_err(|e| vec![e])?;
        let set = |name: &'static str, value: String| async move {
            c.sns
                .set_topic_attributes()
                .topic_arn(root)
                .attribute_name(name)
                .attribute_value(value)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    format!(
                        "setting {name} of SNS Topic ({root}): {}",
                        error_message(&e)
                    )
                })
        };
        let policy_ok = o.policy.as_ref().map(canonical_json) == Some(canonical_json(&policy));
        let key_ok = o.key == d.key;
        let subscribe = d
            .subscriptions
            .iter()
            .filter(|s| !o.subscriptions.contains_key(*s))
            .map(|(protocol, endpoint)| async move {
                c.sns
                    .subscribe()
                    .topic_arn(root)
                    .protocol(protocol)
                    .endpoint(endpoint)
                    .return_subscription_arn(true)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "subscribing {protocol} {endpoint} to SNS Topic ({root}): {}",
                            error_message(&e)
                        )
                    })
            });
        // A pending subscription has no ARN yet and cannot be removed: it expires.
        let unsubscribe = o
            .subscriptions
            .iter()
            .filter(|(s, arn)| !d.subscriptions.contains(*s) && arn.starts_with("arn:"))
            .map(|(_, arn)| async move {
                c.sns
                    .unsubscribe()
                    .subscription_arn(arn)
                    .send()
                    .await
                    .gone_is_done(&format!("unsubscribing {arn}"))
            });
        // The managed key follows the source accounts (a given key is the user's).
        let managed_key_policy = async {
            let Some(k) = managed_key::find(c, &key_alias(&d.name)).await? else {
                return Ok(());
            };
            if d.key.as_deref() != Some(k.as_str()) {
                return Ok(());
            }
            let wanted = key_policy_for(c, d).await?;
            if managed_key::policy(c, &k).await.as_ref() == Some(&wanted) {
                return Ok(());
            }
            managed_key::put_policy(c, &k, &wanted.to_string()).await
        };
        let (p, k, kp, tagged, subs, unsubs) = tokio::join!(
            async {
                if policy_ok {
                    return Ok(());
                }
                set("Policy", policy.to_string()).await
            },
            async {
                match (&d.key, key_ok) {
                    (Some(k), false) => set("KmsMasterKeyId", k.clone()).await,
                    _ => Ok(()),
                }
            },
            managed_key_policy,
            tags::write(
                &o.tags,
                &d.tags_all,
                |missing| async move {
                    let tags: Result<Vec<_>, String> =
                        missing.iter().map(|(k, v)| sns_tag(k, v)).collect();
                    c.sns
                        .tag_resource()
                        .resource_arn(root)
                        .set_tags(Some(tags?))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("tagging SNS Topic ({root}): {}", error_message(&e)))
                },
                |stale| async move {
                    c.sns
                        .untag_resource()
                        .resource_arn(root)
                        .set_tag_keys(Some(stale))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("untagging SNS Topic ({root}): {}", error_message(&e)))
                },
            ),
            futures::future::join_all(subscribe),
            futures::future::join_all(unsubscribe),
        );
        let failures: Failures = [p, k, kp]
            .into_iter()
            .chain(subs)
            .chain(unsubs)
            .filter_map(Result::err)
            .chain(tagged)
            .collect();
        done(failures)
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        c.sns
            .tag_resource()
            .resource_arn(root)
            .tags(sns_tag(LIFECYCLE_TAG, CREATED)?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("marking SNS Topic ({root}) created: {}", error_message(&e)))
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        observe(c, root).await
    }

    /// The topic (its subscriptions go with it), then the managed key.
    async fn destroy(&self, c: &Clients, root: &str, _state: &Value) -> Result<(), Failures> {
        c.sns
            .delete_topic()
            .topic_arn(root)
            .send()
            .await
            .gone_is_done(&format!("deleting SNS Topic ({root})"))
            .map_err(|e| vec![e])?;
        let name = root.rsplit(':').next().unwrap_or_default();
        managed_key::retire_behind(c, &key_alias(name))
            .await
            .map_err(|e| vec![e])
    }

    fn state(&self, _c: &Clients, base: &Value, o: &Observed) -> Value {
        self.state_from(base, o)
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn import_help(&self) -> &'static str {
        "Import by topic ARN or name, in the provider's own account and region. `publishers` and `source_accounts` are read from the topic policy's `BankplatformPublish…` statements."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let arn = if id.starts_with("arn:") {
            id.to_string()
        } else {
            match c.arn("sns", id).await {
                Ok(a) => a,
                Err(e) => {
                    let mut d = Diagnostics::new();
                    d.error("Cannot reach AWS", e);
                    return Err(d);
                }
            }
        };
        let o = imported(observe(c, &arn).await, "SNS topic", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s = self.with_root(s, &arn);
        if let Some(t) = tags::imported(&o.tags, ctx.default_tags()) {
            s.set_attr("tags", t);
        }
        // Publishers and their accounts, from the policy's own statements.
        let statements: Vec<Json> = o
            .policy
            .as_ref()
            .and_then(|p| p["Statement"].as_array().cloned())
            .unwrap_or_default();
        let publishing: Vec<&Json> = statements
            .iter()
            .filter(|st| {
                st["Sid"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("BankplatformPublish"))
            })
            .collect();
        let publishers: Vec<String> = publishing
            .iter()
            .filter_map(|st| st["Principal"]["Service"].as_str())
            .map(|s| s.trim_end_matches(".amazonaws.com").to_string())
            .collect();
        if !publishers.is_empty() && publishers != DEFAULT_PUBLISHERS {
            s.set_attr(
                "publishers",
                Value::List(publishers.iter().map(Value::string).collect()),
            );
        }
        let accounts: Vec<String> = match publishing
            .first()
            .map(|st| &st["Condition"]["StringEquals"]["aws:SourceAccount"])
        {
            Some(Json::String(a)) => vec![a.clone()],
            Some(Json::Array(l)) => l
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        };
        let own = c.account_id().await.unwrap_or_default();
        if !accounts.is_empty() && accounts != [own] {
            s.set_attr(
                "source_accounts",
                Value::List(accounts.iter().map(Value::string).collect()),
            );
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
        let r = Kit::new(AlarmTopic::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("alarms.fifo"));
        config.set_attr("publishers", Value::List(vec![Value::string("everyone")]));
        config.set_attr("source_accounts", Value::List(vec![Value::string("12")]));
        config.set_attr(
            "subscriptions",
            Value::List(vec![
                Value::object([
                    ("protocol", Value::string("http")),
                    ("endpoint", Value::string("http://x")),
                ]),
                Value::object([
                    ("protocol", Value::string("https")),
                    ("endpoint", Value::string("x.example.com")),
                ]),
            ]),
        );
        let d = crate::framework::plan::validate_config(&r, &config);
        let got: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().map(|p| p.to_string()).unwrap_or_default())
            .collect();
        for want in [
            "name",
            "publishers[0]",
            "source_accounts[0]",
            "subscriptions[0].protocol",
            "subscriptions[1].endpoint",
        ] {
            assert!(got.iter().any(|p| p == want), "missing {want} in {got:?}");
        }
    }

    #[test]
    fn the_controls_read_the_topic_as_aws_reports_it() {
        let arn = "arn:aws:sns:us-east-1:111122223333:alarms";
        let good = Observed {
            arn: arn.into(),
            key: Some("arn:aws:kms:us-east-1:111122223333:key/k".into()),
            policy: Some(topic_policy::document(
                "aws",
                "111122223333",
                arn,
                &["events".into()],
                &["111122223333".into()],
            )),
            ..Observed::default()
        };
        assert!(controls::evaluate(CONTROLS, &good).values().all(|v| *v));
        let bare = Observed {
            key: Some("alias/aws/sns".into()),
            policy: None,
            ..good.clone()
        };
        assert!(controls::evaluate(CONTROLS, &bare).values().all(|v| !*v));
    }
}
