//! `bankplatform_config_aggregator`: one view of AWS Config across accounts and
//! Regions, for the security account. Either the listed accounts (each must
//! authorize it, or be a member of the organization) or the whole organization,
//! through a service role trusted by `config.amazonaws.com` for this account only.
//!
//! The aggregator is the root; its name is its identity and writing it is an
//! idempotent put, so a killed create is finished by the next apply. The role of the
//! organization mode is a child, created before the aggregator and removed after it.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_config::types as cfg;

use crate::aws::{error_message, is_not_found, Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::Diagnostics;
use crate::resources::iam::service_role::{self, ServiceRole};
use crate::resources::kit::calls::{settled, GoneIsDone};
use crate::resources::kit::composite::{
    done, imported, with_undo, Composite, Failures, PlanRequest,
};
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::schema::{check_account_ids, check_name, check_regions, target_block};
use crate::value::{AttrPath, Type, Value};

/// The inline policy of the organization mode's role (what AWS's managed
/// `AWSConfigRoleForOrganizations` grants).
const ORGANIZATION_ACTIONS: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListDelegatedAdministrators",
];
const ROLE_POLICY: &str = "read-organization";
/// AWS's limit on aggregator names.
const MAX_NAME: usize = 256;

/// The aggregator as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Desired {
    pub(crate) name: String,
    /// The listed accounts (empty in organization mode).
    pub(crate) accounts: BTreeSet<String>,
    pub(crate) organization: bool,
    /// Regions; empty: every Region, present and future.
    pub(crate) regions: BTreeSet<String>,
}

/// What AWS reports, and what the configuration asks for (to judge coverage).
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub(crate) accounts: BTreeSet<String>,
    pub(crate) organization_role: Option<String>,
    pub(crate) all_regions: bool,
    pub(crate) regions: BTreeSet<String>,
    /// The configured accounts and Regions, filled from the state before judging.
    pub(crate) wanted: Option<Desired>,
}

impl Observed {
    fn covers(&self, d: &Desired) -> bool {
        let sources = if d.organization {
            self.organization_role.is_some()
        } else {
            !d.accounts.is_empty() && d.accounts.is_subset(&self.accounts)
        };
        let regions = if d.regions.is_empty() {
            self.all_regions
        } else {
            self.all_regions || d.regions.is_subset(&self.regions)
        };
        sources && regions
    }
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[Control {
    id: "bank:config-aggregated",
    title: "One aggregator collects Config data from every configured account (or the whole organization) in every configured Region; an account or Region dropped behind Terraform's back reads false.",
    evidence: "`config:DescribeConfigurationAggregators` → `AccountAggregationSources` / `OrganizationAggregationSource`",
    judge: |o| Some(o.wanted.as_ref().is_some_and(|d| o.covers(d))),
}];

/// The resource type.
pub struct ConfigAggregator {
    schema: Schema,
}

impl Default for ConfigAggregator {
    fn default() -> Self {
        Self::new()
    }
}

fn role_name(name: &str) -> String {
    service_role::fitted_name("bankplatform-config-aggregator-", name)
}

fn set(v: &Value) -> BTreeSet<String> {
    v.string_list().into_iter().collect()
}

fn list(items: &BTreeSet<String>) -> Value {
    Value::List(items.iter().map(Value::string).collect())
}

impl ConfigAggregator {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let strings = || Type::list(Type::String);
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The aggregator name."),
            Attribute::string("name").default(Value::string("bankplatform")).requires_replace()
                .describe("Aggregator name (letters, digits, `-` and `_`); the organization mode's role is `bankplatform-config-aggregator-<name>` (a digest of the name when that is over IAM's 64 characters)."),
            Attribute::typed("account_ids", strings()).optional()
                .describe("Accounts whose Config data is collected (each must authorize this account, or be a member of its organization). Not with `organization`."),
            Attribute::bool("organization").default(Value::Bool(false))
                .describe("Collect from every account of the organization (run in the management account or a delegated administrator); creates a role `config.amazonaws.com` assumes for this account only. Not with `account_ids`."),
            Attribute::typed("regions", strings()).optional()
                .describe("Regions collected from; every Region, present and future, when unset."),
            Attribute::string("role_arn").computed().describe("The organization mode's role (null for listed accounts)."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh (see Controls)."),
        ];
        ConfigAggregator {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "An AWS Config aggregator for the security account: one view of every account's (or the whole organization's) recorders in every Region, with a `compliance` map read back from AWS.".into(),
                    attributes,
                    blocks: vec![target_block("aggregator")],
                },
            },
        }
    }

    fn state_from(&self, base: &Value, name: &str, o: &Observed) -> Value {
        let mut s = base.clone();
        s.set_attr("id", Value::string(name));
        s.set_attr("name", Value::string(name));
        let organization = o.organization_role.is_some();
        s.set_attr("organization", Value::Bool(organization));
        s.set_attr(
            "role_arn",
            o.organization_role
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
        // Lists as configured when AWS reports the same set (no reordering diffs).
        if set(base.get("account_ids")) != o.accounts {
            s.set_attr(
                "account_ids",
                if o.accounts.is_empty() {
                    Value::Null
                } else {
                    list(&o.accounts)
                },
            );
        }
        let regions = if o.all_regions {
            BTreeSet::new()
        } else {
            o.regions.clone()
        };
        if set(base.get("regions")) != regions {
            s.set_attr(
                "regions",
                if regions.is_empty() {
                    Value::Null
                } else {
                    list(&regions)
                },
            );
        }
        let mut judged = o.clone();
        judged.wanted = self.desired(base).ok();
        s.set_attr("compliance", controls::value(CONTROLS, &judged));
        s
    }
}

async fn put(c: &Clients, d: &Desired, role: Option<&str>) -> Result<(), String> {
    let regions: Vec<String> = d.regions.iter().cloned().collect();
    let all = regions.is_empty();
    let building = |e: aws_sdk_config::error::BuildError| {
        format!("building Config aggregator {}: {e}", d.name)
    };
    let req = c
        .config
        .put_configuration_aggregator()
        .configuration_aggregator_name(&d.name);
    let req = match role {
        Some(role) => req.organization_aggregation_source(
            cfg::OrganizationAggregationSource::builder()
                .role_arn(role)
                .all_aws_regions(all)
                .set_aws_regions((!all).then_some(regions))
                .build()
                .map_err(building)?,
        ),
        None => req.account_aggregation_sources(
            cfg::AccountAggregationSource::builder()
                .set_account_ids(Some(d.accounts.iter().cloned().collect()))
                .all_aws_regions(all)
                .set_aws_regions((!all).then_some(regions))
                .build()
                .map_err(building)?,
        ),
    };
    // The organization role is new on a create: Config may not yet be able to
    // assume it (InvalidRoleException).
    settled(c, "writing the Config aggregator", || req.clone().send())
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "writing Config aggregator {}: {}",
                d.name,
                error_message(&e)
            )
        })
}

/// The organization mode's role: trusted by Config for this account only.
async fn ensure_role(c: &Clients, name: &str) -> Result<String, String> {
    let role = role_name(name);
    service_role::ensure(
        c,
        &ServiceRole {
            name: &role,
            service: "config.amazonaws.com",
            source_arn: None,
            description: format!("Config aggregator {name}: reads the organization (bankplatform)"),
            policy_name: ROLE_POLICY,
            policy: serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ORGANIZATION_ACTIONS, "Resource": "*"}]}),
            tags: vec![("bankplatform:config-aggregator".into(), name.to_string())],
        },
    )
    .await
}

async fn observe(c: &Clients, name: &str) -> Result<Option<Observed>, String> {
    let out = match c
        .config
        .describe_configuration_aggregators()
        .configuration_aggregator_names(name)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(format!(
                "reading Config aggregator {name}: {}",
                error_message(&e)
            ))
        }
    };
    let Some(a) = out
        .configuration_aggregators()
        .iter()
        .find(|a| a.configuration_aggregator_name() == Some(name))
    else {
        return Ok(None);
    };
    let mut o = Observed::default();
    for s in a.account_aggregation_sources() {
        o.accounts.extend(s.account_ids().iter().cloned());
        o.all_regions |= s.all_aws_regions();
        o.regions.extend(s.aws_regions().iter().cloned());
    }
    if let Some(s) = a.organization_aggregation_source() {
        o.organization_role = Some(s.role_arn().to_string());
        o.all_regions |= s.all_aws_regions();
        o.regions.extend(s.aws_regions().iter().cloned());
    }
    Ok(Some(o))
}

#[async_trait]
impl Composite for ConfigAggregator {
    type Desired = Desired;
    type Observed = Observed;

    const TYPE_NAME: &'static str = "bankplatform_config_aggregator";
    const NOUN: &'static str = "Config aggregator";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_name(config, "name", MAX_NAME, "aggregator", diags);
        check_account_ids(config, "account_ids", diags);
        check_regions(config, "regions", diags);
        let org = config.get("organization");
        let accounts = config.get("account_ids");
        if org.is_known() && accounts.is_known() {
            let org = org.as_bool().unwrap_or(false);
            let listed = !accounts.is_null() && !accounts.string_list().is_empty();
            if org && listed {
                diags.attr_error(
                    AttrPath::root("account_ids"),
                    "Conflicting sources",
                    "account_ids and organization = true cannot go together: collect from the listed accounts, or from the whole organization.",
                );
            } else if !org && !listed && accounts.is_fully_known() {
                diags.attr_error(
                    AttrPath::root("account_ids"),
                    "No source",
                    "Set account_ids to the accounts to collect from, or organization = true to collect from every account of the organization.",
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
        if p.get("organization").as_bool() == Some(false) {
            p.set_attr("role_arn", Value::Null);
        }
        // What the configuration asks for is what must hold.
        if ["account_ids", "organization", "regions"]
            .iter()
            .all(|a| config.get(a).is_fully_known())
        {
            p.set_attr(
                "compliance",
                Value::Map([("bank:config-aggregated".to_string(), Value::Bool(true))].into()),
            );
        }
    }

    fn desired(&self, planned: &Value) -> Result<Desired, String> {
        Ok(Desired {
            name: planned
                .get("name")
                .as_str()
                .unwrap_or("bankplatform")
                .to_string(),
            accounts: set(planned.get("account_ids")),
            organization: planned.get("organization").as_bool().unwrap_or(false),
            regions: set(planned.get("regions")),
        })
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("name").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v
    }

    /// The role first (organization mode), then the aggregator: a put, so the one an
    /// interrupted create left is simply written again.
    async fn create_root(&self, c: &Clients, d: &mut Desired) -> Result<(String, bool), String> {
        let made = async {
            let role = if d.organization {
                Some(ensure_role(c, &d.name).await?)
            } else {
                None
            };
            put(c, d, role.as_deref()).await
        };
        if let Err(e) = made.await {
            // A role half made (or made before the aggregator failed) goes again.
            let undo = match d.organization {
                true => service_role::remove(c, &role_name(&d.name), ROLE_POLICY)
                    .await
                    .err(),
                false => None,
            };
            return Err(with_undo(e, undo));
        }
        Ok((d.name.clone(), false))
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Desired,
        prior: Option<&Value>,
    ) -> Result<(), Failures> {
        let Some(prior) = prior else { return Ok(()) };
        let o = observe(c, root).await.map_err(|e| vec![e])?;
        let matches = o.as_ref().is_some_and(|o| {
            o.organization_role.is_some() == d.organization
                && (d.organization || o.accounts == d.accounts)
                && o.all_regions == d.regions.is_empty()
                && (d.regions.is_empty() || o.regions == d.regions)
        });
        if !matches {
            let role = if d.organization {
                Some(ensure_role(c, &d.name).await.map_err(|e| vec![e])?)
            } else {
                None
            };
            put(c, d, role.as_deref()).await.map_err(|e| vec![e])?;
        }
        if !d.organization && !prior.get("role_arn").is_null() {
            // The role of the organization mode this update leaves.
            service_role::remove(c, &role_name(root), ROLE_POLICY)
                .await
                .map_err(|e| vec![e])?;
        }
        Ok(())
    }

    async fn mark_created(&self, _c: &Clients, _root: &str) -> Result<(), String> {
        Ok(())
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Observed>, String> {
        observe(c, root).await
    }

    async fn destroy(&self, c: &Clients, root: &str, _state: &Value) -> Result<(), Failures> {
        let mut failures: Failures = c
            .config
            .delete_configuration_aggregator()
            .configuration_aggregator_name(root)
            .send()
            .await
            .gone_is_done(&format!("deleting Config aggregator {root}"))
            .err()
            .into_iter()
            .collect();
        failures.extend(
            service_role::remove(c, &role_name(root), ROLE_POLICY)
                .await
                .err(),
        );
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

    fn audit_notes(&self) -> Option<&'static str> {
        Some(
            "- `config_delegated_admin_and_org_aggregator_all_regions` (high): the example is a lone account, so it collects listed accounts in listed Regions, which AWS allows anywhere. The check wants an organization aggregator over every Region, run by Config's delegated administrator. That is what the generated tree builds: `bankplatform_organization` delegates Config to the security account, and the security root's aggregator has `organization = true` and no `regions`. The emulator also cannot say who Config's delegated administrator is (Prowler logs `ListDelegatedAdministrators: InvalidInputException`).",
        )
    }

    fn import_help(&self) -> &'static str {
        "Import by aggregator name, in the provider's own account and region."
    }

    async fn import(
        &self,
        _ctx: &ProviderCtx,
        c: &Clients,
        id: &str,
    ) -> Result<Value, Diagnostics> {
        let o = imported(observe(c, id).await, "Config aggregator", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        s.set_attr("name", Value::string(id));
        if !o.accounts.is_empty() {
            s.set_attr("account_ids", list(&o.accounts));
        }
        if !o.all_regions {
            s.set_attr("regions", list(&o.regions));
        }
        Ok(self.state_from(&s, id, &o))
    }
}
