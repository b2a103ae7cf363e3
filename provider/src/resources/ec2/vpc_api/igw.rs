//! The internet gateway of the public tier.

use super::*;

pub(crate) async fn ensure_igw(
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
            let detached = || {
                found(
                    c.ec2
                        .describe_internet_gateways()
                        .filters(filter(&format!("tag:{VPC_TAG}"), &d.name))
                        .send(),
                    |o| o.internet_gateways(),
                    |g| {
                        g.attachments()
                            .is_empty()
                            .then(|| g.internet_gateway_id())
                            .flatten()
                    },
                )
            };
            let id = match detached().await? {
                Some(id) => id,
                None => {
                    create_once(
                        c,
                        &format!("creating the internet gateway of VPC ({vpc_id})"),
                        || {
                            made(
                                c.ec2
                                    .create_internet_gateway()
                                    .tag_specifications(spec(
                                        t::ResourceType::InternetGateway,
                                        child_tags(d, format!("{}-igw", d.name), None, None),
                                    ))
                                    .customize()
                                    .config_override(once())
                                    .send(),
                                |out| out.internet_gateway().and_then(|g| g.internet_gateway_id()),
                            )
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

pub(crate) async fn delete_igw(c: &Clients, vpc_id: &str, igw: &str) -> Result<(), String> {
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
