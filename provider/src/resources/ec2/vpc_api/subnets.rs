//! Subnets, one per tier and zone, found again by CIDR after a lost response.

use super::*;

pub(crate) type SubnetMap = BTreeMap<String, BTreeMap<String, (String, String, bool)>>;

pub(crate) async fn ensure_subnets(
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
            || {
                made(
                    c.ec2
                        .create_subnet()
                        .vpc_id(vpc_id)
                        .cidr_block(cidr.to_string())
                        .availability_zone(zone)
                        .tag_specifications(zone_child(d, t::ResourceType::Subnet, tier, zone))
                        .customize()
                        .config_override(once())
                        .send(),
                    |out| out.subnet().and_then(|s| s.subnet_id()),
                )
            },
            // A subnet's CIDR is unique in its VPC.
            || {
                found(
                    c.ec2
                        .describe_subnets()
                        .filters(filter("vpc-id", vpc_id))
                        .filters(filter("cidr-block", &cidr.to_string()))
                        .send(),
                    |o| o.subnets(),
                    |s| s.subnet_id(),
                )
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
