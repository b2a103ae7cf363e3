//! Everything that lives in one emulated account, as a list of readable lines
//! ("ec2 vpc vpc-123 bankplatform:vpc=prod"), so that a test run in its own account
//! can assert "nothing left" or "exactly one VPC" without trusting the state.
//!
//! What an empty account holds anyway is left out: the default VPC and its children,
//! the main route table and default network ACL and security group of every VPC (they
//! go with it), KMS keys already pending deletion, and deleted NAT gateways.

use anyhow::Result;

use super::sdk;
use crate::aws::Aws;

fn tags_of(tags: &[aws_sdk_ec2::types::Tag]) -> String {
    let mut kv: Vec<String> = tags
        .iter()
        .filter(|t| t.key().is_some_and(|k| k.starts_with("bankplatform:")))
        .map(|t| format!("{}={}", t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    kv.sort();
    kv.join(",")
}

/// Every live object in the account of `aws`, one line each, sorted.
pub async fn live_objects(aws: &Aws) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let ec2 = aws.ec2();
    let vpcs = ec2
        .describe_vpcs()
        .send()
        .await
        .map_err(|e| sdk("DescribeVpcs", e))?;
    let default_vpcs: Vec<String> = vpcs
        .vpcs()
        .iter()
        .filter(|v| v.is_default() == Some(true))
        .filter_map(|v| v.vpc_id().map(str::to_string))
        .collect();
    let not_default = |vpc: Option<&str>| vpc.is_some_and(|v| !default_vpcs.iter().any(|d| d == v));
    for v in vpcs.vpcs() {
        if not_default(v.vpc_id()) {
            out.push(format!(
                "ec2 vpc {} {}",
                v.vpc_id().unwrap_or(""),
                tags_of(v.tags())
            ));
        }
    }
    let subnets = ec2
        .describe_subnets()
        .send()
        .await
        .map_err(|e| sdk("DescribeSubnets", e))?;
    for s in subnets.subnets() {
        if not_default(s.vpc_id()) {
            out.push(format!(
                "ec2 subnet {} {}",
                s.subnet_id().unwrap_or(""),
                tags_of(s.tags())
            ));
        }
    }
    let igws = ec2
        .describe_internet_gateways()
        .send()
        .await
        .map_err(|e| sdk("DescribeInternetGateways", e))?;
    for g in igws.internet_gateways() {
        let vpc = g.attachments().first().and_then(|a| a.vpc_id());
        if vpc.is_none() || not_default(vpc) {
            out.push(format!(
                "ec2 internet-gateway {} {}",
                g.internet_gateway_id().unwrap_or(""),
                tags_of(g.tags())
            ));
        }
    }
    let rts = ec2
        .describe_route_tables()
        .send()
        .await
        .map_err(|e| sdk("DescribeRouteTables", e))?;
    for rt in rts.route_tables() {
        let main = rt.associations().iter().any(|a| a.main() == Some(true));
        if !main && not_default(rt.vpc_id()) {
            out.push(format!(
                "ec2 route-table {} {}",
                rt.route_table_id().unwrap_or(""),
                tags_of(rt.tags())
            ));
        }
    }
    let acls = ec2
        .describe_network_acls()
        .send()
        .await
        .map_err(|e| sdk("DescribeNetworkAcls", e))?;
    for a in acls.network_acls() {
        if a.is_default() != Some(true) && not_default(a.vpc_id()) {
            out.push(format!(
                "ec2 network-acl {} {}",
                a.network_acl_id().unwrap_or(""),
                tags_of(a.tags())
            ));
        }
    }
    let nats = ec2
        .describe_nat_gateways()
        .send()
        .await
        .map_err(|e| sdk("DescribeNatGateways", e))?;
    for n in nats.nat_gateways() {
        let state = n.state().map(|s| s.as_str()).unwrap_or("");
        if state != "deleted" && state != "deleting" {
            out.push(format!(
                "ec2 nat-gateway {} {}",
                n.nat_gateway_id().unwrap_or(""),
                tags_of(n.tags())
            ));
        }
    }
    let eips = ec2
        .describe_addresses()
        .send()
        .await
        .map_err(|e| sdk("DescribeAddresses", e))?;
    for a in eips.addresses() {
        out.push(format!(
            "ec2 elastic-ip {} {}",
            a.allocation_id().unwrap_or(""),
            tags_of(a.tags())
        ));
    }
    let endpoints = ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .map_err(|e| sdk("DescribeVpcEndpoints", e))?;
    for e in endpoints.vpc_endpoints() {
        let state = e.state().map(|s| s.as_str().to_ascii_lowercase());
        if state.as_deref() != Some("deleted") {
            out.push(format!(
                "ec2 vpc-endpoint {} {},service={}",
                e.vpc_endpoint_id().unwrap_or(""),
                tags_of(e.tags()),
                e.service_name().unwrap_or("")
            ));
        }
    }
    let groups = ec2
        .describe_security_groups()
        .send()
        .await
        .map_err(|e| sdk("DescribeSecurityGroups", e))?;
    // Every VPC has its default group; only the ones made beside it count.
    for g in groups
        .security_groups()
        .iter()
        .filter(|g| g.group_name() != Some("default"))
    {
        out.push(format!(
            "ec2 security-group {} {}",
            g.group_id().unwrap_or(""),
            tags_of(g.tags())
        ));
    }
    let flow_logs = ec2
        .describe_flow_logs()
        .send()
        .await
        .map_err(|e| sdk("DescribeFlowLogs", e))?;
    for f in flow_logs.flow_logs() {
        out.push(format!("ec2 flow-log {}", f.flow_log_id().unwrap_or("")));
    }
    let groups = aws
        .logs()
        .describe_log_groups()
        .send()
        .await
        .map_err(|e| sdk("DescribeLogGroups", e))?;
    for g in groups.log_groups() {
        out.push(format!("logs group {}", g.log_group_name().unwrap_or("")));
    }
    for g in groups.log_groups() {
        let name = g.log_group_name().unwrap_or("");
        let filters = aws
            .logs()
            .describe_metric_filters()
            .log_group_name(name)
            .send()
            .await
            .map_err(|e| sdk("DescribeMetricFilters", e))?;
        for f in filters.metric_filters() {
            out.push(format!(
                "logs metric-filter {name} {}",
                f.filter_name().unwrap_or("")
            ));
        }
    }
    let trails = aws
        .cloudtrail()
        .describe_trails()
        .send()
        .await
        .map_err(|e| sdk("DescribeTrails", e))?;
    for t in trails.trail_list() {
        out.push(format!("cloudtrail trail {}", t.name().unwrap_or("")));
    }
    let alarms = aws
        .cloudwatch()
        .describe_alarms()
        .send()
        .await
        .map_err(|e| sdk("DescribeAlarms", e))?;
    for a in alarms.metric_alarms() {
        out.push(format!("cloudwatch alarm {}", a.alarm_name().unwrap_or("")));
    }
    let topics = aws
        .sns()
        .list_topics()
        .send()
        .await
        .map_err(|e| sdk("ListTopics", e))?;
    for t in topics.topics() {
        out.push(format!("sns topic {}", t.topic_arn().unwrap_or("")));
    }
    organization(aws, &mut out).await?;
    let tables = aws
        .dynamodb()
        .list_tables()
        .send()
        .await
        .map_err(|e| sdk("ListTables", e))?;
    for t in tables.table_names() {
        out.push(format!("dynamodb table {t}"));
    }
    // Account-wide settings (a baseline's): present only when something set them.
    if aws.iam().get_account_password_policy().send().await.is_ok() {
        out.push("iam password-policy".to_string());
    }
    let ebs = aws
        .ec2()
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|e| sdk("GetEbsEncryptionByDefault", e))?;
    if ebs.ebs_encryption_by_default() == Some(true) {
        out.push("ec2 ebs-encryption-by-default".to_string());
    }
    if aws
        .s3control()
        .get_public_access_block()
        .account_id(aws.account_id())
        .send()
        .await
        .is_ok()
    {
        out.push("s3control account-public-access-block".to_string());
    }
    let detectors = aws
        .guardduty()
        .list_detectors()
        .send()
        .await
        .map_err(|e| sdk("ListDetectors", e))?;
    for d in detectors.detector_ids() {
        out.push(format!("guardduty detector {d}"));
    }
    if aws.securityhub().describe_hub().send().await.is_ok() {
        out.push("securityhub hub".to_string());
    }
    let recorders = aws
        .config()
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|e| sdk("DescribeConfigurationRecorders", e))?;
    for r in recorders.configuration_recorders() {
        out.push(format!("config recorder {}", r.name().unwrap_or("")));
    }
    let rules = aws
        .config()
        .describe_config_rules()
        .send()
        .await
        .map_err(|e| sdk("DescribeConfigRules", e))?;
    for r in rules.config_rules() {
        out.push(format!(
            "config rule {}",
            r.config_rule_name().unwrap_or("")
        ));
    }
    let aggregators = aws
        .config()
        .describe_configuration_aggregators()
        .send()
        .await
        .map_err(|e| sdk("DescribeConfigurationAggregators", e))?;
    for a in aggregators.configuration_aggregators() {
        out.push(format!(
            "config aggregator {}",
            a.configuration_aggregator_name().unwrap_or("")
        ));
    }
    let roles = aws
        .iam()
        .list_roles()
        .send()
        .await
        .map_err(|e| sdk("ListRoles", e))?;
    for r in roles.roles() {
        if r.role_name() != "OrganizationAccountAccessRole" {
            out.push(format!("iam role {}", r.role_name()));
        }
    }
    let providers = aws
        .iam()
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| sdk("ListOpenIDConnectProviders", e))?;
    for p in providers.open_id_connect_provider_list() {
        out.push(format!("iam oidc-provider {}", p.arn().unwrap_or("")));
    }
    let keys = aws
        .kms()
        .list_keys()
        .send()
        .await
        .map_err(|e| sdk("ListKeys", e))?;
    for k in keys.keys() {
        let id = k.key_id().unwrap_or("");
        let meta = aws
            .kms()
            .describe_key()
            .key_id(id)
            .send()
            .await
            .map_err(|e| sdk("DescribeKey", e))?;
        let state = meta
            .key_metadata()
            .and_then(|m| m.key_state())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let aws_managed = meta
            .key_metadata()
            .and_then(|m| m.key_manager())
            .is_some_and(|m| m.as_str() == "AWS");
        if state != "PendingDeletion" && !aws_managed {
            out.push(format!("kms key {id} {state}"));
        }
    }
    let buckets = aws
        .s3()
        .list_buckets()
        .send()
        .await
        .map_err(|e| sdk("ListBuckets", e))?;
    for b in buckets.buckets() {
        out.push(format!("s3 bucket {}", b.name().unwrap_or("")));
    }
    out.sort();
    Ok(out)
}

/// The account's organization, when it manages one: the organization, every OU
/// (by path), every customer-managed SCP, trusted service access, delegated
/// administrators (Organizations' and GuardDuty's) and accounts placed in OUs.
async fn organization(aws: &Aws, out: &mut Vec<String>) -> Result<()> {
    let orgs = aws.organizations();
    let o = match orgs.describe_organization().send().await {
        Ok(o) => o,
        Err(e)
            if aws_sdk_organizations::error::ProvideErrorMetadata::code(&e)
                == Some("AWSOrganizationsNotInUseException") =>
        {
            return Ok(())
        }
        Err(e) => return Err(sdk("DescribeOrganization", e)),
    };
    let id = o.organization().and_then(|o| o.id()).unwrap_or("");
    out.push(format!("organizations organization {id}"));
    let roots = orgs
        .list_roots()
        .send()
        .await
        .map_err(|e| sdk("ListRoots", e))?;
    let mut level: Vec<(String, String)> = roots
        .roots()
        .iter()
        .map(|r| (String::new(), r.id().unwrap_or("").to_string()))
        .collect();
    while !level.is_empty() {
        let mut next = Vec::new();
        for (path, parent) in &level {
            let ous = orgs
                .list_organizational_units_for_parent()
                .parent_id(parent)
                .send()
                .await
                .map_err(|e| sdk("ListOrganizationalUnitsForParent", e))?;
            for u in ous.organizational_units() {
                let name = u.name().unwrap_or("");
                let p = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}/{name}")
                };
                out.push(format!("organizations ou {p}"));
                next.push((p, u.id().unwrap_or("").to_string()));
            }
            if !path.is_empty() {
                let accounts = orgs
                    .list_accounts_for_parent()
                    .parent_id(parent)
                    .send()
                    .await
                    .map_err(|e| sdk("ListAccountsForParent", e))?;
                for a in accounts.accounts() {
                    out.push(format!(
                        "organizations placed {} {path}",
                        a.id().unwrap_or("")
                    ));
                }
            }
        }
        level = next;
    }
    for (kind, t) in [
        ("scp", "SERVICE_CONTROL_POLICY"),
        ("ai-opt-out-policy", "AISERVICES_OPT_OUT_POLICY"),
        ("tag-policy", "TAG_POLICY"),
    ] {
        let policies = orgs
            .list_policies()
            .filter(aws_sdk_organizations::types::PolicyType::from(t))
            .send()
            .await
            .map_err(|e| sdk("ListPolicies", e))?;
        for p in policies.policies() {
            if !p.aws_managed() {
                out.push(format!("organizations {kind} {}", p.name().unwrap_or("")));
            }
        }
    }
    let access = orgs
        .list_aws_service_access_for_organization()
        .send()
        .await
        .map_err(|e| sdk("ListAWSServiceAccessForOrganization", e))?;
    for s in access.enabled_service_principals() {
        out.push(format!(
            "organizations service-access {}",
            s.service_principal().unwrap_or("")
        ));
    }
    let admins = orgs
        .list_delegated_administrators()
        .send()
        .await
        .map_err(|e| sdk("ListDelegatedAdministrators", e))?;
    for a in admins.delegated_administrators() {
        let account = a.id().unwrap_or("");
        let services = orgs
            .list_delegated_services_for_account()
            .account_id(account)
            .send()
            .await
            .map_err(|e| sdk("ListDelegatedServicesForAccount", e))?;
        for s in services.delegated_services() {
            out.push(format!(
                "organizations delegated {} {account}",
                s.service_principal().unwrap_or("")
            ));
        }
    }
    let gd = aws
        .guardduty()
        .list_organization_admin_accounts()
        .send()
        .await
        .map_err(|e| sdk("ListOrganizationAdminAccounts", e))?;
    for a in gd.admin_accounts() {
        out.push(format!(
            "guardduty org-admin {}",
            a.admin_account_id().unwrap_or("")
        ));
    }
    Ok(())
}

/// The lines of `objects` that start with `prefix` (e.g. `"ec2 vpc "`).
pub fn of_kind<'a>(objects: &'a [String], prefix: &str) -> Vec<&'a str> {
    objects
        .iter()
        .filter(|o| o.starts_with(prefix))
        .map(String::as_str)
        .collect()
}
