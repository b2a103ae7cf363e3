//! Network ACLs per tier (deny by default) and the subnets' associations with them.

use super::*;

pub(crate) async fn ensure_nacls(
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
                            || {
                                made(
                                    c.ec2
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
                                        .send(),
                                    |out| out.network_acl().and_then(|a| a.network_acl_id()),
                                )
                            },
                            || {
                                found(
                                    c.ec2
                                        .describe_network_acls()
                                        .filters(filter("vpc-id", vpc_id))
                                        .filters(filter(&format!("tag:{TIER_TAG}"), tier))
                                        .send(),
                                    |o| o.network_acls(),
                                    |a| a.network_acl_id(),
                                )
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
pub(crate) async fn move_to_acl(
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

pub(crate) async fn sync_nacl_entries(
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

/// Moves subnets back to the VPC's default network ACL before they are
/// deleted, so the tier ACLs are left without associations and can be
/// deleted (moto keeps the association of a deleted subnet, and AWS refuses
/// to delete an ACL that is still associated).
pub(crate) async fn release_nacl_associations(
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
