//! The pure model of a hardened VPC: the desired layout read from a planned
//! value, the network ACL rules of each tier, and the compliance controls
//! evaluated over what EC2 reports ([`ObservedVpc`]). No AWS calls here.

use std::collections::BTreeMap;

use crate::resources::kit::controls::{self, Control};

use ipnet::Ipv4Net;

use super::subnet_plan;
use crate::value::Value;

/// Tiers, in their routing order.
pub(crate) const TIERS: &[&str] = &["public", "private", "restricted"];
/// NAT strategies.
pub(crate) const NAT_STRATEGIES: &[&str] = &["one_per_az", "single", "none"];
/// Gateway endpoint services.
/// Sorted, so the default reads back in the same order.
pub(crate) const GATEWAY_SERVICES: &[&str] = &["dynamodb", "s3"];
/// Interface endpoints by default: EC2's API (Security Hub EC2.10), about USD 7 a zone
/// a month.
pub(crate) const DEFAULT_INTERFACE_SERVICES: &[&str] = &["ec2"];
/// Tags that identify children.
pub(crate) const TIER_TAG: &str = "bankplatform:tier";
pub(crate) const AZ_TAG: &str = "bankplatform:az";
pub(crate) const VPC_TAG: &str = "bankplatform:vpc";
/// The security group of the interface endpoints (group names are unique per VPC).
pub(crate) const ENDPOINT_SG_NAME: &str = "bankplatform-interface-endpoints";
/// HTTPS: the only port an interface endpoint serves.
pub(crate) const HTTPS: i32 = 443;

/// One network ACL entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NaclRule {
    pub(crate) egress: bool,
    pub(crate) number: i32,
    /// "6" (tcp) or "-1" (all).
    pub(crate) protocol: String,
    pub(crate) cidr: String,
    pub(crate) ports: Option<(i32, i32)>,
}

impl std::fmt::Display for NaclRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dir = if self.egress { "egress" } else { "ingress" };
        let way = if self.egress { "to" } else { "from" };
        let what = match (self.protocol.as_str(), self.ports) {
            ("-1", _) => "all traffic".to_string(),
            (_, Some((a, b))) if a == b => format!("tcp {a}"),
            (_, Some((a, b))) => format!("tcp {a}-{b}"),
            (p, None) => format!("protocol {p}"),
        };
        write!(f, "{dir} {} allow {what} {way} {}", self.number, self.cidr)
    }
}

/// Flow log settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowLogs {
    pub(crate) retention_days: i64,
    /// `None`: a key is created (or already was) by this resource.
    pub(crate) kms_key_arn: Option<String>,
    pub(crate) kms_key_managed: bool,
    pub(crate) s3_bucket_arn: Option<String>,
    pub(crate) log_group_name: String,
}

/// The desired VPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DesiredVpc {
    pub(crate) name: String,
    pub(crate) cidr: Ipv4Net,
    pub(crate) zones: Vec<String>,
    /// tier → zone → CIDR.
    pub(crate) subnets: BTreeMap<String, BTreeMap<String, Ipv4Net>>,
    pub(crate) nat_strategy: String,
    pub(crate) endpoints: Vec<String>,
    /// Interface endpoint services (`ec2`, `ssm`, `ecr.api`, …), in the private subnets.
    pub(crate) interface_endpoints: Vec<String>,
    /// Admit this organization's principals and buckets through the endpoints (rather
    /// than only the VPC's own account).
    pub(crate) endpoint_org_id: Option<String>,
    /// Further buckets (ARNs, `*` for any) reachable through the S3 endpoint.
    pub(crate) endpoint_s3_buckets: Vec<String>,
    pub(crate) public_ports: Vec<i32>,
    pub(crate) restricted_ports: Vec<i32>,
    pub(crate) flow_logs: FlowLogs,
    pub(crate) transit_gateway: Option<(String, String)>,
    pub(crate) tags_all: BTreeMap<String, String>,
}

impl DesiredVpc {
    /// Zones that get a NAT gateway.
    pub(crate) fn nat_zones(&self) -> Vec<String> {
        if !self.subnets.contains_key("public") {
            return Vec::new();
        }
        match self.nat_strategy.as_str() {
            "one_per_az" => self.zones.clone(),
            "single" => self.zones.iter().min().cloned().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The NAT gateway zone that serves a zone's private subnet.
    pub(crate) fn nat_for(&self, zone: &str) -> Option<String> {
        let nats = self.nat_zones();
        if nats.iter().any(|z| z == zone) {
            Some(zone.to_string())
        } else {
            nats.first().cloned()
        }
    }

    /// The network ACL rules of one tier.
    pub(crate) fn nacl_rules(&self, tier: &str) -> Vec<NaclRule> {
        nacl_rules(tier, self)
    }
}

fn rule(egress: bool, number: i32, tcp: Option<(i32, i32)>, cidr: &str) -> NaclRule {
    NaclRule {
        egress,
        number,
        protocol: if tcp.is_some() {
            "6".into()
        } else {
            "-1".into()
        },
        cidr: cidr.to_string(),
        ports: tcp,
    }
}

/// Ephemeral return-traffic ports, split around 3389 so that no rule open to
/// the internet covers RDP (Security Hub EC2.21 checks 22 and 3389).
const EPHEMERAL: [(i32, i32); 2] = [(1024, 3388), (3390, 65535)];

fn nacl_rules(tier: &str, d: &DesiredVpc) -> Vec<NaclRule> {
    let vpc = d.cidr.to_string();
    let any = "0.0.0.0/0";
    let mut r = Vec::new();
    match tier {
        "public" => {
            for (i, p) in d.public_ports.iter().enumerate() {
                r.push(rule(false, 100 + i as i32, Some((*p, *p)), any));
            }
            for (i, e) in EPHEMERAL.iter().enumerate() {
                r.push(rule(false, 200 + i as i32, Some(*e), any));
            }
            r.push(rule(false, 300, None, &vpc));
            r.push(rule(true, 100, None, any));
        }
        "private" => {
            r.push(rule(false, 100, None, &vpc));
            if !d.nat_zones().is_empty() {
                for (i, e) in EPHEMERAL.iter().enumerate() {
                    r.push(rule(false, 200 + i as i32, Some(*e), any));
                }
            }
            r.push(rule(true, 100, None, any));
        }
        "restricted" => {
            let private: Vec<String> = d
                .subnets
                .get("private")
                .map(|m| m.values().map(|n| n.to_string()).collect())
                .unwrap_or_default();
            let mut n = 100;
            for p in &d.restricted_ports {
                for cidr in &private {
                    r.push(rule(false, n, Some((*p, *p)), cidr));
                    n += 1;
                }
            }
            for (i, cidr) in private.iter().enumerate() {
                r.push(rule(true, 100 + i as i32, Some((1024, 65535)), cidr));
            }
        }
        _ => {}
    }
    r.sort();
    r
}

fn list_i32(v: &Value) -> Vec<i32> {
    v.as_list()
        .unwrap_or(&[])
        .iter()
        .filter_map(|x| x.as_i64().map(|i| i as i32))
        .collect()
}

/// The prefix length of each tier from a planned value.
pub(crate) fn tier_prefixes(p: &Value) -> BTreeMap<String, u8> {
    let lengths = p.get("tier_prefix_lengths");
    p.get("tiers")
        .string_list()
        .into_iter()
        .map(|t| {
            let default = subnet_plan::DEFAULT_PREFIXES
                .iter()
                .find(|(n, _)| *n == t)
                .map(|(_, l)| *l)
                .unwrap_or(24);
            let l = lengths.get(&t).as_i64().map(|l| l as u8).unwrap_or(default);
            (t, l)
        })
        .collect()
}

/// Reads the desired VPC from a planned value whose configuration parts are known.
pub(crate) fn desired_from(p: &Value) -> Result<DesiredVpc, String> {
    let cidr = subnet_plan::parse_vpc_cidr(p.get("cidr_block").as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let zones = p.get("availability_zones").string_list();
    let subnets = subnet_plan::plan(cidr, &zones, &tier_prefixes(p)).map_err(|e| e.to_string())?;
    let fl = p.get("flow_logs");
    Ok(DesiredVpc {
        name: p.get("name").as_str().unwrap_or_default().to_string(),
        cidr,
        zones,
        subnets,
        nat_strategy: p
            .get("nat_gateway_strategy")
            .as_str()
            .unwrap_or("one_per_az")
            .to_string(),
        endpoints: p.get("gateway_endpoints").string_list(),
        interface_endpoints: p.get("interface_endpoints").string_list(),
        endpoint_org_id: p
            .get("endpoint_organization_id")
            .as_str()
            .map(str::to_string),
        endpoint_s3_buckets: p.get("endpoint_s3_buckets").string_list(),
        public_ports: list_i32(p.get("public_ingress_ports")),
        restricted_ports: list_i32(p.get("restricted_ports")),
        flow_logs: FlowLogs {
            retention_days: fl.get("retention_days").as_i64().unwrap_or(365),
            kms_key_arn: fl.get("kms_key_arn").as_str().map(str::to_string),
            kms_key_managed: fl.get("kms_key_managed").as_bool().unwrap_or(true),
            s3_bucket_arn: fl.get("s3_bucket_arn").as_str().map(str::to_string),
            log_group_name: fl
                .get("log_group_name")
                .as_str()
                .unwrap_or_default()
                .to_string(),
        },
        transit_gateway: {
            let t = p.get("transit_gateway_attachment");
            t.get("transit_gateway_id").as_str().map(|id| {
                (
                    id.to_string(),
                    t.get("subnets_tier")
                        .as_str()
                        .unwrap_or("private")
                        .to_string(),
                )
            })
        },
        tags_all: p
            .get("tags_all")
            .as_map()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// What EC2 (and CloudWatch Logs) report about a VPC and its children.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObservedVpc {
    pub(crate) vpc_id: String,
    pub(crate) cidr: String,
    pub(crate) tags: BTreeMap<String, String>,
    /// tier → zone → (subnet id, cidr, maps public ip on launch).
    pub(crate) subnets: BTreeMap<String, BTreeMap<String, (String, String, bool)>>,
    /// tier → zone → route table id.
    pub(crate) route_tables: BTreeMap<String, BTreeMap<String, String>>,
    /// tier → zone → destinations of default routes (`igw-…`, `nat-…`, …).
    pub(crate) default_routes: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// route table id → the subnets associated with it.
    pub(crate) route_table_subnets: BTreeMap<String, Vec<String>>,
    /// zone → NAT gateway id.
    pub(crate) nat_gateways: BTreeMap<String, String>,
    pub(crate) internet_gateway: Option<String>,
    /// tier → (NACL id, rules, associated subnet ids).
    pub(crate) nacls: BTreeMap<String, (String, Vec<NaclRule>, Vec<String>)>,
    pub(crate) default_sg_rules: usize,
    /// The default network ACL, where a subnet made outside the composite lands.
    pub(crate) default_acl: DefaultAcl,
    /// (flow log id, traffic type, status, destination).
    pub(crate) flow_log: Option<(String, String, String, String)>,
    /// (log group name, kms key, retention days).
    pub(crate) log_group: Option<(String, Option<String>, Option<i32>)>,
    /// Gateway endpoint services, sorted.
    pub(crate) endpoints: Vec<String>,
    /// Endpoint service (gateway or interface) → its policy document as EC2 reports it.
    pub(crate) endpoint_policies: BTreeMap<String, String>,
    /// Interface endpoint service → the endpoint.
    pub(crate) interface_endpoints: BTreeMap<String, ObservedInterfaceEndpoint>,
    /// The interface endpoints' security group.
    pub(crate) endpoint_sg: Option<EndpointSg>,
    pub(crate) transit_gateway_attachment: Option<ObservedTgwAttachment>,
}

/// The VPC's default network ACL: its id and its entries besides the fixed deny-all
/// (rule number, egress).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DefaultAcl {
    pub(crate) id: String,
    pub(crate) entries: Vec<(i32, bool)>,
}

/// An interface endpoint, as EC2 reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ObservedInterfaceEndpoint {
    pub(crate) id: String,
    /// Sorted.
    pub(crate) subnet_ids: Vec<String>,
    /// Sorted.
    pub(crate) security_group_ids: Vec<String>,
    pub(crate) private_dns: bool,
}

/// The interface endpoints' security group: its id, its ingress rules as
/// (protocol, from port, to port, CIDR), and how many egress rules it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EndpointSg {
    pub(crate) id: String,
    pub(crate) ingress: Vec<(String, i32, i32, String)>,
    pub(crate) egress_rules: usize,
}

impl EndpointSg {
    /// Only HTTPS from the VPC's own range comes in; nothing is opened outwards.
    pub(crate) fn vpc_https_only(&self, vpc_cidr: &str) -> bool {
        self.egress_rules == 0
            && self.ingress == [("tcp".to_string(), HTTPS, HTTPS, vpc_cidr.to_string())]
    }
}

/// The VPC's live transit gateway attachment, as EC2 reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ObservedTgwAttachment {
    pub(crate) id: String,
    pub(crate) transit_gateway_id: String,
    /// Sorted.
    pub(crate) subnet_ids: Vec<String>,
}

impl ObservedVpc {
    /// The tier whose subnets hold the transit gateway attachment, if any.
    pub(crate) fn attachment_tier(&self) -> Option<&str> {
        let a = self.transit_gateway_attachment.as_ref()?;
        self.subnets
            .iter()
            .find(|(_, by_zone)| by_zone.values().any(|(id, _, _)| a.subnet_ids.contains(id)))
            .map(|(tier, _)| tier.as_str())
    }

    /// The sorted ids of `tier`'s subnets in the zones `d` keeps (subnets of zones
    /// being removed are left out: they are deleted later in the same apply).
    pub(crate) fn tier_subnet_ids(&self, tier: &str, d: &DesiredVpc) -> Vec<String> {
        let keep = d.subnets.get(tier);
        let mut ids: Vec<String> = self
            .subnets
            .get(tier)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|(zone, _)| keep.is_some_and(|k| k.contains_key(*zone)))
            .map(|(_, (id, _, _))| id.clone())
            .collect();
        ids.sort();
        ids
    }
}

fn default_sg_closed(o: &ObservedVpc) -> Option<bool> {
    Some(o.default_sg_rules == 0)
}

fn flow_log_all(o: &ObservedVpc) -> Option<bool> {
    Some(
        o.flow_log
            .as_ref()
            .is_some_and(|(_, traffic, status, _)| traffic == "ALL" && status == "ACTIVE"),
    )
}

fn flow_log_encrypted_and_kept(o: &ObservedVpc) -> Option<bool> {
    let kept = match &o.log_group {
        Some((_, key, retention)) => key.is_some() && retention.is_some_and(|r| r >= 365),
        None => o
            .flow_log
            .as_ref()
            .is_some_and(|(_, _, _, dest)| dest.starts_with("arn:aws:s3")),
    };
    Some(flow_log_all(o)? && kept)
}

/// No ACL opens 22, 3389 or everything to the internet, every subnet uses its tier's ACL,
/// and the default ACL (where a subnet made outside the composite lands) has no entries.
fn nacls_closed_and_used(o: &ObservedVpc) -> Option<bool> {
    let closed = o.nacls.values().all(|(_, rules, _)| {
        rules.iter().all(|r| {
            r.egress
                || r.cidr != "0.0.0.0/0"
                || match (r.protocol.as_str(), r.ports) {
                    ("-1", _) => false,
                    (_, Some((a, b))) => !(a..=b).contains(&22) && !(a..=b).contains(&3389),
                    _ => true,
                }
        })
    });
    let used = o.subnets.iter().all(|(tier, by_zone)| {
        let assoc = o
            .nacls
            .get(tier)
            .map(|(_, _, a)| a.clone())
            .unwrap_or_default();
        by_zone.values().all(|(id, _, _)| assoc.contains(id))
    });
    Some(closed && used && o.default_acl.entries.is_empty())
}

fn no_public_ip_on_launch(o: &ObservedVpc) -> Option<bool> {
    Some(
        o.subnets
            .values()
            .flat_map(|m| m.values())
            .all(|(_, _, p)| !p),
    )
}

fn s3_endpoint(o: &ObservedVpc) -> Option<bool> {
    Some(o.endpoints.iter().any(|e| e == "s3"))
}

/// The policy of a gateway endpoint for `service`: principals of `account` (or of the
/// organization) only, and for S3 only buckets of the same account (or organization),
/// plus the buckets `d` lists. AWS's default is full access for anyone.
pub(crate) fn endpoint_policy(service: &str, account: &str, d: &DesiredVpc) -> serde_json::Value {
    use serde_json::json;
    let principals = match &d.endpoint_org_id {
        Some(org) => json!({"aws:PrincipalOrgID": org}),
        None => json!({"aws:PrincipalAccount": account}),
    };
    let mut statements = Vec::new();
    if service == "s3" {
        let own = match &d.endpoint_org_id {
            Some(org) => json!({"aws:PrincipalOrgID": org, "aws:ResourceOrgID": org}),
            None => json!({"aws:PrincipalAccount": account, "aws:ResourceAccount": account}),
        };
        statements.push(json!({
            "Sid": "OwnPrincipalsToOwnBuckets", "Effect": "Allow", "Principal": "*",
            "Action": "*", "Resource": "*", "Condition": {"StringEquals": own}}));
        if !d.endpoint_s3_buckets.is_empty() {
            let resources: Vec<String> = if d.endpoint_s3_buckets.iter().any(|b| b == "*") {
                vec!["*".into()]
            } else {
                d.endpoint_s3_buckets
                    .iter()
                    .flat_map(|b| [b.clone(), format!("{b}/*")])
                    .collect()
            };
            statements.push(json!({
                "Sid": "OwnPrincipalsToListedBuckets", "Effect": "Allow", "Principal": "*",
                "Action": "s3:*", "Resource": resources,
                "Condition": {"StringEquals": principals}}));
        }
    } else {
        statements.push(json!({
            "Sid": "OwnPrincipals", "Effect": "Allow", "Principal": "*",
            "Action": "*", "Resource": "*", "Condition": {"StringEquals": principals}}));
    }
    json!({"Version": "2008-10-17", "Statement": statements})
}

/// Every Allow statement of every endpoint's policy (gateway and interface) is
/// conditioned on the principal's account or organization.
fn endpoint_policies_scoped(o: &ObservedVpc) -> Option<bool> {
    Some(
        o.endpoints
            .iter()
            .chain(o.interface_endpoints.keys())
            .all(|svc| {
                let Some(doc) = o
                    .endpoint_policies
                    .get(svc)
                    .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
                else {
                    return false;
                };
                let statements = match &doc["Statement"] {
                    serde_json::Value::Array(a) => a.clone(),
                    one => vec![one.clone()],
                };
                statements
                    .iter()
                    .filter(|st| st["Effect"] == "Allow")
                    .all(|st| {
                        st["Condition"]
                            .as_object()
                            .into_iter()
                            .flat_map(|ops| ops.values())
                            .any(|keys| {
                                keys.get("aws:PrincipalAccount").is_some()
                                    || keys.get("aws:PrincipalOrgID").is_some()
                            })
                    })
            }),
    )
}

/// EC2's API is reached through an interface endpoint in the VPC.
fn ec2_endpoint(o: &ObservedVpc) -> Option<bool> {
    Some(o.interface_endpoints.contains_key("ec2"))
}

/// Every interface endpoint answers on private DNS, behind only the endpoints' group,
/// which admits HTTPS from the VPC's range and nothing else. Applies when there are any.
fn interface_endpoints_private(o: &ObservedVpc) -> Option<bool> {
    if o.interface_endpoints.is_empty() {
        return None;
    }
    let Some(sg) = &o.endpoint_sg else {
        return Some(false);
    };
    Some(
        sg.vpc_https_only(&o.cidr)
            && o.interface_endpoints
                .values()
                .all(|e| e.private_dns && e.security_group_ids == [sg.id.clone()]),
    )
}

fn restricted_isolated(o: &ObservedVpc) -> Option<bool> {
    Some(
        o.default_routes
            .get("restricted")
            .is_none_or(|m| m.values().all(Vec::is_empty)),
    )
}

/// The controls a hardened VPC promises, judged over what EC2, CloudWatch Logs and
/// IAM report.
pub(crate) const CONTROLS: &[Control<ObservedVpc>] = &[
    Control { id: "EC2.2", title: "The default security group has no rules.", evidence: "DescribeSecurityGroups (group-name=default)", judge: default_sg_closed },
    Control { id: "CIS 6.5", title: "The default security group has no rules.", evidence: "DescribeSecurityGroups (group-name=default)", judge: default_sg_closed },
    Control { id: "EC2.6", title: "A flow log records ALL traffic of the VPC and is active.", evidence: "DescribeFlowLogs (resource-id)", judge: flow_log_all },
    Control { id: "CIS 4.7", title: "EC2.6, and the flow logs are KMS-encrypted and kept at least 365 days (or go to S3).", evidence: "DescribeFlowLogs, DescribeLogGroups (kmsKeyId, retentionInDays)", judge: flow_log_encrypted_and_kept },
    Control { id: "EC2.21", title: "No network ACL opens 22, 3389 or all ports to 0.0.0.0/0, every subnet uses its tier's ACL, and the default ACL has no entries (deny all).", evidence: "DescribeNetworkAcls (entries, associations, default)", judge: nacls_closed_and_used },
    Control { id: "CIS 6.2", title: "As EC2.21.", evidence: "DescribeNetworkAcls (entries, associations, default)", judge: nacls_closed_and_used },
    Control { id: "EC2.15", title: "No subnet assigns public IPv4 addresses on launch.", evidence: "DescribeSubnets (MapPublicIpOnLaunch)", judge: no_public_ip_on_launch },
    Control { id: "CIS 6.8", title: "S3 is reached through a gateway endpoint, not the internet.", evidence: "DescribeVpcEndpoints (service-name)", judge: s3_endpoint },
    Control { id: "bank:endpoint-policies-scoped", title: "Every endpoint's policy (gateway and interface) admits only principals of this account (or the configured organization); the S3 endpoint only their buckets and those listed.", evidence: "DescribeVpcEndpoints (PolicyDocument)", judge: endpoint_policies_scoped },
    Control { id: "EC2.10", title: "EC2's API is reached through an interface endpoint in the VPC (`interface_endpoints` includes `ec2`).", evidence: "DescribeVpcEndpoints (service-name, type Interface)", judge: ec2_endpoint },
    Control { id: "bank:interface-endpoints-private", title: "Every interface endpoint has private DNS and only the endpoints' security group, which admits HTTPS from the VPC's range and opens nothing outwards (applies when `interface_endpoints` is set).", evidence: "DescribeVpcEndpoints (PrivateDnsEnabled, Groups); DescribeSecurityGroups (group-name)", judge: interface_endpoints_private },
    Control { id: "proj.restricted-isolation", title: "The restricted tier has no route to the internet.", evidence: "DescribeRouteTables (0.0.0.0/0 routes)", judge: restricted_isolated },
];

/// Whether each control holds, over what AWS reports.
pub(crate) fn compliance(o: &ObservedVpc) -> BTreeMap<String, bool> {
    controls::evaluate(CONTROLS, o)
}

/// What `compliance` must report for a VPC configured as `d`.
pub(crate) fn expected_compliance(d: &DesiredVpc) -> BTreeMap<String, bool> {
    let mut m: BTreeMap<String, bool> = [
        "EC2.2",
        "CIS 6.5",
        "EC2.6",
        "CIS 4.7",
        "EC2.21",
        "CIS 6.2",
        "EC2.15",
        "bank:endpoint-policies-scoped",
        "proj.restricted-isolation",
    ]
    .iter()
    .map(|k| (k.to_string(), true))
    .collect();
    m.insert("CIS 6.8".into(), d.endpoints.iter().any(|e| e == "s3"));
    m.insert(
        "EC2.10".into(),
        d.interface_endpoints.iter().any(|e| e == "ec2"),
    );
    if !d.interface_endpoints.is_empty() {
        m.insert("bank:interface-endpoints-private".into(), true);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredVpc {
        let cidr: Ipv4Net = "10.0.0.0/16".parse().unwrap();
        let zones = vec!["us-east-1a".to_string(), "us-east-1b".to_string()];
        let prefixes = subnet_plan::DEFAULT_PREFIXES
            .iter()
            .map(|(t, p)| (t.to_string(), *p))
            .collect();
        DesiredVpc {
            name: "n".into(),
            cidr,
            subnets: subnet_plan::plan(cidr, &zones, &prefixes).unwrap(),
            zones,
            nat_strategy: "one_per_az".into(),
            endpoints: vec!["s3".into()],
            interface_endpoints: vec![],
            endpoint_org_id: None,
            endpoint_s3_buckets: vec![],
            public_ports: vec![443],
            restricted_ports: vec![5432],
            flow_logs: FlowLogs {
                retention_days: 365,
                kms_key_arn: None,
                kms_key_managed: true,
                s3_bucket_arn: None,
                log_group_name: "g".into(),
            },
            transit_gateway: None,
            tags_all: BTreeMap::new(),
        }
    }

    #[test]
    fn interface_endpoints_are_private_only_behind_a_vpc_https_group() {
        let mut o = ObservedVpc {
            cidr: "10.0.0.0/16".into(),
            ..Default::default()
        };
        // No interface endpoints: EC2.10 is false and the group control does not apply.
        assert!(!compliance(&o)["EC2.10"]);
        assert!(!compliance(&o).contains_key("bank:interface-endpoints-private"));
        let ep = ObservedInterfaceEndpoint {
            id: "vpce-1".into(),
            subnet_ids: vec!["subnet-1".into()],
            security_group_ids: vec!["sg-1".into()],
            private_dns: true,
        };
        o.interface_endpoints.insert("ec2".into(), ep.clone());
        // An endpoint without its group observed cannot be judged private.
        assert!(!compliance(&o)["bank:interface-endpoints-private"]);
        o.endpoint_sg = Some(EndpointSg {
            id: "sg-1".into(),
            ingress: vec![("tcp".into(), 443, 443, "10.0.0.0/16".into())],
            egress_rules: 0,
        });
        assert!(compliance(&o)["EC2.10"]);
        assert!(compliance(&o)["bank:interface-endpoints-private"]);
        // Any egress rule, a wider source or private DNS off breaks it.
        o.endpoint_sg.as_mut().unwrap().egress_rules = 1;
        assert!(!compliance(&o)["bank:interface-endpoints-private"]);
        o.endpoint_sg.as_mut().unwrap().egress_rules = 0;
        o.endpoint_sg.as_mut().unwrap().ingress[0].3 = "0.0.0.0/0".into();
        assert!(!compliance(&o)["bank:interface-endpoints-private"]);
        o.endpoint_sg.as_mut().unwrap().ingress[0].3 = "10.0.0.0/16".into();
        o.interface_endpoints.get_mut("ec2").unwrap().private_dns = false;
        assert!(!compliance(&o)["bank:interface-endpoints-private"]);
        // Its policy counts in bank:endpoint-policies-scoped: missing, it is not scoped.
        assert!(!compliance(&o)["bank:endpoint-policies-scoped"]);
        o.endpoint_policies.insert(
            "ec2".into(),
            endpoint_policy("ec2", "123456789012", &desired()).to_string(),
        );
        assert!(compliance(&o)["bank:endpoint-policies-scoped"]);
    }

    #[test]
    fn endpoint_policies_admit_only_the_account_and_read_back_as_scoped() {
        let mut d = desired();
        let mut o = ObservedVpc {
            endpoints: vec!["dynamodb".into(), "s3".into()],
            ..Default::default()
        };
        for svc in ["dynamodb", "s3"] {
            o.endpoint_policies.insert(
                svc.into(),
                endpoint_policy(svc, "123456789012", &d).to_string(),
            );
        }
        assert!(compliance(&o)["bank:endpoint-policies-scoped"]);
        let s3 = endpoint_policy("s3", "123456789012", &d);
        assert_eq!(
            s3["Statement"][0]["Condition"]["StringEquals"]["aws:ResourceAccount"],
            "123456789012"
        );
        assert_eq!(s3["Statement"].as_array().unwrap().len(), 1);
        // Listed buckets: a second statement, still for the account's principals only.
        d.endpoint_s3_buckets = vec!["arn:aws:s3:::repo".into()];
        let s3 = endpoint_policy("s3", "123456789012", &d);
        assert_eq!(
            s3["Statement"][1]["Resource"],
            serde_json::json!(["arn:aws:s3:::repo", "arn:aws:s3:::repo/*"])
        );
        // The organization instead of the account.
        d.endpoint_org_id = Some("o-abcdefghij".into());
        let ddb = endpoint_policy("dynamodb", "123456789012", &d);
        assert_eq!(
            ddb["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
            "o-abcdefghij"
        );
        // AWS's default policy (anyone, anything) is not scoped; neither is a missing one.
        o.endpoint_policies.insert(
            "s3".into(),
            r#"{"Statement":[{"Action":"*","Effect":"Allow","Principal":"*","Resource":"*"}]}"#
                .into(),
        );
        assert!(!compliance(&o)["bank:endpoint-policies-scoped"]);
        o.endpoint_policies.remove("s3");
        assert!(!compliance(&o)["bank:endpoint-policies-scoped"]);
    }

    #[test]
    fn nacl_rules_never_open_ssh_or_rdp_to_the_internet() {
        let d = desired();
        let mut o = ObservedVpc::default();
        for t in TIERS {
            o.nacls
                .insert(t.to_string(), ("acl".into(), d.nacl_rules(t), vec![]));
        }
        assert!(compliance(&o)["EC2.21"]);
        let restricted = d.nacl_rules("restricted");
        assert!(
            restricted.iter().all(|r| r.cidr != "0.0.0.0/0"),
            "{restricted:?}"
        );
        assert_eq!(
            restricted.iter().filter(|r| !r.egress).count(),
            2,
            "one rule per private subnet"
        );
        let text: Vec<String> = d
            .nacl_rules("public")
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert!(
            text.contains(&"ingress 100 allow tcp 443 from 0.0.0.0/0".to_string()),
            "{text:?}"
        );
        // A rule opening everything to the internet fails the control.
        o.nacls
            .get_mut("public")
            .unwrap()
            .1
            .push(rule(false, 50, None, "0.0.0.0/0"));
        assert!(!compliance(&o)["EC2.21"]);
    }

    #[test]
    fn nat_strategy_picks_zones() {
        let mut d = desired();
        assert_eq!(d.nat_zones().len(), 2);
        d.nat_strategy = "single".into();
        assert_eq!(d.nat_zones(), vec!["us-east-1a".to_string()]);
        assert_eq!(d.nat_for("us-east-1b").as_deref(), Some("us-east-1a"));
        d.nat_strategy = "none".into();
        assert!(d.nat_for("us-east-1a").is_none());
    }
}
