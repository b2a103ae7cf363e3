//! EC2 and CloudWatch Logs readers for the hardened VPC tests: what a VPC
//! and its children look like, read back through the AWS API.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::Filter;

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
