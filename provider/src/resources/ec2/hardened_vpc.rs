//! `bankplatform_hardened_vpc`: the 3-tier multi-AZ network of the
//! architecture, hardened by default, in one resource.
//!
//! Creates: the VPC (DNS support and hostnames on); per zone one subnet per
//! tier (`public`, `private`, `restricted`), carved by
//! [`super::subnet_plan`] so that adding or removing a zone never renumbers
//! the others; an internet gateway; NAT gateways (`one_per_az`, `single` or
//! `none`) with Elastic IPs; one route table per tier and zone (public → IGW,
//! private → the zone's NAT, restricted → no internet route); a network ACL
//! per tier, deny by default; gateway endpoints on the private and restricted
//! route tables; flow logs for ALL traffic to a KMS-encrypted log group
//! (365 days) with their IAM role, or to an S3 bucket; optionally a transit
//! gateway attachment. The default security group is stripped of all rules.
//!
//! Every apply converges the children to the configuration (`vpc_api::converge`),
//! so drift is repaired and a failed apply's partial work is picked up by the
//! next. A create that fails deletes what it made.
//!
//! Controls read back into `compliance`: EC2.2/CIS 6.5, EC2.6/CIS 4.7,
//! EC2.21/CIS 6.2, EC2.15, CIS 6.8, and the restricted tier's isolation.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use super::subnet_plan::{self, DEFAULT_PREFIXES};
use super::vpc_api as api;
use super::vpc_model::{
    self as model, DesiredVpc, ObservedVpc, DEFAULT_INTERFACE_SERVICES, GATEWAY_SERVICES,
    NAT_STRATEGIES, TIERS,
};
use crate::aws::{Clients, ProviderCtx};
use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::validators::{self, int_between, one_of};
use crate::framework::Diagnostics;
use crate::resources::common::target_of;
use crate::resources::kit::composite::{imported, Composite, PlanRequest};
use crate::resources::kit::controls::Control;
use crate::resources::kit::schema::target_block;
use crate::resources::kit::tags;
use crate::value::{AttrPath, Type, Value};

/// The resource type.
pub struct HardenedVpc {
    schema: Schema,
}

impl Default for HardenedVpc {
    fn default() -> Self {
        Self::new()
    }
}

fn strings(v: &[&str]) -> Value {
    Value::List(v.iter().map(|s| Value::string(*s)).collect())
}

fn numbers(v: &[i64]) -> Value {
    Value::List(v.iter().map(|n| Value::number(*n)).collect())
}

impl HardenedVpc {
    /// Builds the resource and its schema.
    pub fn new() -> Self {
        let map2 = || Type::map(Type::map(Type::String));
        let attributes = vec![
            Attribute::string("id").computed().use_state_for_unknown().describe("The VPC id."),
            Attribute::string("vpc_id").computed().use_state_for_unknown().describe("The VPC id."),
            Attribute::string("name").required().validate(validators::NotEmpty).describe("Name of the network; every child is named and tagged from it (`<name>-<tier>-<zone>`)."),
            Attribute::string("cidr_block").required().requires_replace().describe("IPv4 CIDR of the VPC, /16 to /28."),
            Attribute::typed("availability_zones", Type::list(Type::String)).optional().computed()
                .describe("Zones to use, e.g. `[\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]`. When not set, the first `az_count` zones of the region."),
            Attribute::number("az_count").optional().validate(int_between("Invalid az_count", 1, 8))
                .describe("How many zones to use when `availability_zones` is not set (default 3)."),
            Attribute::typed("tiers", Type::list(Type::String)).default(strings(TIERS))
                .describe("Subnet tiers to build: any of `public`, `private`, `restricted`."),
            Attribute::string("nat_gateway_strategy").default(Value::string("one_per_az"))
                .validate(one_of("Invalid NAT gateway strategy", NAT_STRATEGIES))
                .describe("`one_per_az` (each zone survives the loss of another), `single` (cheaper, one zone's NAT serves all), or `none`."),
            Attribute::typed("gateway_endpoints", Type::list(Type::String)).default(strings(GATEWAY_SERVICES))
                .describe("Gateway endpoints on the private and restricted route tables: `s3`, `dynamodb`. Each gets a policy admitting only this account's principals (and, for S3, only this account's buckets); AWS's default admits anyone."),
            Attribute::typed("interface_endpoints", Type::list(Type::String)).optional().computed()
                .describe("Interface endpoints in the private subnets, by service: e.g. `ec2`, `ssm`, `ssmmessages`, `ec2messages`, `sts`, `kms`, `logs`, `secretsmanager`, `ecr.api`, `ecr.dkr`. Instances reach these APIs without the internet or NAT. Each answers on private DNS, sits behind one security group admitting HTTPS from the VPC's range only, and carries a policy admitting only this account's (or organization's) principals. Default `[\"ec2\"]` (Security Hub's EC2.10), or none without a private tier; `[]` turns them off, visible in the plan. Cost: about USD 0.01 per endpoint per zone per hour (some USD 7 a month each, per zone) plus USD 0.01 per GB."),
            Attribute::typed("interface_endpoint_ids", Type::map(Type::String)).computed().describe("Interface endpoint service → endpoint id (`vpce-…`)."),
            Attribute::string("endpoint_security_group_id").computed().describe("The interface endpoints' security group (null without interface endpoints)."),
            Attribute::string("endpoint_organization_id").optional()
                .describe("An AWS Organization id (`o-…`): the endpoints admit that organization's principals, and the S3 endpoint its buckets, rather than only this account's. Widens the endpoint policies; visible in the plan."),
            Attribute::typed("endpoint_s3_buckets", Type::list(Type::String)).optional()
                .describe("Further buckets this account's principals may reach through the S3 endpoint: bucket ARNs (wildcards allowed, e.g. AWS-owned package repositories `arn:aws:s3:::amazonlinux-2-repos-eu-west-1`), or `\"*\"` for any bucket. Widens the endpoint policy; visible in the plan."),
            Attribute::typed("public_ingress_ports", Type::list(Type::Number)).default(numbers(&[443]))
                .describe("TCP ports the public tier's network ACL accepts from the internet."),
            Attribute::typed("restricted_ports", Type::list(Type::Number)).default(numbers(&[3306, 6379]))
                .describe("TCP ports the restricted tier accepts, from the private subnets only (database, cache)."),
            Attribute::typed("tags", Type::map(Type::String)).optional().describe("Tags; merged over the provider's `default_tags`, put on the VPC and every child."),
            Attribute::typed("tags_all", Type::map(Type::String)).computed().describe("Tags on the VPC: `default_tags` merged with `tags`."),
            Attribute::typed("subnet_cidrs", map2()).computed().describe("Tier → zone → subnet CIDR."),
            Attribute::typed("subnet_ids", map2()).computed().describe("Tier → zone → subnet id."),
            Attribute::typed("route_table_ids", map2()).computed().describe("Tier → zone → route table id."),
            Attribute::typed("nat_gateway_ids", Type::map(Type::String)).computed().describe("Zone → NAT gateway id."),
            Attribute::string("internet_gateway_id").computed().describe("Internet gateway id (null without a public tier)."),
            Attribute::typed("network_acl_ids", Type::map(Type::String)).computed().describe("Tier → network ACL id."),
            Attribute::typed("network_acl_rules", Type::map(Type::list(Type::String))).computed()
                .describe("Tier → the allow rules of its network ACL, as read back (everything else is denied)."),
            Attribute::string("flow_log_id").computed().describe("Flow log id."),
            Attribute::typed("compliance", Type::map(Type::Bool)).computed()
                .describe("Control id → whether it holds, as read back from AWS on every refresh. `EC2.2`/`CIS 6.5`: default security group has no rules. `EC2.6`: flow log on ALL traffic; `CIS 4.7` also needs it KMS-encrypted and kept 365 days. `EC2.21`/`CIS 6.2`: no network ACL opens 22, 3389 or everything to the internet, every subnet uses its tier's ACL, and the VPC's default ACL has no entries (a subnet made outside the composite lands on deny-all). `EC2.15`: no subnet assigns public IPs on launch. `CIS 6.8`: S3 gateway endpoint. `bank:endpoint-policies-scoped`: every endpoint's policy (gateway and interface) is conditioned on the principal's account (or organization). `EC2.10`: an `ec2` interface endpoint. `bank:interface-endpoints-private` (with interface endpoints): private DNS, behind a group admitting only HTTPS from the VPC. `proj.restricted-isolation`: the restricted tier has no route to the internet."),
        ];
        let prefix = |tier: &'static str| {
            Attribute::number(tier)
                .optional()
                .computed()
                .validate(int_between("Invalid tier prefix length", 16, 28))
        };
        let blocks = vec![
            NestedBlock::group("tier_prefix_lengths", Block {
                description: "Subnet prefix length per tier (defaults: public 24, private 20, restricted 24).".into(),
                attributes: vec![
                    prefix("public").describe("Public subnets' prefix length."),
                    prefix("private").describe("Private subnets' prefix length."),
                    prefix("restricted").describe("Restricted subnets' prefix length."),
                ],
                blocks: vec![],
            }),
            NestedBlock::group("flow_logs", Block {
                description: "Flow logs of ALL traffic: to a CloudWatch log group encrypted with a customer-managed key (created with rotation unless `kms_key_arn` is given), or to `s3_bucket_arn`.".into(),
                attributes: vec![
                    Attribute::number("retention_days").optional().computed().validate(int_between("Invalid retention", 1, 3653)).describe("Days the log group keeps flow logs (default 365; less weakens CIS 4.7)."),
                    Attribute::string("kms_key_arn").optional().computed().validate(validators::arn("kms", "key/", "arn:aws:kms:eu-west-1:111122223333:key/<id>")).describe("KMS key of the log group; created when not set."),
                    Attribute::bool("kms_key_managed").computed().describe("Whether this resource created the key."),
                    Attribute::string("s3_bucket_arn").optional().validate(validators::arn("s3", "", "arn:aws:s3:::<bucket>")).describe("Send flow logs to this bucket (e.g. a compliant bucket in the log-archive account) instead of CloudWatch Logs."),
                    Attribute::string("log_group_name").computed().describe("The log group."),
                ],
                blocks: vec![],
            }),
            NestedBlock::single("transit_gateway_attachment", Block {
                description: "Attach the VPC to a transit gateway.".into(),
                attributes: vec![
                    Attribute::string("transit_gateway_id").required().describe("The transit gateway."),
                    Attribute::string("subnets_tier").optional().computed().describe("Tier whose subnets hold the attachment (default `private`)."),
                    Attribute::string("attachment_id").computed().use_state_for_unknown().describe("The attachment's id (tgw-attach-…), for transit gateway route table associations."),
                ],
                blocks: vec![],
            }),
            target_block("VPC"),
        ];
        HardenedVpc {
            schema: Schema {
                version: 0,
                block: Block {
                    description: "A 3-tier (public, private, restricted), multi-AZ VPC, hardened by default: deny-by-default network ACLs per tier, a restricted tier with no route to the internet, NAT per zone, gateway endpoints (and interface endpoints on request), encrypted flow logs of ALL traffic kept 365 days, and the default security group stripped. About 50 `aws_*` resources in one, created concurrently.".into(),
                    attributes,
                    blocks,
                },
            },
        }
    }
}

/// Interface endpoint services: AWS service names (lowercase words joined by dots or
/// hyphens), each once, not the two that have free gateway endpoints, and a private
/// tier for them to live in.
fn validate_interface_endpoints(config: &Value, diags: &mut Diagnostics) {
    let Some(eps) = config.get("interface_endpoints").as_list() else {
        return;
    };
    let path = |i: usize| AttrPath::root("interface_endpoints").index(i as i64);
    let mut seen = BTreeSet::new();
    for (i, e) in eps.iter().enumerate() {
        let Some(s) = e.as_str() else { continue };
        let word = |w: &str| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        };
        if !s.split(['.', '-']).all(word) {
            diags.attr_error(path(i), "Invalid interface endpoint", format!("\"{s}\" is not an AWS service name; write it as in com.amazonaws.<region>.<service>, e.g. \"ec2\", \"ssm\", \"ecr.api\"."));
        } else if GATEWAY_SERVICES.contains(&s) {
            diags.attr_error(
                path(i),
                "Use the gateway endpoint",
                format!(
                    "\"{s}\" has a free gateway endpoint; list it in gateway_endpoints instead."
                ),
            );
        } else if !seen.insert(s) {
            diags.attr_error(
                path(i),
                "Duplicate interface endpoint",
                format!("\"{s}\" is listed twice; list each service once."),
            );
        }
    }
    let tiers = config.get("tiers");
    if !eps.is_empty()
        && tiers.is_fully_known()
        && !tiers.is_null()
        && !tiers.string_list().iter().any(|t| t == "private")
    {
        diags.attr_error(AttrPath::root("interface_endpoints"), "Interface endpoints need a private tier", "Interface endpoints live in the private subnets; add the private tier to tiers or remove the interface endpoints.");
    }
}

/// A map of maps from prior state, keeping only the entries still wanted
/// (same key and, for subnets, same CIDR); new entries are unknown.
fn keep_ids(
    prior: &Value,
    wanted: &BTreeMap<String, Vec<String>>,
    same: &dyn Fn(&str, &str) -> bool,
) -> Value {
    Value::Map(
        wanted
            .iter()
            .map(|(outer, inner)| {
                let inner_v = inner
                    .iter()
                    .map(|k| {
                        let pv = prior
                            .as_map()
                            .and_then(|m| m.get(outer))
                            .and_then(|m| m.as_map())
                            .and_then(|m| m.get(k))
                            .cloned();
                        let v = match pv {
                            Some(v) if v.is_known() && !v.is_null() && same(outer, k) => v,
                            _ => Value::unknown(),
                        };
                        (k.clone(), v)
                    })
                    .collect();
                (outer.clone(), Value::Map(inner_v))
            })
            .collect(),
    )
}

fn keep_flat(prior: &Value, keys: &[String]) -> Value {
    Value::Map(
        keys.iter()
            .map(|k| {
                let pv = prior.as_map().and_then(|m| m.get(k)).cloned();
                (
                    k.clone(),
                    match pv {
                        Some(v) if v.is_known() && !v.is_null() => v,
                        _ => Value::unknown(),
                    },
                )
            })
            .collect(),
    )
}

impl HardenedVpc {
    async fn plan_values(&self, req: &mut PlanRequest<'_>) {
        let config = req.config;
        let prior = req.prior;
        let p = &mut req.planned;

        // Zones: configured, or the first az_count of the region.
        if config.get("availability_zones").is_null() {
            let want = config.get("az_count").as_i64().unwrap_or(3);
            if !config.get("az_count").is_known() {
                p.set_attr("availability_zones", Value::unknown());
            } else if let Some(ctx) = req.ctx {
                match ctx.clients(&target_of(config)).await {
                    Ok(c) => match api::region_zones(&c).await {
                        Ok(zones) if zones.len() as i64 >= want => {
                            let prior_zones = prior.get("availability_zones").string_list();
                            let chosen: Vec<String> =
                                zones.into_iter().take(want as usize).collect();
                            let mut sorted_prior = prior_zones.clone();
                            sorted_prior.sort();
                            let v = if sorted_prior == chosen {
                                prior.get("availability_zones").clone()
                            } else {
                                strings(&chosen.iter().map(String::as_str).collect::<Vec<_>>())
                            };
                            p.set_attr("availability_zones", v);
                        }
                        Ok(zones) => {
                            req.diags.attr_error(
                                AttrPath::root("az_count"),
                                "Not enough availability zones",
                                format!("az_count is {want}, but region {} has {} available zones ({}).", c.region, zones.len(), zones.join(", ")),
                            );
                            return;
                        }
                        Err(e) => {
                            req.diags.error("Cannot list availability zones", e);
                            return;
                        }
                    },
                    Err(e) => {
                        req.diags.error("Cannot reach AWS", e);
                        return;
                    }
                }
            } else {
                p.set_attr("availability_zones", Value::unknown());
            }
        } else if let (Some(ctx), true) =
            (req.ctx, config.get("availability_zones").is_fully_known())
        {
            // Configured zones must exist in the region.
            if let Ok(c) = ctx.clients(&target_of(config)).await {
                if let Ok(zones) = api::region_zones(&c).await {
                    for (i, z) in config
                        .get("availability_zones")
                        .string_list()
                        .iter()
                        .enumerate()
                    {
                        if !zones.contains(z) {
                            req.diags.attr_error(
                                AttrPath::root("availability_zones").index(i as i64),
                                "Unknown availability zone",
                                format!(
                                    "\"{z}\" is not an available zone of {}; choose from {}.",
                                    c.region,
                                    zones.join(", ")
                                ),
                            );
                        }
                    }
                }
            }
        }

        // Prefix lengths: fill the defaults.
        if let Some(lengths) = p
            .as_object_mut()
            .and_then(|o| o.get_mut("tier_prefix_lengths"))
        {
            if lengths.is_null() {
                *lengths = Value::object(DEFAULT_PREFIXES.iter().map(|(t, _)| (*t, Value::Null)));
            }
            for (tier, default) in DEFAULT_PREFIXES {
                if lengths.get(tier).is_null()
                    || !lengths.get(tier).is_known()
                        && config.get("tier_prefix_lengths").get(tier).is_null()
                {
                    lengths.set_attr(tier, Value::number(i64::from(*default)));
                }
            }
        }

        // Flow logs: defaults and the managed key.
        let fl_cfg = config.get("flow_logs");
        let to_s3 = !fl_cfg.get("s3_bucket_arn").is_null();
        let vpc_id = prior.get("vpc_id").as_str().map(str::to_string);
        if let Some(fl) = p.as_object_mut().and_then(|o| o.get_mut("flow_logs")) {
            if fl.is_null() {
                *fl = Value::object([
                    ("retention_days", Value::Null),
                    ("kms_key_arn", Value::Null),
                    ("kms_key_managed", Value::Null),
                    ("s3_bucket_arn", Value::Null),
                    ("log_group_name", Value::Null),
                ]);
            }
            if fl_cfg.get("retention_days").is_null() {
                fl.set_attr("retention_days", Value::number(365));
            }
            let prior_fl = prior.get("flow_logs");
            if to_s3 {
                fl.set_attr("kms_key_arn", fl_cfg.get("kms_key_arn").clone());
                fl.set_attr("kms_key_managed", Value::Bool(false));
                fl.set_attr("log_group_name", Value::Null);
            } else {
                if fl_cfg.get("kms_key_arn").is_null() {
                    let keep = prior_fl.get("kms_key_managed").as_bool() == Some(true)
                        && !prior_fl.get("kms_key_arn").is_null();
                    fl.set_attr(
                        "kms_key_arn",
                        if keep {
                            prior_fl.get("kms_key_arn").clone()
                        } else {
                            Value::unknown()
                        },
                    );
                    fl.set_attr("kms_key_managed", Value::Bool(true));
                } else {
                    fl.set_attr("kms_key_managed", Value::Bool(false));
                }
                fl.set_attr(
                    "log_group_name",
                    match &vpc_id {
                        Some(id) => Value::string(api::log_group_name(id)),
                        None => Value::unknown(),
                    },
                );
            }
        }
        if let Some(t) = p
            .as_object_mut()
            .and_then(|o| o.get_mut("transit_gateway_attachment"))
        {
            if !t.is_null()
                && config
                    .get("transit_gateway_attachment")
                    .get("subnets_tier")
                    .is_null()
            {
                t.set_attr("subnets_tier", Value::string("private"));
            }
            // Another gateway means a new attachment.
            let prior_tgw = prior
                .get("transit_gateway_attachment")
                .get("transit_gateway_id");
            if !t.is_null() && t.get("transit_gateway_id") != prior_tgw {
                t.set_attr("attachment_id", Value::unknown());
            }
        }

        // Interface endpoints: EC2's by default, where there are private subnets.
        if config.get("interface_endpoints").is_null() {
            let tiers = p.get("tiers");
            p.set_attr(
                "interface_endpoints",
                if !tiers.is_fully_known() {
                    Value::unknown()
                } else if tiers.string_list().iter().any(|t| t == "private") {
                    strings(DEFAULT_INTERFACE_SERVICES)
                } else {
                    strings(&[])
                },
            );
        }

        // Tags.
        let default_tags = req
            .ctx
            .map(|c| c.default_tags().clone())
            .unwrap_or_default();
        p.set_attr("tags_all", tags::merged(&default_tags, config.get("tags")));

        // Layout: subnet CIDRs, ids, rules, controls.
        let fully_known = [
            "cidr_block",
            "availability_zones",
            "tiers",
            "nat_gateway_strategy",
            "gateway_endpoints",
            "interface_endpoints",
            "public_ingress_ports",
            "restricted_ports",
            "tier_prefix_lengths",
        ]
        .iter()
        .all(|k| p.get(k).is_fully_known());
        let computed = [
            "subnet_cidrs",
            "subnet_ids",
            "route_table_ids",
            "nat_gateway_ids",
            "internet_gateway_id",
            "network_acl_ids",
            "network_acl_rules",
            "flow_log_id",
            "interface_endpoint_ids",
            "endpoint_security_group_id",
            "compliance",
        ];
        if !fully_known {
            for k in computed {
                p.set_attr(k, Value::unknown());
            }
            return;
        }
        let d = match model::desired_from(p) {
            Ok(d) => d,
            Err(e) => {
                let path =
                    if e.contains("VPC CIDR") || e.contains("host bits") || e.contains("IPv4 CIDR")
                    {
                        AttrPath::root("cidr_block")
                    } else if e.contains("availability zone") {
                        AttrPath::root("availability_zones")
                    } else if let Some(tier) =
                        TIERS.iter().find(|t| e.contains(&format!("tier \"{t}\"")))
                    {
                        AttrPath::root("tier_prefix_lengths").attr(tier)
                    } else {
                        AttrPath::root("cidr_block")
                    };
                req.diags
                    .attr_error(path, "Subnets do not fit", format!("{e}."));
                return;
            }
        };
        let cidrs: BTreeMap<String, Value> = d
            .subnets
            .iter()
            .map(|(t, m)| {
                (
                    t.clone(),
                    Value::string_map(m.iter().map(|(z, n)| (z.clone(), n.to_string()))),
                )
            })
            .collect();
        let keys: BTreeMap<String, Vec<String>> = d
            .subnets
            .iter()
            .map(|(t, m)| (t.clone(), m.keys().cloned().collect()))
            .collect();
        let prior_cidrs = prior.get("subnet_cidrs").clone();
        let same_cidr = |tier: &str, zone: &str| {
            prior_cidrs
                .as_map()
                .and_then(|m| m.get(tier))
                .and_then(|m| m.as_map())
                .and_then(|m| m.get(zone))
                .and_then(Value::as_str)
                == d.subnets
                    .get(tier)
                    .and_then(|m| m.get(zone))
                    .map(|n| n.to_string())
                    .as_deref()
        };
        p.set_attr("subnet_cidrs", Value::Map(cidrs));
        p.set_attr(
            "subnet_ids",
            keep_ids(prior.get("subnet_ids"), &keys, &same_cidr),
        );
        p.set_attr(
            "route_table_ids",
            keep_ids(prior.get("route_table_ids"), &keys, &|_, _| true),
        );
        p.set_attr(
            "nat_gateway_ids",
            keep_flat(prior.get("nat_gateway_ids"), &d.nat_zones()),
        );
        p.set_attr(
            "network_acl_ids",
            keep_flat(
                prior.get("network_acl_ids"),
                &keys.keys().cloned().collect::<Vec<_>>(),
            ),
        );
        p.set_attr(
            "internet_gateway_id",
            if d.subnets.contains_key("public") {
                let pv = prior.get("internet_gateway_id");
                if pv.is_null() || !pv.is_known() {
                    Value::unknown()
                } else {
                    pv.clone()
                }
            } else {
                Value::Null
            },
        );
        p.set_attr(
            "network_acl_rules",
            Value::Map(
                d.subnets
                    .keys()
                    .map(|t| {
                        (
                            t.clone(),
                            Value::List(
                                d.nacl_rules(t)
                                    .iter()
                                    .map(|r| Value::string(r.to_string()))
                                    .collect(),
                            ),
                        )
                    })
                    .collect(),
            ),
        );
        p.set_attr(
            "interface_endpoint_ids",
            keep_flat(prior.get("interface_endpoint_ids"), &d.interface_endpoints),
        );
        p.set_attr(
            "endpoint_security_group_id",
            match prior.get("endpoint_security_group_id") {
                _ if d.interface_endpoints.is_empty() => Value::Null,
                v if v.is_null() || !v.is_known() => Value::unknown(),
                v => v.clone(),
            },
        );
        let prior_s3 = prior.get("flow_logs").get("s3_bucket_arn");
        let flow_same =
            !prior.get("flow_log_id").is_null() && prior_s3 == fl_cfg.get("s3_bucket_arn");
        p.set_attr(
            "flow_log_id",
            if flow_same {
                prior.get("flow_log_id").clone()
            } else {
                Value::unknown()
            },
        );
        p.set_attr(
            "compliance",
            Value::Map(
                model::expected_compliance(&d)
                    .into_iter()
                    .map(|(k, v)| (k, Value::Bool(v)))
                    .collect(),
            ),
        );
    }

    fn state_from(&self, prior: &Value, o: &ObservedVpc) -> Value {
        let mut s = prior.clone();
        s.set_attr("id", Value::string(&o.vpc_id));
        s.set_attr("vpc_id", Value::string(&o.vpc_id));
        s.set_attr("cidr_block", Value::string(&o.cidr));
        if s.get("name").is_null() {
            s.set_attr(
                "name",
                o.tags.get("Name").map(Value::string).unwrap_or(Value::Null),
            );
        }
        // Zones and tiers as observed, keeping the configured order when the sets agree.
        let mut zones: Vec<String> = o.subnets.values().flat_map(|m| m.keys().cloned()).collect();
        zones.sort();
        zones.dedup();
        let mut prior_zones = prior.get("availability_zones").string_list();
        prior_zones.sort();
        if prior_zones != zones {
            s.set_attr(
                "availability_zones",
                strings(&zones.iter().map(String::as_str).collect::<Vec<_>>()),
            );
        }
        let tiers: Vec<&str> = TIERS
            .iter()
            .copied()
            .filter(|t| o.subnets.contains_key(*t))
            .collect();
        let mut prior_tiers = prior.get("tiers").string_list();
        prior_tiers.sort();
        let mut sorted_tiers: Vec<String> = tiers.iter().map(|t| t.to_string()).collect();
        sorted_tiers.sort();
        if prior_tiers != sorted_tiers {
            s.set_attr("tiers", strings(&tiers));
        }
        let mut prior_eps = prior.get("gateway_endpoints").string_list();
        prior_eps.sort();
        if prior_eps != o.endpoints {
            s.set_attr(
                "gateway_endpoints",
                strings(&o.endpoints.iter().map(String::as_str).collect::<Vec<_>>()),
            );
        }
        let mut prior_ieps = prior.get("interface_endpoints").string_list();
        prior_ieps.sort();
        if prior.get("interface_endpoints").is_null()
            || !prior_ieps.iter().eq(o.interface_endpoints.keys())
        {
            s.set_attr(
                "interface_endpoints",
                strings(
                    &o.interface_endpoints
                        .keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                ),
            );
        }
        s.set_attr(
            "interface_endpoint_ids",
            Value::string_map(
                o.interface_endpoints
                    .iter()
                    .map(|(svc, ep)| (svc.clone(), ep.id.clone())),
            ),
        );
        s.set_attr(
            "endpoint_security_group_id",
            o.endpoint_sg
                .as_ref()
                .map(|sg| Value::string(&sg.id))
                .unwrap_or(Value::Null),
        );
        // Prefix lengths as the subnets show them.
        let mut lengths = prior.get("tier_prefix_lengths").clone();
        if lengths.is_null() {
            lengths = Value::object(DEFAULT_PREFIXES.iter().map(|(t, _)| (*t, Value::Null)));
        }
        for (tier, by_zone) in &o.subnets {
            if let Some((_, cidr, _)) = by_zone.values().next() {
                if let Some(len) = cidr.split('/').nth(1).and_then(|l| l.parse::<i64>().ok()) {
                    lengths.set_attr(tier, Value::number(len));
                }
            }
        }
        for (tier, d) in DEFAULT_PREFIXES {
            if lengths.get(tier).is_null() {
                lengths.set_attr(tier, Value::number(i64::from(*d)));
            }
        }
        s.set_attr("tier_prefix_lengths", lengths);
        let map2 = |f: &dyn Fn(&(String, String, bool)) -> String| {
            Value::Map(
                o.subnets
                    .iter()
                    .map(|(t, m)| {
                        (
                            t.clone(),
                            Value::string_map(m.iter().map(|(z, x)| (z.clone(), f(x)))),
                        )
                    })
                    .collect(),
            )
        };
        s.set_attr("subnet_cidrs", map2(&|x| x.1.clone()));
        s.set_attr("subnet_ids", map2(&|x| x.0.clone()));
        s.set_attr(
            "route_table_ids",
            Value::Map(
                o.route_tables
                    .iter()
                    .map(|(t, m)| (t.clone(), Value::string_map(m.clone())))
                    .collect(),
            ),
        );
        s.set_attr("nat_gateway_ids", Value::string_map(o.nat_gateways.clone()));
        s.set_attr(
            "internet_gateway_id",
            o.internet_gateway
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
        s.set_attr(
            "network_acl_ids",
            Value::string_map(
                o.nacls
                    .iter()
                    .map(|(t, (id, _, _))| (t.clone(), id.clone())),
            ),
        );
        s.set_attr(
            "network_acl_rules",
            Value::Map(
                o.nacls
                    .iter()
                    .map(|(t, (_, rules, _))| {
                        (
                            t.clone(),
                            Value::List(
                                rules.iter().map(|r| Value::string(r.to_string())).collect(),
                            ),
                        )
                    })
                    .collect(),
            ),
        );
        s.set_attr(
            "flow_log_id",
            o.flow_log
                .as_ref()
                .map(|f| Value::string(&f.0))
                .unwrap_or(Value::Null),
        );
        let mut fl = prior.get("flow_logs").clone();
        if fl.is_null() {
            fl = Value::object([
                ("retention_days", Value::number(365)),
                ("kms_key_arn", Value::Null),
                ("kms_key_managed", Value::Bool(false)),
                ("s3_bucket_arn", Value::Null),
                ("log_group_name", Value::Null),
            ]);
        }
        if let Some((name, key, retention)) = &o.log_group {
            fl.set_attr("log_group_name", Value::string(name));
            if let Some(r) = retention {
                fl.set_attr("retention_days", Value::number(i64::from(*r)));
            }
            if let Some(k) = key {
                fl.set_attr("kms_key_arn", Value::string(k));
            }
        }
        s.set_attr("flow_logs", fl);
        // The transit gateway attachment as it is: gone, on another gateway or another
        // tier's subnets all show as a change to plan.
        let attachment = match &o.transit_gateway_attachment {
            None => Value::Null,
            Some(a) => {
                let prior_tier = prior.get("transit_gateway_attachment").get("subnets_tier");
                let tier =
                    o.attachment_tier().map(Value::string).unwrap_or_else(|| {
                        match prior_tier.as_str() {
                            Some(t) => Value::string(t),
                            None => Value::string("private"),
                        }
                    });
                Value::object([
                    ("transit_gateway_id", Value::string(&a.transit_gateway_id)),
                    ("subnets_tier", tier),
                    ("attachment_id", Value::string(&a.id)),
                ])
            }
        };
        s.set_attr("transit_gateway_attachment", attachment);
        let tags_all: BTreeMap<String, String> = o
            .tags
            .iter()
            .filter(|(k, _)| {
                k.as_str() != "Name" && !k.starts_with("bankplatform:") && !k.starts_with("aws:")
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        s.set_attr("tags_all", Value::string_map(tags_all));
        s.set_attr(
            "compliance",
            Value::Map(
                api::controls(o)
                    .into_iter()
                    .map(|(k, v)| (k, Value::Bool(v)))
                    .collect(),
            ),
        );
        s
    }
}

#[async_trait]
impl Composite for HardenedVpc {
    type Desired = DesiredVpc;
    type Observed = ObservedVpc;

    const TYPE_NAME: &'static str = "bankplatform_hardened_vpc";
    const NOUN: &'static str = "hardened VPC";

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn controls(&self) -> &'static [Control<ObservedVpc>] {
        model::CONTROLS
    }

    fn import_help(&self) -> &'static str {
        "Import by VPC id (`vpc-...`); children are adopted by their `bankplatform:tier` and `bankplatform:az` tags."
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if !config.get("availability_zones").is_null() && !config.get("az_count").is_null() {
            diags.attr_error(AttrPath::root("az_count"), "Conflicting arguments", "Set either availability_zones (the zones) or az_count (how many of the region's zones), not both.");
        }
        if let Some(cidr) = config.get("cidr_block").as_str() {
            if let Err(e) = subnet_plan::parse_vpc_cidr(cidr) {
                diags.attr_error(
                    AttrPath::root("cidr_block"),
                    "Invalid CIDR block",
                    format!("{e}."),
                );
            }
        }
        let tiers = config.get("tiers");
        if tiers.is_fully_known() && !tiers.is_null() {
            let list = tiers.string_list();
            if list.is_empty() {
                diags.attr_error(
                    AttrPath::root("tiers"),
                    "No tiers",
                    "Give at least one of public, private, restricted.",
                );
            }
            for (i, t) in list.iter().enumerate() {
                if !TIERS.contains(&t.as_str()) {
                    diags.attr_error(
                        AttrPath::root("tiers").index(i as i64),
                        "Unknown tier",
                        format!("\"{t}\" is not a tier; use public, private or restricted."),
                    );
                }
            }
            if !list.iter().any(|t| t == "public")
                && config
                    .get("nat_gateway_strategy")
                    .as_str()
                    .is_some_and(|s| s != "none")
            {
                diags.attr_error(AttrPath::root("nat_gateway_strategy"), "NAT gateways need a public tier", "NAT gateways live in the public subnets; add the public tier or set nat_gateway_strategy = \"none\".");
            }
        }
        if let Some(eps) = config.get("gateway_endpoints").as_list() {
            for (i, e) in eps.iter().enumerate() {
                if let Some(s) = e.as_str() {
                    if !GATEWAY_SERVICES.contains(&s) {
                        diags.attr_error(
                            AttrPath::root("gateway_endpoints").index(i as i64),
                            "Unknown gateway endpoint",
                            format!("\"{s}\" has no gateway endpoint; use s3 or dynamodb."),
                        );
                    }
                }
            }
        }
        validate_interface_endpoints(config, diags);
        if let Some(org) = config.get("endpoint_organization_id").as_str() {
            let ok = org.len() >= 12
                && org.starts_with("o-")
                && org[2..]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !ok {
                diags.attr_error(
                    AttrPath::root("endpoint_organization_id"),
                    "Invalid organization id",
                    format!("\"{org}\" is not an AWS Organization id; it looks like o-a1b2c3d4e5 (\"o-\" and 10 to 32 lowercase letters or digits)."),
                );
            }
        }
        if let Some(buckets) = config.get("endpoint_s3_buckets").as_list() {
            for (i, b) in buckets.iter().enumerate() {
                if let Some(b) = b.as_str() {
                    if b != "*" && !(b.starts_with("arn:") && b.contains(":s3:::")) {
                        diags.attr_error(
                            AttrPath::root("endpoint_s3_buckets").index(i as i64),
                            "Invalid bucket",
                            format!("endpoint_s3_buckets[{i}]: \"{b}\" is not a bucket ARN; write arn:aws:s3:::<bucket> (wildcards allowed) or \"*\" for any bucket."),
                        );
                    }
                }
            }
        }
        for key in ["public_ingress_ports", "restricted_ports"] {
            for (i, p) in config.get(key).as_list().unwrap_or(&[]).iter().enumerate() {
                validators::whole_number_in(
                    AttrPath::root(key).index(i as i64),
                    p,
                    1..=65535,
                    "Invalid port",
                    diags,
                );
                if matches!(p.as_i64(), Some(22) | Some(3389)) && key == "public_ingress_ports" {
                    diags.attr_error(
                        AttrPath::root(key).index(i as i64),
                        "Port not allowed from the internet",
                        "Opening SSH (22) or RDP (3389) to the internet fails CIS 6.2 / Security Hub EC2.21; reach instances through SSM Session Manager instead.",
                    );
                }
            }
        }
        if let Some(r) = config.get("flow_logs").get("retention_days").as_i64() {
            if r < 365 {
                diags.attr_warning(
                    AttrPath::root("flow_logs").attr("retention_days"),
                    "Compliance control weakened",
                    format!("Flow logs kept {r} days; CIS 4.7 and most bank policies ask for at least 365."),
                );
            }
        }
        validators::aws_tags(AttrPath::root("tags"), config.get("tags"), diags);
        let fl = config.get("flow_logs");
        if !fl.get("s3_bucket_arn").is_null() && !fl.get("kms_key_arn").is_null() {
            diags.attr_error(
                AttrPath::root("flow_logs").attr("kms_key_arn"),
                "Conflicting arguments",
                "kms_key_arn is the key of the CloudWatch log group, and s3_bucket_arn sends flow logs to S3 instead (encrypted by the bucket's own key): set one of them.",
            );
        }
        if let Some(tags) = config.get("tags").as_map() {
            for k in tags.keys() {
                if k == "Name" || k.starts_with("bankplatform:") || k.starts_with("aws:") {
                    diags.attr_error(AttrPath::root("tags").key(k), "Reserved tag key", "Name comes from `name`; keys starting with bankplatform: or aws: are reserved.");
                }
            }
        }
        let attachment = config.get("transit_gateway_attachment");
        let tgw_tier = attachment.get("subnets_tier");
        if let Some(t) = tgw_tier.as_str() {
            if !TIERS.contains(&t) {
                diags.attr_error(
                    AttrPath::root("transit_gateway_attachment").attr("subnets_tier"),
                    "Unknown tier",
                    format!("\"{t}\" is not a tier; use public, private or restricted."),
                );
            }
        }
        // The attachment's tier must be built (`tiers` defaults to all three).
        let tiers = config.get("tiers");
        if !attachment.is_null()
            && tiers.is_fully_known()
            && !tiers.is_null()
            && tgw_tier.is_known()
        {
            let wanted = tgw_tier.as_str().unwrap_or("private");
            if TIERS.contains(&wanted) && !tiers.string_list().iter().any(|t| t == wanted) {
                let path = if tgw_tier.is_null() {
                    AttrPath::root("transit_gateway_attachment")
                } else {
                    AttrPath::root("transit_gateway_attachment").attr("subnets_tier")
                };
                diags.attr_error(
                    path,
                    "Transit gateway attachment tier not built",
                    format!("The attachment goes into the {wanted} subnets, but `tiers` does not include \"{wanted}\". Add it to `tiers`, or set `subnets_tier` to one of them."),
                );
            }
        }
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        self.plan_values(req).await;
    }

    fn desired(&self, planned: &Value) -> Result<DesiredVpc, String> {
        model::desired_from(planned)
    }

    fn root_id(&self, state: &Value) -> Option<String> {
        state.get("vpc_id").as_str().map(str::to_string)
    }

    fn with_root(&self, mut v: Value, root: &str) -> Value {
        v.set_attr("id", Value::string(root));
        v.set_attr("vpc_id", Value::string(root));
        v
    }

    fn applied(&self, planned: &Value, root: &str, d: &DesiredVpc, creating: bool) -> Value {
        if !creating {
            return planned.clone();
        }
        let mut s = self.with_root(planned.clone(), root);
        let managed = d.flow_logs.kms_key_arn.is_none() && d.flow_logs.s3_bucket_arn.is_none();
        if let Some(fl) = s.as_object_mut().and_then(|o| o.get_mut("flow_logs")) {
            fl.set_attr("kms_key_managed", Value::Bool(managed));
            if !fl.get("kms_key_arn").is_known() {
                fl.set_attr("kms_key_arn", Value::Null);
            }
        }
        s
    }

    async fn create_root(&self, c: &Clients, d: &mut DesiredVpc) -> Result<(String, bool), String> {
        api::create_vpc(c, d).await
    }

    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut DesiredVpc,
        prior: Option<&Value>,
    ) -> Result<(), Vec<String>> {
        api::converge(c, root, d, prior.is_some()).await
    }

    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String> {
        api::mark_created(c, root).await
    }

    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<ObservedVpc>, String> {
        api::observe(c, root).await
    }

    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Vec<String>> {
        let managed = state
            .get("flow_logs")
            .get("kms_key_managed")
            .as_bool()
            .unwrap_or(false);
        api::destroy(c, root, managed).await
    }

    fn state(&self, _c: &Clients, base: &Value, o: &ObservedVpc) -> Value {
        self.state_from(base, o)
    }

    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics> {
        if !id.starts_with("vpc-") {
            let mut d = Diagnostics::new();
            d.error(
                "Invalid import ID",
                format!("Import a hardened VPC by its VPC id (vpc-…); got \"{id}\"."),
            );
            return Err(d);
        }
        let o = imported(api::observe(c, id).await, "VPC", id)?;
        let mut s = Value::null_object(&self.schema.block.implied_type());
        // Settings only the children tell: NAT strategy, ports, managed key.
        let zones: usize = o.subnets.values().map(|m| m.len()).max().unwrap_or(0);
        let nat = match o.nat_gateways.len() {
            0 => "none",
            1 if zones > 1 => "single",
            _ => "one_per_az",
        };
        s.set_attr("nat_gateway_strategy", Value::string(nat));
        let ports = |tier: &str, public: bool| -> Value {
            let mut p: Vec<i64> = o
                .nacls
                .get(tier)
                .map(|(_, rules, _)| {
                    rules
                        .iter()
                        .filter(|r| !r.egress && (r.cidr == "0.0.0.0/0") == public)
                        .filter_map(|r| {
                            r.ports
                                .filter(|(a, b)| a == b && (*a < 1024 || !public))
                                .map(|(a, _)| i64::from(a))
                        })
                        .collect()
                })
                .unwrap_or_default();
            p.sort();
            p.dedup();
            numbers(&p)
        };
        s.set_attr("public_ingress_ports", ports("public", true));
        s.set_attr("restricted_ports", ports("restricted", false));
        let managed = matches!((api::managed_key(c, id).await, &o.log_group), (Ok(Some(k)), Some((_, Some(actual), _))) if &k == actual || k.ends_with(actual.as_str()));
        s.set_attr(
            "flow_logs",
            Value::object([
                ("retention_days", Value::Null),
                ("kms_key_arn", Value::Null),
                ("kms_key_managed", Value::Bool(managed)),
                ("s3_bucket_arn", Value::Null),
                ("log_group_name", Value::Null),
            ]),
        );
        let defaults = ctx.default_tags();
        let own: BTreeMap<String, String> = o
            .tags
            .iter()
            .filter(|(k, v)| {
                k.as_str() != "Name"
                    && !k.starts_with("bankplatform:")
                    && !k.starts_with("aws:")
                    && defaults.get(*k) != Some(v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !own.is_empty() {
            s.set_attr("tags", Value::string_map(own));
        }
        Ok(self.state_from(&s, &o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kit::composite::Kit;

    #[tokio::test]
    async fn plan_carves_subnets_and_rules_without_aws() {
        let r = Kit::new(HardenedVpc::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("prod"));
        config.set_attr("cidr_block", Value::string("10.0.0.0/16"));
        config.set_attr("availability_zones", strings(&["us-east-1a", "us-east-1b"]));
        let out =
            crate::framework::plan::plan_resource_change(&r, None, &Value::Null, &config, &config)
                .await;
        assert!(!out.diags.has_errors(), "{:?}", out.diags);
        let p = &out.planned;
        let cidr = p.get("subnet_cidrs").as_map().unwrap()["restricted"]
            .as_map()
            .unwrap()["us-east-1b"]
            .clone();
        assert_eq!(cidr, Value::string("10.0.137.0/24"));
        assert!(p.get("subnet_ids").as_map().unwrap()["public"]
            .as_map()
            .unwrap()["us-east-1a"]
            .is_unknown());
        let rules = p.get("network_acl_rules").as_map().unwrap()["restricted"]
            .as_list()
            .unwrap()
            .to_vec();
        assert!(
            rules
                .iter()
                .all(|r| !r.as_str().unwrap().contains("0.0.0.0/0")),
            "{rules:?}"
        );
        assert_eq!(
            p.get("flow_logs").get("retention_days"),
            &Value::number(365)
        );
        assert!(p
            .get("compliance")
            .as_map()
            .unwrap()
            .values()
            .all(|v| v == &Value::Bool(true)));
    }

    #[tokio::test]
    async fn bad_layouts_are_rejected_with_paths_and_numbers() {
        let r = Kit::new(HardenedVpc::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("x"));
        config.set_attr("cidr_block", Value::string("10.0.0.0/22"));
        config.set_attr("availability_zones", strings(&["us-east-1a"]));
        let out =
            crate::framework::plan::plan_resource_change(&r, None, &Value::Null, &config, &config)
                .await;
        let diag = out.diags.iter().next().expect("an error");
        assert_eq!(
            diag.path.as_ref().unwrap().to_string(),
            "tier_prefix_lengths.private"
        );
        assert!(diag.detail.contains("/20"), "{}", diag.detail);

        let mut bad = config.clone();
        bad.set_attr("cidr_block", Value::string("10.0.0.0/8"));
        bad.set_attr("az_count", Value::number(2));
        bad.set_attr("public_ingress_ports", numbers(&[22]));
        let d = crate::framework::plan::validate_config(&r, &bad);
        let paths: Vec<String> = d
            .iter()
            .filter_map(|d| d.path.as_ref().map(|p| p.to_string()))
            .collect();
        for want in ["cidr_block", "az_count", "public_ingress_ports[0]"] {
            assert!(
                paths.contains(&want.to_string()),
                "{want} missing in {paths:?}"
            );
        }
    }

    #[test]
    fn transit_gateway_attachment_needs_its_tier_built() {
        let r = Kit::new(HardenedVpc::new());
        let mut config = Value::null_object(&r.0.schema.block.implied_type());
        config.set_attr("name", Value::string("x"));
        config.set_attr("cidr_block", Value::string("10.0.0.0/16"));
        config.set_attr("tiers", strings(&["public", "restricted"]));
        let attachment = |tier: Value| {
            Value::object([
                ("transit_gateway_id", Value::string("tgw-1")),
                ("subnets_tier", tier),
                ("attachment_id", Value::Null),
            ])
        };
        let errors = |c: &Value| -> Vec<(String, String)> {
            crate::framework::plan::validate_config(&r, c)
                .iter()
                .map(|d| {
                    (
                        d.path.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                        d.detail.clone(),
                    )
                })
                .collect()
        };
        // The default tier (private) is not built.
        let mut c = config.clone();
        c.set_attr("transit_gateway_attachment", attachment(Value::Null));
        let e = errors(&c);
        assert!(
            e.iter()
                .any(|(p, d)| p == "transit_gateway_attachment" && d.contains("private")),
            "{e:?}"
        );
        // An explicit tier that is built is fine; one that is not names subnets_tier.
        c.set_attr(
            "transit_gateway_attachment",
            attachment(Value::string("restricted")),
        );
        assert!(errors(&c).is_empty(), "{:?}", errors(&c));
        c.set_attr(
            "transit_gateway_attachment",
            attachment(Value::string("private")),
        );
        let e = errors(&c);
        assert!(
            e.iter()
                .any(|(p, _)| p == "transit_gateway_attachment.subnets_tier"),
            "{e:?}"
        );
    }
}
