//! The S3 and DynamoDB gateway endpoints on the private and restricted route tables,
//! each with a policy admitting only the account's (or organization's) principals
//! (`vpc_model::endpoint_policy`).

use super::*;

pub(crate) async fn ensure_endpoints(
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
        .filter(|e| !endpoint_leaving(e))
        .collect();
    let account = c.account_id().await?;
    for svc in &d.endpoints {
        let name = format!("com.amazonaws.{}.{svc}", c.region);
        let policy = endpoint_policy(svc, &account, d);
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
                let current = ep
                    .policy_document()
                    .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
                if current.as_ref() != Some(&policy) {
                    c.ec2
                        .modify_vpc_endpoint()
                        .vpc_endpoint_id(id)
                        .policy_document(policy.to_string())
                        .send()
                        .await
                        .map_err(|e| {
                            format!(
                                "setting the policy of the {svc} endpoint ({id}): {}",
                                error_message(&e)
                            )
                        })?;
                }
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
                create_endpoint(
                    c,
                    vpc_id,
                    d,
                    svc,
                    t::VpcEndpointType::Gateway,
                    &policy,
                    |b| b.set_route_table_ids(Some(rts.clone())),
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
            .gone_is_done("removing gateway endpoints no longer configured")?;
    }
    Ok(())
}
