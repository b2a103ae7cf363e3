//! Reads the VPC and every child kind in one filtered call each, concurrently.

use super::*;

/// The short name of an AWS endpoint service (`ec2`, `ecr.api`) from its full name
/// (`com.amazonaws.<region>.ecr.api`).
fn service_of<'a>(name: &'a str, region: &str) -> Option<&'a str> {
    name.strip_prefix("com.amazonaws.")?
        .strip_prefix(region)?
        .strip_prefix('.')
}

/// Reads the VPC and every child, concurrently. `Ok(None)` when the VPC is gone.
pub(crate) async fn observe(c: &Clients, vpc_id: &str) -> Result<Option<ObservedVpc>, String> {
    let Some(vpc) = vpc_exists(c, vpc_id).await? else {
        return Ok(None);
    };
    let ec2 = &c.ec2;
    let by_vpc = || filter("vpc-id", vpc_id);
    let (subnets, rts, nats, igws, acls, sgs, flows, endpoints, tgw, lg) = tokio::join!(
        ec2.describe_subnets().filters(by_vpc()).send(),
        ec2.describe_route_tables().filters(by_vpc()).send(),
        ec2.describe_nat_gateways().filter(by_vpc()).send(),
        ec2.describe_internet_gateways()
            .filters(filter("attachment.vpc-id", vpc_id))
            .send(),
        ec2.describe_network_acls().filters(by_vpc()).send(),
        ec2.describe_security_groups()
            .filters(by_vpc())
            .filters(
                t::Filter::builder()
                    .name("group-name")
                    .values("default")
                    .values(ENDPOINT_SG_NAME)
                    .build()
            )
            .send(),
        ec2.describe_flow_logs()
            .filter(filter("resource-id", vpc_id))
            .send(),
        ec2.describe_vpc_endpoints().filters(by_vpc()).send(),
        ec2.describe_transit_gateway_vpc_attachments()
            .filters(by_vpc())
            .send(),
        c.logs
            .describe_log_groups()
            .log_group_name_prefix(log_group_name(vpc_id))
            .send(),
    );
    let e = |what: &str| {
        let what = what.to_string();
        move |x: String| format!("reading {what} of VPC ({vpc_id}): {x}")
    };
    let mut o = ObservedVpc {
        vpc_id: vpc_id.to_string(),
        cidr: vpc.cidr_block().unwrap_or_default().to_string(),
        tags: vpc
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        ..Default::default()
    };
    for s in subnets
        .map_err(|x| error_message(&x))
        .map_err(e("subnets"))?
        .subnets()
    {
        if let (Some(tier), Some(zone)) = (tag_of(s.tags(), TIER_TAG), tag_of(s.tags(), AZ_TAG)) {
            o.subnets.entry(tier.to_string()).or_default().insert(
                zone.to_string(),
                (
                    s.subnet_id().unwrap_or_default().to_string(),
                    s.cidr_block().unwrap_or_default().to_string(),
                    s.map_public_ip_on_launch().unwrap_or(false),
                ),
            );
        }
    }
    for rt in rts
        .map_err(|x| error_message(&x))
        .map_err(e("route tables"))?
        .route_tables()
    {
        if let (Some(tier), Some(zone)) = (tag_of(rt.tags(), TIER_TAG), tag_of(rt.tags(), AZ_TAG)) {
            let id = rt.route_table_id().unwrap_or_default().to_string();
            o.route_table_subnets.insert(
                id.clone(),
                rt.associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
            );
            o.route_tables
                .entry(tier.to_string())
                .or_default()
                .insert(zone.to_string(), id);
            let defaults: Vec<String> = rt
                .routes()
                .iter()
                .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .filter_map(|r| {
                    r.gateway_id()
                        .or(r.nat_gateway_id())
                        .or(r.transit_gateway_id())
                        .map(str::to_string)
                })
                .collect();
            o.default_routes
                .entry(tier.to_string())
                .or_default()
                .insert(zone.to_string(), defaults);
        }
    }
    for n in nats
        .map_err(|x| error_message(&x))
        .map_err(e("NAT gateways"))?
        .nat_gateways()
    {
        let live = matches!(
            n.state(),
            Some(t::NatGatewayState::Available) | Some(t::NatGatewayState::Pending)
        );
        if let (true, Some(zone)) = (live, tag_of(n.tags(), AZ_TAG)) {
            o.nat_gateways.insert(
                zone.to_string(),
                n.nat_gateway_id().unwrap_or_default().to_string(),
            );
        }
    }
    o.internet_gateway = igws
        .map_err(|x| error_message(&x))
        .map_err(e("internet gateways"))?
        .internet_gateways()
        .first()
        .and_then(|g| g.internet_gateway_id().map(str::to_string));
    for acl in acls
        .map_err(|x| error_message(&x))
        .map_err(e("network ACLs"))?
        .network_acls()
    {
        if acl.is_default() == Some(true) {
            o.default_acl = DefaultAcl {
                id: acl.network_acl_id().unwrap_or_default().to_string(),
                entries: acl
                    .entries()
                    .iter()
                    .filter_map(|x| Some((x.rule_number().filter(|n| *n < 32767)?, x.egress()?)))
                    .collect(),
            };
            continue;
        }
        let Some(tier) = tag_of(acl.tags(), TIER_TAG) else {
            continue;
        };
        let rules = acl
            .entries()
            .iter()
            .filter(|x| {
                x.rule_number().is_some_and(|n| n < 32767)
                    && x.rule_action() == Some(&t::RuleAction::Allow)
            })
            .map(|x| NaclRule {
                egress: x.egress().unwrap_or(false),
                number: x.rule_number().unwrap_or_default(),
                protocol: x.protocol().unwrap_or("-1").to_string(),
                cidr: x.cidr_block().unwrap_or_default().to_string(),
                ports: x
                    .port_range()
                    .and_then(|p| Some((p.from()?, p.to()?)))
                    .filter(|_| x.protocol() != Some("-1")),
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let assoc = acl
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect();
        o.nacls.insert(
            tier.to_string(),
            (
                acl.network_acl_id().unwrap_or_default().to_string(),
                rules,
                assoc,
            ),
        );
    }
    for sg in sgs
        .map_err(|x| error_message(&x))
        .map_err(e("the default and endpoints security groups"))?
        .security_groups()
    {
        if sg.group_name() == Some("default") {
            o.default_sg_rules = sg.ip_permissions().len() + sg.ip_permissions_egress().len();
        } else {
            o.endpoint_sg = Some(EndpointSg {
                id: sg.group_id().unwrap_or_default().to_string(),
                ingress: sg
                    .ip_permissions()
                    .iter()
                    .flat_map(|p| {
                        let proto = p.ip_protocol().unwrap_or_default().to_string();
                        let (from, to) = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
                        let mut sources: Vec<String> = p
                            .ip_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ip().map(str::to_string))
                            .collect();
                        // Group, IPv6 and prefix-list sources count as rules too (never the VPC's range).
                        sources.extend(
                            p.user_id_group_pairs()
                                .iter()
                                .filter_map(|g| g.group_id().map(str::to_string)),
                        );
                        sources.extend(
                            p.ipv6_ranges()
                                .iter()
                                .filter_map(|r| r.cidr_ipv6().map(str::to_string)),
                        );
                        sources.extend(
                            p.prefix_list_ids()
                                .iter()
                                .filter_map(|l| l.prefix_list_id().map(str::to_string)),
                        );
                        sources
                            .into_iter()
                            .map(move |src| (proto.clone(), from, to, src))
                    })
                    .collect(),
                egress_rules: sg.ip_permissions_egress().len(),
            });
        }
    }
    if let Some(f) = flows
        .map_err(|x| error_message(&x))
        .map_err(e("flow logs"))?
        .flow_logs()
        .first()
    {
        o.flow_log = Some((
            f.flow_log_id().unwrap_or_default().to_string(),
            f.traffic_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            f.flow_log_status().unwrap_or_default().to_string(),
            f.log_destination()
                .or(f.log_group_name())
                .unwrap_or_default()
                .to_string(),
        ));
    }
    for ep in endpoints
        .map_err(|x| error_message(&x))
        .map_err(e("endpoints"))?
        .vpc_endpoints()
        .iter()
        .filter(|ep| !endpoint_leaving(ep))
    {
        let Some(svc) = ep.service_name().and_then(|s| service_of(s, &c.region)) else {
            continue;
        };
        if ep.vpc_endpoint_type() == Some(&t::VpcEndpointType::Interface) {
            let mut subnet_ids = ep.subnet_ids().to_vec();
            subnet_ids.sort();
            let mut security_group_ids: Vec<String> = ep
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect();
            security_group_ids.sort();
            o.interface_endpoints.insert(
                svc.to_string(),
                ObservedInterfaceEndpoint {
                    id: ep.vpc_endpoint_id().unwrap_or_default().to_string(),
                    subnet_ids,
                    security_group_ids,
                    private_dns: ep.private_dns_enabled() == Some(true),
                },
            );
        } else {
            o.endpoints.push(svc.to_string());
        }
        if let Some(doc) = ep.policy_document() {
            o.endpoint_policies.insert(svc.to_string(), doc.to_string());
        }
    }
    o.endpoints.sort();
    o.transit_gateway_attachment = tgw
        .map_err(|x| error_message(&x))
        .map_err(e("transit gateway attachments"))?
        .transit_gateway_vpc_attachments()
        .iter()
        // Only the attachment this resource made (tagged with the network's name): the
        // VPC may also be attached elsewhere by other configurations. Failed and rejected
        // attachments count as absent, so the next apply makes a new one.
        .find(|a| {
            a.tags().iter().any(|t| t.key() == Some(VPC_TAG))
                && !matches!(
                    a.state(),
                    Some(
                        t::TransitGatewayAttachmentState::Deleted
                            | t::TransitGatewayAttachmentState::Deleting
                            | t::TransitGatewayAttachmentState::Failed
                            | t::TransitGatewayAttachmentState::Rejected
                    )
                )
        })
        .and_then(|a| {
            let mut subnet_ids: Vec<String> = a.subnet_ids().to_vec();
            subnet_ids.sort();
            Some(ObservedTgwAttachment {
                id: a.transit_gateway_attachment_id()?.to_string(),
                transit_gateway_id: a.transit_gateway_id().unwrap_or_default().to_string(),
                subnet_ids,
            })
        });
    match lg {
        Ok(out) => {
            o.log_group = out
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(log_group_name(vpc_id).as_str()))
                .map(|g| {
                    (
                        log_group_name(vpc_id),
                        g.kms_key_id().map(str::to_string),
                        g.retention_in_days(),
                    )
                });
        }
        Err(x) => {
            return Err(format!(
                "reading the flow-log group of VPC ({vpc_id}): {}",
                error_message(&x)
            ))
        }
    }
    Ok(Some(o))
}
