//! EC2 and CloudWatch Logs readers for the hardened VPC tests: what a VPC
//! and its children look like, read back through the AWS API.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::Filter;

use super::sdk;

fn by_vpc(vpc_id: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc_id).build()
}

fn tag<'a>(tags: &'a [aws_sdk_ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Whether a VPC exists.
pub async fn vpc_exists(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<bool> {
    match ec2.describe_vpcs().vpc_ids(vpc_id).send().await {
        Ok(out) => Ok(!out.vpcs().is_empty()),
        Err(e) => {
            let text = aws_sdk_ec2::error::DisplayErrorContext(&e).to_string();
            if text.contains("NotFound") {
                Ok(false)
            } else {
                Err(e).context("DescribeVpcs")
            }
        }
    }
}

/// VPC ids tagged `Name = name`.
pub async fn vpcs_named(ec2: &aws_sdk_ec2::Client, name: &str) -> Result<Vec<String>> {
    let out = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("tag:Name").values(name).build())
        .send()
        .await
        .context("DescribeVpcs")?;
    Ok(out
        .vpcs()
        .iter()
        .filter_map(|v| v.vpc_id().map(str::to_string))
        .collect())
}

/// Subnets by (tier, zone) tag: (id, cidr, maps public ip).
pub async fn subnets(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<BTreeMap<(String, String), (String, String, bool)>> {
    let out = ec2
        .describe_subnets()
        .filters(by_vpc(vpc_id))
        .send()
        .await
        .context("DescribeSubnets")?;
    Ok(out
        .subnets()
        .iter()
        .filter_map(|s| {
            Some((
                (
                    tag(s.tags(), "bankplatform:tier")?.to_string(),
                    tag(s.tags(), "bankplatform:az")?.to_string(),
                ),
                (
                    s.subnet_id()?.to_string(),
                    s.cidr_block()?.to_string(),
                    s.map_public_ip_on_launch().unwrap_or(false),
                ),
            ))
        })
        .collect())
}

/// Default-route targets of each tagged route table: (tier, zone) → targets.
pub async fn default_routes(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<BTreeMap<(String, String), Vec<String>>> {
    let out = ec2
        .describe_route_tables()
        .filters(by_vpc(vpc_id))
        .send()
        .await
        .context("DescribeRouteTables")?;
    Ok(out
        .route_tables()
        .iter()
        .filter_map(|rt| {
            let key = (
                tag(rt.tags(), "bankplatform:tier")?.to_string(),
                tag(rt.tags(), "bankplatform:az")?.to_string(),
            );
            let targets = rt
                .routes()
                .iter()
                .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .filter_map(|r| r.gateway_id().or(r.nat_gateway_id()).map(str::to_string))
                .collect();
            Some((key, targets))
        })
        .collect())
}

/// Rules (ingress allow) of each tier's network ACL: tier → [(cidr, from, to)].
pub async fn nacl_ingress(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<BTreeMap<String, Vec<(String, i32, i32)>>> {
    let out = ec2
        .describe_network_acls()
        .filters(by_vpc(vpc_id))
        .send()
        .await
        .context("DescribeNetworkAcls")?;
    Ok(out
        .network_acls()
        .iter()
        .filter_map(|a| {
            let tier = tag(a.tags(), "bankplatform:tier")?.to_string();
            let rules = a
                .entries()
                .iter()
                .filter(|e| e.egress() == Some(false) && e.rule_number().is_some_and(|n| n < 32767))
                .map(|e| {
                    let (from, to) = e
                        .port_range()
                        .map(|p| (p.from().unwrap_or(0), p.to().unwrap_or(65535)))
                        .unwrap_or((0, 65535));
                    (e.cidr_block().unwrap_or_default().to_string(), from, to)
                })
                .collect();
            Some((tier, rules))
        })
        .collect())
}

/// The VPC's default security group.
async fn default_sg(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<aws_sdk_ec2::types::SecurityGroup> {
    let out = ec2
        .describe_security_groups()
        .filters(by_vpc(vpc_id))
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .context("DescribeSecurityGroups")?;
    out.security_groups()
        .first()
        .cloned()
        .context("no default security group")
}

/// An interface endpoint as EC2 reports it.
#[derive(Debug, Clone)]
pub struct InterfaceEndpoint {
    pub id: String,
    pub private_dns: bool,
    /// Sorted.
    pub subnet_ids: Vec<String>,
    pub group_ids: Vec<String>,
    pub policy: serde_json::Value,
}

/// The VPC's live interface endpoints, by service short name (`ec2`, `ecr.api`).
pub async fn interface_endpoints(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<BTreeMap<String, InterfaceEndpoint>> {
    let out = ec2
        .describe_vpc_endpoints()
        .filters(by_vpc(vpc_id))
        .filters(
            Filter::builder()
                .name("vpc-endpoint-type")
                .values("Interface")
                .build(),
        )
        .send()
        .await
        .map_err(|x| sdk("DescribeVpcEndpoints", x))?;
    let mut found = BTreeMap::new();
    // EC2 answers endpoint states in lower case, which the SDK's enum does not match.
    for ep in out.vpc_endpoints().iter().filter(|e| {
        !e.state().is_some_and(|s| {
            s.as_str().eq_ignore_ascii_case("deleted")
                || s.as_str().eq_ignore_ascii_case("deleting")
        })
    }) {
        let name = ep.service_name().unwrap_or_default();
        // com.amazonaws.<region>.<service>
        let service = name.splitn(4, '.').nth(3).unwrap_or(name).to_string();
        let mut subnet_ids = ep.subnet_ids().to_vec();
        subnet_ids.sort();
        found.insert(
            service,
            InterfaceEndpoint {
                id: ep.vpc_endpoint_id().unwrap_or_default().to_string(),
                private_dns: ep.private_dns_enabled() == Some(true),
                subnet_ids,
                group_ids: ep
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect(),
                policy: serde_json::from_str(ep.policy_document().unwrap_or("null"))
                    .context("the endpoint policy is not JSON")?,
            },
        );
    }
    Ok(found)
}

/// A security group's rules: ingress as (protocol, from, to, source CIDR), and the
/// number of egress rules. `None` when the VPC has no group of that name.
pub async fn group_rules(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
    name: &str,
) -> Result<Option<(String, Vec<(String, i32, i32, String)>, usize)>> {
    let out = ec2
        .describe_security_groups()
        .filters(by_vpc(vpc_id))
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .map_err(|x| sdk("DescribeSecurityGroups", x))?;
    Ok(out.security_groups().first().map(|g| {
        // Every source counts: IPv4 and IPv6 ranges, other groups, prefix lists.
        let ingress = g
            .ip_permissions()
            .iter()
            .flat_map(|p| {
                let sources = p
                    .ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip())
                    .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
                    .chain(p.user_id_group_pairs().iter().filter_map(|g| g.group_id()))
                    .chain(
                        p.prefix_list_ids()
                            .iter()
                            .filter_map(|l| l.prefix_list_id()),
                    );
                sources.map(|src| {
                    (
                        p.ip_protocol().unwrap_or_default().to_string(),
                        p.from_port().unwrap_or(-1),
                        p.to_port().unwrap_or(-1),
                        src.to_string(),
                    )
                })
            })
            .collect();
        (
            g.group_id().unwrap_or_default().to_string(),
            ingress,
            g.ip_permissions_egress().len(),
        )
    }))
}

/// Opens `port` to the internet on a security group, behind Terraform's back.
pub async fn open_group(ec2: &aws_sdk_ec2::Client, group_id: &str, port: i32) -> Result<()> {
    ec2.authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|x| sdk("AuthorizeSecurityGroupIngress", x))?;
    Ok(())
}

/// Number of rules (ingress + egress) on the VPC's default security group.
pub async fn default_sg_rules(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<usize> {
    let sg = default_sg(ec2, vpc_id).await?;
    Ok(sg.ip_permissions().len() + sg.ip_permissions_egress().len())
}

/// The default security group's id.
pub async fn default_sg_id(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<String> {
    default_sg(ec2, vpc_id)
        .await?
        .group_id()
        .map(str::to_string)
        .context("the default security group has no id")
}

/// The VPC's flow logs: (id, traffic type, status, log group or destination).
pub async fn flow_logs(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<Vec<(String, String, String, String)>> {
    let out = ec2
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(vpc_id).build())
        .send()
        .await
        .context("DescribeFlowLogs")?;
    Ok(out
        .flow_logs()
        .iter()
        .map(|f| {
            (
                f.flow_log_id().unwrap_or_default().to_string(),
                f.traffic_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                f.flow_log_status().unwrap_or_default().to_string(),
                f.log_group_name()
                    .or(f.log_destination())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect())
}

/// A log group's KMS key and retention, or None when absent.
pub async fn log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
) -> Result<Option<(Option<String>, Option<i32>)>> {
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .context("DescribeLogGroups")?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| (g.kms_key_id().map(str::to_string), g.retention_in_days())))
}

/// NAT gateways that are not deleted: zone tag → id.
pub async fn nat_gateways(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<BTreeMap<String, String>> {
    let out = ec2
        .describe_nat_gateways()
        .filter(by_vpc(vpc_id))
        .send()
        .await
        .context("DescribeNatGateways")?;
    Ok(out
        .nat_gateways()
        .iter()
        .filter(|n| {
            !matches!(
                n.state(),
                Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                    | Some(aws_sdk_ec2::types::NatGatewayState::Deleting)
            )
        })
        .filter_map(|n| {
            Some((
                tag(n.tags(), "bankplatform:az")?.to_string(),
                n.nat_gateway_id()?.to_string(),
            ))
        })
        .collect())
}

/// Elastic IPs tagged for a VPC name (`bankplatform:vpc`).
pub async fn addresses_for(ec2: &aws_sdk_ec2::Client, name: &str) -> Result<Vec<String>> {
    let out = ec2
        .describe_addresses()
        .filters(
            Filter::builder()
                .name("tag:bankplatform:vpc")
                .values(name)
                .build(),
        )
        .send()
        .await
        .context("DescribeAddresses")?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|a| a.allocation_id().map(str::to_string))
        .collect())
}

/// The VPC's transit gateway attachments that are not deleted: (attachment id, transit
/// gateway id, sorted subnet ids).
pub async fn tgw_attachments(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: &str,
) -> Result<Vec<(String, String, Vec<String>)>> {
    let out = ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(by_vpc(vpc_id))
        .send()
        .await
        .context("DescribeTransitGatewayVpcAttachments")?;
    Ok(out
        .transit_gateway_vpc_attachments()
        .iter()
        .filter(|a| {
            !matches!(
                a.state(),
                Some(aws_sdk_ec2::types::TransitGatewayAttachmentState::Deleted)
                    | Some(aws_sdk_ec2::types::TransitGatewayAttachmentState::Deleting)
            )
        })
        .map(|a| {
            let mut subnets = a.subnet_ids().to_vec();
            subnets.sort();
            (
                a.transit_gateway_attachment_id()
                    .unwrap_or_default()
                    .to_string(),
                a.transit_gateway_id().unwrap_or_default().to_string(),
                subnets,
            )
        })
        .collect())
}

/// Deletes a hardened VPC and everything it owns behind Terraform's back, as an
/// operator with the console would: flow log, endpoints, NAT gateways and their
/// addresses, internet gateway, route tables, subnets, network ACLs, the VPC, and
/// outside it the flow-log group, role and key (scheduled for deletion).
pub async fn delete_vpc_everything(aws: &crate::Aws, vpc_id: &str) -> Result<()> {
    let e = aws.ec2();
    let by_vpc = || Filter::builder().name("vpc-id").values(vpc_id).build();
    let flows = e
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(vpc_id).build())
        .send()
        .await
        .map_err(|x| sdk("DescribeFlowLogs", x))?;
    for f in flows.flow_logs() {
        e.delete_flow_logs()
            .flow_log_ids(f.flow_log_id().unwrap_or_default())
            .send()
            .await
            .map_err(|x| sdk("DeleteFlowLogs", x))?;
    }
    let eps = e
        .describe_vpc_endpoints()
        .filters(by_vpc())
        .send()
        .await
        .map_err(|x| sdk("DescribeVpcEndpoints", x))?;
    for ep in eps.vpc_endpoints() {
        let id = ep.vpc_endpoint_id().unwrap_or_default();
        if !ep.route_table_ids().is_empty() {
            e.modify_vpc_endpoint()
                .vpc_endpoint_id(id)
                .set_remove_route_table_ids(Some(ep.route_table_ids().to_vec()))
                .send()
                .await
                .map_err(|x| sdk("ModifyVpcEndpoint", x))?;
        }
        e.delete_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
            .map_err(|x| sdk("DeleteVpcEndpoints", x))?;
    }
    let nats = e
        .describe_nat_gateways()
        .filter(by_vpc())
        .send()
        .await
        .map_err(|x| sdk("DescribeNatGateways", x))?;
    for n in nats.nat_gateways() {
        e.delete_nat_gateway()
            .nat_gateway_id(n.nat_gateway_id().unwrap_or_default())
            .send()
            .await
            .map_err(|x| sdk("DeleteNatGateway", x))?;
        for a in n.nat_gateway_addresses() {
            if let Some(alloc) = a.allocation_id() {
                e.release_address()
                    .allocation_id(alloc)
                    .send()
                    .await
                    .map_err(|x| sdk("ReleaseAddress", x))?;
            }
        }
    }
    let igws = e
        .describe_internet_gateways()
        .filters(
            Filter::builder()
                .name("attachment.vpc-id")
                .values(vpc_id)
                .build(),
        )
        .send()
        .await
        .map_err(|x| sdk("DescribeInternetGateways", x))?;
    for g in igws.internet_gateways() {
        let id = g.internet_gateway_id().unwrap_or_default();
        e.detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc_id)
            .send()
            .await
            .map_err(|x| sdk("DetachInternetGateway", x))?;
        e.delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
            .map_err(|x| sdk("DeleteInternetGateway", x))?;
    }
    let rts = e
        .describe_route_tables()
        .filters(by_vpc())
        .send()
        .await
        .map_err(|x| sdk("DescribeRouteTables", x))?;
    for rt in rts.route_tables() {
        if rt.associations().iter().any(|a| a.main() == Some(true)) {
            continue;
        }
        for a in rt.associations() {
            if let Some(id) = a.route_table_association_id() {
                e.disassociate_route_table()
                    .association_id(id)
                    .send()
                    .await
                    .map_err(|x| sdk("DisassociateRouteTable", x))?;
            }
        }
        e.delete_route_table()
            .route_table_id(rt.route_table_id().unwrap_or_default())
            .send()
            .await
            .map_err(|x| sdk("DeleteRouteTable", x))?;
    }
    // Subnets back on the default ACL (moto keeps a deleted subnet's association).
    let acls = e
        .describe_network_acls()
        .filters(by_vpc())
        .send()
        .await
        .map_err(|x| sdk("DescribeNetworkAcls", x))?;
    let default = acls
        .network_acls()
        .iter()
        .find(|a| a.is_default() == Some(true))
        .and_then(|a| a.network_acl_id())
        .unwrap_or_default()
        .to_string();
    for acl in acls
        .network_acls()
        .iter()
        .filter(|a| a.is_default() != Some(true))
    {
        for a in acl.associations() {
            if let Some(id) = a.network_acl_association_id() {
                e.replace_network_acl_association()
                    .association_id(id)
                    .network_acl_id(&default)
                    .send()
                    .await
                    .map_err(|x| sdk("ReplaceNetworkAclAssociation", x))?;
            }
        }
    }
    let subnets = e
        .describe_subnets()
        .filters(by_vpc())
        .send()
        .await
        .map_err(|x| sdk("DescribeSubnets", x))?;
    for s in subnets.subnets() {
        e.delete_subnet()
            .subnet_id(s.subnet_id().unwrap_or_default())
            .send()
            .await
            .map_err(|x| sdk("DeleteSubnet", x))?;
    }
    for acl in acls
        .network_acls()
        .iter()
        .filter(|a| a.is_default() != Some(true))
    {
        e.delete_network_acl()
            .network_acl_id(acl.network_acl_id().unwrap_or_default())
            .send()
            .await
            .map_err(|x| sdk("DeleteNetworkAcl", x))?;
    }
    // Groups besides the default one (the interface endpoints' group).
    let groups = e
        .describe_security_groups()
        .filters(by_vpc())
        .send()
        .await
        .map_err(|x| sdk("DescribeSecurityGroups", x))?;
    for g in groups
        .security_groups()
        .iter()
        .filter(|g| g.group_name() != Some("default"))
    {
        e.delete_security_group()
            .group_id(g.group_id().unwrap_or_default())
            .send()
            .await
            .map_err(|x| sdk("DeleteSecurityGroup", x))?;
    }
    e.delete_vpc()
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(|x| sdk("DeleteVpc", x))?;
    // Outside the VPC, named after it.
    let _ = aws
        .logs()
        .delete_log_group()
        .log_group_name(format!("/bankplatform/vpc-flow-logs/{vpc_id}"))
        .send()
        .await;
    let role = format!("bankplatform-vpc-flow-logs-{vpc_id}");
    let _ = aws
        .iam()
        .delete_role_policy()
        .role_name(&role)
        .policy_name("flow-logs")
        .send()
        .await;
    let _ = aws.iam().delete_role().role_name(&role).send().await;
    let alias = format!("alias/bankplatform/vpc-flow-logs/{vpc_id}");
    if let Ok(k) = aws.kms().describe_key().key_id(&alias).send().await {
        if let Some(id) = k.key_metadata().map(|m| m.key_id()) {
            let _ = aws.kms().delete_alias().alias_name(&alias).send().await;
            aws.kms()
                .schedule_key_deletion()
                .key_id(id)
                .pending_window_in_days(7)
                .send()
                .await
                .map_err(|x| sdk("ScheduleKeyDeletion", x))?;
        }
    }
    Ok(())
}

/// Opens `port` to the internet on the VPC's default security group, behind
/// Terraform's back (breaks EC2.2 / CIS 6.5).
pub async fn open_default_sg(ec2: &aws_sdk_ec2::Client, vpc_id: &str, port: i32) -> Result<()> {
    let sg = default_sg_id(ec2, vpc_id).await?;
    open_group(ec2, &sg, port).await
}
