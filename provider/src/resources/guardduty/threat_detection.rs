//! `bankplatform_threat_detection`: GuardDuty with every protection feature and
//! 15-minute finding publishing, findings exported to a bucket with a key, and
//! Security Hub with consolidated control findings and the FSBP, CIS and PCI DSS
//! standards requested, in one account and Region.
//!
//! The detector is the root (created with the lifecycle marker as a tag; found again
//! by it after a killed create). What the endpoint cannot do or show (the emulator:
//! publishing destinations, security standards) is requested where it can be and
//! left out of `compliance`, never reported as holding.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_guardduty::types as gd;

use crate::aws::{error_code, error_message, is_not_found, partition, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::Diagnostics;
use crate::resources::kit::calls::{few_retries, probing, unsupported, GoneIsDone};
use crate::resources::kit::composite::{done, imported, Composite, Failures, PlanRequest};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::value::{AttrPath, Type, Value};

/// Every GuardDuty protection feature the seeds ask for.
const FEATURES: &[(&str, &str)] = &[
    ("S3_DATA_EVENTS", "GuardDuty.10"),
    ("RDS_LOGIN_EVENTS", "GuardDuty.9"),
    ("RUNTIME_MONITORING", "GuardDuty.11"),
    ("EBS_MALWARE_PROTECTION", "GuardDuty.8"),
    ("EKS_AUDIT_LOGS", "GuardDuty.5"),
    ("LAMBDA_NETWORK_LOGS", "GuardDuty.6"),
];

/// The Security Hub standards requested (ARN paths below `arn:<partition>:securityhub:`).
const STANDARDS: &[&str] = &[
    "::standards/aws-foundational-security-best-practices/v/1.0.0",
    "::standards/cis-aws-foundations-benchmark/v/5.0.0",
    "::standards/pci-dss/v/4.0.1",
];

/// The detector and hub as configured.
pub(crate) struct Desired {
    frequency: String,
    security_hub: bool,
    /// The organization's delegated administrator: members get both automatically.
    organization_admin: bool,
    export_bucket_arn: Option<String>,
    export_kms_key_arn: Option<String>,
    tags_all: BTreeMap<String, String>,
    fresh: bool,
}

/// What AWS reports.
#[derive(Clone, Default)]
pub(crate) struct Observed {
    enabled: bool,
    frequency: String,
    /// Feature → enabled (with the Fargate agent for runtime monitoring).
    features: BTreeMap<String, bool>,
    tags: BTreeMap<String, String>,
    /// `Some(bucket ARN)`; `None` when none or the endpoint cannot say.
    export: Option<Option<String>>,
    hub: Option<(bool, bool)>,
    /// Standards ARNs READY; `None` when the endpoint has no standards API.
    standards: Option<Vec<String>>,
    /// GuardDuty and Security Hub turn themselves on in every member account
    /// (`None`: not an administrator's read, or the endpoint cannot say).
    members_guardduty: Option<bool>,
    members_security_hub: Option<bool>,
    /// Whether the configuration asks for it (from the state, before judging).
    organization_admin: bool,
}

macro_rules! feature {
    ($i:expr, $id:literal, $title:literal) => {
        Control {
            id: $id,
            title: $title,
            evidence: "`guardduty:GetDetector` → `Features[].Status = ENABLED`",
            judge: |o| Some(o.features.get(FEATURES[$i].0).copied().unwrap_or(false)),
        }
    };
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "GuardDuty.1",
        title: "A GuardDuty detector is enabled in this Region.",
        evidence: "`guardduty:GetDetector` → `Status = ENABLED`",
        judge: |o| Some(o.enabled),
    },
    feature!(0, "GuardDuty.10", "S3 protection (S3 data events) is on."),
    feature!(1, "GuardDuty.9", "RDS protection (login activity) is on."),
    feature!(2, "GuardDuty.11", "Runtime monitoring is on, with the ECS Fargate agent managed."),
    feature!(3, "GuardDuty.8", "EBS malware protection is on."),
    feature!(4, "GuardDuty.5", "EKS audit log monitoring is on."),
    feature!(5, "GuardDuty.6", "Lambda protection (Lambda network activity) is on."),
    Control {
        id: "bank:findings-every-15-minutes",
        title: "Updated findings are published every 15 minutes.",
        evidence: "`guardduty:GetDetector` → `FindingPublishingFrequency`",
        judge: |o| Some(o.frequency == "FIFTEEN_MINUTES"),
    },
    Control {
        id: "bank:findings-exported",
        title: "Findings are exported to a bucket with a KMS key (left out where the endpoint has no publishing destinations).",
        evidence: "`guardduty:ListPublishingDestinations` / `DescribePublishingDestination`",
        judge: |o| o.export.as_ref().map(|e| e.is_some()),
    },
    Control {
        id: "CIS 5.16",
        title: "Security Hub is enabled with consolidated control findings and new controls enabled automatically.",
        evidence: "`securityhub:DescribeHub` → `ControlFindingGenerator = SECURITY_CONTROL`, `AutoEnableControls`",
        judge: |o| o.hub.map(|(consolidated, auto)| consolidated && auto),
    },
    Control {
        id: "bank:organization-guardduty",
        title: "As the organization's administrator, GuardDuty is enabled in every member account, present and future (left out where the endpoint cannot say).",
        evidence: "`guardduty:DescribeOrganizationConfiguration` → `AutoEnableOrganizationMembers = ALL`",
        judge: |o| o.organization_admin.then_some(o.members_guardduty).flatten(),
    },
    Control {
        id: "bank:organization-security-hub",
        title: "As the organization's administrator, Security Hub is enabled in every new member account with the default standards (left out where the endpoint cannot say).",
        evidence: "`securityhub:DescribeOrganizationConfiguration` → `AutoEnable`",
        judge: |o| o.organization_admin.then_some(o.members_security_hub).flatten(),
    },
    Control {
        id: "bank:security-standards",
        title: "FSBP, CIS and PCI DSS standards are subscribed (left out where the endpoint has no standards API).",
        evidence: "`securityhub:GetEnabledStandards` → `StandardsSubscriptions[].StandardsStatus = READY`",
        judge: |o| o.standards.as_ref().map(|s| STANDARDS.iter().all(|w| s.iter().any(|x| x.ends_with(&w[2..])))),
    },
];

/// The resource type.
pub struct ThreatDetection {
    schema: Schema,
}

impl Default for ThreatDetection {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreatDetection {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The GuardDuty detector id."),
            Attribute::string("finding_publishing_frequency").default(Value::string("FIFTEEN_MINUTES"))
                .validate(validators::one_of("Invalid publishing frequency", &["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"]))
                .describe("How often updated findings are published."),
            Attribute::string("findings_bucket_arn").optional()
                .validate(validators::arn("s3", "", "arn:aws:s3:::<bucket>"))
                .describe("Bucket findings are exported to (the log archive's findings bucket, admitting `guardduty` for this account); requires `findings_kms_key_arn`."),
            Attribute::string("findings_kms_key_arn").optional()
                .validate(validators::arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/<id>"))
                .describe("Key exported findings are encrypted with (purpose `guardduty`)."),
            Attribute::bool("security_hub").default(Value::Bool(true))
                .describe("Enable Security Hub with consolidated control findings, auto-enabled controls, and the FSBP, CIS 5.0 and PCI DSS 4.0.1 standards (the emulator has no standards API: requested, left out of `compliance`)."),
            Attribute::bool("organization_admin").default(Value::Bool(false))
                .describe("Run as the organization's delegated administrator (the security account, delegated by `bankplatform_organization`): every member account, present and future, gets GuardDuty and Security Hub automatically."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("`default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls). Controls the endpoint cannot show are left out, never reported as holding."),
        ];
        ThreatDetection {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "Threat detection for one account and Region: a GuardDuty detector with S3, RDS, runtime (Fargate agent), EBS malware, EKS audit log and Lambda protection and 15-minute publishing, findings exported to a bucket with a key, and Security Hub with consolidated findings and the FSBP, CIS and PCI DSS standards; with a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("detector")],
                },
            },
        }
    }

    async fn read(
        &self,
        c: &Clients,
        id: &str,
        want_hub: bool,
    ) -> Result<Option<Observed>, String> {
        // The detector, its export, the hub and the organization settings are read
        // concurrently.
        let (d, dest, hub, standards, gd_org, sh_org) = tokio::join!(
            c.guardduty.get_detector().detector_id(id).send(),
            probing(c, "reading GuardDuty publishing destinations", || c
                .guardduty
                .list_publishing_destinations()
                .detector_id(id)
                .customize()
                .config_override(probe_gd())
                .send()),
            async {
                match want_hub {
                    true => Some(c.securityhub.describe_hub().send().await),
                    false => None,
                }
            },
            async {
                match want_hub {
                    true => Some(
                        probing(c, "reading Security Hub standards", || {
                            c.securityhub
                                .get_enabled_standards()
                                .customize()
                                .config_override(probe_sh())
                                .send()
                        })
                        .await,
                    ),
                    false => None,
                }
            },
            probing(c, "reading GuardDuty's organization configuration", || c
                .guardduty
                .describe_organization_configuration()
                .detector_id(id)
                .customize()
                .config_override(probe_gd())
                .send()),
            async {
                match want_hub {
                    true => Some(
                        probing(
                            c,
                            "reading Security Hub's organization configuration",
                            || {
                                c.securityhub
                                    .describe_organization_configuration()
                                    .customize()
                                    .config_override(probe_sh())
                                    .send()
                            },
                        )
                        .await,
                    ),
                    false => None,
                }
            },
        );
        let d = match d {
            Ok(d) => d,
            Err(e) if is_not_found(&e) || error_code(&e) == Some("BadRequestException") => {
                return Ok(None)
            }
            Err(e) => {
                return Err(format!(
                    "reading GuardDuty detector {id}: {}",
                    error_message(&e)
                ))
            }
        };
        let mut o = Observed {
            enabled: d.status().map(|s| s.as_str()) == Some("ENABLED"),
            frequency: d
                .finding_publishing_frequency()
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
            tags: d.tags().cloned().unwrap_or_default().into_iter().collect(),
            ..Observed::default()
        };
        for f in d.features() {
            let name = f.name().map(|n| n.as_str().to_string()).unwrap_or_default();
            let mut on = f.status().map(|s| s.as_str()) == Some("ENABLED");
            if name == "RUNTIME_MONITORING" {
                on &= f.additional_configuration().iter().any(|a| {
                    a.name().map(|n| n.as_str()) == Some("ECS_FARGATE_AGENT_MANAGEMENT")
                        && a.status().map(|s| s.as_str()) == Some("ENABLED")
                });
            }
            o.features.insert(name, on);
        }
        o.export = match dest {
            Ok(p) => Some(
                p.destinations()
                    .first()
                    .map(|d| d.destination_id().unwrap_or_default().to_string()),
            ),
            Err(e) if unsupported(&e) => None,
            Err(e) => {
                return Err(format!(
                    "reading GuardDuty publishing destinations: {}",
                    error_message(&e)
                ))
            }
        };
        // Not an administrator (or no organization): AWS refuses the read.
        o.members_guardduty = match gd_org {
            Ok(g) => {
                Some(g.auto_enable_organization_members() == Some(&gd::AutoEnableMembers::All))
            }
            Err(e) if unsupported(&e) => None,
            Err(_) => Some(false),
        };
        o.members_security_hub = match sh_org {
            Some(Ok(h)) => Some(h.auto_enable().unwrap_or(false)),
            Some(Err(e)) if unsupported(&e) => None,
            Some(Err(_)) => Some(false),
            None => None,
        };
        if let Some(hub) = hub {
            o.hub = match hub {
                Ok(h) => Some((
                    h.control_finding_generator().map(|g| g.as_str()) == Some("SECURITY_CONTROL"),
                    h.auto_enable_controls().unwrap_or(false),
                )),
                Err(e) if is_not_found(&e) || error_code(&e) == Some("InvalidAccessException") => {
                    Some((false, false))
                }
                Err(e) => return Err(format!("reading Security Hub: {}", error_message(&e))),
            };
            o.standards = match standards.expect("read with the hub") {
                Ok(s) => Some(
                    s.standards_subscriptions()
                        .iter()
                        .filter(|x| x.standards_status().map(|s| s.as_str()) == Some("READY"))
                        .filter_map(|x| x.standards_arn().map(str::to_string))
                        .collect(),
                ),
                Err(e) if unsupported(&e) => None,
                Err(e) => {
                    return Err(format!(
                        "reading Security Hub standards: {}",
                        error_message(&e)
                    ))
                }
            };
        }
        Ok(Some(o))
    }

    fn features() -> Vec<gd::DetectorFeatureConfiguration> {
        FEATURES
            .iter()
            .map(|(name, _)| {
                let mut f = gd::DetectorFeatureConfiguration::builder()
                    .name(gd::DetectorFeature::from(*name))
                    .status(gd::FeatureStatus::Enabled);
                if *name == "RUNTIME_MONITORING" {
                    f = f.additional_configuration(
                        gd::DetectorAdditionalConfiguration::builder()
                            .name(gd::FeatureAdditionalConfiguration::EcsFargateAgentManagement)
                            .status(gd::FeatureStatus::Enabled)
                            .build(),
                    );
                }
                f.build()
            })
            .collect()
    }

    /// Security Hub on, with the standards requested (an endpoint without the
    /// standards API gets the request and is left out of `compliance`).
    async fn ensure_hub(&self, c: &Clients, tags: &BTreeMap<String, String>) -> Result<(), String> {
        match c
            .securityhub
            .enable_security_hub()
            .enable_default_standards(false)
            .control_finding_generator(
                aws_sdk_securityhub::types::ControlFindingGenerator::SecurityControl,
            )
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ResourceConflictException") => {}
            Err(e) => return Err(format!("enabling Security Hub: {}", error_message(&e))),
        }
        let part = partition(&c.region);
        let requests: Vec<aws_sdk_securityhub::types::StandardsSubscriptionRequest> = STANDARDS
            .iter()
            .map(|s| {
                aws_sdk_securityhub::types::StandardsSubscriptionRequest::builder()
                    .standards_arn(format!("arn:{part}:securityhub:{}{s}", c.region))
                    .build()
            })
            .collect();
        match probing(c, "subscribing Security Hub standards", || {
            c.securityhub
                .batch_enable_standards()
                .set_standards_subscription_requests(Some(requests.clone()))
                .customize()
                .config_override(probe_sh())
                .send()
        })
        .await
        {
            Ok(_) => Ok(()),
            Err(e) if unsupported(&e) => {
                tracing::warn!("the endpoint has no Security Hub standards API: requested, left out of compliance");
                Ok(())
            }
            Err(e) => Err(format!(
                "subscribing the Security Hub standards: {}",
                error_message(&e)
            )),
        }
    }

    fn state_from(&self, base: &Value, id: &str, o: &Observed) -> Value {
        let mut judged = o.clone();
        judged.organization_admin = base.get("organization_admin").as_bool() == Some(true);
        let o = &judged;
        let mut s = base.clone();
        s.set_attr("id", Value::string(id));
        s.set_attr("finding_publishing_frequency", Value::string(&o.frequency));
        s.set_attr("tags_all", tags::own(&o.tags));
        s.set_attr("compliance", controls::value(CONTROLS, o));
        s
    }

    /// Brings the detector's tags to `want` (the lifecycle marker kept).
    async fn retag(
        &self,
        c: &Clients,
        id: &str,
        have: &BTreeMap<String, String>,
        want: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let arn = c.arn("guardduty", &format!("detector/{id}")).await?;
        let tags::TagChanges {
            missing: add,
            stale,
        } = tags::changes(have, want);
        if !add.is_empty() {
            c.guardduty
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(add.into_iter().collect()))
                .send()
                .await
                .map_err(|e| format!("tagging GuardDuty detector {id}: {}", error_message(&e)))?;
        }
        if !stale.is_empty() {
            c.guardduty
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| format!("untagging GuardDuty detector {id}: {}", error_message(&e)))?;
        }
        Ok(())
    }

    /// A detector an interrupted create left (still marked `creating`).
    async fn unfinished(&self, c: &Clients) -> Result<Option<String>, String> {
        let ids = c
            .guardduty
            .list_detectors()
            .send()
            .await
            .map_err(|e| format!("listing GuardDuty detectors: {}", error_message(&e)))?;
        for id in ids.detector_ids() {
            if let Ok(d) = c.guardduty.get_detector().detector_id(id).send().await {
                let marker = d
                    .tags()
                    .and_then(|t| t.get(LIFECYCLE_TAG))
                    .map(String::as_str);
                match claim(marker) {
                    Claim::Adopt => return Ok(Some(id.clone())),
                    Claim::Refuse if marker.is_none() => {
                        return Err(format!("GuardDuty already has a detector in this Region ({id}), not made by this resource: AWS allows one. Import it (terraform import <address> {id})."));
                    }
                    Claim::Refuse => {}
                }
            }
        }
        Ok(None)
    }
}

impl ThreatDetection {
    /// As the organization's administrator: GuardDuty and Security Hub turned on in
    /// every member account (or, when administration is switched off, no longer).
    async fn administer(&self, c: &Clients, root: &str, d: &Desired) -> Vec<String> {
        let on = d.organization_admin;
        let (g, h) = tokio::join!(
            probing(c, "setting GuardDuty's organization configuration", || c
                .guardduty
                .update_organization_configuration()
                .detector_id(root)
                .auto_enable_organization_members(if on {
                    gd::AutoEnableMembers::All
                } else {
                    gd::AutoEnableMembers::None
                })
                .customize()
                .config_override(probe_gd())
                .send()),
            async {
                if !d.security_hub {
                    return Ok(());
                }
                c.securityhub
                    .update_organization_configuration()
                    .auto_enable(on)
                    .auto_enable_standards(if on {
                        aws_sdk_securityhub::types::AutoEnableStandards::Default
                    } else {
                        aws_sdk_securityhub::types::AutoEnableStandards::None
                    })
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        format!(
                            "setting Security Hub's organization configuration: {}",
                            error_message(&e)
                        )
                    })
            },
        );
        let mut failures = Vec::new();
        match g {
            Ok(_) => {}
            Err(e) if unsupported(&e) => tracing::warn!("the endpoint has no GuardDuty organization configuration: requested, left out of compliance"),
            Err(e) => failures.push(format!("setting GuardDuty's organization configuration: {}", error_message(&e))),
        }
        failures.extend(h.err());
        failures
    }
}

fn probe_gd() -> aws_sdk_guardduty::config::Builder {
    aws_sdk_guardduty::config::Builder::new().retry_config(few_retries())
}

fn probe_sh() -> aws_sdk_securityhub::config::Builder {
    aws_sdk_securityhub::config::Builder::new().retry_config(few_retries())
}

#[async_trait]
impl Composite for ThreatDetection {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_threat_detection";
    const NOUN: &'static str = "threat detection";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let bucket = config.get("findings_bucket_arn");
        let key = config.get("findings_kms_key_arn");
        if bucket.is_known() && key.is_known() && bucket.is_null() != key.is_null() {
            diags.attr_error(
                AttrPath::root(if bucket.is_null() { "findings_bucket_arn" } else { "findings_kms_key_arn" }),
                "Incomplete findings export",
                "Exported findings must be encrypted: set findings_bucket_arn and findings_kms_key_arn together.",
            );
        }
        tags::validate(config, diags);
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let prior = req.prior;
        let p = &mut req.planned;
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));
        // After an apply every control the endpoint showed holds again (the ones it
        // cannot show stay out); a first plan cannot know which those are.
        let hub = p.get("security_hub").as_bool() != Some(false);
        // Administration switched on or off: which controls apply is known after the apply.
        let admin_changed =
            !prior.is_null() && p.get("organization_admin") != prior.get("organization_admin");
        let fifteen = p.get("finding_publishing_frequency").as_str() == Some("FIFTEEN_MINUTES");
        let compliance = match prior.get("compliance").as_map() {
            Some(_) if admin_changed => Value::unknown(),
            Some(m) => Value::Map(
                m.iter()
                    .filter(|(k, _)| {
                        hub || !(k.as_str() == "CIS 5.16"
                            || k.as_str() == "bank:security-standards")
                    })
                    .map(|(k, _)| {
                        let holds = match k.as_str() {
                            "bank:findings-every-15-minutes" => fifteen,
                            "bank:findings-exported" => {
                                !config.get("findings_bucket_arn").is_null()
                            }
                            _ => true,
                        };
                        (k.clone(), Value::Bool(holds))
                    })
                    .collect(),
            ),
            None => Value::unknown(),
        };
        p.set_attr("compliance", compliance);
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let s = |a: &str| planned.get(a).as_str().map(str::to_string);
        Ok(Desired {
            frequency: s("finding_publishing_frequency")
                .unwrap_or_else(|| "FIFTEEN_MINUTES".into()),
            security_hub: planned.get("security_hub").as_bool().unwrap_or(true),
            organization_admin: planned.get("organization_admin").as_bool() == Some(true),
            export_bucket_arn: s("findings_bucket_arn"),
            export_kms_key_arn: s("findings_kms_key_arn"),
            tags_all: tags::all(planned),
            fresh: false,
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("id").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v
    }

    /// The detector with every feature, tagged `creating`; or the one an interrupted
    /// create left.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        if let Some(id) = self.unfinished(c).await? {
            return Ok((id, true));
        }
        let mut tags = d.tags_all.clone();
        tags.insert(LIFECYCLE_TAG.into(), CREATING.into());
        let id = crate::resources::kit::calls::create_once(
            c,
            "creating the GuardDuty detector",
            || async {
                let out = c
                    .guardduty
                    .create_detector()
                    .enable(true)
                    .finding_publishing_frequency(gd::FindingPublishingFrequency::from(
                        d.frequency.as_str(),
                    ))
                    .set_features(Some(Self::features()))
                    .set_tags(Some(tags.clone().into_iter().collect()))
                    .customize()
                    .config_override(
                        aws_sdk_guardduty::config::Builder::new()
                            .retry_config(crate::resources::kit::calls::no_retries()),
                    )
                    .send()
                    .await?;
                Ok(out.detector_id().map(str::to_string))
            },
            || self.unfinished(c),
        )
        .await?;
        d.fresh = true;
        Ok((id, false))
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        prior: Option<&Value>,
    ) -> Result<(), Failures> {
        let mut failures = Vec::new();
        if !d.fresh {
            match self.read(c, root, false).await {
                Ok(Some(o)) => {
                    failures.extend(self.retag(c, root, &o.tags, &d.tags_all).await.err());
                    let features_ok = FEATURES
                        .iter()
                        .all(|(f, _)| o.features.get(*f).copied().unwrap_or(false));
                    if !o.enabled || o.frequency != d.frequency || !features_ok {
                        failures.extend(
                            c.guardduty
                                .update_detector()
                                .detector_id(root)
                                .enable(true)
                                .finding_publishing_frequency(gd::FindingPublishingFrequency::from(
                                    d.frequency.as_str(),
                                ))
                                .set_features(Some(Self::features()))
                                .send()
                                .await
                                .err()
                                .map(|e| {
                                    format!(
                                        "updating GuardDuty detector {root}: {}",
                                        error_message(&e)
                                    )
                                }),
                        );
                    }
                }
                Ok(None) => return Err(vec![format!("GuardDuty detector {root} is gone.")]),
                Err(e) => return Err(vec![e]),
            }
        }
        if let (Some(bucket), Some(key)) = (&d.export_bucket_arn, &d.export_kms_key_arn) {
            match probing(c, "creating the GuardDuty publishing destination", || {
                c.guardduty
                    .create_publishing_destination()
                    .detector_id(root)
                    .destination_type(gd::DestinationType::S3)
                    .destination_properties(gd::DestinationProperties::builder().destination_arn(bucket).kms_key_arn(key).build())
                    .customize()
                    .config_override(probe_gd())
                    .send()
            })
            .await
            {
                Ok(_) => {}
                Err(e) if unsupported(&e) => tracing::warn!("the endpoint has no GuardDuty publishing destinations: requested, left out of compliance"),
                Err(e) => failures.push(format!("exporting GuardDuty findings: {}", error_message(&e))),
            }
        }
        if d.security_hub {
            failures.extend(self.ensure_hub(c, &d.tags_all).await.err());
        }
        if d.organization_admin
            || prior.is_some_and(|p| p.get("organization_admin").as_bool() == Some(true))
        {
            failures.extend(self.administer(c, root, d).await);
        }
        done(failures)
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        let arn = c.arn("guardduty", &format!("detector/{root}")).await?;
        c.guardduty
            .tag_resource()
            .resource_arn(arn)
            .tags(LIFECYCLE_TAG, CREATED)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "marking GuardDuty detector {root} created: {}",
                    error_message(&e)
                )
            })
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        self.read(c, root, true).await
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        let mut failures = Vec::new();
        failures.extend(
            c.guardduty
                .delete_detector()
                .detector_id(root)
                .send()
                .await
                .gone_is_done(&format!("deleting GuardDuty detector {root}"))
                .err(),
        );
        if state.get("security_hub").as_bool() != Some(false) {
            match c.securityhub.disable_security_hub().send().await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) || error_code(&e) == Some("InvalidAccessException") => {}
                Err(e) => failures.push(format!("disabling Security Hub: {}", error_message(&e))),
            }
        }
        done(failures)
    }

    fn state(&self, _c: &Clients, base: &Value, o: &Observed) -> Value {
        let id = base.get("id").as_str().unwrap_or_default().to_string();
        self.state_from(base, &id, o)
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn audit_notes(&self) -> Option<&'static str> {
        Some(
            "- `guardduty_s3_protection_enabled`, `guardduty_eks_audit_log_enabled`, `guardduty_ec2_malware_protection_enabled`: emulator only. Prowler reads GuardDuty's legacy `DataSources`, which AWS derives from the `Features` this resource enables and the emulator does not; `GuardDuty.10`, `GuardDuty.5` and `GuardDuty.8` are read from `Features`.
- `guardduty_delegated_admin_enabled_all_regions`, `guardduty_centrally_managed`: the delegation is `bankplatform_organization`'s, in every Region of its `allowed_regions` (the generated tree's primary and secondary Regions); the administration is this resource's with `organization_admin = true` in the security account, in each Region it is applied in.",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by GuardDuty detector id, in the provider's own account and region."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let o = imported(self.read(c, id, true).await, "GuardDuty detector", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s.set_attr("security_hub", Value::Bool(o.hub.is_some_and(|(c, _)| c)));
        s.set_attr(
            "organization_admin",
            Value::Bool(o.members_guardduty == Some(true) || o.members_security_hub == Some(true)),
        );
        let defaults = ctx.default_tags();
        if let Some(t) = tags::imported(&o.tags, defaults) {
            s.set_attr("tags", t);
        }
        Ok(self.state_from(&s, id, &o))
    }
}
