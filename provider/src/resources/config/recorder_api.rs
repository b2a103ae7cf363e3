//! The children of a Config recorder and the calls that make, read and remove them:
//! the recorder (root), its delivery channel, its recording status, and the managed
//! rules of the pack.

use std::collections::BTreeSet;

use aws_sdk_config::types as cfg;
use futures::future::join_all;

use crate::aws::{error_message, is_not_found, partition, Clients};
use crate::resources::kit::calls::{settled, GoneIsDone};

/// The AWS managed rules mirroring the ★ controls of `../shared/research/controls.md`
/// (§1–§9): the `bank-baseline` pack.
pub(crate) const BANK_BASELINE: &[&str] = &[
    "CLOUD_TRAIL_ENABLED",
    "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
    "CLOUD_TRAIL_ENCRYPTION_ENABLED",
    "S3_BUCKET_SSL_REQUESTS_ONLY",
    "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
    "S3_BUCKET_VERSIONING_ENABLED",
    "VPC_FLOW_LOGS_ENABLED",
    "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
    "EC2_EBS_ENCRYPTION_BY_DEFAULT",
    "IAM_PASSWORD_POLICY",
    "IAM_ROOT_ACCESS_KEY_CHECK",
    "ROOT_ACCOUNT_MFA_ENABLED",
    "CMK_BACKING_KEY_ROTATION_ENABLED",
    "GUARDDUTY_ENABLED_CENTRALIZED",
    "SECURITYHUB_ENABLED",
    "RDS_STORAGE_ENCRYPTED",
    "DYNAMODB_PITR_ENABLED",
    "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
    "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
];

/// The rule names a recorder owns: `bankplatform-<identifier in kebab case>`.
pub(crate) fn rule_name(identifier: &str) -> String {
    format!(
        "bankplatform-{}",
        identifier.to_ascii_lowercase().replace('_', "-")
    )
}

/// The service-linked role Config records as.
pub(crate) async fn service_linked_role(c: &Clients) -> Result<String, String> {
    let account = c.account_id().await?;
    Ok(format!(
        "arn:{}:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
        partition(&c.region)
    ))
}

/// The recorder as configured.
#[derive(Clone, Debug)]
pub(crate) struct Desired {
    pub(crate) name: String,
    pub(crate) global_types: bool,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) kms_key_arn: Option<String>,
    pub(crate) sns_topic_arn: Option<String>,
    pub(crate) frequency: String,
    /// Managed rule identifiers.
    pub(crate) rules: BTreeSet<String>,
    /// The aggregator (account, Region) authorized to collect this recorder's data.
    pub(crate) aggregator: Option<(String, String)>,
}

/// The delivery channel as AWS reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Channel {
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) kms_key_arn: Option<String>,
    pub(crate) topic_arn: Option<String>,
}

/// What AWS reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub(crate) all_supported: bool,
    pub(crate) global_types: bool,
    pub(crate) role: String,
    pub(crate) recording: bool,
    pub(crate) channel: Option<Channel>,
    pub(crate) frequency: Option<String>,
    /// Identifier → ACTIVE, for the rules this recorder owns.
    pub(crate) rules: std::collections::BTreeMap<String, bool>,
    /// Every aggregator (account, Region) the account authorizes.
    pub(crate) authorizations: BTreeSet<(String, String)>,
}

/// The recorder, recording every supported type (global ones when `global_types`).
pub(crate) async fn put_recorder(c: &Clients, d: &Desired) -> Result<(), String> {
    let role = service_linked_role(c).await?;
    let req = c
        .config
        .put_configuration_recorder()
        .configuration_recorder(
            cfg::ConfigurationRecorder::builder()
                .name(&d.name)
                .role_arn(role)
                .recording_group(
                    cfg::RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(d.global_types)
                        .build(),
                )
                .build(),
        );
    settled(c, "writing the Config recorder", || req.clone().send())
        .await
        .map(|_| ())
        .map_err(|e| format!("writing Config recorder {}: {}", d.name, error_message(&e)))
}

/// The delivery channel (same name as the recorder).
pub(crate) async fn put_channel(c: &Clients, d: &Desired) -> Result<(), String> {
    let freq = cfg::MaximumExecutionFrequency::from(d.frequency.as_str());
    // A bucket or key policy written moments ago (the log archive's, in the same
    // apply) may not be seen by Config yet: InsufficientDeliveryPolicyException.
    let req = c.config.put_delivery_channel().delivery_channel(
        cfg::DeliveryChannel::builder()
            .name(&d.name)
            .s3_bucket_name(&d.bucket)
            .set_s3_key_prefix(d.prefix.clone())
            .set_s3_kms_key_arn(d.kms_key_arn.clone())
            .set_sns_topic_arn(d.sns_topic_arn.clone())
            .config_snapshot_delivery_properties(
                cfg::ConfigSnapshotDeliveryProperties::builder()
                    .delivery_frequency(freq)
                    .build(),
            )
            .build(),
    );
    settled(c, "writing the Config delivery channel", || {
        req.clone().send()
    })
    .await
    .map(|_| ())
    .map_err(|e| {
        format!(
            "writing Config delivery channel {}: {}",
            d.name,
            error_message(&e)
        )
    })
}

/// Starts recording.
pub(crate) async fn start(c: &Clients, name: &str) -> Result<(), String> {
    c.config
        .start_configuration_recorder()
        .configuration_recorder_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("starting Config recorder {name}: {}", error_message(&e)))
}

/// Writes the managed rules in `add` and deletes the owned ones in `remove`, concurrently.
pub(crate) async fn put_rules(c: &Clients, add: &[String], remove: &[String]) -> Vec<String> {
    let puts = add.iter().map(|id| async move {
        let name = rule_name(id);
        let rule = cfg::ConfigRule::builder()
            .config_rule_name(&name)
            .description(format!(
                "AWS managed rule {id} (bankplatform bank-baseline pack)"
            ))
            .source(
                cfg::Source::builder()
                    .owner(cfg::Owner::Aws)
                    .source_identifier(id)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .build();
        c.config
            .put_config_rule()
            .config_rule(rule)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("writing Config rule {name}: {}", error_message(&e)))
    });
    let deletes = remove.iter().map(|id| async move {
        let name = rule_name(id);
        c.config
            .delete_config_rule()
            .config_rule_name(&name)
            .send()
            .await
            .gone_is_done(&format!("deleting Config rule {name}"))
    });
    let (a, b) = tokio::join!(join_all(puts), join_all(deletes));
    a.into_iter().chain(b).filter_map(Result::err).collect()
}

/// The recorder, its channel, status and owned rules; `None` when the recorder is gone.
pub(crate) async fn observe(c: &Clients, name: &str) -> Result<Option<Observed>, String> {
    let recorders = match c
        .config
        .describe_configuration_recorders()
        .configuration_recorder_names(name)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(format!(
                "reading Config recorder {name}: {}",
                error_message(&e)
            ))
        }
    };
    let Some(r) = recorders
        .configuration_recorders()
        .iter()
        .find(|r| r.name() == Some(name))
    else {
        return Ok(None);
    };
    let group = r.recording_group();
    let mut o = Observed {
        all_supported: group.is_some_and(|g| g.all_supported()),
        global_types: group.is_some_and(|g| g.include_global_resource_types()),
        role: r.role_arn().unwrap_or_default().to_string(),
        ..Observed::default()
    };
    let (status, channels, rules, authorizations) = tokio::join!(
        c.config
            .describe_configuration_recorder_status()
            .configuration_recorder_names(name)
            .send(),
        c.config
            .describe_delivery_channels()
            .delivery_channel_names(name)
            .send(),
        owned_rules(c),
        c.config.describe_aggregation_authorizations().send(),
    );
    let what = |e: String| format!("reading Config recorder {name}: {e}");
    o.recording = status
        .map_err(|e| what(error_message(&e)))?
        .configuration_recorders_status()
        .iter()
        .any(|s| s.name() == Some(name) && s.recording());
    match channels {
        Ok(ch) => {
            if let Some(ch) = ch
                .delivery_channels()
                .iter()
                .find(|ch| ch.name() == Some(name))
            {
                o.channel = Some(Channel {
                    bucket: ch.s3_bucket_name().unwrap_or_default().to_string(),
                    prefix: ch
                        .s3_key_prefix()
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                    kms_key_arn: ch.s3_kms_key_arn().map(str::to_string),
                    topic_arn: ch.sns_topic_arn().map(str::to_string),
                });
                o.frequency = ch
                    .config_snapshot_delivery_properties()
                    .and_then(|p| p.delivery_frequency())
                    .map(|f| f.as_str().to_string());
            }
        }
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(what(error_message(&e))),
    }
    o.rules = rules.map_err(what)?;
    o.authorizations = authorizations
        .map_err(|e| what(error_message(&e)))?
        .aggregation_authorizations()
        .iter()
        .filter_map(|a| {
            Some((
                a.authorized_account_id()?.to_string(),
                a.authorized_aws_region()?.to_string(),
            ))
        })
        .collect();
    Ok(Some(o))
}

/// The managed rules this provider deployed (named `bankplatform-…`): identifier →
/// ACTIVE. One DescribeConfigRules call.
pub(crate) async fn owned_rules(
    c: &Clients,
) -> Result<std::collections::BTreeMap<String, bool>, String> {
    let out = c
        .config
        .describe_config_rules()
        .send()
        .await
        .map_err(|e| error_message(&e))?;
    Ok(out
        .config_rules()
        .iter()
        .filter(|r| {
            r.config_rule_name()
                .is_some_and(|n| n.starts_with("bankplatform-"))
        })
        .filter_map(|r| {
            let id = r.source().and_then(|s| s.source_identifier())?;
            Some((
                id.to_string(),
                r.config_rule_state().map(|s| s.as_str()) == Some("ACTIVE"),
            ))
        })
        .collect())
}

/// Stops and removes the recorder, its channel and its rules; already gone is done.
pub(crate) async fn destroy(c: &Clients, name: &str, rules: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = c
        .config
        .stop_configuration_recorder()
        .configuration_recorder_name(name)
        .send()
        .await
        .gone_is_done(&format!("stopping Config recorder {name}"))
    {
        errors.push(e);
    }
    errors.extend(put_rules(c, &[], rules).await);
    // The channel of a stopped recorder first, then the recorder.
    errors.extend(
        c.config
            .delete_delivery_channel()
            .delivery_channel_name(name)
            .send()
            .await
            .gone_is_done(&format!("deleting Config delivery channel {name}"))
            .err(),
    );
    errors.extend(
        c.config
            .delete_configuration_recorder()
            .configuration_recorder_name(name)
            .send()
            .await
            .gone_is_done(&format!("deleting Config recorder {name}"))
            .err(),
    );
    errors
}

/// Authorizes the aggregator of `account` in `region` to collect this account's data.
pub(crate) async fn authorize(
    c: &Clients,
    (account, region): &(String, String),
) -> Result<(), String> {
    c.config
        .put_aggregation_authorization()
        .authorized_account_id(account)
        .authorized_aws_region(region)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "authorizing the Config aggregator of {account} in {region}: {}",
                error_message(&e)
            )
        })
}

/// Withdraws an aggregator's authorization; already gone is done.
pub(crate) async fn deauthorize(
    c: &Clients,
    (account, region): &(String, String),
) -> Result<(), String> {
    c.config
        .delete_aggregation_authorization()
        .authorized_account_id(account)
        .authorized_aws_region(region)
        .send()
        .await
        .gone_is_done(&format!(
            "withdrawing the authorization of the Config aggregator of {account} in {region}"
        ))
}
