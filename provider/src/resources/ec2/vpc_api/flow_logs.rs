//! Flow logs of ALL traffic: the managed key, the log group, the delivery role, the flow log.

use super::*;
use crate::resources::iam::service_role::{self, ServiceRole};
use crate::resources::kms::key_policy::KeyPolicy;
use crate::resources::logs::log_group;

/// The flow-log key (when managed), log group and delivery role. Returns the role ARN.
pub(crate) async fn ensure_flow_log_prerequisites(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
) -> Result<Option<String>, String> {
    if d.flow_logs.s3_bucket_arn.is_some() {
        return Ok(None);
    }
    let group = log_group_name(vpc_id);
    let key = match &d.flow_logs.kms_key_arn {
        Some(k) => k.clone(),
        None => match find_managed_key(c, vpc_id).await? {
            Some(k) => managed_key::reuse(c, k).await?,
            None => create_key(c, vpc_id, d).await?,
        },
    };
    log_group::ensure(c, &group, &key, d.flow_logs.retention_days, &d.tags_all).await?;
    let role = flow_log_role_name(vpc_id);
    let account = c.account_id().await?;
    let arn = service_role::ensure(
        c,
        &ServiceRole {
            name: &role,
            service: "vpc-flow-logs.amazonaws.com",
            source_arn: Some(format!(
                "arn:{}:ec2:{}:{account}:vpc-flow-log/*",
                partition(&c.region),
                c.region
            )),
            description: format!("Flow-log delivery of VPC {vpc_id} ({}) (bankplatform)", d.name),
            policy_name: "flow-logs",
            policy: serde_json::json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogStreams"],"Resource":format!("arn:{}:logs:{}:{account}:log-group:{group}:*", partition(&c.region), c.region)}]}),
            tags: d.tags_all.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        },
    )
    .await?;
    Ok(Some(arn))
}

pub(crate) async fn find_managed_key(c: &Clients, vpc_id: &str) -> Result<Option<String>, String> {
    managed_key::find(c, &key_alias(vpc_id)).await
}

pub(crate) async fn create_key(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
) -> Result<String, String> {
    let account = c.account_id().await?;
    let group = format!(
        "arn:{}:logs:{}:{account}:log-group:{}",
        partition(&c.region),
        c.region,
        log_group_name(vpc_id)
    );
    let policy = KeyPolicy {
        partition: partition(&c.region),
        region: &c.region,
        account: &account,
        purpose: "logs",
        administrators: &[],
        users: &[],
        source_accounts: &[],
        source_arns: std::slice::from_ref(&group),
        publishers: &[],
        extra: &[],
    }
    .document();
    let tags: Vec<(String, String)> = d
        .tags_all
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    managed_key::create(
        c,
        &key_alias(vpc_id),
        &format!("Flow logs of VPC {vpc_id} ({}) (bankplatform)", d.name),
        &tags,
        Some(policy.to_string()),
        false,
    )
    .await
}

pub(crate) async fn ensure_flow_log(
    c: &Clients,
    vpc_id: &str,
    d: &DesiredVpc,
    o: &ObservedVpc,
    role: Option<&str>,
) -> Result<(), String> {
    let want_dest = d
        .flow_logs
        .s3_bucket_arn
        .clone()
        .unwrap_or_else(|| log_group_name(vpc_id));
    if let Some((id, traffic, status, dest)) = &o.flow_log {
        let dest_ok = dest == &want_dest
            || dest.ends_with(&format!(":log-group:{want_dest}"))
            || dest.ends_with(&format!(":log-group:{want_dest}:*"));
        if traffic == "ALL" && status == "ACTIVE" && dest_ok {
            return Ok(());
        }
        c.ec2
            .delete_flow_logs()
            .flow_log_ids(id)
            .send()
            .await
            .map_err(|e| format!("replacing flow log ({id}): {}", error_message(&e)))?;
    }
    let mut req = c
        .ec2
        .create_flow_logs()
        .resource_ids(vpc_id)
        .resource_type(t::FlowLogsResourceType::Vpc)
        .traffic_type(t::TrafficType::All)
        .max_aggregation_interval(60)
        .tag_specifications(spec(
            t::ResourceType::VpcFlowLog,
            child_tags(d, format!("{}-flow-logs", d.name), None, None),
        ));
    req = match &d.flow_logs.s3_bucket_arn {
        Some(bucket) => req
            .log_destination_type(t::LogDestinationType::S3)
            .log_destination(bucket),
        None => req
            .log_destination_type(t::LogDestinationType::CloudWatchLogs)
            .log_group_name(log_group_name(vpc_id))
            .deliver_logs_permission_arn(role.unwrap_or_default()),
    };
    // AWS refuses some flow logs in the answer ("Unsuccessful"), not as an error.
    let unsuccessful = std::sync::Mutex::new(None);
    create_once(
        c,
        &format!("creating the flow log of VPC ({vpc_id})"),
        || async {
            let out = req
                .clone()
                .customize()
                .config_override(once())
                .send()
                .await?;
            if let Some(u) = out.unsuccessful().first() {
                let msg = u.error().and_then(|e| e.message()).unwrap_or_default();
                *unsuccessful.lock().expect("flow log result") = Some(msg.to_string());
                return Ok(Some("unsuccessful".to_string()));
            }
            Ok(out.flow_log_ids().first().cloned())
        },
        || {
            found(
                c.ec2
                    .describe_flow_logs()
                    .filter(filter("resource-id", vpc_id))
                    .send(),
                |o| o.flow_logs(),
                |f| f.flow_log_id(),
            )
        },
    )
    .await?;
    if let Some(msg) = unsuccessful.into_inner().expect("flow log result") {
        return Err(format!("creating the flow log of VPC ({vpc_id}): {msg}"));
    }
    Ok(())
}
