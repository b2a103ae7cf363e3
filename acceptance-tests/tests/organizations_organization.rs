//! Acceptance tests for `bankplatform_organization`: the standard suite on
//! Terraform 1.15 and 1.0.3, each case in its own emulated account (which becomes
//! the management account of its own organization). The basic configuration is the
//! default layout; the update changes the OU tree (an OU made, one removed), the
//! allowed Regions and the tags in place. Every control is read back through the
//! SDK: the feature set, the OU tree, each guardrail's document on the root, trusted
//! access. `delegates_and_places_a_member` makes a member account (the emulator
//! joins only accounts the organization creates) and delegates to it.
//!
//! What the emulator cannot show: that SCPs are enforced (moto does not enforce
//! them), centralized root access (no such API), Security Hub's and Config's
//! delegated administrators (moto does not know those principals).

const ADDR: &str = "bankplatform_organization.test";

/// The guardrails of organization `name`.
fn guardrail_names(name: &str) -> [String; 3] {
    [
        format!("{name}-protect-baseline"),
        format!("{name}-deny-root-and-leaving"),
        format!("{name}-allowed-regions"),
    ]
}

/// Every OU of the account's organization by path → id, and the root id.
async fn tree(
    aws: &acceptance_tests::Aws,
) -> anyhow::Result<(String, std::collections::BTreeMap<String, String>)> {
    use acceptance_tests::checks::sdk;
    let orgs = aws.organizations();
    let roots = orgs
        .list_roots()
        .send()
        .await
        .map_err(|e| sdk("ListRoots", e))?;
    let root = roots.roots()[0].id().unwrap_or_default().to_string();
    let mut all = std::collections::BTreeMap::new();
    let mut level = vec![(String::new(), root.clone())];
    while let Some((path, id)) = level.pop() {
        let ous = orgs
            .list_organizational_units_for_parent()
            .parent_id(&id)
            .send()
            .await
            .map_err(|e| sdk("ListOrganizationalUnitsForParent", e))?;
        for u in ous.organizational_units() {
            let name = u.name().unwrap_or_default();
            let p = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}/{name}")
            };
            all.insert(p.clone(), u.id().unwrap_or_default().to_string());
            level.push((p, u.id().unwrap_or_default().to_string()));
        }
    }
    Ok((root, all))
}

pub(crate) mod standard {
    use acceptance_tests::checks::sdk;
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;
    use serde_json::Value as Json;

    fn with(name: &str, extra: &str) -> String {
        format!("resource \"bankplatform_organization\" \"test\" {{\n  name = \"{name}\"\n{extra}\n}}\n")
    }

    fn basic(name: &str) -> String {
        with(name, "")
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "org",
        composite: Composite {
            config: basic,
            expected: &[
                ("organizations organization", 1),
                ("organizations ou", 7),
                ("organizations scp", 3),
                ("organizations ai-opt-out-policy", 1),
                ("organizations tag-policy", 1),
            ],
            beside: &[],
        },
        updated: |name| {
            with(
                name,
                "  organizational_units = [\"Security\", \"Workloads/Prod\", \"Workloads/Staging\"]\n  allowed_regions = [\"us-east-1\", \"eu-central-1\"]\n  tags = { owner = \"platform\" }",
            )
        },
        replaced: |name| basic(&format!("{name}-r")),
        import_ignore: &[],
        controls: &[
            ("CIS 2.1.2", true),
            ("CIS 2.1.4", true),
            ("bank:org-allowed-regions", true),
            ("bank:org-ai-opt-out", true),
            ("bank:org-tag-policy", true),
            ("bank:delegated-access-analyzer", false),
            ("bank:delegated-config", false),
            ("bank:delegated-guardduty", false),
            ("bank:delegated-securityhub", false),
        ],
        check: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                let orgs = ctx.aws.organizations();
                let o = orgs
                    .describe_organization()
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeOrganization", e))?;
                let o = o.organization().context("no organization")?;
                ensure!(
                    o.feature_set().map(|f| f.as_str()) == Some("ALL"),
                    "feature set {:?}",
                    o.feature_set()
                );
                ensure!(
                    Some(o.id().unwrap_or_default())
                        == ctx.attr(super::ADDR, "id").as_ref().and_then(Json::as_str),
                    "another organization's id in the state"
                );
                // The OU tree: every configured path, with the ids the state records.
                let (root, ous) = super::tree(&ctx.aws).await?;
                let recorded = ctx
                    .attr(super::ADDR, "organizational_unit_ids")
                    .unwrap_or_default();
                let configured: Vec<String> = ctx
                    .attr(super::ADDR, "organizational_units")
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default();
                for p in &configured {
                    let id = ous
                        .get(p)
                        .with_context(|| format!("OU {p} missing; the tree is {ous:?}"))?;
                    ensure!(
                        recorded[p] == Json::String(id.clone()),
                        "OU {p}: state {} vs {id}",
                        recorded[p]
                    );
                }
                ensure!(
                    ous.keys().all(|p| configured
                        .iter()
                        .any(|c| c == p || c.starts_with(&format!("{p}/")))),
                    "OUs beyond the configuration: {ous:?}"
                );
                // SCPs on, and the three guardrails on the root as written.
                let roots = orgs
                    .list_roots()
                    .send()
                    .await
                    .map_err(|e| sdk("ListRoots", e))?;
                ensure!(
                    roots.roots()[0]
                        .policy_types()
                        .iter()
                        .any(
                            |p| p.r#type().map(|t| t.as_str()) == Some("SERVICE_CONTROL_POLICY")
                                && p.status().map(|s| s.as_str()) == Some("ENABLED")
                        ),
                    "SCPs are not enabled on the root"
                );
                let attached = orgs
                    .list_policies_for_target()
                    .target_id(&root)
                    .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
                    .send()
                    .await
                    .map_err(|e| sdk("ListPoliciesForTarget", e))?;
                let regions: Vec<String> = ctx
                    .attr(super::ADDR, "allowed_regions")
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default();
                for g in super::guardrail_names(&name) {
                    let p = attached
                        .policies()
                        .iter()
                        .find(|p| p.name() == Some(g.as_str()))
                        .with_context(|| format!("guardrail {g} is not attached to the root"))?;
                    let doc = orgs
                        .describe_policy()
                        .policy_id(p.id().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| sdk("DescribePolicy", e))?;
                    let doc: Json = serde_json::from_str(
                        doc.policy().and_then(|p| p.content()).unwrap_or_default(),
                    )?;
                    let st = &doc["Statement"];
                    ensure!(
                        st.as_array().is_some_and(
                            |s| !s.is_empty() && s.iter().all(|x| x["Effect"] == "Deny")
                        ),
                        "{g} is not all Deny: {doc}"
                    );
                    if g.ends_with("-protect-baseline") {
                        let actions = st[0]["Action"].as_array().context("no actions")?;
                        for a in [
                            "cloudtrail:StopLogging",
                            "config:StopConfigurationRecorder",
                            "guardduty:DeleteDetector",
                            "securityhub:DisableSecurityHub",
                            "ec2:DisableEbsEncryptionByDefault",
                            "s3:PutAccountPublicAccessBlock",
                            "kms:ScheduleKeyDeletion",
                        ] {
                            ensure!(
                                actions.iter().any(|x| x == a),
                                "{g} lets member accounts {a}: {doc}"
                            );
                        }
                        ensure!(
                            st[0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"][0]
                                == "arn:*:iam::*:role/OrganizationAccountAccessRole",
                            "{g}: exemptions {doc}"
                        );
                    } else if g.ends_with("-deny-root-and-leaving") {
                        ensure!(
                            st[0]["Condition"]["ArnLike"]["aws:PrincipalArn"]
                                == "arn:*:iam::*:root"
                                && st[0]["Action"] == "*",
                            "{g}: {doc}"
                        );
                        ensure!(
                            st[1]["Action"] == "organizations:LeaveOrganization"
                                && st[1].get("Condition").is_none(),
                            "{g}: {doc}"
                        );
                    } else {
                        ensure!(
                            st[0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"]
                                == serde_json::json!(regions),
                            "{g}: Regions {doc} vs {regions:?}"
                        );
                        ensure!(
                            st[0]["NotAction"]
                                .as_array()
                                .is_some_and(|a| a.iter().any(|x| x == "iam:*")),
                            "{g}: global services denied {doc}"
                        );
                    }
                }
                // The AI services opt-out and the tag policy, on the root as well.
                for (t, suffix) in [
                    ("AISERVICES_OPT_OUT_POLICY", "ai-opt-out"),
                    ("TAG_POLICY", "tag-keys"),
                ] {
                    let on = orgs
                        .list_policies_for_target()
                        .target_id(&root)
                        .filter(aws_sdk_organizations::types::PolicyType::from(t))
                        .send()
                        .await
                        .map_err(|e| sdk("ListPoliciesForTarget", e))?;
                    let p = on
                        .policies()
                        .iter()
                        .find(|p| p.name() == Some(format!("{name}-{suffix}").as_str()))
                        .with_context(|| format!("no {t} policy {name}-{suffix} on the root"))?;
                    let doc = orgs
                        .describe_policy()
                        .policy_id(p.id().unwrap_or_default())
                        .send()
                        .await
                        .map_err(|e| sdk("DescribePolicy", e))?;
                    let doc: Json = serde_json::from_str(
                        doc.policy().and_then(|p| p.content()).unwrap_or_default(),
                    )?;
                    if t == "AISERVICES_OPT_OUT_POLICY" {
                        let ai = &doc["services"]["default"]["opt_out_policy"];
                        ensure!(
                            ai["@@assign"] == "optOut"
                                && ai["@@operators_allowed_for_child_policies"]
                                    == serde_json::json!(["@@none"]),
                            "AI opt-out: {doc}"
                        );
                    } else {
                        ensure!(
                            doc["tags"]["owner"]["tag_key"]["@@assign"] == "owner",
                            "tag policy: {doc}"
                        );
                    }
                }
                // Trusted access for the security services.
                let access = orgs
                    .list_aws_service_access_for_organization()
                    .send()
                    .await
                    .map_err(|e| sdk("ListAWSServiceAccessForOrganization", e))?;
                let enabled: Vec<&str> = access
                    .enabled_service_principals()
                    .iter()
                    .filter_map(|s| s.service_principal())
                    .collect();
                for s in [
                    "guardduty.amazonaws.com",
                    "securityhub.amazonaws.com",
                    "config.amazonaws.com",
                    "access-analyzer.amazonaws.com",
                    "cloudtrail.amazonaws.com",
                ] {
                    ensure!(
                        enabled.contains(&s),
                        "no trusted access for {s}: {enabled:?}"
                    );
                }
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                // Someone detaches the baseline guardrail from the root.
                let name = ctx.require_str(super::ADDR, "name")?;
                let root = ctx.require_str(super::ADDR, "root_id")?;
                let ids = ctx
                    .attr(super::ADDR, "guardrail_policy_ids")
                    .unwrap_or_default();
                let id = ids[&format!("{name}-protect-baseline")]
                    .as_str()
                    .context("no policy id")?
                    .to_string();
                ctx.aws
                    .organizations()
                    .detach_policy()
                    .policy_id(id)
                    .target_id(root)
                    .send()
                    .await
                    .map_err(|e| sdk("DetachPolicy", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["CIS 2.1.2"],
        disappear: |ctx| {
            async move {
                ctx.aws
                    .organizations()
                    .delete_organization()
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteOrganization", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    with(name, "  organizational_units = [\"Workloads//Prod\"]"),
                    r"(?is)invalid ou path.*organizational_units",
                ),
                (
                    with(name, "  accounts = { \"210000000005\" = \"Payments\" }"),
                    r"(?is)unknown ou.*accounts.*Payments",
                ),
                (
                    with(name, "  security_account_id = \"2100\""),
                    r"(?is)invalid account id.*security_account_id",
                ),
                (
                    with(name, "  allowed_regions = []"),
                    r"(?is)no region allowed.*allowed_regions",
                ),
                (
                    with(name, "  exempt_role_names = [\"*\"]"),
                    r"(?is)invalid role name.*exempt_role_names",
                ),
                (
                    basic(&format!("{name}/x")),
                    r"(?is)invalid organization name.*name",
                ),
            ]
        },
        fail_at: 4,
        kill_after: 1,
    };

    acceptance_tests::standard_suite!(SUITE);
}

/// A member account (made through the SDK: the emulator joins only the accounts
/// its organization creates) is placed in the Security OU and becomes the delegated
/// administrator, whose threat detection then administers the organization (Security
/// Hub in every new member), GuardDuty's in each allowed Region; taking the delegation
/// away deregisters it; destroy moves the
/// account back to the root, removes everything the resource made, and keeps the
/// organization (it has a member).
mod delegation {
    use acceptance_tests::checks::{inventory, sdk};
    use acceptance_tests::step::{check, Step, TestCase};
    use acceptance_tests::{random_name, skip_unless_acc, TfVersion};
    use anyhow::{ensure, Context, Result};

    const MEMBER_FILE: &str = "security_account.txt";

    /// The organization placing the member in Security; `delegated`: delegating to
    /// it, and the member's threat detection administering the organization.
    fn config(name: &str, delegated: bool) -> String {
        let body = if delegated {
            "  security_account_id = local.security\n  accounts = { (local.security) = \"Security\" }\n  allowed_regions = [\"us-east-1\", \"eu-west-1\"]\n"
        } else {
            "  accounts = { (local.security) = \"Security\" }\n"
        };
        let admin = if delegated {
            "\nresource \"bankplatform_threat_detection\" \"security\" {\n  organization_admin = true\n  target {\n    assume_role_arn = \"arn:aws:iam::${local.security}:role/OrganizationAccountAccessRole\"\n  }\n  depends_on = [bankplatform_organization.test]\n}\n"
        } else {
            ""
        };
        format!(
            "locals {{\n  security = trimspace(file(\"${{path.module}}/{MEMBER_FILE}\"))\n}}\n\nresource \"bankplatform_organization\" \"test\" {{\n  name = \"{name}\"\n{body}}}\n{admin}"
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn delegates_and_places_a_member() -> Result<()> {
        skip_unless_acc!();
        let name = random_name("orgdel");
        TestCase {
            own_account: true,
            terraform: TfVersion::V1_15,
            steps: vec![
                Step::config(format!(
                    "resource \"bankplatform_organization\" \"test\" {{\n  name = \"{name}\"\n}}\n"
                )),
                Step {
                    pre_config: check(|ctx| async move {
                        let out = ctx
                            .aws
                            .organizations()
                            .create_account()
                            .account_name("security")
                            .email("security@example.com")
                            .send()
                            .await
                            .map_err(|e| sdk("CreateAccount", e))?;
                        let status = out.create_account_status().context("no status")?;
                        let id = status.account_id().context("no account id")?;
                        std::fs::write(ctx.working_dir.join(MEMBER_FILE), id)?;
                        Ok(())
                    }),
                    check: check(|ctx| async move {
                        let member = std::fs::read_to_string(ctx.working_dir.join(MEMBER_FILE))?;
                        let orgs = ctx.aws.organizations();
                        // Placed in Security.
                        let parents = orgs
                            .list_parents()
                            .child_id(&member)
                            .send()
                            .await
                            .map_err(|e| sdk("ListParents", e))?;
                        let ous = ctx
                            .attr(super::ADDR, "organizational_unit_ids")
                            .unwrap_or_default();
                        ensure!(
                            Some(parents.parents()[0].id().unwrap_or_default())
                                == ous["Security"].as_str(),
                            "the member is under {:?}, not Security {}",
                            parents.parents()[0].id(),
                            ous["Security"]
                        );
                        // GuardDuty is administered from it in every allowed Region,
                        // Access Analyzer (organization-wide) too.
                        for region in ["us-east-1", "eu-west-1"] {
                            let gd = aws_sdk_guardduty::Client::from_conf(
                                ctx.aws
                                    .guardduty()
                                    .config()
                                    .to_builder()
                                    .region(aws_types::region::Region::new(region))
                                    .build(),
                            )
                            .list_organization_admin_accounts()
                            .send()
                            .await
                            .map_err(|e| sdk("ListOrganizationAdminAccounts", e))?;
                            ensure!(
                                gd.admin_accounts()
                                    .iter()
                                    .any(|a| a.admin_account_id() == Some(member.as_str())),
                                "GuardDuty admins in {region}: {:?}",
                                gd.admin_accounts()
                            );
                        }
                        for p in [
                            "access-analyzer.amazonaws.com",
                            "config-multiaccountsetup.amazonaws.com",
                        ] {
                            let admins = orgs
                                .list_delegated_administrators()
                                .service_principal(p)
                                .send()
                                .await
                                .map_err(|e| sdk("ListDelegatedAdministrators", e))?;
                            ensure!(
                                admins
                                    .delegated_administrators()
                                    .iter()
                                    .any(|a| a.id() == Some(member.as_str())),
                                "{p}: admins {:?}",
                                admins.delegated_administrators()
                            );
                        }
                        let c = ctx.attr(super::ADDR, "compliance").unwrap_or_default();
                        ensure!(
                            c["bank:delegated-guardduty"] == true
                                && c["bank:delegated-access-analyzer"] == true
                                && c["CIS 2.1.4"] == true,
                            "compliance {c}"
                        );
                        // What the emulator cannot say is left out, not claimed.
                        ensure!(
                            c.get("bank:delegated-securityhub").is_none()
                                && c.get("bank:delegated-config").is_none(),
                            "compliance claims what moto cannot show: {c}"
                        );
                        // The security account administers: Security Hub turns itself on in
                        // every new member (moto has no GuardDuty organization settings).
                        let security = ctx.aws.in_account(&member).await?;
                        let hub = security
                            .securityhub()
                            .describe_organization_configuration()
                            .send()
                            .await
                            .map_err(|e| sdk("DescribeOrganizationConfiguration", e))?;
                        ensure!(
                            hub.auto_enable() == Some(true),
                            "Security Hub does not turn itself on in new members: {hub:?}"
                        );
                        let t = ctx
                            .attr("bankplatform_threat_detection.security", "compliance")
                            .unwrap_or_default();
                        ensure!(
                            t["bank:organization-security-hub"] == true
                                && t.get("bank:organization-guardduty").is_none(),
                            "threat detection compliance {t}"
                        );
                        Ok(())
                    }),
                    ..Step::config(config(&name, true))
                },
                Step {
                    check: check(|ctx| async move {
                        let member = std::fs::read_to_string(ctx.working_dir.join(MEMBER_FILE))?;
                        let admins = ctx
                            .aws
                            .organizations()
                            .list_delegated_administrators()
                            .send()
                            .await
                            .map_err(|e| sdk("ListDelegatedAdministrators", e))?;
                        ensure!(
                            !admins
                                .delegated_administrators()
                                .iter()
                                .any(|a| a.id() == Some(member.as_str())),
                            "still a delegated administrator: {:?}",
                            admins.delegated_administrators()
                        );
                        let c = ctx.attr(super::ADDR, "compliance").unwrap_or_default();
                        ensure!(
                            c["bank:delegated-access-analyzer"] == false,
                            "compliance {c}"
                        );
                        Ok(())
                    }),
                    ..Step::config(config(&name, false))
                },
            ],
            check_destroy: check(|ctx| async move {
                // The organization stays (it has a member), holding nothing the resource made.
                let left = inventory::live_objects(&ctx.aws).await?;
                let ours: Vec<&String> = left
                    .iter()
                    .filter(|l| {
                        !l.starts_with("organizations organization ")
                            && !l.starts_with("guardduty org-admin ")
                    })
                    .collect();
                ensure!(ours.is_empty(), "left behind: {left:?}");
                ensure!(
                    left.iter()
                        .any(|l| l.starts_with("organizations organization ")),
                    "the organization with a member was deleted: {left:?}"
                );
                Ok(())
            }),
        }
        .run()
        .await
    }
}
