//! The pure model of a compliant bucket: purposes and their defaults, the
//! desired configuration derived from a planned value, the bucket policy,
//! bucket-name rules, and the compliance controls evaluated over what AWS
//! reports back ([`Observed`]). No AWS calls here.

use std::collections::BTreeMap;

use serde_json::json;

use crate::framework::{validators, Diagnostics};
use crate::resources::kit::controls::{self, Control};
use crate::value::{AttrPath, Value};

/// Tag keys this provider reserves on buckets it manages.
pub(crate) const PURPOSE_TAG: &str = "bankplatform:purpose";
/// Tag put on KMS keys and IAM roles created for a bucket.
pub(crate) const OWNER_TAG: &str = "bankplatform:bucket";
/// Reserved tag-key prefixes users cannot set.
pub(crate) use crate::resources::kit::tags::RESERVED as RESERVED_TAG_PREFIXES;

/// Allowed purposes.
pub(crate) const PURPOSES: &[&str] = &["transaction", "archive", "audit", "logs"];
/// Allowed lifecycle storage classes.
pub(crate) const STORAGE_CLASSES: &[&str] = &[
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

/// Sids of the statements this provider owns in the bucket policy.
pub(crate) const SID_TLS: &str = "BankplatformDenyInsecureTransport";
pub(crate) const SID_TLS_VERSION: &str = "BankplatformDenyOutdatedTls";
pub(crate) const SID_LOG_DELIVERY: &str = "BankplatformAllowServerAccessLogDelivery";

/// Object lock default retention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lock {
    pub(crate) mode: String,
    pub(crate) days: i64,
}

impl Lock {
    /// The default retention of a bucket with object lock `enabled`, from a mode and a
    /// day count either of which may be unset (GOVERNANCE, 30 days); none when both
    /// are unset (a `logs` bucket) or the lock is off.
    pub(crate) fn from_parts(
        enabled: bool,
        mode: Option<String>,
        days: Option<i64>,
    ) -> Option<Lock> {
        (enabled && (mode.is_some() || days.is_some())).then(|| Lock {
            mode: mode.unwrap_or_else(|| "GOVERNANCE".into()),
            days: days.unwrap_or(30),
        })
    }
}

/// One lifecycle rule, in the shape of the `lifecycle_rules` attribute.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct LifecycleRule {
    pub(crate) id: String,
    pub(crate) prefix: Option<String>,
    pub(crate) transitions: Vec<(i64, String)>,
    pub(crate) noncurrent_transitions: Vec<(i64, String)>,
    pub(crate) noncurrent_expiration_days: Option<i64>,
    pub(crate) expiration_days: Option<i64>,
    pub(crate) abort_incomplete_multipart_upload_days: Option<i64>,
}

/// Replication settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Replication {
    pub(crate) destination_bucket_arn: String,
    pub(crate) destination_kms_key_arn: String,
    /// `None` until the role is created.
    pub(crate) role_arn: Option<String>,
    pub(crate) storage_class: String,
}

/// Defaults for a purpose.
pub(crate) struct PurposeDefaults {
    /// Object lock on the bucket (WORM for whatever retention objects are given).
    pub(crate) lock_enabled: bool,
    /// The default retention every new object gets.
    pub(crate) lock: Option<Lock>,
    pub(crate) sse_kms: bool,
    pub(crate) lifecycle: Vec<LifecycleRule>,
}

pub(crate) fn purpose_defaults(purpose: &str) -> PurposeDefaults {
    let rule =
        |transitions: &[(i64, &str)], noncurrent: &[(i64, &str)], nc_exp: i64| LifecycleRule {
            id: "bankplatform-default".into(),
            prefix: None,
            transitions: transitions
                .iter()
                .map(|(d, c)| (*d, c.to_string()))
                .collect(),
            noncurrent_transitions: noncurrent
                .iter()
                .map(|(d, c)| (*d, c.to_string()))
                .collect(),
            noncurrent_expiration_days: Some(nc_exp),
            expiration_days: None,
            abort_incomplete_multipart_upload_days: Some(7),
        };
    match purpose {
        // Records kept for 7 years (2555 days), immutable even to root.
        "archive" => PurposeDefaults {
            lock_enabled: true,
            lock: Some(Lock {
                mode: "COMPLIANCE".into(),
                days: 2555,
            }),
            sse_kms: true,
            lifecycle: vec![rule(
                &[(30, "GLACIER"), (180, "DEEP_ARCHIVE")],
                &[(30, "DEEP_ARCHIVE")],
                2555,
            )],
        },
        "audit" => PurposeDefaults {
            lock_enabled: true,
            lock: Some(Lock {
                mode: "COMPLIANCE".into(),
                days: 2555,
            }),
            sse_kms: true,
            lifecycle: vec![rule(&[(90, "GLACIER")], &[(30, "GLACIER")], 2555)],
        },
        // S3 server access log delivery only writes to SSE-S3 buckets without a
        // default retention (AWS rules), so a log bucket uses AES256 and object lock
        // without a default retention; the plan shows both.
        "logs" => PurposeDefaults {
            lock_enabled: true,
            lock: None,
            sse_kms: false,
            lifecycle: vec![rule(
                &[(30, "STANDARD_IA"), (90, "GLACIER")],
                &[(30, "GLACIER")],
                365,
            )],
        },
        _ => PurposeDefaults {
            lock_enabled: true,
            lock: Some(Lock {
                mode: "GOVERNANCE".into(),
                days: 30,
            }),
            sse_kms: true,
            lifecycle: vec![rule(
                &[(30, "STANDARD_IA"), (90, "GLACIER")],
                &[(30, "GLACIER")],
                365,
            )],
        },
    }
}

/// Checks an S3 bucket name; returns the reason it is invalid.
pub(crate) fn bucket_name_problem(name: &str) -> Option<String> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some(format!(
            "it is {len} characters long; bucket names are 3 to 63 characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!(
            "it contains '{c}'; only lowercase letters, digits, '-' and '.' are allowed"
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Some("it must begin and end with a lowercase letter or a digit".into());
    }
    if name.contains("..") {
        return Some("it contains two adjacent periods".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("it is formatted as an IP address".into());
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") {
        return Some("it starts with a reserved prefix (xn--, sthree-)".into());
    }
    if name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return Some("it ends with a reserved suffix (-s3alias, --ol-s3)".into());
    }
    None
}

/// The bucket's ARN.
pub(crate) fn bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

pub(crate) use crate::aws::partition;

/// The regional domain name S3 serves the bucket on.
pub(crate) fn regional_domain_name(bucket: &str, region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{bucket}.s3.{region}.{suffix}")
}

pub(crate) use crate::resources::iam::policy_doc::{canonical_json, parse_statements};

/// The bucket policy: deny non-TLS and TLS < 1.2, allow server access log
/// delivery for log buckets, then the user's statements. Statements name
/// `{"AWS": "*"}` rather than the equivalent `"*"`: moto 5.2 fails on a
/// string principal when a bucket logs into one.
pub(crate) fn bucket_policy(
    bucket_arn: &str,
    log_delivery_account: Option<&str>,
    extra: &[serde_json::Value],
) -> String {
    let resources = json!([bucket_arn, format!("{bucket_arn}/*")]);
    let mut statements = vec![
        json!({
            "Sid": SID_TLS, "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": resources, "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }),
        json!({
            "Sid": SID_TLS_VERSION, "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
            "Resource": resources, "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
        }),
    ];
    if let Some(account) = log_delivery_account {
        statements.push(json!({
            "Sid": SID_LOG_DELIVERY, "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": format!("{bucket_arn}/*"),
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }));
    }
    statements.extend(extra.iter().cloned());
    canonical_json(&json!({"Version": "2012-10-17", "Statement": statements})).to_string()
}

/// Services that deliver into audit buckets, and what each needs on the bucket
/// (`delivery_sources`): bucket-level actions, then object-level.
pub(crate) const DELIVERY_SERVICES: &[(&str, &[&str], &str)] = &[
    ("cloudtrail", &["s3:GetBucketAcl"], "s3:PutObject"),
    (
        "config",
        &["s3:GetBucketAcl", "s3:ListBucket"],
        "s3:PutObject",
    ),
    ("guardduty", &["s3:GetBucketLocation"], "s3:PutObject"),
];

/// What each delivering service needs on the bucket's KMS key to write encrypted
/// objects (the key's side of `delivery_sources`).
const DELIVERY_KEY_ACTIONS: &[(&str, &[&str])] = &[
    ("cloudtrail", &["kms:DescribeKey", "kms:GenerateDataKey*"]),
    ("config", &["kms:Decrypt", "kms:GenerateDataKey"]),
    ("guardduty", &["kms:Encrypt", "kms:GenerateDataKey"]),
];

/// The key policy statements that let each service the bucket policy admits write
/// encrypted objects, on behalf of the same sources only (the same condition as its
/// `BankplatformDelivery…Write` statement). Read from the bucket policy, so names
/// resolved there need no second resolution.
pub(crate) fn delivery_key_statements(bucket_policy: &serde_json::Value) -> Vec<serde_json::Value> {
    let statements = bucket_policy
        .get("Statement")
        .and_then(|s| s.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut out = Vec::new();
    for (service, actions) in DELIVERY_KEY_ACTIONS {
        let title: String = service[..1].to_uppercase() + &service[1..];
        let sid = format!("BankplatformDelivery{title}Write");
        if let Some(w) = statements
            .iter()
            .find(|s| s.get("Sid").and_then(|x| x.as_str()) == Some(sid.as_str()))
        {
            out.push(
                json!({"Sid": format!("BankplatformDelivery{title}Key"), "Effect": "Allow",
                "Principal": w.get("Principal").cloned().unwrap_or_default(), "Action": actions,
                "Resource": "*", "Condition": w.get("Condition").cloned().unwrap_or_default()}),
            );
        }
    }
    out
}

/// Whether a key policy holds every statement in `wanted`, compared as IAM reads
/// them: keys in any order, a one-element list the same as its element, lists as sets.
pub(crate) fn key_admits(key_policy: &serde_json::Value, wanted: &[serde_json::Value]) -> bool {
    fn loose(v: &serde_json::Value) -> serde_json::Value {
        match canonical_json(v) {
            serde_json::Value::Array(a) if a.len() == 1 => loose(&a[0]),
            serde_json::Value::Array(a) => {
                let mut items: Vec<serde_json::Value> = a.iter().map(loose).collect();
                items.sort_by_key(|x| x.to_string());
                serde_json::Value::Array(items)
            }
            serde_json::Value::Object(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), loose(v))).collect())
            }
            other => other,
        }
    }
    let have: Vec<serde_json::Value> = key_policy
        .get("Statement")
        .and_then(|s| s.as_array())
        .map(|a| a.iter().map(loose).collect())
        .unwrap_or_default();
    wanted.iter().all(|w| have.contains(&loose(w)))
}

/// The statements admitting each delivering service, only on behalf of the listed
/// sources: ARNs (a trail, a detector) become `aws:SourceArn`, account ids
/// `aws:SourceAccount` (the confused-deputy rule, CIS 3.1.2).
///
/// A bare name (neither ARN nor account id) names a source of this account and
/// region: `cloudtrail = ["org-audit"]` is the trail `org-audit` next to the bucket;
/// `"self"` is the bucket's own account (`config = ["self"]`).
pub(crate) fn delivery_statements(
    bucket_arn: &str,
    sources: &BTreeMap<String, Vec<String>>,
    here: Option<(&str, &str)>,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for (service, bucket_actions, object_action) in DELIVERY_SERVICES {
        let Some(list) = sources.get(*service).filter(|l| !l.is_empty()) else {
            continue;
        };
        let resolved: Vec<String> = list
            .iter()
            .map(|s| match here {
                Some((account, _)) if s == "self" => account.to_string(),
                Some((account, region)) if is_source_name(s) => format!(
                    "arn:{}:{service}:{region}:{account}:{}{s}",
                    partition(region),
                    if *service == "cloudtrail" {
                        "trail/"
                    } else {
                        ""
                    }
                ),
                _ => s.clone(),
            })
            .collect();
        let (arns, accounts): (Vec<&String>, Vec<&String>) =
            resolved.iter().partition(|s| s.starts_with("arn:"));
        let mut cond = serde_json::Map::new();
        if !arns.is_empty() {
            cond.insert("ArnLike".into(), json!({"aws:SourceArn": arns}));
        }
        if !accounts.is_empty() {
            cond.insert(
                "StringEquals".into(),
                json!({"aws:SourceAccount": accounts}),
            );
        }
        let title: String = service[..1].to_uppercase() + &service[1..];
        let principal = json!({"Service": format!("{service}.amazonaws.com")});
        out.push(json!({"Sid": format!("BankplatformDelivery{title}Check"), "Effect": "Allow",
            "Principal": principal, "Action": bucket_actions, "Resource": bucket_arn, "Condition": cond}));
        out.push(json!({"Sid": format!("BankplatformDelivery{title}Write"), "Effect": "Allow",
            "Principal": principal, "Action": object_action, "Resource": format!("{bucket_arn}/*"), "Condition": cond}));
    }
    out
}

/// Whether a delivery source is a bare name (to be resolved in the bucket's account).
pub(crate) fn is_source_name(s: &str) -> bool {
    !s.starts_with("arn:") && (s.len() != 12 || !s.chars().all(|c| c.is_ascii_digit()))
}

/// `delivery_sources` of a configuration or plan.
pub(crate) fn delivery_sources(v: &Value) -> BTreeMap<String, Vec<String>> {
    v.get("delivery_sources")
        .as_map()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.string_list()))
        .collect()
}

/// The user's own statements found in a policy (for import).
pub(crate) fn user_statements(policy: &serde_json::Value) -> Vec<serde_json::Value> {
    policy
        .get("Statement")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter(|s| {
                    !s.get("Sid")
                        .and_then(|x| x.as_str())
                        .is_some_and(|x| x.starts_with("Bankplatform"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// What AWS reports about a bucket.
#[derive(Clone, Debug, Default)]
pub(crate) struct Observed {
    pub(crate) sse_algorithm: Option<String>,
    pub(crate) kms_key: Option<String>,
    pub(crate) bucket_key: bool,
    pub(crate) key_rotation: Option<bool>,
    /// The key's policy, read only when the bucket policy admits delivering services.
    pub(crate) key_policy: Option<serde_json::Value>,
    pub(crate) versioning: Option<String>,
    pub(crate) lock_enabled: bool,
    pub(crate) lock: Option<Lock>,
    pub(crate) public_access_block: Option<[bool; 4]>,
    pub(crate) ownership: Option<String>,
    pub(crate) policy: Option<serde_json::Value>,
    pub(crate) logging: Option<(String, String)>,
    pub(crate) lifecycle: Vec<LifecycleRule>,
    pub(crate) replication: Option<Replication>,
    pub(crate) tags: BTreeMap<String, String>,
    /// Whether S3 reports that object events go to EventBridge (as read); the state
    /// turns it into S3.11 through [`eventbridge_reported`], which may leave it out.
    pub(crate) eventbridge: Option<bool>,
}

fn has_tls_deny(policy: &serde_json::Value) -> bool {
    policy
        .get("Statement")
        .and_then(|s| s.as_array())
        .is_some_and(|stmts| {
            stmts.iter().any(|s| {
                let deny = s.get("Effect").and_then(|e| e.as_str()) == Some("Deny");
                let all = s.get("Action").is_some_and(|a| {
                    a == "s3:*" || a.as_array().is_some_and(|l| l.iter().any(|x| x == "s3:*"))
                });
                let cond = s
                    .pointer("/Condition/Bool/aws:SecureTransport")
                    .is_some_and(|v| v == "false" || v == false);
                deny && all && cond
            })
        })
}

fn tls_only(o: &Observed) -> Option<bool> {
    Some(o.policy.as_ref().is_some_and(has_tls_deny))
}

fn public_access_blocked(o: &Observed) -> Option<bool> {
    Some(o.public_access_block == Some([true; 4]))
}

fn acls_disabled(o: &Observed) -> Option<bool> {
    Some(o.ownership.as_deref() == Some("BucketOwnerEnforced"))
}

fn versioned(o: &Observed) -> Option<bool> {
    Some(o.versioning.as_deref() == Some("Enabled"))
}

fn customer_key(o: &Observed) -> Option<bool> {
    Some(
        matches!(
            o.sse_algorithm.as_deref(),
            Some("aws:kms") | Some("aws:kms:dsse")
        ) && o
            .kms_key
            .as_deref()
            .is_some_and(|k| !k.contains("alias/aws/"))
            && o.bucket_key,
    )
}

fn locked(o: &Observed) -> Option<bool> {
    Some(o.lock_enabled)
}

/// A default retention, except on a log bucket, where AWS refuses one (access log
/// delivery needs a target without it).
fn retained(o: &Observed) -> Option<bool> {
    (o.tags.get(PURPOSE_TAG).map(String::as_str) != Some("logs"))
        .then(|| o.lock_enabled && o.lock.is_some())
}

fn logged(o: &Observed) -> Option<bool> {
    Some(o.logging.is_some())
}

fn lifecycle(o: &Observed) -> Option<bool> {
    Some(!o.lifecycle.is_empty())
}

fn replicated(o: &Observed) -> Option<bool> {
    Some(o.replication.is_some())
}

/// Applies to KMS-encrypted buckets whose policy admits delivering services: the key
/// must let those services encrypt what they write, for the same sources.
fn key_admits_writers(o: &Observed) -> Option<bool> {
    let wanted = delivery_key_statements(o.policy.as_ref()?);
    if wanted.is_empty() || o.sse_algorithm.as_deref() == Some("AES256") {
        return None;
    }
    Some(
        o.key_policy
            .as_ref()
            .is_some_and(|k| key_admits(k, &wanted)),
    )
}

fn events_to_eventbridge(o: &Observed) -> Option<bool> {
    o.eventbridge
}

/// What `compliance` can say of S3.11 for a bucket that wants EventBridge
/// notifications (`wanted`; an import, which does not know, counts as wanting them), given what the endpoint reported (`reported`) and what
/// the state it is read into says (`known`: the control as that state has it,
/// `Some(None)` when the state's map leaves it out, `None` when the state has no
/// known map: a create, an import, a repair).
///
/// AWS reports the EventBridge setting back; the local emulator accepts it, delivers
/// the events, and answers reads without it. So a bucket that wants it and reads
/// without it is drifted when the state has the control (held, or already seen
/// drifted); when the state has no word on it (a create, an import, a repair) the
/// endpoint cannot show it, and it is left out, never claimed. A map that leaves it
/// out keeps it out while it is wanted, even if S3 now reports it: on AWS that
/// happens only when a read-back right after the write missed it (bucket settings are
/// eventually consistent), and turning `event_notifications` off and on brings it
/// back.
pub(crate) fn eventbridge_reported(
    wanted: bool,
    reported: bool,
    known: Option<Option<bool>>,
) -> Option<bool> {
    match (wanted, reported, known) {
        // A state (or plan) that leaves it out keeps it out while it is wanted: an
        // apply must not report what its plan did not promise.
        (true, _, Some(None)) => None,
        (_, true, _) | (false, false, _) => Some(reported),
        (true, false, Some(Some(_))) => Some(false),
        (true, false, None) => None,
    }
}

/// Key rotation applies to buckets encrypted with KMS keys only.
fn key_rotates(o: &Observed) -> Option<bool> {
    (o.sse_algorithm.as_deref() != Some("AES256")).then(|| o.key_rotation.unwrap_or(false))
}

/// The controls a compliant bucket promises, judged over what S3 and KMS report.
pub(crate) const CONTROLS: &[Control<Observed>] = &[
    Control {
        id: "CIS 3.1.1",
        title: "The bucket policy denies requests without TLS.",
        evidence: "GetBucketPolicy",
        judge: tls_only,
    },
    Control {
        id: "S3.5",
        title: "The bucket policy denies requests without TLS.",
        evidence: "GetBucketPolicy",
        judge: tls_only,
    },
    Control {
        id: "CIS 3.1.4",
        title: "All four public access block settings are on.",
        evidence: "GetPublicAccessBlock",
        judge: public_access_blocked,
    },
    Control {
        id: "S3.8",
        title: "All four public access block settings are on.",
        evidence: "GetPublicAccessBlock",
        judge: public_access_blocked,
    },
    Control {
        id: "S3.12",
        title: "ACLs are disabled (BucketOwnerEnforced).",
        evidence: "GetBucketOwnershipControls",
        judge: acls_disabled,
    },
    Control {
        id: "S3.14",
        title: "Versioning is enabled.",
        evidence: "GetBucketVersioning",
        judge: versioned,
    },
    Control {
        id: "S3.17",
        title: "Default encryption is SSE-KMS with a customer-managed key and a bucket key.",
        evidence: "GetBucketEncryption",
        judge: customer_key,
    },
    Control {
        id: "S3.15",
        title: "Object lock is enabled (Security Hub's default: any retention mode).",
        evidence: "GetObjectLockConfiguration",
        judge: locked,
    },
    Control {
        id: "bank:default-retention",
        title: "Every new object version gets the purpose's default retention (GOVERNANCE 30 days, or COMPLIANCE 2555 days for `archive` and `audit`). Does not apply to a `logs` bucket: AWS delivers access logs only to a target without a default retention.",
        evidence: "GetObjectLockConfiguration (Rule.DefaultRetention)",
        judge: retained,
    },
    Control {
        id: "S3.9",
        title: "Server access logging is on.",
        evidence: "GetBucketLogging",
        judge: logged,
    },
    Control {
        id: "S3.11",
        title: "Object events go to Amazon EventBridge (left out where the endpoint accepts the setting but does not report it back: the local emulator).",
        evidence: "GetBucketNotificationConfiguration (EventBridgeConfiguration)",
        judge: events_to_eventbridge,
    },
    Control {
        id: "S3.13",
        title: "Lifecycle rules are configured.",
        evidence: "GetBucketLifecycleConfiguration",
        judge: lifecycle,
    },
    Control {
        id: "S3.7",
        title: "Cross-region replication is configured.",
        evidence: "GetBucketReplication",
        judge: replicated,
    },
    Control {
        id: "KMS.4",
        title: "The bucket's KMS key rotates automatically (KMS-encrypted buckets only).",
        evidence: "GetBucketEncryption, GetKeyRotationStatus",
        judge: key_rotates,
    },
    Control {
        id: "bank:key-admits-writers",
        title: "The bucket's KMS key lets each service in `delivery_sources` encrypt what it writes, on behalf of the same sources only (KMS-encrypted buckets with delivery sources only).",
        evidence: "GetBucketPolicy, GetKeyPolicy",
        judge: key_admits_writers,
    },
];

/// Whether each control holds, over what AWS reports.
pub(crate) fn compliance(o: &Observed) -> BTreeMap<String, bool> {
    controls::evaluate(CONTROLS, o)
}

/// What `compliance` must report for a bucket configured as `d`, but for S3.11
/// (which the planner decides from the prior state: [`eventbridge_reported`]).
///
/// `delivers`: whether `delivery_sources` admits any service; `byo_key` what AWS
/// last reported for a key brought by the user (KMS.4, then whether it admits the
/// delivering services).
pub(crate) fn expected_compliance(
    d: &Desired,
    delivers: bool,
    byo_key: (Option<bool>, Option<bool>),
) -> BTreeMap<String, bool> {
    let (byo_key_rotation, byo_key_admits) = byo_key;
    let mut m = BTreeMap::new();
    for k in ["CIS 3.1.1", "CIS 3.1.4", "S3.5", "S3.8", "S3.12", "S3.14"] {
        m.insert(k.to_string(), true);
    }
    m.insert("S3.17".to_string(), d.sse_kms);
    m.insert("S3.15".to_string(), d.lock_enabled);
    if d.purpose != "logs" {
        m.insert("bank:default-retention".to_string(), d.lock.is_some());
    }
    m.insert("S3.9".to_string(), d.logging.is_some());
    m.insert("S3.13".to_string(), !d.lifecycle.is_empty());
    m.insert("S3.7".to_string(), d.replication.is_some());
    if d.sse_kms {
        // A key this resource creates always rotates; a key brought by the
        // user is reported as AWS reads it.
        m.insert(
            "KMS.4".to_string(),
            if d.kms_key_managed {
                true
            } else {
                byo_key_rotation.unwrap_or(false)
            },
        );
        if delivers {
            m.insert(
                "bank:key-admits-writers".to_string(),
                d.kms_key_managed || byo_key_admits.unwrap_or(false),
            );
        }
    }
    m
}

/// The desired configuration, read from a (fully known) planned value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Desired {
    pub(crate) bucket: String,
    pub(crate) purpose: String,
    pub(crate) sse_kms: bool,
    pub(crate) kms_key_arn: Option<String>,
    pub(crate) kms_key_managed: bool,
    pub(crate) lock_enabled: bool,
    /// The default retention (only with `lock_enabled`).
    pub(crate) lock: Option<Lock>,
    pub(crate) logging: Option<(String, String)>,
    pub(crate) lifecycle: Vec<LifecycleRule>,
    pub(crate) replication: Option<Replication>,
    pub(crate) tags_all: BTreeMap<String, String>,
    pub(crate) policy: String,
    pub(crate) force_destroy: bool,
    /// Object events sent to EventBridge's default bus.
    pub(crate) event_notifications: bool,
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Reads `lifecycle_rules` into rules.
pub(crate) fn lifecycle_from_value(v: &Value) -> Vec<LifecycleRule> {
    let pairs = |v: &Value| -> Vec<(i64, String)> {
        let mut p = v
            .as_list()
            .unwrap_or(&[])
            .iter()
            .filter_map(|t| Some((int(t.get("days"))?, string(t.get("storage_class"))?)))
            .collect::<Vec<_>>();
        p.sort();
        p
    };
    v.as_list()
        .unwrap_or(&[])
        .iter()
        .map(|r| LifecycleRule {
            id: string(r.get("id")).unwrap_or_default(),
            prefix: string(r.get("prefix")).filter(|p| !p.is_empty()),
            transitions: pairs(r.get("transitions")),
            noncurrent_transitions: pairs(r.get("noncurrent_transitions")),
            noncurrent_expiration_days: int(r.get("noncurrent_expiration_days")),
            expiration_days: int(r.get("expiration_days")),
            abort_incomplete_multipart_upload_days: int(
                r.get("abort_incomplete_multipart_upload_days")
            ),
        })
        .collect()
}

/// Rules to their attribute value.
pub(crate) fn lifecycle_to_value(rules: &[LifecycleRule]) -> Value {
    let pairs = |p: &[(i64, String)]| {
        Value::List(
            p.iter()
                .map(|(d, c)| {
                    Value::object([
                        ("days", Value::number(*d)),
                        ("storage_class", Value::string(c)),
                    ])
                })
                .collect(),
        )
    };
    let opt = |n: Option<i64>| n.map(Value::number).unwrap_or(Value::Null);
    Value::List(
        rules
            .iter()
            .map(|r| {
                Value::object([
                    ("id", Value::string(&r.id)),
                    (
                        "prefix",
                        r.prefix.clone().map(Value::String).unwrap_or(Value::Null),
                    ),
                    ("transitions", pairs(&r.transitions)),
                    ("noncurrent_transitions", pairs(&r.noncurrent_transitions)),
                    (
                        "noncurrent_expiration_days",
                        opt(r.noncurrent_expiration_days),
                    ),
                    ("expiration_days", opt(r.expiration_days)),
                    (
                        "abort_incomplete_multipart_upload_days",
                        opt(r.abort_incomplete_multipart_upload_days),
                    ),
                ])
            })
            .collect(),
    )
}

/// Object lock to its attribute value: on or off, and the default retention.
pub(crate) fn lock_to_value(enabled: bool, lock: Option<&Lock>) -> Value {
    Value::object([
        ("enabled", Value::Bool(enabled)),
        (
            "mode",
            lock.map(|l| Value::string(&l.mode)).unwrap_or(Value::Null),
        ),
        (
            "retention_days",
            lock.map(|l| Value::number(l.days)).unwrap_or(Value::Null),
        ),
    ])
}

/// Reads the desired configuration from a planned value whose relevant parts are known.
pub(crate) fn desired_from_planned(p: &Value) -> Desired {
    let lock_v = p.get("object_lock");
    let lock_enabled = lock_v.get("enabled").as_bool() == Some(true);
    let (mode, days) = (
        string(lock_v.get("mode")),
        int(lock_v.get("retention_days")),
    );
    let lock = Lock::from_parts(lock_enabled, mode, days);
    let logging = {
        let l = p.get("access_logging");
        string(l.get("target_bucket"))
            .map(|t| (t, string(l.get("target_prefix")).unwrap_or_default()))
    };
    let replication = {
        let r = p.get("replication");
        match (
            string(r.get("destination_bucket_arn")),
            string(r.get("destination_kms_key_arn")),
        ) {
            (Some(d), Some(k)) => Some(Replication {
                destination_bucket_arn: d,
                destination_kms_key_arn: k,
                role_arn: string(r.get("role_arn")),
                storage_class: string(r.get("storage_class")).unwrap_or_else(|| "STANDARD".into()),
            }),
            _ => None,
        }
    };
    let tags_all = p
        .get("tags_all")
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), string(v)?)))
                .collect()
        })
        .unwrap_or_default();
    Desired {
        bucket: string(p.get("bucket")).unwrap_or_default(),
        purpose: string(p.get("purpose")).unwrap_or_else(|| "transaction".into()),
        sse_kms: p.get("sse_algorithm").as_str() != Some("AES256"),
        kms_key_arn: string(p.get("kms_key_arn")),
        kms_key_managed: p.get("kms_key_managed").as_bool().unwrap_or(false),
        lock_enabled,
        lock,
        logging,
        lifecycle: lifecycle_from_value(p.get("lifecycle_rules")),
        replication,
        tags_all,
        policy: string(p.get("policy")).unwrap_or_default(),
        force_destroy: p.get("force_destroy").as_bool().unwrap_or(false),
        event_notifications: p.get("event_notifications").as_bool().unwrap_or(true),
    }
}

/// Checks the whole configuration; the configuration may hold unknowns.
pub(crate) fn validate(config: &Value, diags: &mut Diagnostics) {
    let bucket = config.get("bucket");
    let prefix = config.get("bucket_prefix");
    if !bucket.is_null() && !prefix.is_null() {
        diags.attr_error(
            AttrPath::root("bucket_prefix"),
            "Conflicting arguments",
            "Set either bucket (the exact name) or bucket_prefix (a name is generated from it), not both.",
        );
    }
    if let Some(name) = bucket.as_str() {
        if let Some(why) = bucket_name_problem(name) {
            diags.attr_error(
                AttrPath::root("bucket"),
                "Invalid bucket name",
                format!("\"{name}\" is not a valid S3 bucket name: {why}."),
            );
        }
    }
    if let Some(p) = prefix.as_str() {
        let probe = format!("{p}{}", "a".repeat(26));
        if p.len() > 37 {
            diags.attr_error(AttrPath::root("bucket_prefix"), "Invalid bucket name", format!("bucket_prefix \"{p}\" is {} characters; at most 37 leave room for the 26-character generated suffix.", p.len()));
        } else if let Some(why) = bucket_name_problem(&probe) {
            diags.attr_error(
                AttrPath::root("bucket_prefix"),
                "Invalid bucket name",
                format!("bucket_prefix \"{p}\" cannot start a valid bucket name: {why}."),
            );
        }
    }
    let lock = config.get("object_lock");
    if lock.get("enabled").as_bool() == Some(false)
        && (!lock.get("mode").is_null() || !lock.get("retention_days").is_null())
    {
        diags.attr_error(
            AttrPath::root("object_lock").attr("enabled"),
            "Conflicting arguments",
            "object_lock.enabled is false, so mode and retention_days cannot be set. Remove them, or enable object lock.",
        );
    }
    if config.get("purpose").as_str() == Some("logs") {
        for k in ["mode", "retention_days"] {
            if !lock.get(k).is_null() {
                diags.attr_error(
                    AttrPath::root("object_lock").attr(k),
                    "No default retention on a log bucket",
                    "S3 server access logging cannot deliver to a bucket with a default retention, so a bucket of purpose \"logs\" keeps object lock without one: remove mode and retention_days, or choose another purpose.",
                );
            }
        }
    }
    if let Some(purpose) = config.get("purpose").as_str() {
        if lock.get("enabled").as_bool() == Some(false) && matches!(purpose, "archive" | "audit") {
            diags.attr_warning(
                AttrPath::root("object_lock").attr("enabled"),
                "Compliance control weakened",
                format!("Object lock is turned off for a bucket of purpose \"{purpose}\": its records can be deleted or overwritten (Security Hub S3.15). Keep it on unless your records policy says otherwise."),
            );
        }
    }
    if let Some(target) = config.get("access_logging").get("target_bucket").as_str() {
        if let Some(why) = bucket_name_problem(target) {
            diags.attr_error(
                AttrPath::root("access_logging").attr("target_bucket"),
                "Invalid bucket name",
                format!("\"{target}\" is not a valid S3 bucket name: {why}."),
            );
        }
        if bucket.as_str() == Some(target) {
            diags.attr_error(AttrPath::root("access_logging").attr("target_bucket"), "Invalid access logging target", "A bucket must not log to itself: every log delivery would create another log object. Use a bucket of purpose \"logs\".");
        }
    }
    if let Some(text) = config.get("policy_statements").as_str() {
        if let Err(why) = parse_statements(text) {
            diags.attr_error(
                AttrPath::root("policy_statements"),
                "Invalid policy statements",
                format!("policy_statements is not usable: {why}."),
            );
        }
    }
    validators::aws_tags(AttrPath::root("tags"), config.get("tags"), diags);
    if config.get("purpose").as_str() == Some("logs") && !config.get("kms_key_arn").is_null() {
        diags.attr_error(
            AttrPath::root("kms_key_arn"),
            "Conflicting arguments",
            "A bucket of purpose \"logs\" is encrypted with S3-managed keys (SSE-S3), because S3 server access logging cannot deliver to a KMS-encrypted bucket: remove kms_key_arn, or choose another purpose.",
        );
    }
    if let Some(tags) = config.get("tags").as_map() {
        for k in tags.keys() {
            if RESERVED_TAG_PREFIXES.iter().any(|p| k.starts_with(p)) {
                diags.attr_error(
                    AttrPath::root("tags").key(k),
                    "Reserved tag key",
                    format!(
                        "Tag keys starting with {} are reserved.",
                        RESERVED_TAG_PREFIXES.join(" or ")
                    ),
                );
            }
        }
    }
    let repl = config.get("replication");
    if let Some(arn) = repl.get("destination_bucket_arn").as_str() {
        if !arn.starts_with("arn:") || !arn.contains(":s3:::") {
            diags.attr_error(
                AttrPath::root("replication").attr("destination_bucket_arn"),
                "Invalid ARN",
                format!("\"{arn}\" is not an S3 bucket ARN (arn:aws:s3:::<bucket>)."),
            );
        }
    }
    if let Some(arn) = repl.get("destination_kms_key_arn").as_str() {
        if !arn.starts_with("arn:") || !arn.contains(":kms:") {
            diags.attr_error(
                AttrPath::root("replication").attr("destination_kms_key_arn"),
                "Invalid ARN",
                format!(
                    "\"{arn}\" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
                ),
            );
        }
    }
    if let Some(rules) = config.get("lifecycle_rules").as_list() {
        let mut ids = std::collections::BTreeSet::new();
        for (i, r) in rules.iter().enumerate() {
            let at = AttrPath::root("lifecycle_rules").index(i as i64);
            if let Some(id) = r.get("id").as_str() {
                if !ids.insert(id.to_string()) {
                    diags.attr_error(
                        at.attr("id"),
                        "Duplicate lifecycle rule id",
                        format!("Rule id \"{id}\" is used twice; ids must be unique."),
                    );
                }
            }
            // Day counts are whole and positive: a negative or fractional one would be
            // refused by S3 only after the bucket exists.
            for key in [
                "expiration_days",
                "noncurrent_expiration_days",
                "abort_incomplete_multipart_upload_days",
            ] {
                validators::whole_number_in(
                    at.attr(key),
                    r.get(key),
                    1..=36500,
                    "Invalid lifecycle rule",
                    diags,
                );
            }
            for key in ["transitions", "noncurrent_transitions"] {
                for (j, t) in r.get(key).as_list().unwrap_or(&[]).iter().enumerate() {
                    let tp = at.attr(key).index(j as i64);
                    let days = t.get("days").as_i64();
                    if let Some(class) = t.get("storage_class").as_str() {
                        if !STORAGE_CLASSES.contains(&class) {
                            diags.attr_error(
                                tp.attr("storage_class"),
                                "Invalid storage class",
                                format!(
                                    "\"{class}\" is not one of {}.",
                                    STORAGE_CLASSES.join(", ")
                                ),
                            );
                        }
                        if matches!(class, "STANDARD_IA" | "ONEZONE_IA")
                            && days.is_some_and(|d| d < 30)
                        {
                            diags.attr_error(
                                tp.attr("days"),
                                "Invalid transition",
                                format!(
                                    "S3 moves objects to {class} no earlier than 30 days; got {}.",
                                    days.unwrap_or(0)
                                ),
                            );
                        }
                    }
                    validators::whole_number_in(
                        tp.attr("days"),
                        t.get("days"),
                        0..=36500,
                        "Invalid transition",
                        diags,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        assert!(bucket_name_problem("bp-acc-logs-1").is_none());
        assert!(bucket_name_problem("Bad_Name").unwrap().contains("'B'"));
        assert!(bucket_name_problem("ab").unwrap().contains("3 to 63"));
        assert!(bucket_name_problem("192.168.1.1").unwrap().contains("IP"));
        assert!(bucket_name_problem("-abc").is_some());
        assert!(bucket_name_problem("a..b").is_some());
    }

    #[test]
    fn policy_denies_insecure_transport_and_is_canonical() {
        let p = bucket_policy("arn:aws:s3:::b", None, &[]);
        let v: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert!(has_tls_deny(&v));
        assert_eq!(canonical_json(&v).to_string(), p);
        let with_logs = bucket_policy("arn:aws:s3:::b", Some("123456789012"), &[]);
        assert!(with_logs.contains("logging.s3.amazonaws.com"));
    }

    #[test]
    fn the_key_admits_each_writer_of_the_bucket_policy_for_the_same_sources() {
        let sources: BTreeMap<String, Vec<String>> = [
            (
                "config".to_string(),
                vec!["111122223333".to_string(), "self".to_string()],
            ),
            ("cloudtrail".to_string(), vec!["org".to_string()]),
        ]
        .into();
        let stmts = delivery_statements(
            "arn:aws:s3:::b",
            &sources,
            Some(("444455556666", "eu-west-1")),
        );
        let policy: serde_json::Value =
            serde_json::from_str(&bucket_policy("arn:aws:s3:::b", None, &stmts)).unwrap();
        let key = delivery_key_statements(&policy);
        assert_eq!(key.len(), 2, "{key:?}");
        let config = key
            .iter()
            .find(|s| s["Principal"]["Service"] == "config.amazonaws.com")
            .unwrap();
        assert_eq!(
            config["Condition"]["StringEquals"]["aws:SourceAccount"],
            json!(["111122223333", "444455556666"])
        );
        assert_eq!(config["Resource"], "*");
        let trail = key
            .iter()
            .find(|s| s["Principal"]["Service"] == "cloudtrail.amazonaws.com")
            .unwrap();
        assert_eq!(
            trail["Condition"]["ArnLike"]["aws:SourceArn"],
            json!(["arn:aws:cloudtrail:eu-west-1:444455556666:trail/org"])
        );

        // Judged as IAM reads policies: a one-element list equals its element,
        // lists are sets, keys in any order.
        let mut o = Observed {
            sse_algorithm: Some("aws:kms".into()),
            kms_key: Some("arn:aws:kms:eu-west-1:444455556666:key/k".into()),
            policy: Some(policy.clone()),
            ..Default::default()
        };
        assert_eq!(key_admits_writers(&o), Some(false), "no key policy read");
        let mut flattened = trail.clone();
        flattened["Condition"]["ArnLike"]["aws:SourceArn"] =
            json!("arn:aws:cloudtrail:eu-west-1:444455556666:trail/org");
        let mut reordered = config.clone();
        reordered["Condition"]["StringEquals"]["aws:SourceAccount"] =
            json!(["444455556666", "111122223333"]);
        o.key_policy = Some(json!({"Statement": [flattened, reordered]}));
        assert_eq!(key_admits_writers(&o), Some(true));
        // A writer admitted for another account than the bucket admits does not count.
        let mut wider = config.clone();
        wider["Condition"]["StringEquals"]["aws:SourceAccount"] = json!("999999999999");
        o.key_policy = Some(json!({"Statement": [trail, wider]}));
        assert_eq!(key_admits_writers(&o), Some(false));
        // Not judged without writers, or on an SSE-S3 bucket.
        o.sse_algorithm = Some("AES256".into());
        assert_eq!(key_admits_writers(&o), None);
        o.sse_algorithm = Some("aws:kms".into());
        o.policy = Some(serde_json::from_str(&bucket_policy("arn:aws:s3:::b", None, &[])).unwrap());
        assert_eq!(key_admits_writers(&o), None);
    }

    #[test]
    fn public_statements_are_refused() {
        let err = parse_statements(
            r#"[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]"#,
        )
        .unwrap_err();
        assert!(err.contains("S3.6"));
        assert!(parse_statements(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]"#).is_ok());
        assert!(parse_statements("{").is_err());
    }

    #[test]
    fn compliance_reads_observed_settings() {
        let mut o = Observed {
            sse_algorithm: Some("aws:kms".into()),
            kms_key: Some("arn:aws:kms:us-east-1:1:key/x".into()),
            bucket_key: true,
            key_rotation: Some(true),
            versioning: Some("Enabled".into()),
            public_access_block: Some([true; 4]),
            ownership: Some("BucketOwnerEnforced".into()),
            policy: serde_json::from_str(&bucket_policy("arn:aws:s3:::b", None, &[])).ok(),
            ..Default::default()
        };
        let c = compliance(&o);
        for k in [
            "S3.5",
            "S3.8",
            "S3.12",
            "S3.14",
            "S3.17",
            "KMS.4",
            "CIS 3.1.1",
        ] {
            assert!(c[k], "{k}");
        }
        assert!(!c["S3.9"]);
        o.sse_algorithm = None;
        assert!(!compliance(&o)["S3.17"]);
    }

    #[test]
    fn eventbridge_is_claimed_only_as_read_and_drifts_only_once_seen() {
        // Reported: judged as read, wanted or not.
        assert_eq!(eventbridge_reported(true, true, None), Some(true));
        assert_eq!(
            eventbridge_reported(false, true, Some(Some(false))),
            Some(true)
        );
        // Not wanted and not there.
        assert_eq!(eventbridge_reported(false, false, None), Some(false));
        // Wanted, seen to hold before, now missing: drift.
        assert_eq!(
            eventbridge_reported(true, false, Some(Some(true))),
            Some(false)
        );
        // Wanted and never seen: the endpoint does not report it; left out, in
        // every kind of state (create, import, repair, a map that leaves it out).
        assert_eq!(eventbridge_reported(true, false, None), None);
        assert_eq!(eventbridge_reported(true, false, Some(None)), None);
        // A map that leaves it out keeps it out while wanted, whatever S3 says now.
        assert_eq!(eventbridge_reported(true, true, Some(None)), None);
        assert_eq!(eventbridge_reported(false, false, Some(None)), Some(false));
        // Seen drifted stays drifted, however often it is refreshed.
        assert_eq!(
            eventbridge_reported(true, false, Some(Some(false))),
            Some(false)
        );
        let mut o = Observed::default();
        assert!(!compliance(&o).contains_key("S3.11"));
        o.eventbridge = Some(false);
        assert!(!compliance(&o)["S3.11"]);
    }

    #[test]
    fn lifecycle_round_trips_through_values() {
        let rules = purpose_defaults("archive").lifecycle;
        assert_eq!(lifecycle_from_value(&lifecycle_to_value(&rules)), rules);
    }
}
