//! The VPC itself: created with its ownership marker (or continued), marked when finished, DNS attributes, tags, the default security group stripped (CIS 6.5) and the default network ACL emptied (EC2.21).

use super::*;

/// The VPC an interrupted create of this composite left: its name and CIDR, still
/// marked `creating` (see `kit::ownership`). A finished VPC of the same name (marked
/// `created`, e.g. the one a create-before-destroy replaces) is never taken.
pub(crate) async fn unfinished_vpc(c: &Clients, d: &DesiredVpc) -> Result<Option<String>, String> {
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
pub(crate) async fn create_vpc(c: &Clients, d: &DesiredVpc) -> Result<(String, bool), String> {
    if let Some(id) = unfinished_vpc(c, d).await? {
        tracing::info!(vpc = %id, name = %d.name, "continuing the VPC an interrupted create left");
        return Ok((id, true));
    }
    let mut tags = child_tags(d, d.name.clone(), None, None);
    tags.push(tag(LIFECYCLE_TAG, CREATING));
    let id = create_once(
        c,
        &format!("creating VPC ({})", d.name),
        || {
            made(
                c.ec2
                    .create_vpc()
                    .cidr_block(d.cidr.to_string())
                    .tag_specifications(spec(t::ResourceType::Vpc, tags.clone()))
                    .customize()
                    .config_override(once())
                    .send(),
                |out| out.vpc().and_then(|v| v.vpc_id()),
            )
        },
        || unfinished_vpc(c, d),
    )
    .await?;
    Ok((id, false))
}

/// Marks a VPC whose create finished: it is never adopted by another create.
pub(crate) async fn mark_created(c: &Clients, vpc_id: &str) -> Result<(), String> {
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
pub(crate) async fn vpc_exists(c: &Clients, vpc_id: &str) -> Result<Option<t::Vpc>, String> {
    match c.ec2.describe_vpcs().vpc_ids(vpc_id).send().await {
        // AWS answers a missing VPC with InvalidVpcID.NotFound; an empty list for an
        // explicit id is a malformed answer, not "gone".
        Ok(out) => out
            .vpcs()
            .first()
            .cloned()
            .map(Some)
            .ok_or_else(|| format!("reading VPC ({vpc_id}): EC2 answered without it")),
        Err(e) if is_not_found(&e) || error_code(&e).is_some_and(|c| c.contains("NotFound")) => {
            Ok(None)
        }
        Err(e) => Err(format!("reading VPC ({vpc_id}): {}", error_message(&e))),
    }
}

pub(crate) async fn vpc_basics(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
    recorded: bool,
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
        .set_tags(Some({
            let mut tags = child_tags(d, d.name.clone(), None, None);
            if recorded {
                tags.push(tag(LIFECYCLE_TAG, CREATED));
            }
            tags
        }))
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
    let (sg, acl) = tokio::join!(
        async {
            match o.default_sg_rules {
                0 => Ok(()),
                _ => strip_group(c, vpc_id, "default").await,
            }
        },
        async {
            match o.default_acl.entries.is_empty() {
                true => Ok(()),
                false => empty_default_acl(c, &o.default_acl).await,
            }
        },
    );
    sg.and(acl)
}

/// Removes every entry of the VPC's default network ACL but its fixed deny-all, so a
/// subnet created outside the composite (which lands on it) admits nothing (EC2.21).
pub(crate) async fn empty_default_acl(c: &Clients, acl: &DefaultAcl) -> Result<(), String> {
    let id = acl.id.as_str();
    let removals = acl.entries.iter().map(|&(number, egress)| async move {
        c.ec2
            .delete_network_acl_entry()
            .network_acl_id(id)
            .rule_number(number)
            .egress(egress)
            .send()
            .await
            .gone_is_done(&format!(
                "removing entry {number} ({}) of the default network ACL ({id})",
                if egress { "egress" } else { "ingress" }
            ))
    });
    let failed = futures::future::join_all(removals)
        .await
        .into_iter()
        .find_map(Result::err);
    let Some(error) = failed else {
        return Ok(());
    };
    // A removal whose answer was lost is retried against an entry already gone, which
    // some endpoints answer with an error: what counts is whether entries remain.
    let again = c
        .ec2
        .describe_network_acls()
        .network_acl_ids(id)
        .send()
        .await
        .map_err(|_| error.clone())?;
    let left = again.network_acls().first().map_or(0, |a| {
        a.entries()
            .iter()
            .filter(|x| x.rule_number().is_some_and(|n| n < 32767))
            .count()
    });
    if left == 0 {
        Ok(())
    } else {
        Err(error)
    }
}

/// Removes every rule of the VPC's security group `name`: the default group (CIS 6.5,
/// EC2.2), or the interface endpoints' group before it gets its one rule.
pub(crate) async fn strip_group(c: &Clients, vpc_id: &str, name: &str) -> Result<(), String> {
    let out = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", name))
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the {name} security group of VPC ({vpc_id}): {}",
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
                "removing ingress rules of the {name} security group ({id})"
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
                "removing egress rules of the {name} security group ({id})"
            ))?;
    }
    Ok(())
}
