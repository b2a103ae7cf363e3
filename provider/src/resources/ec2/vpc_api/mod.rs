//! The EC2, CloudWatch Logs, IAM and KMS calls behind
//! `bankplatform_hardened_vpc`. The heart is [`converge`]: it reads what
//! exists in the VPC and creates, fixes or removes children until they match
//! the desired layout. Create, update, drift repair and the retry after a
//! failed apply all go through it, so there is one path to get right.
//! Children are found by their tags (tier and zone), never by list position.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_ec2::operation::create_vpc_endpoint::builders::CreateVpcEndpointFluentBuilder;
use aws_sdk_ec2::types as t;
use futures::future::join_all;

use super::vpc_model::{
    compliance, endpoint_policy, DefaultAcl, DesiredVpc, EndpointSg, NaclRule,
    ObservedInterfaceEndpoint, ObservedTgwAttachment, ObservedVpc, AZ_TAG, ENDPOINT_SG_NAME, HTTPS,
    TIER_TAG, VPC_TAG,
};
use crate::aws::{error_code, error_message, is_not_found, Clients};
use crate::resources::iam::service_role;
use crate::resources::kit::calls::{
    backoff, create_once, found, made, no_retries, outcome, pause, GoneIsDone, Outcome,
};
use crate::resources::kit::ownership::{CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kms::managed_key;
use crate::resources::logs::log_group;

mod endpoints;
mod flow_logs;
mod igw;
mod interface_endpoints;
mod nacls;
mod nat;
mod observe;
mod remove;
mod route_tables;
mod subnets;
mod tgw;
mod vpc;

use endpoints::ensure_endpoints;
use flow_logs::{ensure_flow_log, ensure_flow_log_prerequisites, find_managed_key};
use igw::{delete_igw, ensure_igw};
use interface_endpoints::{delete_and_wait, delete_endpoint_sg, ensure_interface_endpoints};
use nacls::{ensure_nacls, release_nacl_associations};
use nat::{delete_nat, ensure_nats};
pub(super) use observe::observe;
use remove::remove_extras;
use route_tables::{delete_route_table, ensure_route_tables, ensure_routes};
use subnets::ensure_subnets;
use tgw::{delete_tgw_attachment, ensure_tgw_attachment};
pub(super) use vpc::{create_vpc, mark_created, vpc_exists};
use vpc::{strip_group, vpc_basics};

type Fut<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

use crate::aws::partition;

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

/// The tag specification of a child that lives in one tier and zone
/// (`<name>-<tier>-<zone>`).
fn zone_child(d: &DesiredVpc, rt: t::ResourceType, tier: &str, zone: &str) -> t::TagSpecification {
    spec(
        rt,
        child_tags(
            d,
            format!("{}-{tier}-{zone}", d.name),
            Some(tier),
            Some(zone),
        ),
    )
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

/// Whether a VPC endpoint is deleted or on its way out. EC2 answers its states in
/// lower case (`deleted`), which the SDK's enum (`Deleted`) does not match.
fn endpoint_leaving(e: &t::VpcEndpoint) -> bool {
    e.state().is_some_and(|s| {
        matches!(
            s.as_str().to_ascii_lowercase().as_str(),
            "deleted" | "deleting"
        )
    })
}

/// Whether a VPC endpoint is deleted.
fn endpoint_deleted(e: &t::VpcEndpoint) -> bool {
    e.state()
        .is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"))
}

/// Creates the `svc` endpoint of type `kind` once (`kit::calls::create_once`), named,
/// tagged and with `policy`; `with` adds what the type needs (route tables, or subnets,
/// group and private DNS). After a lost answer, the live endpoint of that service and
/// type is found instead of making a second one.
async fn create_endpoint(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    svc: &str,
    kind: t::VpcEndpointType,
    policy: &serde_json::Value,
    with: impl Fn(CreateVpcEndpointFluentBuilder) -> CreateVpcEndpointFluentBuilder,
) -> Result<String, String> {
    let name = format!("com.amazonaws.{}.{svc}", c.region);
    let what = format!(
        "creating the {svc} {} endpoint",
        kind.as_str().to_ascii_lowercase()
    );
    create_once(
        c,
        &what,
        || {
            made(
                with(
                    c.ec2
                        .create_vpc_endpoint()
                        .vpc_id(vpc_id)
                        .service_name(&name)
                        .vpc_endpoint_type(kind.clone())
                        .policy_document(policy.to_string())
                        .tag_specifications(spec(
                            t::ResourceType::VpcEndpoint,
                            child_tags(d, format!("{}-{svc}", d.name), None, None),
                        )),
                )
                .customize()
                .config_override(once())
                .send(),
                |out| out.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()),
            )
        },
        || {
            found(
                c.ec2
                    .describe_vpc_endpoints()
                    .filters(filter("vpc-id", vpc_id))
                    .filters(filter("service-name", &name))
                    .filters(filter("vpc-endpoint-type", kind.as_str()))
                    .send(),
                |out| out.vpc_endpoints(),
                |e| {
                    (!endpoint_leaving(e))
                        .then(|| e.vpc_endpoint_id())
                        .flatten()
                },
            )
        },
    )
    .await
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
    if zones.is_empty() {
        // Every region has zones: an empty answer is malformed, not "choose from none".
        return Err(format!(
            "listing availability zones of {}: EC2 answered with none; try again",
            c.region
        ));
    }
    Ok(zones)
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
/// `recorded`: the VPC is in a state already (an update), so the tags it gets carry
/// the `created` marker too (no extra call; see `kit::ownership`).
pub(super) async fn converge(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    recorded: bool,
) -> Result<(), Vec<String>> {
    let mut o = observe(c, vpc_id)
        .await
        .map_err(|e| vec![e])?
        .ok_or_else(|| vec![format!("VPC ({vpc_id}) does not exist")])?;
    let mut errors = Vec::new();

    // Phase A: independent work.
    let (attrs, igw, subnets, flow_prereq) = tokio::join!(
        vpc_basics(c, vpc_id, d, &o, recorded),
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
    let (routes, eps, ieps) = tokio::join!(
        ensure_routes(c, d, &o),
        ensure_endpoints(c, vpc_id, d, &o),
        ensure_interface_endpoints(c, vpc_id, d, &o),
    );
    errors.extend(routes.err().into_iter().flatten());
    errors.extend(eps.err());
    errors.extend(ieps.err().into_iter().flatten());
    if errors.is_empty() {
        errors.extend(remove_extras(c, d, &o).await.err().into_iter().flatten());
    }
    all_or_errors((), errors)
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
            // Interface endpoints hold network interfaces in the subnets and the group
            // until they are deleted.
            delete_and_wait(c, vpc_id, ids).await
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
            let sg = async {
                match &o.endpoint_sg {
                    Some(sg) => delete_endpoint_sg(c, &sg.id).await,
                    None => Ok(()),
                }
            };
            let igw = async {
                match &o.internet_gateway {
                    Some(igw) => delete_igw(c, vpc_id, igw).await,
                    None => Ok(()),
                }
            };
            let (sg, igw) = tokio::join!(sg, igw);
            errors.extend([sg, igw].into_iter().filter_map(Result::err));
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
        let lg = log_group::remove(c, &group);
        let iam = service_role::remove(c, &role, "flow-logs");
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
