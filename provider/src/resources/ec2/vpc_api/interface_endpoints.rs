//! Interface endpoints (`ec2`, `ssm`, `kms`, `logs`, …) in the private subnets, behind
//! one security group that admits HTTPS from the VPC's range and opens nothing
//! outwards; each answers on private DNS and carries a policy admitting only the
//! account's (or organization's) principals (`vpc_model::endpoint_policy`).

use super::*;
use crate::resources::kit::wait::{self, Poll};

/// How long deleted interface endpoints may take to release their network interfaces.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(600);

/// Makes the endpoints' group and the interface endpoints match `d`, and removes the
/// endpoints no longer configured (and the group with the last of them).
pub(crate) async fn ensure_interface_endpoints(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), Vec<String>> {
    let unwanted: Vec<String> = o
        .interface_endpoints
        .iter()
        .filter(|(svc, _)| !d.interface_endpoints.contains(svc))
        .map(|(_, ep)| ep.id.clone())
        .collect();
    if d.interface_endpoints.is_empty() {
        // The group goes once no endpoint holds it.
        delete_and_wait(c, vpc_id, unwanted)
            .await
            .map_err(|e| vec![e])?;
        return match &o.endpoint_sg {
            Some(sg) => delete_endpoint_sg(c, &sg.id).await.map_err(|e| vec![e]),
            None => Ok(()),
        };
    }
    // Endpoints no longer wanted leave while the wanted ones are made or fixed.
    let wanted = async {
        let sg = ensure_endpoint_sg(c, vpc_id, d, o).await?;
        let subnets = o.tier_subnet_ids("private", d);
        let account = c.account_id().await?;
        let jobs = d.interface_endpoints.iter().map(|svc| {
            let policy = endpoint_policy(svc, &account, d);
            ensure_one(c, vpc_id, d, o, svc, &sg, &subnets, policy)
        });
        let (_, errors) = split_results(join_all(jobs).await);
        Ok::<_, String>(errors)
    };
    let (removed, ensured) = tokio::join!(delete_and_wait(c, vpc_id, unwanted), wanted);
    let mut errors: Vec<String> = removed.err().into_iter().collect();
    match ensured {
        Ok(failed) => errors.extend(failed),
        Err(e) => errors.push(e),
    }
    all_or_errors((), errors)
}

/// The group every interface endpoint sits behind: HTTPS from the VPC's range in,
/// nothing out (an endpoint only answers). Returns its id.
async fn ensure_endpoint_sg(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<String, String> {
    let cidr = d.cidr.to_string();
    if let Some(sg) = o.endpoint_sg.as_ref().filter(|sg| sg.vpc_https_only(&cidr)) {
        return Ok(sg.id.clone());
    }
    let id = match &o.endpoint_sg {
        // A drifted group may allow anything: strip it.
        Some(sg) => {
            strip_group(c, vpc_id, ENDPOINT_SG_NAME).await?;
            sg.id.clone()
        }
        None => {
            let id = create_once(
                c,
                "creating the interface endpoints' security group",
                || {
                    made(
                        c.ec2
                            .create_security_group()
                            .vpc_id(vpc_id)
                            .group_name(ENDPOINT_SG_NAME)
                            .description("HTTPS from the VPC to its interface endpoints")
                            .tag_specifications(spec(
                                t::ResourceType::SecurityGroup,
                                child_tags(
                                    d,
                                    format!("{}-interface-endpoints", d.name),
                                    None,
                                    None,
                                ),
                            ))
                            .customize()
                            .config_override(once())
                            .send(),
                        |out| out.group_id(),
                    )
                },
                || {
                    found(
                        c.ec2
                            .describe_security_groups()
                            .filters(filter("vpc-id", vpc_id))
                            .filters(filter("group-name", ENDPOINT_SG_NAME))
                            .send(),
                        |out| out.security_groups(),
                        |g| g.group_id(),
                    )
                },
            )
            .await?;
            // A new group allows everything out; an endpoint only answers.
            c.ec2
                .revoke_security_group_egress()
                .group_id(&id)
                .ip_permissions(
                    t::IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(t::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .gone_is_done(&format!(
                    "removing the default egress rule of the interface endpoints' group ({id})"
                ))?;
            id
        }
    };
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            t::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(HTTPS)
                .to_port(HTTPS)
                .ip_ranges(
                    t::IpRange::builder()
                        .cidr_ip(&cidr)
                        .description("HTTPS from the VPC")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .or_else(|e| match error_code(&e) {
            // Its answer was lost and the retry found the rule in place.
            Some("InvalidPermission.Duplicate") => Ok(()),
            _ => Err(format!(
                "admitting HTTPS from {cidr} to the interface endpoints' group ({id}): {}",
                error_message(&e)
            )),
        })?;
    Ok(id)
}

/// Creates the endpoint for `svc`, or brings an existing one to its subnets, group,
/// private DNS and policy in one call.
#[allow(clippy::too_many_arguments)]
async fn ensure_one(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
    svc: &str,
    sg: &str,
    subnets: &[String],
    policy: serde_json::Value,
) -> Result<(), String> {
    let Some(ep) = o.interface_endpoints.get(svc) else {
        if subnets.is_empty() {
            return Ok(());
        }
        return create_endpoint(
            c,
            vpc_id,
            d,
            svc,
            t::VpcEndpointType::Interface,
            &policy,
            |b| {
                b.set_subnet_ids(Some(subnets.to_vec()))
                    .security_group_ids(sg)
                    .private_dns_enabled(true)
            },
        )
        .await
        .map(|_| ());
    };
    let missing = |want: &[String], have: &[String]| -> Vec<String> {
        want.iter().filter(|x| !have.contains(x)).cloned().collect()
    };
    let sg_wanted = [sg.to_string()];
    let add_subnets = missing(subnets, &ep.subnet_ids);
    let remove_subnets = missing(&ep.subnet_ids, subnets);
    let add_groups = missing(&sg_wanted, &ep.security_group_ids);
    let remove_groups = missing(&ep.security_group_ids, &sg_wanted);
    let current = o
        .endpoint_policies
        .get(svc)
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
    let new_policy = (current.as_ref() != Some(&policy)).then(|| policy.to_string());
    let nothing = |v: &[String]| v.is_empty();
    if nothing(&add_subnets)
        && nothing(&remove_subnets)
        && nothing(&add_groups)
        && nothing(&remove_groups)
        && new_policy.is_none()
        && ep.private_dns
    {
        return Ok(());
    }
    let some = |v: Vec<String>| (!v.is_empty()).then_some(v);
    c.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&ep.id)
        .set_add_subnet_ids(some(add_subnets))
        .set_remove_subnet_ids(some(remove_subnets))
        .set_add_security_group_ids(some(add_groups))
        .set_remove_security_group_ids(some(remove_groups))
        .set_policy_document(new_policy)
        .set_private_dns_enabled((!ep.private_dns).then_some(true))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "bringing the {svc} interface endpoint ({}) to its subnets, group and policy: {}",
                ep.id,
                error_message(&e)
            )
        })
}

/// Deletes endpoints and waits until AWS has released their network interfaces (a
/// subnet or group still holding one cannot be deleted).
pub(crate) async fn delete_and_wait(
    c: &Clients,
    vpc_id: &str,
    ids: Vec<String>,
) -> Result<(), String> {
    if ids.is_empty() {
        return Ok(());
    }
    c.ec2
        .delete_vpc_endpoints()
        .set_vpc_endpoint_ids(Some(ids.clone()))
        .send()
        .await
        .gone_is_done("deleting interface endpoints")?;
    let what = format!("interface endpoints {} of VPC ({vpc_id})", ids.join(", "));
    wait::until(c, &what, "deleted", RELEASE_TIMEOUT, || async {
        let out = c
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .map_err(|e| format!("reading {what}: {}", error_message(&e)))?;
        let left = out.vpc_endpoints().iter().any(|e| {
            e.vpc_endpoint_id()
                .is_some_and(|id| ids.iter().any(|x| x == id))
                && !endpoint_deleted(e)
        });
        Ok(if left { Poll::Pending } else { Poll::Done })
    })
    .await
}

/// Deletes the interface endpoints' group.
pub(crate) async fn delete_endpoint_sg(c: &Clients, id: &str) -> Result<(), String> {
    c.ec2
        .delete_security_group()
        .group_id(id)
        .send()
        .await
        .map(|_| ())
        .gone_is_done(&format!(
            "deleting the interface endpoints' security group ({id})"
        ))
}
