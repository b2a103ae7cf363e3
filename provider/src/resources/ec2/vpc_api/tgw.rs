//! The optional transit gateway attachment.

use super::*;
use crate::resources::kit::wait::{self, Poll};

/// How long a transit gateway attachment may take to settle.
pub(crate) const TGW_ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(900);

pub(crate) async fn ensure_tgw_attachment(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
) -> Result<(), String> {
    match (&d.transit_gateway, &o.transit_gateway_attachment) {
        (Some((tgw, tier)), None) => create_tgw_attachment(c, vpc_id, d, tgw, tier, o).await,
        // Another transit gateway: an attachment cannot move, so replace it.
        (Some((tgw, tier)), Some(a)) if &a.transit_gateway_id != tgw => {
            delete_tgw_attachment(c, &a.id).await?;
            create_tgw_attachment(c, vpc_id, d, tgw, tier, o).await
        }
        // Same gateway: follow the tier's subnets (zones added or removed, tier changed).
        (Some((_, tier)), Some(a)) => {
            let want = o.tier_subnet_ids(tier, d);
            if want == a.subnet_ids {
                return Ok(());
            }
            let add: Vec<String> = want
                .iter()
                .filter(|s| !a.subnet_ids.contains(s))
                .cloned()
                .collect();
            let remove: Vec<String> = a
                .subnet_ids
                .iter()
                .filter(|s| !want.contains(s))
                .cloned()
                .collect();
            wait_tgw_attachment(c, &a.id, true).await?;
            c.ec2
                .modify_transit_gateway_vpc_attachment()
                .transit_gateway_attachment_id(&a.id)
                .set_add_subnet_ids((!add.is_empty()).then_some(add))
                .set_remove_subnet_ids((!remove.is_empty()).then_some(remove))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "moving transit gateway attachment ({}) to the {tier} subnets: {}",
                        a.id,
                        error_message(&e)
                    )
                })?;
            // Until it settles, its interfaces may still be in subnets about to be deleted.
            wait_tgw_attachment(c, &a.id, true).await
        }
        (None, Some(a)) => delete_tgw_attachment(c, &a.id).await,
        (None, None) => Ok(()),
    }
}

pub(crate) async fn create_tgw_attachment(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    tgw: &str,
    tier: &str,
    o: &ObservedVpc,
) -> Result<(), String> {
    let out = c
        .ec2
        .create_transit_gateway_vpc_attachment()
        .transit_gateway_id(tgw)
        .vpc_id(vpc_id)
        .set_subnet_ids(Some(o.tier_subnet_ids(tier, d)))
        .tag_specifications(spec(
            t::ResourceType::TransitGatewayAttachment,
            child_tags(d, format!("{}-tgw", d.name), Some(tier), None),
        ))
        .send()
        .await
        .map_err(|e| {
            format!(
                "attaching VPC ({vpc_id}) to transit gateway {tgw}: {}",
                error_message(&e)
            )
        })?;
    let created = out.transit_gateway_vpc_attachment();
    let id = created
        .and_then(|a| a.transit_gateway_attachment_id())
        .unwrap_or_default()
        .to_string();
    // The attachment is found again by its tags. moto 5.2.5 drops the tag specification
    // of this call (it reads the route-table type's); AWS returns the tags here, so the
    // extra CreateTags happens only where they are missing.
    if !created.is_some_and(|a| a.tags().iter().any(|t| t.key() == Some(VPC_TAG))) {
        c.ec2
            .create_tags()
            .resources(&id)
            .set_tags(Some(child_tags(
                d,
                format!("{}-tgw", d.name),
                Some(tier),
                None,
            )))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "tagging transit gateway attachment ({id}): {}",
                    error_message(&e)
                )
            })?;
    }
    wait_tgw_attachment(c, &id, true).await
}

pub(crate) async fn delete_tgw_attachment(c: &Clients, id: &str) -> Result<(), String> {
    match c
        .ec2
        .delete_transit_gateway_vpc_attachment()
        .transit_gateway_attachment_id(id)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(format!(
                "deleting transit gateway attachment ({id}): {}",
                error_message(&e)
            ))
        }
    }
    // Its interfaces leave the subnets only once it is deleted.
    wait_tgw_attachment(c, id, false).await
}

/// Waits until the attachment is `available` (or, with `available = false`, gone),
/// giving up on the stop signal or after [`TGW_ATTACHMENT_TIMEOUT`].
pub(crate) async fn wait_tgw_attachment(
    c: &Clients,
    id: &str,
    available: bool,
) -> Result<(), String> {
    use t::TransitGatewayAttachmentState as S;
    let what = format!("transit gateway attachment ({id})");
    let goal = if available { "available" } else { "deleted" };
    wait::until(c, &what, goal, TGW_ATTACHMENT_TIMEOUT, || async {
        let state = match c
            .ec2
            .describe_transit_gateway_vpc_attachments()
            .transit_gateway_attachment_ids(id)
            .send()
            .await
        {
            Ok(out) => out
                .transit_gateway_vpc_attachments()
                .first()
                .and_then(|a| a.state())
                .cloned(),
            Err(e) if is_not_found(&e) => None,
            Err(e) => return Err(format!("reading {what}: {}", error_message(&e))),
        };
        Ok(match state {
            Some(S::Available) if available => Poll::Done,
            // Failed or rejected attachments hold no interfaces: nothing to wait for.
            Some(S::Deleted | S::Failed | S::Rejected) | None if !available => Poll::Done,
            Some(s @ (S::Deleted | S::Failed | S::Rejected)) => {
                Poll::Never(format!("is {}", s.as_str()))
            }
            None => Poll::Never("disappeared".into()),
            _ => Poll::Pending,
        })
    })
    .await
}
