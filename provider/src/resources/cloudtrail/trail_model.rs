//! The pure model of an audit trail: the CIS metric filters and their alarms, the
//! desired configuration, what AWS reports back ([`Observed`]) and the control
//! table judged over it. No AWS calls here.

use std::collections::BTreeMap;

use crate::resources::kit::controls::Control;

/// One CIS event set: a metric filter on the trail's log group and its alarm.
pub(crate) struct EventSet {
    /// CIS AWS Foundations v7 recommendation.
    pub(crate) cis: &'static str,
    /// Metric (and name suffix of the filter and alarm).
    pub(crate) metric: &'static str,
    /// What the alarm says.
    pub(crate) title: &'static str,
    /// The CloudWatch Logs filter pattern.
    pub(crate) pattern: &'static str,
}

/// CIS 5.1–5.15: every event set an auditor expects a filter and an alarm for.
pub(crate) const EVENT_SETS: &[EventSet] = &[
    EventSet {
        cis: "CIS 5.1",
        metric: "UnauthorizedAPICalls",
        title: "unauthorized API calls",
        pattern: r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#,
    },
    EventSet {
        cis: "CIS 5.2",
        metric: "ConsoleSigninWithoutMFA",
        title: "console sign-in without MFA",
        pattern: r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    },
    EventSet {
        cis: "CIS 5.3",
        metric: "RootAccountUsage",
        title: "use of the root user",
        pattern: r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
    },
    EventSet {
        cis: "CIS 5.4",
        metric: "IAMPolicyChanges",
        title: "IAM policy changes",
        pattern: r#"{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || ($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || ($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || ($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || ($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || ($.eventName = DetachGroupPolicy) }"#,
    },
    EventSet {
        cis: "CIS 5.5",
        metric: "CloudTrailChanges",
        title: "CloudTrail configuration changes",
        pattern: r#"{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }"#,
    },
    EventSet {
        cis: "CIS 5.6",
        metric: "ConsoleAuthenticationFailures",
        title: "console authentication failures",
        pattern: r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
    },
    EventSet {
        cis: "CIS 5.7",
        metric: "KMSKeyDisableOrDeletion",
        title: "customer-managed keys disabled or scheduled for deletion",
        pattern: r#"{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"#,
    },
    EventSet {
        cis: "CIS 5.8",
        metric: "S3BucketPolicyChanges",
        title: "S3 bucket policy changes",
        pattern: r#"{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }"#,
    },
    EventSet {
        cis: "CIS 5.9",
        metric: "AWSConfigChanges",
        title: "AWS Config changes",
        pattern: r#"{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || ($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || ($.eventName = PutConfigurationRecorder)) }"#,
    },
    EventSet {
        cis: "CIS 5.10",
        metric: "SecurityGroupChanges",
        title: "security group changes",
        pattern: r#"{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }"#,
    },
    EventSet {
        cis: "CIS 5.11",
        metric: "NetworkACLChanges",
        title: "network ACL changes",
        pattern: r#"{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }"#,
    },
    EventSet {
        cis: "CIS 5.12",
        metric: "NetworkGatewayChanges",
        title: "network gateway changes",
        pattern: r#"{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }"#,
    },
    EventSet {
        cis: "CIS 5.13",
        metric: "RouteTableChanges",
        title: "route table changes",
        pattern: r#"{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable)) }"#,
    },
    EventSet {
        cis: "CIS 5.14",
        metric: "VPCChanges",
        title: "VPC changes",
        pattern: r#"{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }"#,
    },
    EventSet {
        cis: "CIS 5.15",
        metric: "OrganizationsChanges",
        title: "AWS Organizations changes",
        pattern: r#"{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake) || ($.eventName = AttachPolicy) || ($.eventName = CancelHandshake) || ($.eventName = CreateAccount) || ($.eventName = CreateOrganization) || ($.eventName = CreateOrganizationalUnit) || ($.eventName = CreatePolicy) || ($.eventName = DeclineHandshake) || ($.eventName = DeleteOrganization) || ($.eventName = DeleteOrganizationalUnit) || ($.eventName = DeletePolicy) || ($.eventName = DetachPolicy) || ($.eventName = DisablePolicyType) || ($.eventName = EnableAllFeatures) || ($.eventName = EnablePolicyType) || ($.eventName = InviteAccountToOrganization) || ($.eventName = LeaveOrganization) || ($.eventName = MoveAccount) || ($.eventName = RemoveAccountFromOrganization) || ($.eventName = UpdatePolicy) || ($.eventName = UpdateOrganizationalUnit)) }"#,
    },
];

/// The CloudTrail Insights types, all on by default.
pub(crate) const INSIGHT_TYPES: &[&str] = &["ApiCallRateInsight", "ApiErrorRateInsight"];

/// Log retention values CloudWatch Logs accepts that keep a year or more.
pub(crate) const RETENTION_DAYS: &[i64] =
    &[365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Names of a trail's children, all derived from the trail's name.
pub(crate) struct Names {
    pub(crate) trail: String,
    pub(crate) log_group: String,
    pub(crate) role: String,
    pub(crate) topic: String,
    pub(crate) key_alias: String,
    pub(crate) namespace: String,
}

impl Names {
    pub(crate) fn of(trail: &str) -> Self {
        Names {
            trail: trail.to_string(),
            log_group: format!("/bankplatform/cloudtrail/{trail}"),
            role: format!("bankplatform-trail-{trail}"),
            topic: format!("{trail}-security-alarms"),
            key_alias: format!("alias/bankplatform/trail/{trail}"),
            namespace: format!("bankplatform/{trail}"),
        }
    }

    /// The metric filter and the alarm of an event set.
    pub(crate) fn alarm(&self, set: &EventSet) -> String {
        format!("{}-{}", self.trail, set.metric)
    }
}

/// The trail as configured (at apply time, every value known).
#[derive(Clone, Debug)]
pub(crate) struct Desired {
    pub(crate) name: String,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) organization: bool,
    /// `Some` when the user brings the key; `None`: the trail makes one.
    pub(crate) kms_key_arn: Option<String>,
    /// S3 data-event targets (`arn:aws:s3` for every bucket).
    pub(crate) data_events: Vec<String>,
    /// CloudTrail Insights types (sorted).
    pub(crate) insights: Vec<String>,
    pub(crate) retention_days: i64,
    /// `Some` when the user brings the topic; `None`: the trail makes one.
    pub(crate) alarm_topic_arn: Option<String>,
    pub(crate) tags_all: BTreeMap<String, String>,
    /// Filled as the children are made.
    pub(crate) key: Option<String>,
    pub(crate) topic: Option<String>,
    pub(crate) role: Option<String>,
    /// The create continues a trail an interrupted create left (its filters may exist).
    pub(crate) adopted: bool,
}

/// A metric filter and its alarm, as read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AlarmState {
    pub(crate) pattern: Option<String>,
    pub(crate) metric_matches: bool,
    pub(crate) actions_enabled: bool,
    pub(crate) notifies: Vec<String>,
}

/// The trail and its children as AWS reports them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub(crate) arn: String,
    pub(crate) home_region: String,
    pub(crate) bucket: String,
    pub(crate) prefix: Option<String>,
    pub(crate) multi_region: bool,
    pub(crate) global_events: bool,
    pub(crate) organization: bool,
    pub(crate) validation: bool,
    pub(crate) kms_key: Option<String>,
    pub(crate) log_group_arn: Option<String>,
    pub(crate) role_arn: Option<String>,
    pub(crate) logging: bool,
    pub(crate) management_all: bool,
    pub(crate) data_events: Vec<String>,
    pub(crate) data_events_all: bool,
    /// Insight types enabled (sorted).
    pub(crate) insights: Vec<String>,
    pub(crate) tags: BTreeMap<String, String>,
    /// Log group: KMS key and retention.
    pub(crate) group_key: Option<String>,
    pub(crate) group_retention: Option<i64>,
    /// Metric name → filter and alarm.
    pub(crate) alarms: BTreeMap<String, AlarmState>,
    pub(crate) topic: Option<String>,
    pub(crate) topic_key: Option<String>,
}

impl Observed {
    fn alarm_holds(&self, set: &EventSet) -> bool {
        self.alarms.get(set.metric).is_some_and(|a| {
            a.pattern.as_deref() == Some(set.pattern)
                && a.metric_matches
                && a.actions_enabled
                && self.topic.as_ref().is_some_and(|t| a.notifies.contains(t))
        })
    }
}

macro_rules! cis_alarm {
    ($i:expr, $id:literal) => {
        Control {
            id: $id,
            title: "A metric filter on the trail's log group matches the CIS event set, and an enabled alarm on it notifies the alarm topic.",
            evidence: "`logs:DescribeMetricFilters` → `filterPattern`, `metricTransformations`; `cloudwatch:DescribeAlarms` → `ActionsEnabled`, `AlarmActions`",
            judge: |o| Some(o.alarm_holds(&EVENT_SETS[$i])),
        }
    };
}

/// What `compliance` reports.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "CloudTrail.1",
        title: "Multi-Region trail, logging, with global service events and every management event (read and write).",
        evidence: "`cloudtrail:DescribeTrails` → `IsMultiRegionTrail`, `IncludeGlobalServiceEvents`; `GetTrailStatus` → `IsLogging`; `GetEventSelectors` → `ReadWriteType = All`, `IncludeManagementEvents`",
        judge: |o| Some(o.multi_region && o.global_events && o.logging && o.management_all),
    },
    Control {
        id: "CIS 4.1",
        title: "Same read as CloudTrail.1.",
        evidence: "as CloudTrail.1",
        judge: |o| Some(o.multi_region && o.global_events && o.logging && o.management_all),
    },
    Control {
        id: "CloudTrail.4",
        title: "Log file integrity validation is on (CIS 4.2).",
        evidence: "`cloudtrail:DescribeTrails` → `LogFileValidationEnabled`",
        judge: |o| Some(o.validation),
    },
    Control {
        id: "CloudTrail.2",
        title: "Log files are encrypted with a customer-managed KMS key (CIS 4.5).",
        evidence: "`cloudtrail:DescribeTrails` → `KmsKeyId`",
        judge: |o| Some(o.kms_key.is_some()),
    },
    Control {
        id: "CloudTrail.5",
        title: "The trail delivers to a CloudWatch Logs group, through a role.",
        evidence: "`cloudtrail:DescribeTrails` → `CloudWatchLogsLogGroupArn`, `CloudWatchLogsRoleArn`",
        judge: |o| Some(o.log_group_arn.is_some() && o.role_arn.is_some()),
    },
    Control {
        id: "CloudWatch.16",
        title: "The trail's log group keeps events at least 365 days and is encrypted with a customer-managed key.",
        evidence: "`logs:DescribeLogGroups` → `retentionInDays`, `kmsKeyId`",
        judge: |o| Some(o.group_retention.is_some_and(|d| d >= 365) && o.group_key.is_some()),
    },
    Control {
        id: "CIS 4.8",
        title: "S3 object-level write events are recorded for every bucket (or the buckets listed).",
        evidence: "`cloudtrail:GetEventSelectors` → `DataResources[Type = AWS::S3::Object]`, `ReadWriteType = All`",
        judge: |o| Some(o.data_events_all && !o.data_events.is_empty()),
    },
    Control {
        id: "CIS 4.9",
        title: "S3 object-level read events are recorded (same selector as CIS 4.8).",
        evidence: "as CIS 4.8",
        judge: |o| Some(o.data_events_all && !o.data_events.is_empty()),
    },
    Control {
        id: "bank:trail-insights",
        title: "CloudTrail Insights watch the rate of API calls and of API errors.",
        evidence: "`cloudtrail:GetInsightSelectors` → `InsightType`",
        judge: |o| Some(INSIGHT_TYPES.iter().all(|t| o.insights.iter().any(|i| i == t))),
    },
    Control {
        id: "SNS.1",
        title: "The alarm topic is encrypted with a customer-managed key.",
        evidence: "`sns:GetTopicAttributes` → `KmsMasterKeyId`",
        judge: |o| Some(o.topic_key.as_deref().is_some_and(|k| !k.contains("alias/aws/"))),
    },
    cis_alarm!(0, "CIS 5.1"),
    cis_alarm!(1, "CIS 5.2"),
    cis_alarm!(2, "CIS 5.3"),
    cis_alarm!(3, "CIS 5.4"),
    cis_alarm!(4, "CIS 5.5"),
    cis_alarm!(5, "CIS 5.6"),
    cis_alarm!(6, "CIS 5.7"),
    cis_alarm!(7, "CIS 5.8"),
    cis_alarm!(8, "CIS 5.9"),
    cis_alarm!(9, "CIS 5.10"),
    cis_alarm!(10, "CIS 5.11"),
    cis_alarm!(11, "CIS 5.12"),
    cis_alarm!(12, "CIS 5.13"),
    cis_alarm!(13, "CIS 5.14"),
    cis_alarm!(14, "CIS 5.15"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cis_event_set_has_its_control() {
        assert_eq!(EVENT_SETS.len(), 15);
        for (i, s) in EVENT_SETS.iter().enumerate() {
            assert_eq!(s.cis, format!("CIS 5.{}", i + 1));
            assert!(CONTROLS.iter().any(|c| c.id == s.cis));
            assert!(s.pattern.starts_with('{') && s.pattern.ends_with('}'));
        }
    }
}
