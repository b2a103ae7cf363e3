//! What the layout no longer has (a removed zone or tier, a NAT strategy change), removed in dependency order.

use super::*;

pub(crate) async fn remove_extras(
    c: &Clients,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), Vec<String>> {
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
