//! Route tables per tier and zone, their associations, and the default routes.

use super::*;

pub(crate) type RtMap = BTreeMap<String, BTreeMap<String, String>>;

pub(crate) async fn ensure_route_tables(
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
                    || {
                        made(
                            c.ec2
                                .create_route_table()
                                .vpc_id(vpc_id)
                                .tag_specifications(zone_child(
                                    d,
                                    t::ResourceType::RouteTable,
                                    tier,
                                    zone,
                                ))
                                .customize()
                                .config_override(once())
                                .send(),
                            |out| out.route_table().and_then(|r| r.route_table_id()),
                        )
                    },
                    || {
                        found(
                            c.ec2
                                .describe_route_tables()
                                .filters(filter("vpc-id", vpc_id))
                                .filters(filter(&format!("tag:{TIER_TAG}"), tier))
                                .filters(filter(&format!("tag:{AZ_TAG}"), zone))
                                .send(),
                            |o| o.route_tables(),
                            |r| r.route_table_id(),
                        )
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

pub(crate) async fn ensure_routes(
    c: &Clients,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), Vec<String>> {
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

pub(crate) async fn delete_route_table(c: &Clients, rt: &str) -> Result<(), String> {
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
