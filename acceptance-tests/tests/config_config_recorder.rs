//! Acceptance tests for `bankplatform_config_recorder`: the standard suite on
//! Terraform 1.15 and 1.0.3, each case in its own emulated account (one recorder per
//! account and Region). Every control is read back through the SDK: the recorder's
//! recording group and role, its status, the delivery channel's bucket and key, and
//! every managed rule of the pack.
//!
//! What the emulator cannot show: the rules' findings (moto lacks
//! DescribeComplianceByConfigRule), nor that snapshots are delivered.

const ADDR: &str = "bankplatform_config_recorder.test";

pub(crate) mod standard {
    use acceptance_tests::checks::sdk;
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context};
    use futures::FutureExt;

    /// A bucket admitting Config for the account, on the bucket and on its key, and
    /// the recorder delivering with that key (as the generated tree wires the
    /// log-archive bucket's key into every account's recorder).
    fn with(name: &str, extra: &str) -> String {
        format!(
            r#"
resource "bankplatform_compliant_bucket" "config" {{
  bucket        = "{name}-config"
  force_destroy = true
  delivery_sources = {{
    config = ["self"]
  }}
}}

resource "bankplatform_config_recorder" "test" {{
  s3_bucket_name = bankplatform_compliant_bucket.config.bucket
  kms_key_arn    = bankplatform_compliant_bucket.config.kms_key_arn
{extra}
}}
"#
        )
    }

    fn basic(name: &str) -> String {
        with(name, "")
    }

    /// The bank-baseline pack, as the documentation lists it.
    const BANK_BASELINE: &[&str] = &[
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
    const PACK: usize = BANK_BASELINE.len();

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "cfg",
        composite: Composite {
            config: basic,
            expected: &[
                ("config recorder", 1),
                ("config rule", PACK),
                ("s3 bucket", 1),
                ("kms key", 1),
            ],
            beside: &[("s3 bucket", 1), ("kms key", 1)],
        },
        updated: |name| {
            with(name, "  excluded_rules = [\"ROOT_ACCOUNT_MFA_ENABLED\"]\n  extra_rules = [\"INCOMING_SSH_DISABLED\"]\n  delivery_frequency = \"Six_Hours\"\n  aggregator_account_id = \"210000000002\"\n  aggregator_region = \"eu-west-1\"")
        },
        replaced: |name| with(name, "  name = \"bankplatform-r\""),
        import_ignore: &[],
        controls: &[
            ("Config.1", true),
            ("CIS 4.3", true),
            ("bank:config-delivery-encrypted", true),
            ("bank:config-rules-active", true),
        ],
        check: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                let cfg = ctx.aws.config();
                let r = cfg
                    .describe_configuration_recorders()
                    .configuration_recorder_names(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeConfigurationRecorders", e))?;
                let r = r.configuration_recorders().first().context("no recorder")?;
                let g = r.recording_group().context("no recording group")?;
                ensure!(
                    g.all_supported() && g.include_global_resource_types(),
                    "not every type recorded: {g:?}"
                );
                ensure!(
                    r.role_arn()
                        .unwrap_or_default()
                        .ends_with("/AWSServiceRoleForConfig"),
                    "not the service-linked role: {:?}",
                    r.role_arn()
                );
                let st = cfg
                    .describe_configuration_recorder_status()
                    .configuration_recorder_names(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeConfigurationRecorderStatus", e))?;
                ensure!(
                    st.configuration_recorders_status()
                        .iter()
                        .any(|s| s.recording()),
                    "not recording"
                );
                let ch = cfg
                    .describe_delivery_channels()
                    .delivery_channel_names(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeDeliveryChannels", e))?;
                let ch = ch
                    .delivery_channels()
                    .first()
                    .context("no delivery channel")?;
                let bucket = ctx.require_str("bankplatform_compliant_bucket.config", "bucket")?;
                ensure!(
                    ch.s3_bucket_name() == Some(bucket.as_str()),
                    "delivers to {:?}",
                    ch.s3_bucket_name()
                );
                let key = ctx.require_str("bankplatform_compliant_bucket.config", "kms_key_arn")?;
                ensure!(
                    ch.s3_kms_key_arn() == Some(key.as_str()),
                    "snapshots not encrypted with the bucket's key: {:?}",
                    ch.s3_kms_key_arn()
                );
                // The key lets Config encrypt for this account only.
                let kp = ctx
                    .aws
                    .kms()
                    .get_key_policy()
                    .key_id(&key)
                    .policy_name("default")
                    .send()
                    .await
                    .map_err(|e| sdk("GetKeyPolicy", e))?;
                let kp: serde_json::Value = serde_json::from_str(kp.policy().unwrap_or_default())?;
                let config_stmt = kp["Statement"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["Principal"]["Service"] == "config.amazonaws.com")
                    .context("the bucket's key does not admit config.amazonaws.com")?;
                let actions = config_stmt["Action"].to_string();
                ensure!(
                    actions.contains("kms:GenerateDataKey") && actions.contains("kms:Decrypt"),
                    "Config may not encrypt with the key: {config_stmt}"
                );
                ensure!(
                    config_stmt["Condition"]["StringEquals"]["aws:SourceAccount"]
                        == serde_json::json!([ctx.aws.account_id()]),
                    "Config is admitted to the key for other accounts too: {config_stmt}"
                );
                // What the configuration asks for, worked out here (not read from the
                // provider's `rule_identifiers`): the pack, minus the excluded, plus the extra.
                let configured = |attr: &str| -> Vec<String> {
                    ctx.attr(super::ADDR, attr)
                        .and_then(|v| serde_json::from_value(v).ok())
                        .unwrap_or_default()
                };
                let mut wanted: std::collections::BTreeSet<String> =
                    BANK_BASELINE.iter().map(|s| s.to_string()).collect();
                for r in configured("excluded_rules") {
                    wanted.remove(&r);
                }
                wanted.extend(configured("extra_rules"));
                let rules = cfg
                    .describe_config_rules()
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeConfigRules", e))?;
                for id in &wanted {
                    let r = rules
                        .config_rules()
                        .iter()
                        .find(|r| {
                            r.source().and_then(|s| s.source_identifier()) == Some(id.as_str())
                        })
                        .with_context(|| format!("rule {id} is not deployed"))?;
                    ensure!(
                        r.config_rule_state().map(|s| s.as_str()) == Some("ACTIVE"),
                        "rule {id} is not ACTIVE"
                    );
                }
                ensure!(
                    rules.config_rules().len() == wanted.len(),
                    "{} rules deployed, {} wanted",
                    rules.config_rules().len(),
                    wanted.len()
                );
                // The security account's aggregator is authorized exactly when configured.
                let auths = cfg
                    .describe_aggregation_authorizations()
                    .send()
                    .await
                    .map_err(|e| sdk("DescribeAggregationAuthorizations", e))?;
                let auths: Vec<(String, String)> = auths
                    .aggregation_authorizations()
                    .iter()
                    .map(|a| {
                        (
                            a.authorized_account_id().unwrap_or_default().to_string(),
                            a.authorized_aws_region().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                // What the configuration asks for (not what the provider recorded).
                let config = std::fs::read_to_string(ctx.working_dir.join("main.tf"))?;
                let wanted: Vec<(String, String)> = if config.contains("aggregator_account_id") {
                    vec![("210000000002".to_string(), "eu-west-1".to_string())]
                } else {
                    vec![]
                };
                ensure!(
                    auths == wanted,
                    "aggregators authorized {auths:?}, configured {wanted:?}"
                );
                // The bucket admits Config for this account only.
                let policy = ctx
                    .aws
                    .s3()
                    .get_bucket_policy()
                    .bucket(&bucket)
                    .send()
                    .await
                    .map_err(|e| sdk("GetBucketPolicy", e))?;
                let policy = policy.policy().unwrap_or_default();
                ensure!(
                    policy.contains("config.amazonaws.com")
                        && policy.contains(ctx.aws.account_id()),
                    "the bucket does not admit Config for the account: {policy}"
                );
                Ok(())
            }
            .boxed()
        },
        drift: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .config()
                    .stop_configuration_recorder()
                    .configuration_recorder_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("StopConfigurationRecorder", e))?;
                ctx.aws
                    .config()
                    .delete_config_rule()
                    .config_rule_name("bankplatform-cloud-trail-enabled")
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteConfigRule", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["Config.1", "CIS 4.3", "bank:config-rules-active"],
        disappear: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                let cfg = ctx.aws.config();
                cfg.stop_configuration_recorder()
                    .configuration_recorder_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("StopConfigurationRecorder", e))?;
                cfg.delete_delivery_channel()
                    .delivery_channel_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteDeliveryChannel", e))?;
                cfg.delete_configuration_recorder()
                    .configuration_recorder_name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteConfigurationRecorder", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (
                    with(name, "  rules = \"bank\""),
                    r"(?is)invalid rule pack.*rules",
                ),
                (
                    with(name, "  extra_rules = [\"cloudtrail-enabled\"]"),
                    r"(?is)invalid rule identifier.*extra_rules",
                ),
                (
                    with(name, "  excluded_rules = [\"NOT_A_PACK_RULE\"]"),
                    r"(?is)rule not in the pack.*excluded_rules",
                ),
                (
                    with(name, "  aggregator_account_id = \"210000000002\""),
                    r"(?is)incomplete aggregator.*aggregator_region",
                ),
                (
                    with(name, "  delivery_frequency = \"Daily\""),
                    r"(?is)invalid delivery frequency.*delivery_frequency",
                ),
            ]
        },
        fail_at: 18,
        kill_after: 11,
    };

    acceptance_tests::standard_suite!(SUITE);
}
