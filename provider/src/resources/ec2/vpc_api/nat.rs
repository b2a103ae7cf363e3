//! NAT gateways and their Elastic IPs, and the waits for them.

use super::*;
use crate::resources::kit::wait::{self, Poll};

/// How long to wait for a NAT gateway to become available or deleted.
pub(crate) const NAT_TIMEOUT: Duration = Duration::from_secs(600);

pub(crate) async fn ensure_nats(
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
    // Addresses this network's NATs were given but never used (an interrupted apply)
    // are used again rather than left allocated: one read for every zone.
    let mut spare: BTreeMap<String, String> = BTreeMap::new();
    if !missing.is_empty() {
        let out = c
            .ec2
            .describe_addresses()
            .filters(filter(&format!("tag:{VPC_TAG}"), &d.name))
            .send()
            .await
            .map_err(|e| vec![format!("reading Elastic IPs: {}", error_message(&e))])?;
        for a in out
            .addresses()
            .iter()
            .filter(|a| a.association_id().is_none())
        {
            if let (Some(zone), Some(id)) = (tag_of(a.tags(), AZ_TAG), a.allocation_id()) {
                spare.insert(zone.to_string(), id.to_string());
            }
        }
    }
    let spare = &spare;
    let results = join_all(missing.iter().map(|zone| async move {
        let subnet = o
            .subnets
            .get("public")
            .and_then(|m| m.get(*zone))
            .map(|(id, _, _)| id.clone())
            .ok_or_else(|| format!("no public subnet in {zone} for its NAT gateway"))?;
        // After a lost AllocateAddress response: the address it made, if any.
        let spare_address = || {
            found(
                c.ec2
                    .describe_addresses()
                    .filters(filter(&format!("tag:{VPC_TAG}"), &d.name))
                    .filters(filter(&format!("tag:{AZ_TAG}"), zone))
                    .send(),
                |o| o.addresses(),
                |a| {
                    a.association_id()
                        .is_none()
                        .then(|| a.allocation_id())
                        .flatten()
                },
            )
        };
        let alloc = match spare.get(*zone) {
            Some(a) => a.clone(),
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
            || {
                made(
                    c.ec2
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
                        .send(),
                    |out| out.nat_gateway().and_then(|n| n.nat_gateway_id()),
                )
            },
            || {
                found(
                    c.ec2
                        .describe_nat_gateways()
                        .filter(filter("subnet-id", &subnet))
                        .filter(filter(&format!("tag:{AZ_TAG}"), zone))
                        .send(),
                    |o| o.nat_gateways(),
                    |n| {
                        matches!(
                            n.state(),
                            Some(t::NatGatewayState::Available | t::NatGatewayState::Pending)
                        )
                        .then(|| n.nat_gateway_id())
                        .flatten()
                    },
                )
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
pub(crate) async fn wait_nat(c: &Clients, id: &str, available: bool) -> Result<(), String> {
    let goal = if available { "available" } else { "deleted" };
    wait::until(
        c,
        &format!("NAT gateway ({id})"),
        goal,
        NAT_TIMEOUT,
        || async {
            let out = c
                .ec2
                .describe_nat_gateways()
                .nat_gateway_ids(id)
                .send()
                .await
                .map_err(|e| format!("reading NAT gateway ({id}): {}", error_message(&e)))?;
            let nat = out.nat_gateways().first();
            Ok(match (nat.and_then(|n| n.state()), available) {
                (Some(t::NatGatewayState::Available), true) => Poll::Done,
                (Some(t::NatGatewayState::Deleted) | None, false) => Poll::Done,
                (Some(t::NatGatewayState::Failed), _) => Poll::Never(format!(
                    "failed: {}",
                    nat.and_then(|n| n.failure_message()).unwrap_or_default()
                )),
                (None, true) => Poll::Never("disappeared".into()),
                _ => Poll::Pending,
            })
        },
    )
    .await
}

pub(crate) async fn delete_nat(c: &Clients, id: &str) -> Result<(), String> {
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
