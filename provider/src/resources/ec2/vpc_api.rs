//! The EC2, CloudWatch Logs, IAM and KMS calls behind
//! `bankplatform_hardened_vpc`. The heart is [`converge`]: it reads what
//! exists in the VPC and creates, fixes or removes children until they match
//! the desired layout. Create, update, drift repair and the retry after a
//! failed apply all go through it, so there is one path to get right.
//! Children are found by their tags (tier and zone), never by list position.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_ec2::types as t;
use futures::future::join_all;

use super::vpc_model::{
    compliance, DesiredVpc, NaclRule, ObservedTgwAttachment, ObservedVpc, AZ_TAG, TIER_TAG, VPC_TAG,
};
use crate::aws::{error_code, error_message, is_not_found, Clients};
use crate::resources::kit::calls::{
    backoff, create_once, no_retries, outcome, pause, GoneIsDone, Outcome,
};
use crate::resources::kit::ownership::{CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kms::managed_key;

type Fut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

/// How long to wait for a NAT gateway to become available or deleted.
const NAT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a transit gateway attachment may take to settle.
const TGW_ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(900);

fn tag(k: &str, v: &str) -> t::Tag {
    t::Tag::builder().key(k).value(v).build()
}

fn filter(name: &str, value: &str) -> t::Filter {
    t::Filter::builder().name(name).values(value).build()
}

/// Tags for a child: the VPC's tags, its Name, and its tier and zone.
fn child_tags(d: &DesiredVpc, name: String, tier: Option<&str>, zone: Option<&str>) -> Vec<t::Tag> {
    let mut tags: Vec<t::Tag> = d.tags_all.iter().map(|(k, v)| tag(k, v)).collect();
    tags.push(tag("Name", &name));
    tags.push(tag(VPC_TAG, &d.name));
    if let Some(tier) = tier {
        tags.push(tag(TIER_TAG, tier));
    }
    if let Some(zone) = zone {
        tags.push(tag(AZ_TAG, zone));
    }
    tags
}

fn spec(rt: t::ResourceType, tags: Vec<t::Tag>) -> t::TagSpecification {
    t::TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags))
        .build()
}

/// EC2 configuration for one call that [`create_once`] retries itself.
fn once() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::new().retry_config(no_retries())
}

/// The id of the first object a Describe call returned, for [`create_once`] lookups.
fn first_id<T>(items: &[T], id: impl Fn(&T) -> Option<&str>) -> Option<String> {
    items.iter().find_map(|x| id(x).map(str::to_string))
}

fn tag_of<'a>(tags: &'a [t::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

fn err(what: String) -> impl FnOnce(String) -> String {
    move |e| format!("{what}: {e}")
}

/// The log group of a VPC's flow logs.
pub(super) fn log_group_name(vpc_id: &str) -> String {
    format!("/bankplatform/vpc-flow-logs/{vpc_id}")
}

/// The IAM role flow logs deliver with.
pub(super) fn flow_log_role_name(vpc_id: &str) -> String {
    format!("bankplatform-vpc-flow-logs-{vpc_id}")
}

/// The alias of the flow-log key this resource creates.
pub(super) fn key_alias(vpc_id: &str) -> String {
    format!("alias/bankplatform/vpc-flow-logs/{vpc_id}")
}

/// Zones of the region, sorted (DescribeAvailabilityZones, available only).
pub(super) async fn region_zones(c: &Clients) -> Result<Vec<String>, String> {
    let out = c
        .ec2
        .describe_availability_zones()
        .filters(filter("state", "available"))
        .send()
        .await
        .map_err(|e| {
            format!(
                "listing availability zones of {}: {}",
                c.region,
                error_message(&e)
            )
        })?;
    let mut zones: Vec<String> = out
        .availability_zones()
        .iter()
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    zones.sort();
    Ok(zones)
}

/// The VPC an interrupted create of this composite left: its name and CIDR, still
/// marked `creating` (see `kit::ownership`). A finished VPC of the same name (marked
/// `created`, e.g. the one a create-before-destroy replaces) is never taken.
async fn unfinished_vpc(c: &Clients, d: &DesiredVpc) -> Result<Option<String>, String> {
    let out = c
        .ec2
        .describe_vpcs()
        .filters(filter(&format!("tag:{VPC_TAG}"), &d.name))
        .filters(filter(&format!("tag:{LIFECYCLE_TAG}"), CREATING))
        .send()
        .await
        .map_err(|e| format!("looking for VPC ({}): {}", d.name, error_message(&e)))?;
    let cidr = d.cidr.to_string();
    Ok(out
        .vpcs()
        .iter()
        .filter(|v| v.cidr_block() == Some(cidr.as_str()))
        .find_map(|v| v.vpc_id().map(str::to_string)))
}

/// Creates the VPC, tagged with its name and the `creating` marker in the same call,
/// or continues from the one an interrupted create left. Returns its id and whether
/// it was adopted.
pub(super) async fn create_vpc(c: &Clients, d: &DesiredVpc) -> Result<(String, bool), String> {
    if let Some(id) = unfinished_vpc(c, d).await? {
        tracing::info!(vpc = %id, name = %d.name, "continuing the VPC an interrupted create left");
        return Ok((id, true));
    }
    let mut tags = child_tags(d, d.name.clone(), None, None);
    tags.push(tag(LIFECYCLE_TAG, CREATING));
    let id = create_once(
        c,
        &format!("creating VPC ({})", d.name),
        || async {
            let out = c
                .ec2
                .create_vpc()
                .cidr_block(d.cidr.to_string())
                .tag_specifications(spec(t::ResourceType::Vpc, tags.clone()))
                .customize()
                .config_override(once())
                .send()
                .await?;
            Ok(out.vpc().and_then(|v| v.vpc_id()).map(str::to_string))
        },
        || unfinished_vpc(c, d),
    )
    .await?;
    Ok((id, false))
}

/// Marks a VPC whose create finished: it is never adopted by another create.
pub(super) async fn mark_created(c: &Clients, vpc_id: &str) -> Result<(), String> {
    c.ec2
        .create_tags()
        .resources(vpc_id)
        .tags(tag(LIFECYCLE_TAG, CREATED))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("marking VPC ({vpc_id}) as created: {}", error_message(&e)))
}

/// Whether the VPC exists.
pub(super) async fn vpc_exists(c: &Clients, vpc_id: &str) -> Result<Option<t::Vpc>, String> {
    match c.ec2.describe_vpcs().vpc_ids(vpc_id).send().await {
        Ok(out) => Ok(out.vpcs().first().cloned()),
        Err(e) if is_not_found(&e) || error_code(&e).is_some_and(|c| c.contains("NotFound")) => {
            Ok(None)
        }
        Err(e) => Err(format!("reading VPC ({vpc_id}): {}", error_message(&e))),
    }
}

/// Reads the VPC and every child, concurrently. `Ok(None)` when the VPC is gone.
pub(super) async fn observe(c: &Clients, vpc_id: &str) -> Result<Option<ObservedVpc>, String> {
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
            .filters(filter("group-name", "default"))
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
    if let Some(sg) = sgs
        .map_err(|x| error_message(&x))
        .map_err(e("the default security group"))?
        .security_groups()
        .first()
    {
        o.default_sg_rules = sg.ip_permissions().len() + sg.ip_permissions_egress().len();
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
    o.endpoints = endpoints
        .map_err(|x| error_message(&x))
        .map_err(e("endpoints"))?
        .vpc_endpoints()
        .iter()
        .filter(|ep| {
            !matches!(
                ep.state(),
                Some(t::State::Deleted) | Some(t::State::Deleting)
            )
        })
        .filter_map(|ep| {
            ep.service_name()
                .and_then(|s| s.rsplit('.').next())
                .map(str::to_string)
        })
        .collect();
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

/// The successes and the failures of concurrent jobs.
fn split_results<T>(results: Vec<Result<T, String>>) -> (Vec<T>, Vec<String>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}

/// `value` when nothing failed, else every failure.
fn all_or_errors<T>(value: T, errors: Vec<String>) -> Result<T, Vec<String>> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

pub(super) use crate::resources::kit::INTERRUPTED;

/// `Err` once StopProvider was received: converge stops between phases (each phase's
/// calls are short), leaving what exists for the next apply to continue from.
fn interrupted(c: &Clients) -> Result<(), Vec<String>> {
    if c.stop.is_stopped() {
        Err(vec![format!(
            "{INTERRUPTED} before the VPC's children were complete"
        )])
    } else {
        Ok(())
    }
}

/// Makes the VPC's children match `d`. Returns every failure.
pub(super) async fn converge(c: &Clients, vpc_id: &str, d: &DesiredVpc) -> Result<(), Vec<String>> {
    let mut o = observe(c, vpc_id)
        .await
        .map_err(|e| vec![e])?
        .ok_or_else(|| vec![format!("VPC ({vpc_id}) does not exist")])?;
    let mut errors = Vec::new();

    // Phase A: independent work.
    let (attrs, igw, subnets, flow_prereq) = tokio::join!(
        vpc_basics(c, vpc_id, d, &o),
        ensure_igw(c, vpc_id, d, &o),
        ensure_subnets(c, vpc_id, d, &o),
        ensure_flow_log_prerequisites(c, vpc_id, d),
    );
    errors.extend(attrs.err());
    match igw {
        Ok(id) => o.internet_gateway = id,
        Err(e) => errors.push(e),
    }
    match subnets {
        Ok(s) => o.subnets = s,
        Err(e) => errors.extend(e),
    }
    let flow_role = match flow_prereq {
        Ok(r) => r,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    interrupted(c)?;

    // Phase B: children of subnets.
    let (nacls, rts, nats, flow, tgw) = tokio::join!(
        ensure_nacls(c, vpc_id, d, &o),
        ensure_route_tables(c, vpc_id, d, &o),
        ensure_nats(c, d, &o),
        ensure_flow_log(c, vpc_id, d, &o, flow_role.as_deref()),
        ensure_tgw_attachment(c, vpc_id, d, &o),
    );
    errors.extend(nacls.err().into_iter().flatten());
    // Merged over what was observed: tables and NAT gateways the layout no longer has
    // stay in `o`, so that `remove_extras` finds and deletes them.
    match rts {
        Ok(r) => {
            for (tier, by_zone) in r {
                o.route_tables.entry(tier).or_default().extend(by_zone);
            }
        }
        Err(e) => errors.extend(e),
    }
    match nats {
        Ok(n) => o.nat_gateways.extend(n),
        Err(e) => errors.extend(e),
    }
    errors.extend(flow.err());
    errors.extend(tgw.err());
    if !errors.is_empty() {
        return Err(errors);
    }
    interrupted(c)?;

    // Phase C: routes and endpoints, then what the layout no longer has.
    let (routes, eps) = tokio::join!(ensure_routes(c, d, &o), ensure_endpoints(c, vpc_id, d, &o));
    errors.extend(routes.err().into_iter().flatten());
    errors.extend(eps.err());
    if errors.is_empty() {
        errors.extend(remove_extras(c, d, &o).await.err().into_iter().flatten());
    }
    all_or_errors((), errors)
}

async fn vpc_basics(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), String> {
    let ec2 = &c.ec2;
    let on = || t::AttributeBooleanValue::builder().value(true).build();
    let support = ec2
        .modify_vpc_attribute()
        .vpc_id(vpc_id)
        .enable_dns_support(on())
        .send();
    let hostnames = ec2
        .modify_vpc_attribute()
        .vpc_id(vpc_id)
        .enable_dns_hostnames(on())
        .send();
    let tags = ec2
        .create_tags()
        .resources(vpc_id)
        .set_tags(Some(child_tags(d, d.name.clone(), None, None)))
        .send();
    let (a, b, t) = tokio::join!(support, hostnames, tags);
    a.map_err(|e| {
        format!(
            "enabling DNS support on VPC ({vpc_id}): {}",
            error_message(&e)
        )
    })?;
    b.map_err(|e| {
        format!(
            "enabling DNS hostnames on VPC ({vpc_id}): {}",
            error_message(&e)
        )
    })?;
    t.map_err(|e| format!("tagging VPC ({vpc_id}): {}", error_message(&e)))?;
    if o.default_sg_rules > 0 {
        strip_default_sg(c, vpc_id).await?;
    }
    Ok(())
}

/// Removes every rule of the default security group (CIS 6.5, EC2.2).
async fn strip_default_sg(c: &Clients, vpc_id: &str) -> Result<(), String> {
    let out = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the default security group of VPC ({vpc_id}): {}",
                error_message(&e)
            )
        })?;
    let Some(sg) = out.security_groups().first() else {
        return Ok(());
    };
    let id = sg.group_id().unwrap_or_default();
    if !sg.ip_permissions().is_empty() {
        c.ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(sg.ip_permissions().to_vec()))
            .send()
            .await
            .gone_is_done(&format!(
                "removing ingress rules of the default security group ({id})"
            ))?;
    }
    if !sg.ip_permissions_egress().is_empty() {
        c.ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(sg.ip_permissions_egress().to_vec()))
            .send()
            .await
            .gone_is_done(&format!(
                "removing egress rules of the default security group ({id})"
            ))?;
    }
    Ok(())
}

async fn ensure_igw(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<Option<String>, String> {
    let wanted = d.subnets.contains_key("public");
    match (&o.internet_gateway, wanted) {
        (Some(id), true) => Ok(Some(id.clone())),
        (None, false) => Ok(None),
        (None, true) => {
            // One this network made but never attached (an interrupted apply) is used.
            let detached = || async {
                let out = c
                    .ec2
                    .describe_internet_gateways()
                    .filters(filter(&format!("tag:{VPC_TAG}"), &d.name))
                    .send()
                    .await
                    .map_err(|e| error_message(&e))?;
                Ok(first_id(out.internet_gateways(), |g| {
                    g.attachments()
                        .is_empty()
                        .then(|| g.internet_gateway_id())
                        .flatten()
                }))
            };
            let id = match detached().await? {
                Some(id) => id,
                None => {
                    create_once(
                        c,
                        &format!("creating the internet gateway of VPC ({vpc_id})"),
                        || async {
                            let out = c
                                .ec2
                                .create_internet_gateway()
                                .tag_specifications(spec(
                                    t::ResourceType::InternetGateway,
                                    child_tags(d, format!("{}-igw", d.name), None, None),
                                ))
                                .customize()
                                .config_override(once())
                                .send()
                                .await?;
                            Ok(out
                                .internet_gateway()
                                .and_then(|g| g.internet_gateway_id())
                                .map(str::to_string))
                        },
                        detached,
                    )
                    .await?
                }
            };
            match c
                .ec2
                .attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc_id)
                .send()
                .await
            {
                Ok(_) => {}
                // A retry after a lost response finds it attached already.
                Err(e) if error_code(&e) == Some("Resource.AlreadyAssociated") => {}
                Err(e) => {
                    // Detached, the rollback (which reads the VPC's gateways) would not
                    // find it: remove it here.
                    let undo = c
                        .ec2
                        .delete_internet_gateway()
                        .internet_gateway_id(&id)
                        .send()
                        .await
                        .gone_is_done(&format!("deleting internet gateway ({id})"))
                        .err()
                        .map(|u| format!("; cleanup also failed: {u}"))
                        .unwrap_or_default();
                    return Err(format!(
                        "attaching internet gateway ({id}) to VPC ({vpc_id}): {}{undo}",
                        error_message(&e)
                    ));
                }
            }
            Ok(Some(id))
        }
        // Removed later, once no route or NAT gateway needs it.
        (Some(id), false) => Ok(Some(id.clone())),
    }
}

type SubnetMap = BTreeMap<String, BTreeMap<String, (String, String, bool)>>;

async fn ensure_subnets(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<SubnetMap, Vec<String>> {
    let mut have = o.subnets.clone();
    let mut jobs = Vec::new();
    for (tier, by_zone) in &d.subnets {
        for (zone, cidr) in by_zone {
            match have.get(tier).and_then(|m| m.get(zone)) {
                Some((_, actual, _)) if actual == &cidr.to_string() => {}
                Some((id, actual, _)) => {
                    return Err(vec![format!(
                        "subnet {id} ({tier}, {zone}) has CIDR {actual}, but the layout needs {cidr}; a subnet's CIDR cannot change in place"
                    )])
                }
                None => jobs.push((tier.clone(), zone.clone(), *cidr)),
            }
        }
    }
    let results = join_all(jobs.iter().map(|(tier, zone, cidr)| async move {
        let id = create_once(
            c,
            &format!("creating the {tier} subnet in {zone} ({cidr})"),
            || async {
                let out = c
                    .ec2
                    .create_subnet()
                    .vpc_id(vpc_id)
                    .cidr_block(cidr.to_string())
                    .availability_zone(zone)
                    .tag_specifications(spec(
                        t::ResourceType::Subnet,
                        child_tags(
                            d,
                            format!("{}-{tier}-{zone}", d.name),
                            Some(tier),
                            Some(zone),
                        ),
                    ))
                    .customize()
                    .config_override(once())
                    .send()
                    .await?;
                Ok(out.subnet().and_then(|s| s.subnet_id()).map(str::to_string))
            },
            // A subnet's CIDR is unique in its VPC.
            || async {
                let out = c
                    .ec2
                    .describe_subnets()
                    .filters(filter("vpc-id", vpc_id))
                    .filters(filter("cidr-block", &cidr.to_string()))
                    .send()
                    .await
                    .map_err(|e| error_message(&e))?;
                Ok(first_id(out.subnets(), |s| s.subnet_id()))
            },
        )
        .await?;
        Ok::<_, String>((tier.clone(), zone.clone(), id, cidr.to_string()))
    }))
    .await;
    let (made, mut errors) = split_results(results);
    for (tier, zone, id, cidr) in made {
        have.entry(tier)
            .or_default()
            .insert(zone, (id, cidr, false));
    }
    // Nothing in these tiers gets a public address on launch (EC2.15).
    let public_ip: Vec<String> = have
        .values()
        .flat_map(|m| m.values())
        .filter(|(_, _, p)| *p)
        .map(|(id, _, _)| id.clone())
        .collect();
    for id in public_ip {
        if let Err(e) = c
            .ec2
            .modify_subnet_attribute()
            .subnet_id(&id)
            .map_public_ip_on_launch(t::AttributeBooleanValue::builder().value(false).build())
            .send()
            .await
        {
            errors.push(format!(
                "turning off public IPs on launch for subnet ({id}): {}",
                error_message(&e)
            ));
        }
    }
    if errors.is_empty() {
        Ok(have)
    } else {
        Err(errors)
    }
}

async fn ensure_nacls(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), Vec<String>> {
    // Subnets created in this apply (or moved off their ACL) need their current
    // association id, which only a fresh read has; an apply that changes no subnet skips it.
    let misplaced = d.subnets.keys().any(|tier| {
        let associated = o
            .nacls
            .get(tier)
            .map(|(_, _, a)| a.as_slice())
            .unwrap_or(&[]);
        o.subnets
            .get(tier)
            .into_iter()
            .flat_map(|m| m.values())
            .any(|(id, _, _)| !associated.contains(id))
    });
    let mut assoc: BTreeMap<String, String> = BTreeMap::new();
    if misplaced {
        let acls = c
            .ec2
            .describe_network_acls()
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .map_err(|e| {
                vec![format!(
                    "reading network ACLs of VPC ({vpc_id}): {}",
                    error_message(&e)
                )]
            })?;
        // Where each subnet is associated now.
        assoc = acls
            .network_acls()
            .iter()
            .flat_map(|a| a.associations())
            .filter_map(|a| {
                Some((
                    a.subnet_id()?.to_string(),
                    a.network_acl_association_id()?.to_string(),
                ))
            })
            .collect();
    }
    let jobs: Vec<Fut<'_>> = d
        .subnets
        .keys()
        .map(|tier| {
            let assoc = &assoc;
            Box::pin(async move {
                let rules = d.nacl_rules(tier);
                let acl_id = match o.nacls.get(tier) {
                    Some((id, _, _)) => id.clone(),
                    None => {
                        create_once(
                            c,
                            &format!("creating the {tier} network ACL"),
                            || async {
                                let out = c
                                    .ec2
                                    .create_network_acl()
                                    .vpc_id(vpc_id)
                                    .tag_specifications(spec(
                                        t::ResourceType::NetworkAcl,
                                        child_tags(
                                            d,
                                            format!("{}-{tier}", d.name),
                                            Some(tier),
                                            None,
                                        ),
                                    ))
                                    .customize()
                                    .config_override(once())
                                    .send()
                                    .await?;
                                Ok(out
                                    .network_acl()
                                    .and_then(|a| a.network_acl_id())
                                    .map(str::to_string))
                            },
                            || async {
                                let out = c
                                    .ec2
                                    .describe_network_acls()
                                    .filters(filter("vpc-id", vpc_id))
                                    .filters(filter(&format!("tag:{TIER_TAG}"), tier))
                                    .send()
                                    .await
                                    .map_err(|e| error_message(&e))?;
                                Ok(first_id(out.network_acls(), |a| a.network_acl_id()))
                            },
                        )
                        .await?
                    }
                };
                let current: Vec<NaclRule> = o
                    .nacls
                    .get(tier)
                    .map(|(_, r, _)| r.clone())
                    .unwrap_or_default();
                sync_nacl_entries(c, &acl_id, &current, &rules)
                    .await
                    .map_err(err(format!("network ACL ({acl_id}) of tier {tier}")))?;
                let wanted: Vec<&String> = o
                    .subnets
                    .get(tier)
                    .into_iter()
                    .flat_map(|m| m.values())
                    .map(|(id, _, _)| id)
                    .collect();
                let associated: Vec<String> = o
                    .nacls
                    .get(tier)
                    .map(|(_, _, a)| a.clone())
                    .unwrap_or_default();
                for subnet in wanted {
                    if associated.contains(subnet) {
                        continue;
                    }
                    let Some(a) = assoc.get(subnet) else { continue };
                    move_to_acl(c, subnet, a, &acl_id).await.map_err(|e| {
                        format!("associating subnet ({subnet}) with the {tier} network ACL: {e}")
                    })?;
                }
                Ok(())
            }) as Fut<'_>
        })
        .collect();
    let errors: Vec<String> = join_all(jobs)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    all_or_errors((), errors)
}

/// Moves a subnet to another network ACL (ReplaceNetworkAclAssociation), correct under
/// lost responses: the call replaces the association id it is given, so a retry of a
/// call that already happened names an id that no longer exists. It is sent without
/// the SDK's retries; after a failure the subnet's association is read again, and the
/// move is done if the subnet is already on `acl`, else sent again with the current id.
async fn move_to_acl(
    c: &Clients,
    subnet: &str,
    association: &str,
    acl: &str,
) -> Result<(), String> {
    let mut association = association.to_string();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let sent = c
            .ec2
            .replace_network_acl_association()
            .association_id(&association)
            .network_acl_id(acl)
            .customize()
            .config_override(once())
            .send()
            .await;
        let err = match sent {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        let refused_or_unknown = outcome(&err) != Outcome::Failed || is_not_found(&err);
        if !refused_or_unknown || attempt >= c.max_attempts {
            return Err(error_message(&err));
        }
        pause(c, backoff(attempt), "moving a subnet to its network ACL").await?;
        let now = c
            .ec2
            .describe_network_acls()
            .filters(filter("association.subnet-id", subnet))
            .send()
            .await
            .map_err(|e| error_message(&e))?;
        let current = now.network_acls().iter().find_map(|a| {
            a.associations()
                .iter()
                .find(|x| x.subnet_id() == Some(subnet))
                .map(|x| (a.network_acl_id(), x.network_acl_association_id()))
        });
        match current {
            Some((Some(on), _)) if on == acl => return Ok(()),
            Some((_, Some(id))) => association = id.to_string(),
            _ => return Err(error_message(&err)),
        }
    }
}

async fn sync_nacl_entries(
    c: &Clients,
    acl: &str,
    current: &[NaclRule],
    wanted: &[NaclRule],
) -> Result<(), String> {
    for r in current.iter().filter(|r| !wanted.contains(r)) {
        c.ec2
            .delete_network_acl_entry()
            .network_acl_id(acl)
            .rule_number(r.number)
            .egress(r.egress)
            .send()
            .await
            .gone_is_done(&format!("removing rule {r}"))?;
    }
    for r in wanted.iter().filter(|r| !current.contains(r)) {
        let mut req = c
            .ec2
            .create_network_acl_entry()
            .network_acl_id(acl)
            .rule_number(r.number)
            .egress(r.egress)
            .protocol(&r.protocol)
            .rule_action(t::RuleAction::Allow)
            .cidr_block(&r.cidr);
        if let Some((from, to)) = r.ports {
            req = req.port_range(t::PortRange::builder().from(from).to(to).build());
        }
        match req.send().await {
            Ok(_) => {}
            // A retry after a lost response finds the rule there.
            Err(e) if error_code(&e) == Some("NetworkAclEntryAlreadyExists") => {}
            Err(e) => return Err(format!("adding rule {r}: {}", error_message(&e))),
        }
    }
    Ok(())
}

type RtMap = BTreeMap<String, BTreeMap<String, String>>;

async fn ensure_route_tables(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<RtMap, Vec<String>> {
    let mut jobs = Vec::new();
    for (tier, by_zone) in &o.subnets {
        if !d.subnets.contains_key(tier) {
            continue;
        }
        for (zone, (subnet, _, _)) in by_zone {
            if d.subnets.get(tier).is_some_and(|m| m.contains_key(zone)) {
                jobs.push((tier.clone(), zone.clone(), subnet.clone()));
            }
        }
    }
    let results = join_all(jobs.iter().map(|(tier, zone, subnet)| async move {
        let id = match o.route_tables.get(tier).and_then(|m| m.get(zone)) {
            Some(id) => id.clone(),
            None => {
                create_once(
                    c,
                    &format!("creating the {tier} route table in {zone}"),
                    || async {
                        let out = c
                            .ec2
                            .create_route_table()
                            .vpc_id(vpc_id)
                            .tag_specifications(spec(
                                t::ResourceType::RouteTable,
                                child_tags(
                                    d,
                                    format!("{}-{tier}-{zone}", d.name),
                                    Some(tier),
                                    Some(zone),
                                ),
                            ))
                            .customize()
                            .config_override(once())
                            .send()
                            .await?;
                        Ok(out
                            .route_table()
                            .and_then(|r| r.route_table_id())
                            .map(str::to_string))
                    },
                    || async {
                        let out = c
                            .ec2
                            .describe_route_tables()
                            .filters(filter("vpc-id", vpc_id))
                            .filters(filter(&format!("tag:{TIER_TAG}"), tier))
                            .filters(filter(&format!("tag:{AZ_TAG}"), zone))
                            .send()
                            .await
                            .map_err(|e| error_message(&e))?;
                        Ok(first_id(out.route_tables(), |r| r.route_table_id()))
                    },
                )
                .await?
            }
        };
        // Associate unless already done (observed); AlreadyAssociated covers a race.
        if o.route_table_subnets
            .get(&id)
            .is_some_and(|s| s.contains(subnet))
        {
            return Ok::<_, String>((tier.clone(), zone.clone(), id));
        }
        match c
            .ec2
            .associate_route_table()
            .route_table_id(&id)
            .subnet_id(subnet)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("Resource.AlreadyAssociated") => {}
            Err(e) => {
                return Err(format!(
                    "associating route table ({id}) with subnet ({subnet}): {}",
                    error_message(&e)
                ))
            }
        }
        Ok::<_, String>((tier.clone(), zone.clone(), id))
    }))
    .await;
    let (tables, errors) = split_results(results);
    let mut out: RtMap = BTreeMap::new();
    for (tier, zone, id) in tables {
        out.entry(tier).or_default().insert(zone, id);
    }
    all_or_errors(out, errors)
}

async fn ensure_nats(
    c: &Clients,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let wanted = d.nat_zones();
    let mut have: BTreeMap<String, String> = o
        .nat_gateways
        .iter()
        .filter(|(z, _)| wanted.contains(z))
        .map(|(z, i)| (z.clone(), i.clone()))
        .collect();
    let missing: Vec<&String> = wanted.iter().filter(|z| !have.contains_key(*z)).collect();
    let results = join_all(missing.iter().map(|zone| async move {
        let subnet = o
            .subnets
            .get("public")
            .and_then(|m| m.get(*zone))
            .map(|(id, _, _)| id.clone())
            .ok_or_else(|| format!("no public subnet in {zone} for its NAT gateway"))?;
        // An address this zone's NAT was given but never used (an interrupted apply)
        // is used again rather than left allocated.
        let spare_address = || async {
            let out = c
                .ec2
                .describe_addresses()
                .filters(filter(&format!("tag:{VPC_TAG}"), &d.name))
                .filters(filter(&format!("tag:{AZ_TAG}"), zone))
                .send()
                .await
                .map_err(|e| error_message(&e))?;
            Ok(first_id(out.addresses(), |a| {
                a.association_id()
                    .is_none()
                    .then(|| a.allocation_id())
                    .flatten()
            }))
        };
        let alloc = match spare_address().await? {
            Some(a) => a,
            None => {
                create_once(
                    c,
                    &format!("allocating the Elastic IP for the NAT gateway in {zone}"),
                    || async {
                        let out = c
                            .ec2
                            .allocate_address()
                            .domain(t::DomainType::Vpc)
                            .tag_specifications(spec(
                                t::ResourceType::ElasticIp,
                                child_tags(
                                    d,
                                    format!("{}-nat-{zone}", d.name),
                                    Some("public"),
                                    Some(zone),
                                ),
                            ))
                            .customize()
                            .config_override(once())
                            .send()
                            .await?;
                        Ok(out.allocation_id().map(str::to_string))
                    },
                    spare_address,
                )
                .await?
            }
        };
        let nat = create_once(
            c,
            &format!("creating the NAT gateway in {zone}"),
            || async {
                let out = c
                    .ec2
                    .create_nat_gateway()
                    .subnet_id(&subnet)
                    .allocation_id(&alloc)
                    .tag_specifications(spec(
                        t::ResourceType::Natgateway,
                        child_tags(
                            d,
                            format!("{}-nat-{zone}", d.name),
                            Some("public"),
                            Some(zone),
                        ),
                    ))
                    .customize()
                    .config_override(once())
                    .send()
                    .await?;
                Ok(out
                    .nat_gateway()
                    .and_then(|n| n.nat_gateway_id())
                    .map(str::to_string))
            },
            || async {
                let out = c
                    .ec2
                    .describe_nat_gateways()
                    .filter(filter("subnet-id", &subnet))
                    .filter(filter(&format!("tag:{AZ_TAG}"), zone))
                    .send()
                    .await
                    .map_err(|e| error_message(&e))?;
                Ok(first_id(out.nat_gateways(), |n| {
                    matches!(
                        n.state(),
                        Some(t::NatGatewayState::Available | t::NatGatewayState::Pending)
                    )
                    .then(|| n.nat_gateway_id())
                    .flatten()
                }))
            },
        )
        .await;
        let id = match nat {
            Ok(id) => id,
            Err(e) => {
                // Do not leave the address behind.
                let _ = c.ec2.release_address().allocation_id(&alloc).send().await;
                return Err(e);
            }
        };
        wait_nat(c, &id, true).await?;
        Ok::<_, String>(((*zone).clone(), id))
    }))
    .await;
    let (made, errors) = split_results(results);
    have.extend(made);
    all_or_errors(have, errors)
}

/// Polls a NAT gateway until available (or deleted), at once and then backing off.
async fn wait_nat(c: &Clients, id: &str, available: bool) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + NAT_TIMEOUT;
    let mut delay = Duration::from_millis(200);
    loop {
        let out = c
            .ec2
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
            .map_err(|e| format!("reading NAT gateway ({id}): {}", error_message(&e)))?;
        let state = out.nat_gateways().first().and_then(|n| n.state()).cloned();
        match (state, available) {
            (Some(t::NatGatewayState::Available), true) => return Ok(()),
            (Some(t::NatGatewayState::Deleted) | None, false) => return Ok(()),
            (Some(t::NatGatewayState::Failed), _) => {
                let msg = out
                    .nat_gateways()
                    .first()
                    .and_then(|n| n.failure_message())
                    .unwrap_or_default()
                    .to_string();
                return Err(format!("NAT gateway ({id}) failed: {msg}"));
            }
            _ => {}
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "NAT gateway ({id}) did not become {} within {NAT_TIMEOUT:?}",
                if available { "available" } else { "deleted" }
            ));
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = c.stop.stopped() => {
                return Err(format!("{INTERRUPTED}: NAT gateway ({id}) was still {}",
                    if available { "becoming available" } else { "being deleted" }));
            }
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

async fn ensure_routes(c: &Clients, d: &DesiredVpc, o: &ObservedVpc) -> Result<(), Vec<String>> {
    let mut jobs: Vec<Fut<'_>> = Vec::new();
    for (tier, by_zone) in &o.route_tables {
        for (zone, rt) in by_zone {
            if !d.subnets.get(tier).is_some_and(|m| m.contains_key(zone)) {
                continue; // leaving with its subnet: remove_extras deletes it
            }
            let target: Option<String> = match tier.as_str() {
                "public" => o.internet_gateway.clone(),
                "private" => d
                    .nat_for(zone)
                    .and_then(|z| o.nat_gateways.get(&z).cloned()),
                _ => None,
            };
            let current: Vec<String> = o
                .default_routes
                .get(tier)
                .and_then(|m| m.get(zone))
                .cloned()
                .unwrap_or_default();
            let (tier, zone) = (tier.clone(), zone.clone());
            jobs.push(Box::pin(async move {
                let route = |target: &str| {
                    let b = c
                        .ec2
                        .create_route()
                        .route_table_id(rt)
                        .destination_cidr_block("0.0.0.0/0");
                    if target.starts_with("nat-") {
                        b.nat_gateway_id(target)
                    } else {
                        b.gateway_id(target)
                    }
                };
                match (&target, current.first()) {
                    (Some(want), Some(have)) if want == have => Ok(()),
                    (Some(want), Some(_)) => {
                        let b = c
                            .ec2
                            .replace_route()
                            .route_table_id(rt)
                            .destination_cidr_block("0.0.0.0/0");
                        let b = if want.starts_with("nat-") {
                            b.nat_gateway_id(want)
                        } else {
                            b.gateway_id(want)
                        };
                        b.send().await.map(|_| ()).map_err(|e| {
                            format!(
                                "pointing the {tier} route table in {zone} at {want}: {}",
                                error_message(&e)
                            )
                        })
                    }
                    (Some(want), None) => match route(want).send().await {
                        Ok(_) => Ok(()),
                        // A retry after a lost response finds the route there.
                        Err(e) if error_code(&e) == Some("RouteAlreadyExists") => Ok(()),
                        Err(e) => Err(format!(
                            "adding the default route of the {tier} route table in {zone}: {}",
                            error_message(&e)
                        )),
                    },
                    (None, Some(_)) => c
                        .ec2
                        .delete_route()
                        .route_table_id(rt)
                        .destination_cidr_block("0.0.0.0/0")
                        .send()
                        .await
                        .gone_is_done(&format!(
                            "removing the default route of the {tier} route table in {zone}"
                        )),
                    (None, None) => Ok(()),
                }
            }));
        }
    }
    let errors: Vec<String> = join_all(jobs)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    all_or_errors((), errors)
}

async fn ensure_endpoints(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), String> {
    // The private and restricted tables the layout keeps (not those about to be deleted).
    let rts: Vec<String> = ["private", "restricted"]
        .iter()
        .flat_map(|t| {
            o.route_tables
                .get(*t)
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(|(zone, _)| d.subnets.get(*t).is_some_and(|k| k.contains_key(*zone)))
                .map(|(_, rt)| rt.clone())
        })
        .collect();
    let out = c
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|e| format!("reading endpoints of VPC ({vpc_id}): {}", error_message(&e)))?;
    let live: Vec<&t::VpcEndpoint> = out
        .vpc_endpoints()
        .iter()
        .filter(|e| {
            !matches!(
                e.state(),
                Some(t::State::Deleted) | Some(t::State::Deleting)
            )
        })
        .collect();
    for svc in &d.endpoints {
        let name = format!("com.amazonaws.{}.{svc}", c.region);
        match live
            .iter()
            .find(|e| e.service_name() == Some(name.as_str()))
        {
            Some(ep) => {
                let id = ep.vpc_endpoint_id().unwrap_or_default();
                let have: BTreeSet<&str> =
                    ep.route_table_ids().iter().map(String::as_str).collect();
                let add: Vec<String> = rts
                    .iter()
                    .filter(|r| !have.contains(r.as_str()))
                    .cloned()
                    .collect();
                if !add.is_empty() {
                    c.ec2
                        .modify_vpc_endpoint()
                        .vpc_endpoint_id(id)
                        .set_add_route_table_ids(Some(add))
                        .send()
                        .await
                        .map_err(|e| {
                            format!(
                                "adding route tables to the {svc} endpoint ({id}): {}",
                                error_message(&e)
                            )
                        })?;
                }
            }
            None if !rts.is_empty() => {
                create_once(
                    c,
                    &format!("creating the {svc} gateway endpoint"),
                    || async {
                        let out = c
                            .ec2
                            .create_vpc_endpoint()
                            .vpc_id(vpc_id)
                            .service_name(&name)
                            .vpc_endpoint_type(t::VpcEndpointType::Gateway)
                            .set_route_table_ids(Some(rts.clone()))
                            .tag_specifications(spec(
                                t::ResourceType::VpcEndpoint,
                                child_tags(d, format!("{}-{svc}", d.name), None, None),
                            ))
                            .customize()
                            .config_override(once())
                            .send()
                            .await?;
                        Ok(out
                            .vpc_endpoint()
                            .and_then(|e| e.vpc_endpoint_id())
                            .map(str::to_string))
                    },
                    || async {
                        let out = c
                            .ec2
                            .describe_vpc_endpoints()
                            .filters(filter("vpc-id", vpc_id))
                            .filters(filter("service-name", &name))
                            .send()
                            .await
                            .map_err(|e| error_message(&e))?;
                        Ok(first_id(out.vpc_endpoints(), |e| {
                            (!matches!(
                                e.state(),
                                Some(t::State::Deleted) | Some(t::State::Deleting)
                            ))
                            .then(|| e.vpc_endpoint_id())
                            .flatten()
                        }))
                    },
                )
                .await?;
            }
            None => {}
        }
    }
    let unwanted: Vec<String> = live
        .iter()
        .filter(|e| {
            e.vpc_endpoint_type() == Some(&t::VpcEndpointType::Gateway)
                && e.service_name()
                    .and_then(|s| s.rsplit('.').next())
                    .is_some_and(|s| !d.endpoints.iter().any(|w| w == s))
        })
        .filter_map(|e| e.vpc_endpoint_id().map(str::to_string))
        .collect();
    if !unwanted.is_empty() {
        c.ec2
            .delete_vpc_endpoints()
            .set_vpc_endpoint_ids(Some(unwanted))
            .send()
            .await
            .gone_is_done(&format!("removing gateway endpoints no longer configured"))?;
    }
    Ok(())
}

/// The flow-log key (when managed), log group and delivery role. Returns the role ARN.
async fn ensure_flow_log_prerequisites(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
) -> Result<Option<String>, String> {
    if d.flow_logs.s3_bucket_arn.is_some() {
        return Ok(None);
    }
    let group = log_group_name(vpc_id);
    let key = match &d.flow_logs.kms_key_arn {
        Some(k) => k.clone(),
        None => match find_managed_key(c, vpc_id).await? {
            Some(k) => k,
            None => create_key(c, vpc_id, d).await?,
        },
    };
    match c
        .logs
        .create_log_group()
        .log_group_name(&group)
        .kms_key_id(&key)
        .set_tags(Some(d.tags_all.clone().into_iter().collect()))
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if error_code(&e) == Some("ResourceAlreadyExistsException") => {}
        Err(e) => return Err(format!("creating log group {group}: {}", error_message(&e))),
    }
    c.logs
        .put_retention_policy()
        .log_group_name(&group)
        .retention_in_days(d.flow_logs.retention_days as i32)
        .send()
        .await
        .map_err(|e| {
            format!(
                "setting the retention of log group {group}: {}",
                error_message(&e)
            )
        })?;
    let role = flow_log_role_name(vpc_id);
    let trust = serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]});
    let arn = match c
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
    {
        Ok(out) => out.role.map(|r| r.arn).unwrap_or_default(),
        Err(e) if error_code(&e) == Some("EntityAlreadyExists") => c
            .iam
            .get_role()
            .role_name(&role)
            .send()
            .await
            .map_err(|e| format!("reading IAM Role ({role}): {}", error_message(&e)))?
            .role
            .map(|r| r.arn)
            .unwrap_or_default(),
        Err(e) => return Err(format!("creating IAM Role ({role}): {}", error_message(&e))),
    };
    let policy = serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogStreams"],"Resource":format!("arn:aws:logs:{}:*:log-group:{group}:*", c.region)}]});
    c.iam
        .put_role_policy()
        .role_name(&role)
        .policy_name("flow-logs")
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(|e| {
            format!(
                "writing the policy of IAM Role ({role}): {}",
                error_message(&e)
            )
        })?;
    Ok(Some(arn))
}
async fn find_managed_key(c: &Clients, vpc_id: &str) -> Result<Option<String>, String> {
    managed_key::find(c, &key_alias(vpc_id)).await
}

async fn create_key(c: &Clients, vpc_id: &str, d: &DesiredVpc) -> Result<String, String> {
    let account = c.account_id().await?;
    let policy = serde_json::json!({"Version":"2012-10-17","Statement":[
        {"Sid":"AccountAdministers","Effect":"Allow","Principal":{"AWS":format!("arn:aws:iam::{account}:root")},"Action":"kms:*","Resource":"*"},
        {"Sid":"CloudWatchLogsEncrypts","Effect":"Allow","Principal":{"Service":format!("logs.{}.amazonaws.com", c.region)},
         "Action":["kms:Encrypt*","kms:Decrypt*","kms:ReEncrypt*","kms:GenerateDataKey*","kms:Describe*"],"Resource":"*",
         "Condition":{"ArnLike":{"kms:EncryptionContext:aws:logs:arn":format!("arn:aws:logs:{}:{account}:log-group:{}", c.region, log_group_name(vpc_id))}}}
    ]});
    let tags: Vec<(String, String)> = d
        .tags_all
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    managed_key::create(
        c,
        &key_alias(vpc_id),
        &format!("Flow logs of VPC {vpc_id} ({}) (bankplatform)", d.name),
        &tags,
        Some(policy.to_string()),
    )
    .await
}

async fn ensure_flow_log(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
    role: Option<&str>,
) -> Result<(), String> {
    let want_dest = d
        .flow_logs
        .s3_bucket_arn
        .clone()
        .unwrap_or_else(|| log_group_name(vpc_id));
    if let Some((id, traffic, status, dest)) = &o.flow_log {
        let dest_ok = dest == &want_dest
            || dest.ends_with(&format!(":log-group:{want_dest}"))
            || dest.ends_with(&format!(":log-group:{want_dest}:*"));
        if traffic == "ALL" && status == "ACTIVE" && dest_ok {
            return Ok(());
        }
        c.ec2
            .delete_flow_logs()
            .flow_log_ids(id)
            .send()
            .await
            .map_err(|e| format!("replacing flow log ({id}): {}", error_message(&e)))?;
    }
    let mut req = c
        .ec2
        .create_flow_logs()
        .resource_ids(vpc_id)
        .resource_type(t::FlowLogsResourceType::Vpc)
        .traffic_type(t::TrafficType::All)
        .max_aggregation_interval(60)
        .tag_specifications(spec(
            t::ResourceType::VpcFlowLog,
            child_tags(d, format!("{}-flow-logs", d.name), None, None),
        ));
    req = match &d.flow_logs.s3_bucket_arn {
        Some(bucket) => req
            .log_destination_type(t::LogDestinationType::S3)
            .log_destination(bucket),
        None => req
            .log_destination_type(t::LogDestinationType::CloudWatchLogs)
            .log_group_name(log_group_name(vpc_id))
            .deliver_logs_permission_arn(role.unwrap_or_default()),
    };
    // AWS refuses some flow logs in the answer ("Unsuccessful"), not as an error.
    let unsuccessful = std::sync::Mutex::new(None);
    create_once(
        c,
        &format!("creating the flow log of VPC ({vpc_id})"),
        || async {
            let out = req
                .clone()
                .customize()
                .config_override(once())
                .send()
                .await?;
            if let Some(u) = out.unsuccessful().first() {
                let msg = u.error().and_then(|e| e.message()).unwrap_or_default();
                *unsuccessful.lock().expect("flow log result") = Some(msg.to_string());
                return Ok(Some("unsuccessful".to_string()));
            }
            Ok(out.flow_log_ids().first().cloned())
        },
        || async {
            let out = c
                .ec2
                .describe_flow_logs()
                .filter(filter("resource-id", vpc_id))
                .send()
                .await
                .map_err(|e| error_message(&e))?;
            Ok(first_id(out.flow_logs(), |f| f.flow_log_id()))
        },
    )
    .await?;
    if let Some(msg) = unsuccessful.into_inner().expect("flow log result") {
        return Err(format!("creating the flow log of VPC ({vpc_id}): {msg}"));
    }
    Ok(())
}

async fn ensure_tgw_attachment(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), String> {
    match (&d.transit_gateway, &o.transit_gateway_attachment) {
        (Some((tgw, tier)), None) => create_tgw_attachment(c, vpc_id, d, tgw, tier, o).await,
        // Another transit gateway: an attachment cannot move, so replace it.
        (Some((tgw, tier)), Some(a)) if &a.transit_gateway_id != tgw => {
            delete_tgw_attachment(c, &a.id).await?;
            create_tgw_attachment(c, vpc_id, d, tgw, tier, o).await
        }
        // Same gateway: follow the tier's subnets (zones added or removed, tier changed).
        (Some((_, tier)), Some(a)) => {
            let want = o.tier_subnet_ids(tier, d);
            if want == a.subnet_ids {
                return Ok(());
            }
            let add: Vec<String> = want
                .iter()
                .filter(|s| !a.subnet_ids.contains(s))
                .cloned()
                .collect();
            let remove: Vec<String> = a
                .subnet_ids
                .iter()
                .filter(|s| !want.contains(s))
                .cloned()
                .collect();
            wait_tgw_attachment(c, &a.id, true).await?;
            c.ec2
                .modify_transit_gateway_vpc_attachment()
                .transit_gateway_attachment_id(&a.id)
                .set_add_subnet_ids((!add.is_empty()).then_some(add))
                .set_remove_subnet_ids((!remove.is_empty()).then_some(remove))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "moving transit gateway attachment ({}) to the {tier} subnets: {}",
                        a.id,
                        error_message(&e)
                    )
                })?;
            // Until it settles, its interfaces may still be in subnets about to be deleted.
            wait_tgw_attachment(c, &a.id, true).await
        }
        (None, Some(a)) => delete_tgw_attachment(c, &a.id).await,
        (None, None) => Ok(()),
    }
}

async fn create_tgw_attachment(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    tgw: &str,
    tier: &str,
    o: &ObservedVpc,
) -> Result<(), String> {
    let out = c
        .ec2
        .create_transit_gateway_vpc_attachment()
        .transit_gateway_id(tgw)
        .vpc_id(vpc_id)
        .set_subnet_ids(Some(o.tier_subnet_ids(tier, d)))
        .tag_specifications(spec(
            t::ResourceType::TransitGatewayAttachment,
            child_tags(d, format!("{}-tgw", d.name), Some(tier), None),
        ))
        .send()
        .await
        .map_err(|e| {
            format!(
                "attaching VPC ({vpc_id}) to transit gateway {tgw}: {}",
                error_message(&e)
            )
        })?;
    let created = out.transit_gateway_vpc_attachment();
    let id = created
        .and_then(|a| a.transit_gateway_attachment_id())
        .unwrap_or_default()
        .to_string();
    // The attachment is found again by its tags. moto 5.2.5 drops the tag specification
    // of this call (it reads the route-table type's); AWS returns the tags here, so the
    // extra CreateTags happens only where they are missing.
    if !created.is_some_and(|a| a.tags().iter().any(|t| t.key() == Some(VPC_TAG))) {
        c.ec2
            .create_tags()
            .resources(&id)
            .set_tags(Some(child_tags(
                d,
                format!("{}-tgw", d.name),
                Some(tier),
                None,
            )))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "tagging transit gateway attachment ({id}): {}",
                    error_message(&e)
                )
            })?;
    }
    wait_tgw_attachment(c, &id, true).await
}

async fn delete_tgw_attachment(c: &Clients, id: &str) -> Result<(), String> {
    match c
        .ec2
        .delete_transit_gateway_vpc_attachment()
        .transit_gateway_attachment_id(id)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(format!(
                "deleting transit gateway attachment ({id}): {}",
                error_message(&e)
            ))
        }
    }
    // Its interfaces leave the subnets only once it is deleted.
    wait_tgw_attachment(c, id, false).await
}

/// Waits until the attachment is `available` (or, with `available = false`, gone),
/// giving up on the stop signal or after [`TGW_ATTACHMENT_TIMEOUT`].
async fn wait_tgw_attachment(c: &Clients, id: &str, available: bool) -> Result<(), String> {
    use t::TransitGatewayAttachmentState as S;
    let deadline = tokio::time::Instant::now() + TGW_ATTACHMENT_TIMEOUT;
    let mut delay = Duration::from_millis(200);
    loop {
        let out = c
            .ec2
            .describe_transit_gateway_vpc_attachments()
            .transit_gateway_attachment_ids(id)
            .send()
            .await;
        let state = match out {
            Ok(out) => out
                .transit_gateway_vpc_attachments()
                .first()
                .and_then(|a| a.state())
                .cloned(),
            Err(e) if is_not_found(&e) => None,
            Err(e) => {
                return Err(format!(
                    "reading transit gateway attachment ({id}): {}",
                    error_message(&e)
                ))
            }
        };
        match state {
            Some(S::Available) if available => return Ok(()),
            // Failed or rejected attachments hold no interfaces: nothing to wait for.
            Some(S::Deleted | S::Failed | S::Rejected) | None if !available => return Ok(()),
            Some(s @ (S::Deleted | S::Failed | S::Rejected)) => {
                return Err(format!(
                    "transit gateway attachment ({id}) is {}",
                    s.as_str()
                ))
            }
            None => return Err(format!("transit gateway attachment ({id}) disappeared")),
            _ => {}
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "transit gateway attachment ({id}) did not become {} within {TGW_ATTACHMENT_TIMEOUT:?}",
                if available { "available" } else { "deleted" }
            ));
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = c.stop.stopped() => {
                return Err(format!("{INTERRUPTED}: transit gateway attachment ({id}) was still settling"));
            }
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

async fn remove_extras(c: &Clients, d: &DesiredVpc, o: &ObservedVpc) -> Result<(), Vec<String>> {
    let keeps = |tier: &str, zone: &str| d.subnets.get(tier).is_some_and(|m| m.contains_key(zone));
    let leaving: Vec<(&str, &str, &str)> = o
        .subnets
        .iter()
        .flat_map(|(tier, m)| {
            m.iter()
                .map(move |(zone, (id, _, _))| (tier.as_str(), zone.as_str(), id.as_str()))
        })
        .filter(|(tier, zone, _)| !keeps(tier, zone))
        .collect();
    let mut errors = Vec::new();

    // 1. Concurrently: NAT gateways no longer wanted (their interfaces sit in public
    //    subnets), route tables of leaving subnets, and the leaving subnets' ACL
    //    associations (back to the default ACL, which moto needs to delete them).
    let wanted_nats = d.nat_zones();
    let nats = join_all(
        o.nat_gateways
            .iter()
            .filter(|(z, _)| !wanted_nats.contains(z))
            .map(|(zone, id)| async move {
                delete_nat(c, id)
                    .await
                    .map_err(|e| format!("removing the NAT gateway in {zone}: {e}"))
            }),
    );
    let tables = join_all(
        o.route_tables
            .iter()
            .flat_map(|(tier, m)| m.iter().map(move |(zone, rt)| (tier, zone, rt)))
            .filter(|(tier, zone, _)| !keeps(tier, zone))
            .map(|(_, _, rt)| delete_route_table(c, rt)),
    );
    let leaving_ids: Vec<String> = leaving.iter().map(|(_, _, id)| id.to_string()).collect();
    let associations = async {
        if leaving_ids.is_empty() {
            Ok(())
        } else {
            release_nacl_associations(c, &o.vpc_id, &leaving_ids).await
        }
    };
    let (nats, tables, associations) = tokio::join!(nats, tables, associations);
    errors.extend(nats.into_iter().chain(tables).filter_map(Result::err));
    errors.extend(associations.err());

    // 2. The leaving subnets, concurrently.
    let subnets = join_all(leaving.iter().map(|(tier, zone, id)| async move {
        c.ec2
            .delete_subnet()
            .subnet_id(*id)
            .send()
            .await
            .gone_is_done(&format!("removing the {tier} subnet in {zone} ({id})"))
    }))
    .await;
    errors.extend(subnets.into_iter().filter_map(Result::err));

    // 3. ACLs of tiers no longer built, and the internet gateway without a public tier.
    let acls = join_all(
        o.nacls
            .iter()
            .filter(|(tier, _)| !d.subnets.contains_key(*tier))
            .map(|(tier, (id, _, _))| async move {
                c.ec2
                    .delete_network_acl()
                    .network_acl_id(id)
                    .send()
                    .await
                    .gone_is_done(&format!("removing the {tier} network ACL ({id})"))
            }),
    );
    let igw = async {
        match (&o.internet_gateway, d.subnets.contains_key("public")) {
            (Some(igw), false) => delete_igw(c, &o.vpc_id, igw).await,
            _ => Ok(()),
        }
    };
    let (acls, igw) = tokio::join!(acls, igw);
    errors.extend(acls.into_iter().filter_map(Result::err));
    errors.extend(igw.err());
    all_or_errors((), errors)
}

/// Moves subnets back to the VPC's default network ACL before they are
/// deleted, so the tier ACLs are left without associations and can be
/// deleted (moto keeps the association of a deleted subnet, and AWS refuses
/// to delete an ACL that is still associated).
async fn release_nacl_associations(
    c: &Clients,
    vpc_id: &str,
    subnets: &[String],
) -> Result<(), String> {
    let out = c
        .ec2
        .describe_network_acls()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading network ACLs of VPC ({vpc_id}): {}",
                error_message(&e)
            )
        })?;
    let Some(default) = out
        .network_acls()
        .iter()
        .find(|a| a.is_default() == Some(true))
        .and_then(|a| a.network_acl_id())
    else {
        return Ok(());
    };
    for acl in out
        .network_acls()
        .iter()
        .filter(|a| a.is_default() != Some(true))
    {
        for a in acl.associations() {
            let (Some(subnet), Some(id)) = (a.subnet_id(), a.network_acl_association_id()) else {
                continue;
            };
            if subnets.iter().any(|s| s == subnet) {
                move_to_acl(c, subnet, id, default).await.map_err(|e| {
                    format!("returning subnet ({subnet}) to the default network ACL: {e}")
                })?;
            }
        }
    }
    Ok(())
}

async fn delete_nat(c: &Clients, id: &str) -> Result<(), String> {
    let out = c
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(id)
        .send()
        .await
        .map_err(|e| error_message(&e))?;
    let allocs: Vec<String> = out
        .nat_gateways()
        .iter()
        .flat_map(|n| n.nat_gateway_addresses())
        .filter_map(|a| a.allocation_id().map(str::to_string))
        .collect();
    match c.ec2.delete_nat_gateway().nat_gateway_id(id).send().await {
        Ok(_) => {}
        Err(e) if error_code(&e).is_some_and(|c| c.contains("NotFound")) => {}
        Err(e) => return Err(error_message(&e)),
    }
    wait_nat(c, id, false).await?;
    for a in allocs {
        match c.ec2.release_address().allocation_id(&a).send().await {
            Ok(_) => {}
            Err(e) if error_code(&e).is_some_and(|c| c.contains("NotFound")) => {}
            Err(e) => return Err(format!("releasing Elastic IP ({a}): {}", error_message(&e))),
        }
    }
    Ok(())
}

async fn delete_route_table(c: &Clients, rt: &str) -> Result<(), String> {
    let out = c
        .ec2
        .describe_route_tables()
        .route_table_ids(rt)
        .send()
        .await
        .map_err(|e| error_message(&e))?;
    for a in out.route_tables().iter().flat_map(|r| r.associations()) {
        if a.main() == Some(true) {
            continue;
        }
        if let Some(id) = a.route_table_association_id() {
            c.ec2
                .disassociate_route_table()
                .association_id(id)
                .send()
                .await
                .gone_is_done(&format!("disassociating route table ({rt})"))?;
        }
    }
    c.ec2
        .delete_route_table()
        .route_table_id(rt)
        .send()
        .await
        .gone_is_done(&format!("deleting route table ({rt})"))
}

async fn delete_igw(c: &Clients, vpc_id: &str, igw: &str) -> Result<(), String> {
    c.ec2
        .detach_internet_gateway()
        .internet_gateway_id(igw)
        .vpc_id(vpc_id)
        .send()
        .await
        .gone_is_done(&format!("detaching internet gateway ({igw})"))?;
    c.ec2
        .delete_internet_gateway()
        .internet_gateway_id(igw)
        .send()
        .await
        .gone_is_done(&format!("deleting internet gateway ({igw})"))
}

/// Deletes the VPC and everything in it that this resource made, in
/// dependency order, concurrently within each step. Used by destroy and by
/// the rollback of a failed create. Already-gone objects are fine.
pub(super) async fn destroy(
    c: &Clients,
    vpc_id: &str,
    managed_key: bool,
) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if let Some(o) = observe(c, vpc_id).await.map_err(|e| vec![e])? {
        // 1. Flow log, endpoints, transit gateway attachment.
        let flow = async {
            match &o.flow_log {
                Some((id, ..)) => c
                    .ec2
                    .delete_flow_logs()
                    .flow_log_ids(id)
                    .send()
                    .await
                    .gone_is_done(&format!("deleting flow log ({id})")),
                None => Ok(()),
            }
        };
        let eps = async {
            let out = c
                .ec2
                .describe_vpc_endpoints()
                .filters(filter("vpc-id", vpc_id))
                .send()
                .await
                .map_err(|e| error_message(&e))?;
            let ids: Vec<String> = out
                .vpc_endpoints()
                .iter()
                .filter_map(|e| e.vpc_endpoint_id().map(str::to_string))
                .collect();
            if ids.is_empty() {
                return Ok(());
            }
            // Detach the route tables first (their routes go with them): moto
            // otherwise fails deleting an endpoint whose route tables were
            // added after it was created.
            for ep in out
                .vpc_endpoints()
                .iter()
                .filter(|e| !e.route_table_ids().is_empty())
            {
                let id = ep.vpc_endpoint_id().unwrap_or_default();
                c.ec2
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(id)
                    .set_remove_route_table_ids(Some(ep.route_table_ids().to_vec()))
                    .send()
                    .await
                    .gone_is_done(&format!("detaching route tables from endpoint ({id})"))?;
            }
            c.ec2
                .delete_vpc_endpoints()
                .set_vpc_endpoint_ids(Some(ids))
                .send()
                .await
                .gone_is_done(&format!("deleting endpoints"))
        };
        let tgw = async {
            match &o.transit_gateway_attachment {
                Some(a) => delete_tgw_attachment(c, &a.id).await,
                None => Ok(()),
            }
        };
        // NAT gateways go before the internet gateway and their addresses.
        let nats = async {
            let res = join_all(o.nat_gateways.values().map(|id| delete_nat(c, id))).await;
            res.into_iter()
                .collect::<Result<Vec<()>, String>>()
                .map(|_| ())
        };
        let (a, b, t, n) = tokio::join!(flow, eps, tgw, nats);
        errors.extend([a, b, t, n].into_iter().filter_map(Result::err));
        // 2. Route tables, subnets, ACLs, internet gateway.
        if errors.is_empty() {
            let rts = join_all(
                o.route_tables
                    .values()
                    .flat_map(|m| m.values())
                    .map(|rt| delete_route_table(c, rt)),
            )
            .await;
            errors.extend(rts.into_iter().filter_map(Result::err));
            let all: Vec<String> = o
                .subnets
                .values()
                .flat_map(|m| m.values().map(|(id, _, _)| id.clone()))
                .collect();
            errors.extend(release_nacl_associations(c, vpc_id, &all).await.err());
            let subnets = join_all(o.subnets.values().flat_map(|m| m.values()).map(
                |(id, _, _)| async move {
                    c.ec2
                        .delete_subnet()
                        .subnet_id(id)
                        .send()
                        .await
                        .gone_is_done(&format!("deleting subnet ({id})"))
                },
            ))
            .await;
            errors.extend(subnets.into_iter().filter_map(Result::err));
            let acls = join_all(o.nacls.values().map(|(id, _, _)| async move {
                c.ec2
                    .delete_network_acl()
                    .network_acl_id(id)
                    .send()
                    .await
                    .gone_is_done(&format!("deleting network ACL ({id})"))
            }))
            .await;
            errors.extend(acls.into_iter().filter_map(Result::err));
            if let Some(igw) = &o.internet_gateway {
                errors.extend(delete_igw(c, vpc_id, igw).await.err());
            }
        }
        // 3. The VPC.
        if errors.is_empty() {
            if let Err(e) = c
                .ec2
                .delete_vpc()
                .vpc_id(vpc_id)
                .send()
                .await
                .gone_is_done(&format!("deleting VPC ({vpc_id})"))
            {
                errors.push(e);
            }
        }
    }
    // 4. What lived outside the VPC: log group, role, key.
    if errors.is_empty() {
        let group = log_group_name(vpc_id);
        let role = flow_log_role_name(vpc_id);
        let lg = async {
            match c
                .logs
                .delete_log_group()
                .log_group_name(&group)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
                Err(e) => Err(format!("deleting log group {group}: {}", error_message(&e))),
            }
        };
        let iam = async {
            let _ = c
                .iam
                .delete_role_policy()
                .role_name(&role)
                .policy_name("flow-logs")
                .send()
                .await;
            match c.iam.delete_role().role_name(&role).send().await {
                Ok(_) => Ok(()),
                Err(e) if is_not_found(&e) => Ok(()),
                Err(e) => Err(format!("deleting IAM Role ({role}): {}", error_message(&e))),
            }
        };
        let key = async {
            if !managed_key {
                return Ok(());
            }
            let Some(arn) = find_managed_key(c, vpc_id).await? else {
                return Ok(());
            };
            managed_key::retire(c, &key_alias(vpc_id), &arn).await
        };
        let (a, b, k) = tokio::join!(lg, iam, key);
        errors.extend([a, b, k].into_iter().filter_map(Result::err));
    }
    all_or_errors((), errors)
}

/// The managed flow-log key of a VPC, if any.
pub(super) async fn managed_key(c: &Clients, vpc_id: &str) -> Result<Option<String>, String> {
    find_managed_key(c, vpc_id).await
}

/// Controls over what AWS reports (re-exported for the resource).
pub(super) fn controls(o: &ObservedVpc) -> BTreeMap<String, bool> {
    compliance(o)
}
