//! `bankplatform_account_baseline`: the account- and region-wide settings an auditor
//! checks first, in one resource: the IAM password policy, EBS encryption by default
//! with a customer-managed key, the S3 account-level public access block, an IAM
//! Access Analyzer, and a read-only check that the root user has no access keys.
//!
//! The root is the account (and region) itself: nothing is created that could be
//! left half-made except the EBS key, which is found again by its alias. Every
//! setting is an idempotent put, so a killed create is finished by the next apply.
//! The baseline "disappears" when none of its settings is in place any more.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::baseline_api::{self as api, Observed, Passwords};
use crate::aws::{Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators::{self, int_between};
use crate::framework::Diagnostics;
use crate::resources::kit::composite::{done, Composite, Failures, PlanRequest};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::value::{Type, Value};

/// The baseline as configured.
pub(crate) struct Desired {
    account_wide: bool,
    passwords: Passwords,
    ebs: bool,
    ebs_key: Option<String>,
    ebs_key_managed: bool,
    s3_block: bool,
    analyzer: bool,
    tags_all: BTreeMap<String, String>,
}

/// The password policy, when the baseline owns account-wide settings.
fn pw(o: &Observed) -> Option<Option<&aws_sdk_iam::types::PasswordPolicy>> {
    o.account_wide.then_some(o.passwords.as_ref())
}

/// What `compliance` reports. Controls the endpoint cannot show are left out.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "IAM.7",
        title: "The password policy requires upper and lower case letters, numbers and symbols.",
        evidence: "`iam:GetAccountPasswordPolicy` → `Require*Characters`, `RequireNumbers`, `RequireSymbols`",
        judge: |o| pw(o).map(|p| p.is_some_and(|p| p.require_uppercase_characters && p.require_lowercase_characters && p.require_numbers && p.require_symbols)),
    },
    Control {
        id: "IAM.15",
        title: "Passwords are at least 14 characters long (CIS 2.8).",
        evidence: "`iam:GetAccountPasswordPolicy` → `MinimumPasswordLength`",
        judge: |o| pw(o).map(|p| p.and_then(|p| p.minimum_password_length).is_some_and(|n| n >= 14)),
    },
    Control {
        id: "IAM.16",
        title: "The last 24 passwords cannot be reused (CIS 2.9).",
        evidence: "`iam:GetAccountPasswordPolicy` → `PasswordReusePrevention`",
        judge: |o| pw(o).map(|p| p.and_then(|p| p.password_reuse_prevention).is_some_and(|n| n >= 24)),
    },
    Control {
        id: "IAM.10",
        title: "Passwords expire within 90 days (PCI DSS 8.3.9).",
        evidence: "`iam:GetAccountPasswordPolicy` → `MaxPasswordAge`",
        judge: |o| pw(o).map(|p| p.and_then(|p| p.max_password_age).is_some_and(|n| n <= 90)),
    },
    Control {
        id: "EC2.7",
        title: "EBS encryption by default is on in this Region (CIS 6.1.1).",
        evidence: "`ec2:GetEbsEncryptionByDefault` → `EbsEncryptionByDefault`",
        judge: |o| Some(o.ebs_encrypted),
    },
    Control {
        id: "bank:ebs-default-key-cmk",
        title: "The EBS default key is a customer-managed key, not `alias/aws/ebs` (left out where the endpoint cannot read it).",
        evidence: "`ec2:GetEbsDefaultKmsKeyId` → `KmsKeyId`",
        judge: |o| o.ebs_key.as_deref().map(|k| !k.contains("alias/aws/ebs")),
    },
    Control {
        id: "S3.1",
        title: "All four S3 public access block switches are on for the account (CIS 3.1.4).",
        evidence: "`s3control:GetPublicAccessBlock` → `PublicAccessBlockConfiguration`",
        judge: |o| o.s3_blocked,
    },
    Control {
        id: "IAM.28",
        title: "An IAM Access Analyzer is active in this Region (CIS 2.18; left out where the endpoint has no Access Analyzer API).",
        evidence: "`access-analyzer:ListAnalyzers` → `status = ACTIVE`",
        judge: |o| o.analyzer_active,
    },
    Control {
        id: "IAM.4",
        title: "The root user has no access keys (CIS 2.4; read only: apply cannot fix it).",
        evidence: "`iam:GetAccountSummary` → `AccountAccessKeysPresent = 0`",
        judge: |o| o.root_keys.filter(|_| o.account_wide).map(|present| !present),
    },
];

/// The end of the root id of a baseline that owns only the Region's settings.
const REGIONAL: &str = "/regional";

/// Controls an apply cannot change.
const READ_ONLY: &[&str] = &["IAM.4"];

/// The resource type.
pub struct AccountBaseline {
    schema: Schema,
}

impl Default for AccountBaseline {
    fn default() -> Self {
        Self::new()
    }
}

impl AccountBaseline {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("`<account id>/<region>` (`/regional` appended when `account_wide` is false)."),
            Attribute::string("account_id").computed().use_state_for_unknown().describe("The account the baseline holds in."),
            Attribute::bool("account_wide").default(Value::Bool(true)).requires_replace()
                .describe("Whether this baseline owns the account-wide settings (password policy, S3 account public access block, the root-key check): true for the account's home Region, false for the baselines of its other Regions (EBS encryption and Access Analyzer are per Region)."),
            Attribute::number("password_minimum_length").default(Value::number(14))
                .validate(int_between("Invalid password length", 14, 128))
                .describe("Minimum password length (14 to 128; CIS 2.8)."),
            Attribute::number("password_reuse_prevention").default(Value::number(24))
                .validate(int_between("Invalid password reuse prevention", 24, 24))
                .describe("How many earlier passwords cannot be reused: 24 (CIS 2.9)."),
            Attribute::number("password_max_age_days").default(Value::number(90))
                .validate(int_between("Invalid password age", 1, 90))
                .describe("Days before a password expires (1 to 90; PCI DSS 8.3.9)."),
            Attribute::bool("ebs_encryption_by_default").default(Value::Bool(true))
                .describe("Encrypt every new EBS volume and snapshot copy in this Region (CIS 6.1.1). Turning it off takes `false`, visible in the plan."),
            Attribute::string("ebs_kms_key_arn").optional().computed().use_state_for_unknown()
                .validate(validators::arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/<id>"))
                .describe("The EBS default key. When not set the baseline creates one (purpose `ebs`, alias `alias/bankplatform/ebs-default`)."),
            Attribute::bool("ebs_kms_key_managed").computed().use_state_for_unknown().describe("Whether the EBS key was created by this resource."),
            Attribute::bool("s3_account_public_access_block").default(Value::Bool(true))
                .describe("Block public access to every bucket of the account (CIS 3.1.4)."),
            Attribute::bool("access_analyzer").default(Value::Bool(true))
                .describe("An account IAM Access Analyzer (`bankplatform-account`) in this Region (CIS 2.18). Where the endpoint has no Access Analyzer API (the local emulator) it is requested and left out of `compliance`."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags on what the baseline creates (the EBS key); merged over `default_tags`."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("`default_tags` merged with `tags`."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls). Controls the endpoint cannot show are left out, never reported as holding."),
        ];
        AccountBaseline {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "The account- and Region-wide settings auditors check first: IAM password policy (length 14, reuse 24, every character class, expiry 90 days), EBS encryption by default with a customer-managed key, the S3 account-level public access block, an IAM Access Analyzer, and a read-only check that the root user has no access keys; with a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("baseline")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, c: &Clients, account: &str, o: &Observed) -> Value {
        let mut s = base.clone();
        if s.get("id").is_null() {
            s.set_attr("id", Value::string(format!("{account}/{}", c.region)));
        }
        s.set_attr("account_id", Value::string(account));
        if let Some(p) = o.passwords.as_ref().filter(|_| o.account_wide) {
            if let Some(n) = p.minimum_password_length {
                s.set_attr("password_minimum_length", Value::number(i64::from(n)));
            }
            if let Some(n) = p.password_reuse_prevention {
                s.set_attr("password_reuse_prevention", Value::number(i64::from(n)));
            }
            if let Some(n) = p.max_password_age {
                s.set_attr("password_max_age_days", Value::number(i64::from(n)));
            }
        }
        s.set_attr("ebs_encryption_by_default", Value::Bool(o.ebs_encrypted));
        if let Some(k) = &o.ebs_key {
            if !k.contains("alias/aws/ebs") {
                s.set_attr("ebs_kms_key_arn", Value::string(k));
            }
        }
        if o.account_wide {
            s.set_attr(
                "s3_account_public_access_block",
                Value::Bool(o.s3_blocked == Some(true)),
            );
        }
        if let Some(active) = o.analyzer_active {
            s.set_attr("access_analyzer", Value::Bool(active));
        }
        s.set_attr("compliance", controls::value(CONTROLS, o));
        s
    }
}

#[async_trait]
impl Composite for AccountBaseline {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_account_baseline";
    const NOUN: &'static str = "account baseline";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
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
        if !config.get("ebs_kms_key_arn").is_null() {
            p.set_attr("ebs_kms_key_managed", Value::Bool(false));
        } else if p.get("ebs_encryption_by_default").as_bool() == Some(false) {
            p.set_attr("ebs_kms_key_managed", Value::Bool(false));
            p.set_attr("ebs_kms_key_arn", Value::Null);
        } else {
            p.set_attr("ebs_kms_key_managed", Value::Bool(true));
            let kept = prior.get("ebs_kms_key_managed").as_bool() == Some(true)
                && !prior.get("ebs_kms_key_arn").is_null();
            p.set_attr(
                "ebs_kms_key_arn",
                if kept {
                    prior.get("ebs_kms_key_arn").clone()
                } else {
                    Value::unknown()
                },
            );
        }
        // After an apply every control the endpoint showed holds again, except what
        // apply cannot change; settings turned off explicitly are the exception.
        let off = |attr: &str| p.get(attr).as_bool() == Some(false);
        let compliance = match prior.get("compliance").as_map() {
            Some(m) if p.get("ebs_encryption_by_default").is_known() => Value::Map(
                m.iter()
                    .map(|(k, v)| {
                        let holds = if READ_ONLY.contains(&k.as_str()) {
                            v.as_bool().unwrap_or(false)
                        } else {
                            match k.as_str() {
                                "EC2.7" | "bank:ebs-default-key-cmk" => {
                                    !off("ebs_encryption_by_default")
                                }
                                "S3.1" => !off("s3_account_public_access_block"),
                                "IAM.28" => !off("access_analyzer"),
                                _ => true,
                            }
                        };
                        (k.clone(), Value::Bool(holds))
                    })
                    .collect(),
            ),
            _ => Value::unknown(),
        };
        p.set_attr("compliance", compliance);
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        let n = |attr: &str, d: i64| planned.get(attr).as_i64().unwrap_or(d) as i32;
        let managed = planned.get("ebs_kms_key_managed").as_bool().unwrap_or(true);
        Ok(Desired {
            account_wide: planned.get("account_wide").as_bool().unwrap_or(true),
            passwords: Passwords {
                minimum_length: n("password_minimum_length", 14),
                reuse_prevention: n("password_reuse_prevention", 24),
                max_age_days: n("password_max_age_days", 90),
            },
            ebs: planned
                .get("ebs_encryption_by_default")
                .as_bool()
                .unwrap_or(true),
            ebs_key: planned.get("ebs_kms_key_arn").as_str().map(str::to_string),
            ebs_key_managed: managed,
            s3_block: planned
                .get("s3_account_public_access_block")
                .as_bool()
                .unwrap_or(true),
            analyzer: planned.get("access_analyzer").as_bool().unwrap_or(true),
            tags_all: tags::all(planned),
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("id").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("account_wide", Value::Bool(!root.ends_with(REGIONAL)));
        v.set_attr("id", Value::string(root));
        v.set_attr(
            "account_id",
            Value::string(root.split('/').next().unwrap_or_default()),
        );
        v
    }

    fn applied(&self, planned: &Value, root: &str, d: &Desired, _creating: bool) -> Value {
        let mut s = self.with_root(planned.clone(), root);
        if d.ebs {
            s.set_attr(
                "ebs_kms_key_arn",
                d.ebs_key.clone().map(Value::String).unwrap_or(Value::Null),
            );
        }
        s
    }

    /// The account itself: nothing to create.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        let scope = if d.account_wide { "" } else { REGIONAL };
        Ok((
            format!("{}/{}{scope}", c.account_id().await?, c.region),
            false,
        ))
    }

    async fn converge(
        &self,
        c: &Clients,
        _root: &str,
        d: &mut Desired,
        _prior: Option<&Value>,
    ) -> Result<(), Failures> {
        // The EBS key (found or made) and its use run beside the other settings.
        let make_key = d.ebs && (d.ebs_key.is_none() || d.ebs_key_managed);
        let tags: Vec<(String, String)> = d
            .tags_all
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let brought = if d.ebs_key_managed {
            None
        } else {
            d.ebs_key.clone()
        };
        let account_wide = d.account_wide;
        let (pw, ebs, s3, analyzer) = tokio::join!(
            async {
                if account_wide {
                    api::put_passwords(c, &d.passwords).await
                } else {
                    Ok(())
                }
            },
            async {
                if !d.ebs {
                    return Ok(None);
                }
                let key = match (make_key, &d.ebs_key) {
                    (false, Some(k)) => k.clone(),
                    _ => api::ensure_ebs_key(c, brought.as_deref(), &tags).await?,
                };
                api::encrypt_ebs(c, &key).await?;
                Ok(Some(key))
            },
            async {
                if d.s3_block && account_wide {
                    api::block_s3(c).await
                } else {
                    Ok(())
                }
            },
            async {
                if !d.analyzer {
                    return Ok(());
                }
                match api::ensure_analyzer(c).await {
                    Ok(true) => Ok(()),
                    Ok(false) => {
                        tracing::warn!("the endpoint has no IAM Access Analyzer API: requested, left out of compliance");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            },
        );
        let ebs = ebs.map(|key| {
            if let Some(k) = key {
                d.ebs_key = Some(k);
            }
        });
        let failures: Failures = [pw, ebs, s3, analyzer]
            .into_iter()
            .filter_map(Result::err)
            .collect();
        done(failures)
    }

    async fn mark_created(&self, _c: &Clients, _root: &str) -> Result<(), String> {
        Ok(())
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        let o = api::observe(c, !root.ends_with(REGIONAL)).await?;
        Ok((!o.is_bare()).then_some(o))
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures> {
        let key = if state.get("ebs_kms_key_managed").as_bool() != Some(false) {
            match state.get("ebs_kms_key_arn").as_str() {
                Some(k) => Some(k.to_string()),
                None => api::find_ebs_key(c).await.map_err(|e| vec![e])?,
            }
        } else {
            None
        };
        let failures = api::remove(c, !root.ends_with(REGIONAL), key.as_deref()).await;
        done(failures)
    }

    fn state(&self, c: &Clients, base: &Value, o: &Observed) -> Value {
        let id = base.get("id").as_str().unwrap_or_default().to_string();
        let account = id.split('/').next().unwrap_or_default().to_string();
        let mut s = self.state_from(base, c, &account, o);
        s.set_attr("id", Value::string(&id));
        s
    }

    fn controls(&self) -> &'static [Control<Observed>] {
        CONTROLS
    }

    fn import_help(&self) -> &'static str {
        "Import by `<account id>/<region>` of the provider's own account and region. The EBS key counts as managed when it is the one aliased `alias/bankplatform/ebs-default`."
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        let mut d = Diagnostics::new();
        let account = match c.account_id().await {
            Ok(a) => a,
            Err(e) => {
                d.error("Cannot reach AWS", e);
                return Err(d);
            }
        };
        let want = format!("{account}/{}", c.region);
        if id != want {
            d.error("Invalid import ID", format!("Import the baseline of the provider's own account and region as \"{want}\"; \"{id}\" names another."));
            return Err(d);
        }
        let o = match api::observe(c, true).await {
            Ok(o) if !o.is_bare() => o,
            Ok(_) => {
                d.error(
                    "Cannot import a missing baseline",
                    format!("None of the baseline's settings is in place in {want}."),
                );
                return Err(d);
            }
            Err(e) => {
                d.error("Cannot read the baseline", e);
                return Err(d);
            }
        };
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s = self.with_root(s, &want);
        let managed = api::find_ebs_key(c).await.ok().flatten();
        s.set_attr("ebs_kms_key_managed", Value::Bool(managed.is_some()));
        if let Some(k) = managed {
            s.set_attr("ebs_kms_key_arn", Value::string(k));
        }
        s.set_attr("access_analyzer", Value::Bool(true));
        // What the baseline tags (the EBS key) carries the provider's default tags.
        s.set_attr("tags_all", Value::string_map(ctx.default_tags().clone()));
        Ok(self.state_from(&s, c, &account, &o))
    }
}
