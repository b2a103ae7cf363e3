//! Acceptance tests for `bankplatform_audit_trail`: the standard suite on Terraform
//! 1.15 and 1.0.3. Every control is read back through the SDK (moto), independently
//! of the provider: the trail's settings, status and event selectors, the log group's
//! key and retention, each CIS metric filter and its alarm, the topic's key, the
//! delivery role's trust, and the audit bucket's policy admitting only this trail.
//!
//! What the emulator cannot show: that events reach the bucket or the log group
//! (moto records no API activity into trails), so a metric filter raising its metric
//! and an alarm firing cannot be observed here; nor that KMS or S3 enforce the
//! policies (moto accepts any caller).

const ADDR: &str = "bankplatform_audit_trail.test";

pub(crate) mod standard {
    use acceptance_tests::checks::{kms, sdk};
    use acceptance_tests::fault_cases::Composite;
    use acceptance_tests::suite::Suite;
    use anyhow::{ensure, Context, Result};
    use futures::FutureExt;
    use serde_json::Value;

    /// An audit bucket (purpose `logs`: the fewest calls; the trail does not care) that
    /// admits the trail by name, and the trail.
    fn with(name: &str, extra: &str) -> String {
        format!(
            r#"
resource "bankplatform_compliant_bucket" "audit" {{
  bucket        = "{name}-logs"
  purpose       = "logs"
  force_destroy = true
  delivery_sources = {{
    cloudtrail = ["{name}"]
  }}
}}

resource "bankplatform_audit_trail" "test" {{
  name           = "{name}"
  s3_bucket_name = bankplatform_compliant_bucket.audit.bucket
{extra}
}}
"#
        )
    }

    fn basic(name: &str) -> String {
        with(name, "")
    }

    /// The CIS event names each filter must catch (one or two per set).
    const CATCHES: &[(&str, &str)] = &[
        ("UnauthorizedAPICalls", "UnauthorizedOperation"),
        ("ConsoleSigninWithoutMFA", "MFAUsed"),
        ("RootAccountUsage", "Root"),
        ("IAMPolicyChanges", "PutRolePolicy"),
        ("CloudTrailChanges", "StopLogging"),
        ("ConsoleAuthenticationFailures", "Failed authentication"),
        ("KMSKeyDisableOrDeletion", "ScheduleKeyDeletion"),
        ("S3BucketPolicyChanges", "PutBucketPolicy"),
        ("AWSConfigChanges", "StopConfigurationRecorder"),
        ("SecurityGroupChanges", "AuthorizeSecurityGroupIngress"),
        ("NetworkACLChanges", "CreateNetworkAclEntry"),
        ("NetworkGatewayChanges", "AttachInternetGateway"),
        ("RouteTableChanges", "CreateRoute"),
        ("VPCChanges", "CreateVpc"),
        ("OrganizationsChanges", "LeaveOrganization"),
    ];

    async fn check_all(ctx: &acceptance_tests::StepCtx) -> Result<()> {
        let name = ctx.require_str(super::ADDR, "name")?;
        let aws = &ctx.aws;
        let trails = aws
            .cloudtrail()
            .describe_trails()
            .trail_name_list(&name)
            .send()
            .await
            .map_err(|e| sdk("DescribeTrails", e))?;
        let t = trails
            .trail_list()
            .first()
            .context("the trail is missing")?;
        ensure!(t.is_multi_region_trail() == Some(true), "not multi-Region");
        ensure!(
            t.include_global_service_events() == Some(true),
            "no global service events"
        );
        ensure!(
            t.log_file_validation_enabled() == Some(true),
            "no log file validation"
        );
        let key = t.kms_key_id().context("no KMS key on the trail")?;
        ensure!(
            kms::key_state(aws.kms(), key).await?.as_deref() == Some("Enabled"),
            "trail key {key} not enabled"
        );
        ensure!(
            kms::key_rotation_enabled(aws.kms(), key).await?,
            "trail key {key} does not rotate"
        );
        let group_arn = t
            .cloud_watch_logs_log_group_arn()
            .context("no log group on the trail")?;
        let role_arn = t
            .cloud_watch_logs_role_arn()
            .context("no role on the trail")?;
        let status = aws
            .cloudtrail()
            .get_trail_status()
            .name(&name)
            .send()
            .await
            .map_err(|e| sdk("GetTrailStatus", e))?;
        ensure!(
            status.is_logging() == Some(true),
            "the trail is not logging"
        );
        // bank:trail-insights: both Insights types on.
        let insights = aws
            .cloudtrail()
            .get_insight_selectors()
            .trail_name(&name)
            .send()
            .await
            .map_err(|e| sdk("GetInsightSelectors", e))?;
        let mut types: Vec<&str> = insights
            .insight_selectors()
            .iter()
            .filter_map(|s| s.insight_type().map(|t| t.as_str()))
            .collect();
        types.sort();
        ensure!(
            types == ["ApiCallRateInsight", "ApiErrorRateInsight"],
            "Insights {types:?}, expected both types"
        );
        let sel = aws
            .cloudtrail()
            .get_event_selectors()
            .trail_name(&name)
            .send()
            .await
            .map_err(|e| sdk("GetEventSelectors", e))?;
        let s = sel.event_selectors().first().context("no event selector")?;
        ensure!(
            s.include_management_events() == Some(true),
            "management events not recorded"
        );
        ensure!(
            s.read_write_type().map(|r| r.as_str()) == Some("All"),
            "not read and write"
        );
        ensure!(
            s.data_resources()
                .iter()
                .any(|r| r.r#type() == Some("AWS::S3::Object")
                    && r.values().iter().any(|v| v == "arn:aws:s3")),
            "S3 data events of every bucket not recorded"
        );
        // The log group: encrypted, a year.
        let group = group_arn
            .split(":log-group:")
            .nth(1)
            .context("odd log group ARN")?
            .trim_end_matches(":*");
        let groups = aws
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(group)
            .send()
            .await
            .map_err(|e| sdk("DescribeLogGroups", e))?;
        let g = groups
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(group))
            .context("the log group is missing")?;
        ensure!(g.kms_key_id().is_some(), "log group not encrypted");
        ensure!(
            g.retention_in_days().unwrap_or(0) >= 365,
            "log group keeps less than a year"
        );
        // Each CIS set: a filter catching its events, an enabled alarm notifying the topic.
        let filters = aws
            .logs()
            .describe_metric_filters()
            .log_group_name(group)
            .send()
            .await
            .map_err(|e| sdk("DescribeMetricFilters", e))?;
        let alarms = aws
            .cloudwatch()
            .describe_alarms()
            .alarm_name_prefix(format!("{name}-"))
            .send()
            .await
            .map_err(|e| sdk("DescribeAlarms", e))?;
        // The topic and trail ARNs worked out here, not taken from the state.
        let region = acceptance_tests::aws::REGION;
        let account = aws.account_id();
        let topic = format!("arn:aws:sns:{region}:{account}:{name}-security-alarms");
        ensure!(
            ctx.require_str(super::ADDR, "alarm_topic_arn")? == topic,
            "the state names another alarm topic than {topic}"
        );
        for (metric, catches) in CATCHES {
            let f = filters
                .metric_filters()
                .iter()
                .find(|f| {
                    f.metric_transformations()
                        .iter()
                        .any(|m| m.metric_name() == *metric)
                })
                .with_context(|| format!("no metric filter for {metric}"))?;
            ensure!(
                f.filter_pattern().unwrap_or("").contains(catches),
                "the {metric} filter misses {catches}"
            );
            let a = alarms
                .metric_alarms()
                .iter()
                .find(|a| a.metric_name() == Some(*metric))
                .with_context(|| format!("no alarm on {metric}"))?;
            ensure!(
                a.actions_enabled() == Some(true),
                "alarm on {metric} disabled"
            );
            ensure!(
                a.alarm_actions().iter().any(|x| x == &topic),
                "alarm on {metric} does not notify {topic}"
            );
        }
        let attrs = aws
            .sns()
            .get_topic_attributes()
            .topic_arn(&topic)
            .send()
            .await
            .map_err(|e| sdk("GetTopicAttributes", e))?;
        ensure!(
            attrs
                .attributes()
                .and_then(|m| m.get("KmsMasterKeyId"))
                .is_some_and(|k| !k.contains("alias/aws/")),
            "the alarm topic is not encrypted with a customer key"
        );
        // The delivery role trusts CloudTrail for this trail only.
        let role_name = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let role = aws
            .iam()
            .get_role()
            .role_name(role_name)
            .send()
            .await
            .map_err(|e| sdk("GetRole", e))?;
        let trust = role
            .role()
            .map(|r| r.assume_role_policy_document().unwrap_or(""))
            .unwrap_or("");
        let trust = urlencoding_decode(trust);
        ensure!(
            trust.contains("cloudtrail.amazonaws.com") && trust.contains(&format!("trail/{name}")),
            "the role's trust is not scoped to the trail: {trust}"
        );
        // The bucket admits exactly this trail.
        let bucket = ctx.require_str("bankplatform_compliant_bucket.audit", "bucket")?;
        let policy = aws
            .s3()
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| sdk("GetBucketPolicy", e))?;
        let policy: Value = serde_json::from_str(policy.policy().unwrap_or("{}"))?;
        let trail_arn = format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}");
        ensure!(
            t.trail_arn() == Some(trail_arn.as_str()),
            "the trail is {:?}, not {trail_arn}",
            t.trail_arn()
        );
        let writes = policy["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| {
                s["Principal"]["Service"] == "cloudtrail.amazonaws.com"
                    && s["Action"] == "s3:PutObject"
            })
            .context("the bucket policy does not admit CloudTrail")?;
        ensure!(
            writes.to_string().contains(&trail_arn),
            "the bucket admits CloudTrail for other trails: {writes}"
        );
        Ok(())
    }

    /// IAM returns policy documents URL-encoded.
    fn urlencoding_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub(crate) static SUITE: Suite = Suite {
        address: super::ADDR,
        label: "trail",
        composite: Composite {
            config: basic,
            expected: &[
                ("cloudtrail trail", 1),
                ("kms key", 1),
                ("sns topic", 1),
                ("cloudwatch alarm", 15),
                ("logs metric-filter", 15),
                ("logs group", 1),
                ("iam role", 1),
                ("s3 bucket", 1),
            ],
            beside: &[("s3 bucket", 1)],
        },
        updated: |name| {
            with(
                name,
                "  tags = { env = \"test\" }\n  log_retention_days = 400",
            )
        },
        replaced: |name| with(&format!("{name}-r"), ""),
        import_ignore: &[],
        controls: &[
            ("CloudTrail.1", true),
            ("CIS 4.1", true),
            ("CloudTrail.4", true),
            ("CloudTrail.2", true),
            ("CloudTrail.5", true),
            ("CloudWatch.16", true),
            ("CIS 4.8", true),
            ("CIS 4.9", true),
            ("bank:trail-insights", true),
            ("SNS.1", true),
            ("CIS 5.1", true),
            ("CIS 5.2", true),
            ("CIS 5.3", true),
            ("CIS 5.4", true),
            ("CIS 5.5", true),
            ("CIS 5.6", true),
            ("CIS 5.7", true),
            ("CIS 5.8", true),
            ("CIS 5.9", true),
            ("CIS 5.10", true),
            ("CIS 5.11", true),
            ("CIS 5.12", true),
            ("CIS 5.13", true),
            ("CIS 5.14", true),
            ("CIS 5.15", true),
        ],
        check: |ctx| async move { check_all(&ctx).await }.boxed(),
        drift: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .cloudtrail()
                    .stop_logging()
                    .name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("StopLogging", e))?;
                let alarm = format!("{name}-RootAccountUsage");
                ctx.aws
                    .cloudwatch()
                    .delete_alarms()
                    .alarm_names(&alarm)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteAlarms", e))?;
                Ok(())
            }
            .boxed()
        },
        drifted: &["CloudTrail.1", "CIS 4.1", "CIS 5.3"],
        disappear: |ctx| {
            async move {
                let name = ctx.require_str(super::ADDR, "name")?;
                ctx.aws
                    .cloudtrail()
                    .delete_trail()
                    .name(&name)
                    .send()
                    .await
                    .map_err(|e| sdk("DeleteTrail", e))?;
                Ok(())
            }
            .boxed()
        },
        bad_input: |name| {
            vec![
                (with("x", ""), r"(?is)invalid trail name.*name"),
                (
                    with(name, "  log_retention_days = 30"),
                    r"(?is)invalid log retention.*log_retention_days",
                ),
                (
                    with(name, "  data_events = [\"my-bucket\"]"),
                    r"(?is)invalid data event target.*data_events",
                ),
                (
                    with(name, "  insight_types = [\"ApiCallRate\"]"),
                    r"(?is)unknown insights type.*insight_types\[0\]",
                ),
                (
                    with(name, "  kms_key_arn = \"k\""),
                    r"(?is)invalid arn.*kms_key_arn",
                ),
            ]
        },
        fail_at: 14,
        kill_after: 12,
    };

    acceptance_tests::standard_suite!(SUITE);
}
