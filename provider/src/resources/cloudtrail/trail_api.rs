//! The children of an audit trail and the calls that make, read and remove them:
//! the trail key (unless brought), the CloudTrail→Logs role, the log group, the
//! alarm topic (unless brought), the trail with its event selectors and logging,
//! and a metric filter with an alarm for every CIS event set.

use std::collections::BTreeMap;

use aws_sdk_cloudtrail::types as ct;
use aws_sdk_cloudwatch::types as cw;
use futures::future::join_all;
use serde_json::json;

use super::trail_model::{Desired, Names, Observed, EVENT_SETS};
use crate::aws::{error_code, error_message, is_not_found, partition, Clients};
use crate::resources::iam::service_role::{self, ServiceRole};
use crate::resources::kit::calls::{settled, GoneIsDone};
use crate::resources::kit::ownership::{claim, Claim, CREATED, CREATING, LIFECYCLE_TAG};
use crate::resources::kms::key_policy::KeyPolicy;
use crate::resources::kms::managed_key;
use crate::resources::logs::log_group;
use crate::resources::sns::topic_policy;

/// The trail's ARN.
pub(crate) async fn trail_arn(c: &Clients, name: &str) -> Result<String, String> {
    c.arn("cloudtrail", &format!("trail/{name}")).await
}

/// The log group's ARN, as CloudTrail wants it (with `:*`).
pub(crate) async fn group_arn(c: &Clients, group: &str) -> Result<String, String> {
    c.arn("logs", &format!("log-group:{group}:*")).await
}

/// The managed topic's ARN.
pub(crate) async fn topic_arn(c: &Clients, topic: &str) -> Result<String, String> {
    c.arn("sns", topic).await
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The trail key: the one brought, the managed one found by its alias, or a new one.
pub(crate) async fn ensure_key(c: &Clients, d: &Desired, n: &Names) -> Result<String, String> {
    if let Some(k) = &d.kms_key_arn {
        return Ok(k.clone());
    }
    let policy = async {
        let account = c.account_id().await?;
        Ok(KeyPolicy {
            partition: partition(&c.region),
            region: &c.region,
            account: &account,
            purpose: "trail",
            administrators: &[],
            users: &[],
            source_accounts: &[],
            source_arns: &[],
            publishers: &[],
            extra: &[],
        }
        .document())
    };
    managed_key::ensure(
        c,
        &n.key_alias,
        &format!("CloudTrail {} (bankplatform)", n.trail),
        &d.tags_all,
        policy,
    )
    .await
}

/// The role CloudTrail delivers to the log group as.
pub(crate) async fn ensure_role(c: &Clients, d: &Desired, n: &Names) -> Result<String, String> {
    let group = group_arn(c, &n.log_group).await?;
    service_role::ensure(
        c,
        &ServiceRole {
            name: &n.role,
            service: "cloudtrail.amazonaws.com",
            source_arn: Some(trail_arn(c, &n.trail).await?),
            description: format!(
                "CloudTrail {} delivery to CloudWatch Logs (bankplatform)",
                n.trail
            ),
            policy_name: "cloudwatch-logs",
            policy: json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": group}]}),
            tags: tag_list(&d.tags_all),
        },
    )
    .await
}

/// The alarm topic: the one brought, or the managed one (CreateTopic is idempotent
/// by name), encrypted with the trail key and publishable by this account's alarms.
pub(crate) async fn ensure_topic(
    c: &Clients,
    d: &Desired,
    n: &Names,
    key: &str,
) -> Result<String, String> {
    if let Some(t) = &d.alarm_topic_arn {
        return Ok(t.clone());
    }
    let account = c.account_id().await?;
    let arn = topic_arn(c, &n.topic).await?;
    // Alarms publish only for this account, and only over TLS.
    let policy = topic_policy::document(
        partition(&c.region),
        &account,
        &arn,
        &["cloudwatch".to_string()],
        std::slice::from_ref(&account),
    );
    let mut req = c
        .sns
        .create_topic()
        .name(&n.topic)
        .attributes("KmsMasterKeyId", key)
        .attributes("Policy", policy.to_string());
    for (k, v) in &d.tags_all {
        req = req.tags(
            aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    req.send()
        .await
        .map_err(|e| format!("creating SNS Topic ({}): {}", n.topic, error_message(&e)))?
        .topic_arn
        .ok_or_else(|| {
            format!(
                "creating SNS Topic ({}): SNS answered without the topic",
                n.topic
            )
        })
}

/// Creates the trail, marked `creating`; or takes the one an interrupted create of
/// this trail left (still `creating`). Returns whether it was taken.
pub(crate) async fn create_trail(
    c: &Clients,
    d: &Desired,
    n: &Names,
    key: &str,
    role: &str,
) -> Result<bool, String> {
    let mut tags: Vec<ct::Tag> = d
        .tags_all
        .iter()
        .filter_map(|(k, v)| ct::Tag::builder().key(k).value(v).build().ok())
        .collect();
    tags.extend(
        ct::Tag::builder()
            .key(LIFECYCLE_TAG)
            .value(CREATING)
            .build()
            .ok(),
    );
    let req = c
        .cloudtrail
        .create_trail()
        .name(&n.trail)
        .s3_bucket_name(&d.bucket)
        .set_s3_key_prefix(d.prefix.clone())
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .is_organization_trail(d.organization)
        .kms_key_id(key)
        .cloud_watch_logs_log_group_arn(group_arn(c, &n.log_group).await?)
        .cloud_watch_logs_role_arn(role)
        .set_tags_list(Some(tags));
    // The log-delivery role is new, the bucket's and key's policies may be too:
    // CloudTrail answers as if they were wrong until it sees them.
    let sent = settled(c, "creating the CloudTrail trail", || req.clone().send()).await;
    match sent {
        Ok(_) => Ok(false),
        Err(e) if error_code(&e) == Some("TrailAlreadyExistsException") => {
            let arn = trail_arn(c, &n.trail).await?;
            let tags = trail_tags(c, &arn).await?;
            match claim(tags.get(LIFECYCLE_TAG).map(String::as_str)) {
                Claim::Adopt => Ok(true),
                Claim::Refuse => Err(format!("CloudTrail trail {} already exists (not made by an unfinished create of this resource). Import it (terraform import <address> {}) or choose another name.", n.trail, n.trail)),
            }
        }
        Err(e) => Err(format!(
            "creating CloudTrail trail ({}): {}",
            n.trail,
            error_message(&e)
        )),
    }
}

async fn trail_tags(c: &Clients, arn: &str) -> Result<BTreeMap<String, String>, String> {
    let out = c
        .cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the tags of CloudTrail trail ({arn}): {}",
                error_message(&e)
            )
        })?;
    Ok(out
        .resource_tag_list()
        .iter()
        .flat_map(|r| r.tags_list())
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// Writes the lifecycle marker `created` on the trail.
pub(crate) async fn mark_created(c: &Clients, name: &str) -> Result<(), String> {
    let arn = trail_arn(c, name).await?;
    let tag = ct::Tag::builder()
        .key(LIFECYCLE_TAG)
        .value(CREATED)
        .build()
        .map_err(|e| e.to_string())?;
    c.cloudtrail
        .add_tags()
        .resource_id(&arn)
        .tags_list(tag)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "marking CloudTrail trail ({name}) created: {}",
                error_message(&e)
            )
        })
}

/// Brings the trail's settings to `d` (one UpdateTrail).
pub(crate) async fn update_trail(
    c: &Clients,
    d: &Desired,
    n: &Names,
    key: &str,
    role: &str,
) -> Result<(), String> {
    let req = c
        .cloudtrail
        .update_trail()
        .name(&n.trail)
        .s3_bucket_name(&d.bucket)
        .s3_key_prefix(d.prefix.clone().unwrap_or_default())
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .enable_log_file_validation(true)
        .is_organization_trail(d.organization)
        .kms_key_id(key)
        .cloud_watch_logs_log_group_arn(group_arn(c, &n.log_group).await?)
        .cloud_watch_logs_role_arn(role);
    settled(c, "updating the CloudTrail trail", || req.clone().send())
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "updating CloudTrail trail ({}): {}",
                n.trail,
                error_message(&e)
            )
        })
}

/// Every management event, read and write, and the S3 data events asked for.
pub(crate) async fn put_selectors(c: &Clients, d: &Desired, n: &Names) -> Result<(), String> {
    let mut sel = ct::EventSelector::builder()
        .read_write_type(ct::ReadWriteType::All)
        .include_management_events(true);
    if !d.data_events.is_empty() {
        sel = sel.data_resources(
            ct::DataResource::builder()
                .r#type("AWS::S3::Object")
                .set_values(Some(d.data_events.clone()))
                .build(),
        );
    }
    c.cloudtrail
        .put_event_selectors()
        .trail_name(&n.trail)
        .event_selectors(sel.build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting the event selectors of CloudTrail trail ({}): {}",
                n.trail,
                error_message(&e)
            )
        })
}

/// CloudTrail Insights: exactly the desired types (none turns them off).
pub(crate) async fn put_insights(c: &Clients, d: &Desired, n: &Names) -> Result<(), String> {
    let selectors: Vec<ct::InsightSelector> = d
        .insights
        .iter()
        .map(|t| {
            ct::InsightSelector::builder()
                .insight_type(ct::InsightType::from(t.as_str()))
                .build()
        })
        .collect();
    c.cloudtrail
        .put_insight_selectors()
        .trail_name(&n.trail)
        .set_insight_selectors(Some(selectors))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "setting the Insights of CloudTrail trail ({}): {}",
                n.trail,
                error_message(&e)
            )
        })
}

/// Starts logging.
pub(crate) async fn start_logging(c: &Clients, n: &Names) -> Result<(), String> {
    c.cloudtrail
        .start_logging()
        .name(&n.trail)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "starting CloudTrail trail ({}): {}",
                n.trail,
                error_message(&e)
            )
        })
}

/// The metric filter and alarm of every CIS event set that does not hold in `o`
/// (all of them when `o` is `None`), concurrently.
pub(crate) async fn ensure_alarms(
    c: &Clients,
    d: &Desired,
    n: &Names,
    topic: &str,
    o: Option<&Observed>,
) -> Vec<String> {
    let wanted = |metric: &str, pattern: &str| -> bool {
        o.and_then(|o| o.alarms.get(metric)).is_none_or(|a| {
            a.pattern.as_deref() != Some(pattern)
                || !a.metric_matches
                || !a.actions_enabled
                || a.notifies != [topic.to_string()]
        })
    };
    // Filters already in place as wanted are not written again: on update, as read;
    // on a create that adopted an interrupted one's trail, those it wrote (one read;
    // the emulator would append a second filter of the same name). A fresh create's
    // log group is new: nothing to read.
    let written: std::collections::BTreeSet<String> = match o {
        None if !d.adopted => Default::default(),
        Some(o) => EVENT_SETS
            .iter()
            .filter(|s| {
                o.alarms
                    .get(s.metric)
                    .is_some_and(|a| a.pattern.as_deref() == Some(s.pattern) && a.metric_matches)
            })
            .map(|s| n.alarm(s))
            .collect(),
        None => c
            .logs
            .describe_metric_filters()
            .log_group_name(&n.log_group)
            .filter_name_prefix(format!("{}-", n.trail))
            .send()
            .await
            .map(|out| {
                out.metric_filters()
                    .iter()
                    .filter(|f| {
                        EVENT_SETS.iter().any(|s| {
                            f.filter_name() == Some(n.alarm(s).as_str())
                                && f.filter_pattern() == Some(s.pattern)
                        })
                    })
                    .filter_map(|f| f.filter_name().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let tags: Vec<cw::Tag> = d
        .tags_all
        .iter()
        .map(|(k, v)| cw::Tag::builder().key(k).value(v).build())
        .collect();
    let calls = EVENT_SETS
        .iter()
        .filter(|s| wanted(s.metric, s.pattern))
        .map(|s| {
            let name = n.alarm(s);
            let tags = tags.clone();
            let filter_written = written.contains(&name);
            async move {
                if !filter_written {
                    c.logs
                        .put_metric_filter()
                        .log_group_name(&n.log_group)
                        .filter_name(&name)
                        .filter_pattern(s.pattern)
                        .metric_transformations(
                            aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
                                .metric_name(s.metric)
                                .metric_namespace(&n.namespace)
                                .metric_value("1")
                                .build()
                                .map_err(|e| e.to_string())?,
                        )
                        .send()
                        .await
                        .map_err(|e| {
                            format!("writing metric filter {name}: {}", error_message(&e))
                        })?;
                }
                c.cloudwatch
                    .put_metric_alarm()
                    .alarm_name(&name)
                    .alarm_description(format!(
                        "{} ({}): {} recorded by trail {}",
                        s.cis, s.metric, s.title, n.trail
                    ))
                    .metric_name(s.metric)
                    .namespace(&n.namespace)
                    .statistic(cw::Statistic::Sum)
                    .period(300)
                    .evaluation_periods(1)
                    .threshold(1.0)
                    .comparison_operator(cw::ComparisonOperator::GreaterThanOrEqualToThreshold)
                    .treat_missing_data("notBreaching")
                    .actions_enabled(true)
                    .alarm_actions(topic)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("writing alarm {name}: {}", error_message(&e)))
            }
        });
    join_all(calls)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect()
}

/// The trail and its children; `None` when the trail is gone.
pub(crate) async fn observe(c: &Clients, n: &Names) -> Result<Option<Observed>, String> {
    let trails = c
        .cloudtrail
        .describe_trails()
        .trail_name_list(&n.trail)
        .include_shadow_trails(false)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading CloudTrail trail ({}): {}",
                n.trail,
                error_message(&e)
            )
        })?;
    let Some(t) = trails
        .trail_list()
        .iter()
        .find(|t| t.name() == Some(n.trail.as_str()))
    else {
        return Ok(None);
    };
    let arn = t.trail_arn().unwrap_or_default().to_string();
    let prefix = format!("{}-", n.trail);
    let (status, insights, selectors, tags, group, filters, alarms) = tokio::join!(
        c.cloudtrail.get_trail_status().name(&n.trail).send(),
        c.cloudtrail
            .get_insight_selectors()
            .trail_name(&n.trail)
            .send(),
        c.cloudtrail
            .get_event_selectors()
            .trail_name(&n.trail)
            .send(),
        trail_tags(c, &arn),
        log_group::read(c, &n.log_group),
        c.logs
            .describe_metric_filters()
            .log_group_name(&n.log_group)
            .filter_name_prefix(&prefix)
            .send(),
        c.cloudwatch
            .describe_alarms()
            .alarm_name_prefix(&prefix)
            .send(),
    );
    let what = |e: String| format!("reading CloudTrail trail ({}): {e}", n.trail);
    let status = status.map_err(|e| what(error_message(&e)))?;
    let selectors = selectors.map_err(|e| what(error_message(&e)))?;
    let insights: Vec<String> = match insights {
        Ok(i) => {
            let mut v: Vec<String> = i
                .insight_selectors()
                .iter()
                .filter_map(|s| s.insight_type().map(|t| t.as_str().to_string()))
                .collect();
            v.sort();
            v.dedup();
            v
        }
        // AWS answers a trail without Insights with InsightNotEnabledException.
        Err(e) if error_code(&e) == Some("InsightNotEnabledException") => Vec::new(),
        Err(e) => return Err(what(error_message(&e))),
    };
    let mut o = Observed {
        arn,
        home_region: t.home_region().unwrap_or_default().to_string(),
        bucket: t.s3_bucket_name().unwrap_or_default().to_string(),
        prefix: t
            .s3_key_prefix()
            .filter(|p| !p.is_empty())
            .map(str::to_string),
        multi_region: t.is_multi_region_trail().unwrap_or(false),
        global_events: t.include_global_service_events().unwrap_or(false),
        organization: t.is_organization_trail().unwrap_or(false),
        validation: t.log_file_validation_enabled().unwrap_or(false),
        kms_key: t.kms_key_id().map(str::to_string),
        log_group_arn: t.cloud_watch_logs_log_group_arn().map(str::to_string),
        role_arn: t.cloud_watch_logs_role_arn().map(str::to_string),
        logging: status.is_logging().unwrap_or(false),
        tags: tags?,
        insights,
        ..Observed::default()
    };
    for s in selectors.event_selectors() {
        let all = s.read_write_type() == Some(&ct::ReadWriteType::All);
        if s.include_management_events() == Some(true) && all {
            o.management_all = true;
        }
        for r in s.data_resources() {
            if r.r#type() == Some("AWS::S3::Object") {
                o.data_events.extend(r.values().iter().cloned());
                o.data_events_all = all;
            }
        }
    }
    if let Some((key, retention)) = group? {
        o.group_key = key;
        o.group_retention = retention;
    }
    let filters = match filters {
        Ok(f) => f.metric_filters,
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(what(error_message(&e))),
    };
    for f in filters.unwrap_or_default() {
        let Some(t) = f.metric_transformations().first() else {
            continue;
        };
        let entry = o.alarms.entry(t.metric_name().to_string()).or_default();
        entry.pattern = f.filter_pattern().map(str::to_string);
        entry.metric_matches = t.metric_namespace() == n.namespace
            && f.filter_name() == Some(format!("{}-{}", n.trail, t.metric_name()).as_str());
    }
    let alarms = alarms.map_err(|e| what(error_message(&e)))?;
    for a in alarms.metric_alarms() {
        let Some(metric) = a.metric_name() else {
            continue;
        };
        let entry = o.alarms.entry(metric.to_string()).or_default();
        entry.metric_matches &= a.namespace() == Some(n.namespace.as_str());
        entry.actions_enabled = a.actions_enabled().unwrap_or(false);
        entry.notifies = a.alarm_actions().to_vec();
    }
    // The topic every alarm notifies, and its key.
    o.topic = o
        .alarms
        .values()
        .flat_map(|a| a.notifies.first())
        .next()
        .cloned();
    if let Some(topic) = &o.topic {
        match c.sns.get_topic_attributes().topic_arn(topic).send().await {
            Ok(a) => {
                o.topic_key = a
                    .attributes()
                    .and_then(|m| m.get("KmsMasterKeyId"))
                    .cloned()
            }
            Err(e) if is_not_found(&e) => o.topic = None,
            Err(e) => return Err(what(error_message(&e))),
        }
    }
    Ok(Some(o))
}

/// What a trail owns beyond itself, for removal.
pub(crate) struct Owned {
    pub(crate) key: Option<String>,
    pub(crate) topic: bool,
}

/// Removes the trail, then its alarms, log group (with its filters), role, managed
/// topic and managed key, concurrently; already gone is done.
pub(crate) async fn destroy(c: &Clients, n: &Names, owned: &Owned) -> Result<(), Vec<String>> {
    c.cloudtrail
        .delete_trail()
        .name(&n.trail)
        .send()
        .await
        .gone_is_done(&format!("deleting CloudTrail trail ({})", n.trail))
        .map_err(|e| vec![e])?;
    let alarms: Vec<String> = EVENT_SETS.iter().map(|s| n.alarm(s)).collect();
    let topic = async {
        if !owned.topic {
            return Ok(());
        }
        let arn = topic_arn(c, &n.topic).await?;
        c.sns
            .delete_topic()
            .topic_arn(&arn)
            .send()
            .await
            .gone_is_done(&format!("deleting SNS Topic ({arn})"))
    };
    let key = async {
        match &owned.key {
            Some(k) => managed_key::retire(c, &n.key_alias, k).await,
            None => Ok(()),
        }
    };
    let (a, g, r, t, k) = tokio::join!(
        async {
            c.cloudwatch
                .delete_alarms()
                .set_alarm_names(Some(alarms))
                .send()
                .await
                .gone_is_done(&format!(
                    "deleting the alarms of CloudTrail trail ({})",
                    n.trail
                ))
        },
        log_group::remove(c, &n.log_group),
        service_role::remove(c, &n.role, "cloudwatch-logs"),
        topic,
        key,
    );
    let errors: Vec<String> = [a, g, r, t, k]
        .into_iter()
        .filter_map(Result::err)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The managed key of a trail, if one exists (found by its alias).
pub(crate) async fn find_managed_key(c: &Clients, n: &Names) -> Result<Option<String>, String> {
    managed_key::find(c, &n.key_alias).await
}

/// The log group, encrypted with the trail key and kept `retention_days`.
pub(crate) async fn ensure_log_group(
    c: &Clients,
    d: &Desired,
    n: &Names,
    key: &str,
) -> Result<(), String> {
    log_group::ensure(c, &n.log_group, key, d.retention_days, &d.tags_all).await
}

/// Puts the log group under another key (AssociateKmsKey; the emulator lacks it).
pub(crate) async fn rekey_log_group(c: &Clients, n: &Names, key: &str) -> Result<(), String> {
    c.logs
        .associate_kms_key()
        .log_group_name(&n.log_group)
        .kms_key_id(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "encrypting log group {} with {key}: {}",
                n.log_group,
                error_message(&e)
            )
        })
}

/// Brings the trail's tags to `want` (the lifecycle marker and other reserved tags kept).
pub(crate) async fn retag(
    c: &Clients,
    arn: &str,
    have: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> Result<(), String> {
    let reserved = |k: &str| k.starts_with("bankplatform:") || k.starts_with("aws:");
    let add: Vec<ct::Tag> = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(v))
        .filter_map(|(k, v)| ct::Tag::builder().key(k).value(v).build().ok())
        .collect();
    let remove: Vec<ct::Tag> = have
        .keys()
        .filter(|k| !reserved(k) && !want.contains_key(*k))
        .filter_map(|k| ct::Tag::builder().key(k).build().ok())
        .collect();
    if !add.is_empty() {
        c.cloudtrail
            .add_tags()
            .resource_id(arn)
            .set_tags_list(Some(add))
            .send()
            .await
            .map_err(|e| format!("tagging CloudTrail trail ({arn}): {}", error_message(&e)))?;
    }
    if !remove.is_empty() {
        c.cloudtrail
            .remove_tags()
            .resource_id(arn)
            .set_tags_list(Some(remove))
            .send()
            .await
            .map_err(|e| format!("untagging CloudTrail trail ({arn}): {}", error_message(&e)))?;
    }
    Ok(())
}
