//! The replicas of a multi-Region key, one child per Region: the DR copy of the
//! key (same key material and id, its own policy naming its Region, the same
//! alias), so that data encrypted in the primary Region can be decrypted in the
//! recovery Region without a call back to the primary.
//!
//! Rotation is the primary's (AWS rotates the key material of every replica with
//! it); the replica's alias and policy are its own.

use std::collections::{BTreeMap, BTreeSet};

use super::managed_key;
use crate::aws::{error_code, error_message, is_not_found, Clients};
use crate::resources::iam::policy_doc::canonical_json;
use crate::resources::kit::calls::settled;

/// `policy` as IAM compares it (key order and spacing aside).
fn canonical(policy: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(policy)
        .ok()
        .map(|p| canonical_json(&p).to_string())
}

/// A replica as AWS reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Replica {
    pub(crate) arn: String,
    /// `KeyState = Enabled`.
    pub(crate) enabled: bool,
    /// Scheduled for deletion (a Region dropped within the deletion window).
    pub(crate) pending_deletion: bool,
    /// The key's alias points at it in its Region.
    pub(crate) aliased: bool,
    /// Its key policy (canonical JSON), its own: a replica's policy is not the
    /// primary's.
    pub(crate) policy: Option<String>,
}

/// What a replica in `region` is made with.
pub(crate) struct ReplicaSpec<'a> {
    pub(crate) alias: &'a str,
    pub(crate) description: &'a str,
    /// The key policy for that Region.
    pub(crate) policy: String,
    pub(crate) tags: &'a BTreeMap<String, String>,
}

fn key_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The replicas of the primary `meta` lists, by Region, each read in its Region
/// (DescribeKey, ListAliases and GetKeyPolicy per replica, concurrently), those
/// pending deletion included (a Region asked for again within the window gets its
/// replica back); one is `aliased` when an alias of the primary (`names`) names it
/// in its Region.
pub(crate) async fn observe(
    c: &Clients,
    meta: &aws_sdk_kms::types::KeyMetadata,
    names: &[String],
) -> Result<BTreeMap<String, Replica>, String> {
    let listed: Vec<(String, String)> = meta
        .multi_region_configuration()
        .map(|m| m.replica_keys())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Some((r.region()?.to_string(), r.arn()?.to_string())))
        .collect();
    let reads = listed.into_iter().map(|(region, arn)| async move {
        let kms = c.in_region(&region).kms;
        let id = key_id(&arn);
        let (described, aliases, policy) = tokio::join!(
            kms.describe_key().key_id(id).send(),
            kms.list_aliases().key_id(id).send(),
            kms.get_key_policy()
                .key_id(id)
                .policy_name("default")
                .send()
        );
        let what = |e: String| format!("reading the replica of KMS Key ({arn}) in {region}: {e}");
        let state = match described {
            Ok(o) => o
                .key_metadata
                .and_then(|m| m.key_state)
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(what(error_message(&e))),
        };
        let pending_deletion = state.starts_with("Pending") && state.contains("Deletion");
        let aliased = aliases
            .map_err(|e| what(error_message(&e)))?
            .aliases()
            .iter()
            .any(|a| a.alias_name().is_some_and(|n| names.iter().any(|x| x == n)));
        let policy = policy
            .map_err(|e| what(error_message(&e)))?
            .policy
            .and_then(|p| canonical(&p));
        Ok(Some((
            region.clone(),
            Replica {
                arn: arn.clone(),
                enabled: state == "Enabled",
                pending_deletion,
                aliased,
                policy,
            },
        )))
    });
    let mut out = BTreeMap::new();
    for r in futures::future::join_all(reads).await {
        if let Some((region, replica)) = r? {
            out.insert(region, replica);
        }
    }
    Ok(out)
}

/// Makes the replicas those of `wanted`: a missing one is made (ReplicateKey, then
/// its alias), one without its alias or with another policy gets them, one no
/// longer wanted is scheduled for deletion after `days`. Every Region concurrently;
/// returns every failure.
pub(crate) async fn converge<'a>(
    c: &Clients,
    primary: &str,
    have: &BTreeMap<String, Replica>,
    wanted: &BTreeSet<String>,
    spec: impl Fn(&str) -> ReplicaSpec<'a>,
    days: i32,
) -> Vec<String> {
    let makes = wanted.iter().map(|region| {
        let spec = spec(region);
        async move {
            let want = canonical(&spec.policy);
            let there = c.in_region(region);
            let (arn, aliased, policy) = match have.get(region) {
                Some(r) => {
                    if r.pending_deletion || !r.enabled {
                        // Asked for again within the deletion window, or disabled
                        // behind Terraform's back: brought back.
                        restore(&there, &r.arn, r.pending_deletion)
                            .await
                            .map_err(|e| format!("{e} (the replica in {region})"))?;
                    }
                    (r.arn.clone(), r.aliased, r.policy.clone())
                }
                None => {
                    let (arn, policy) = replicate(c, primary, region, &spec).await?;
                    (arn, false, policy)
                }
            };
            let (a, p) = tokio::join!(
                async {
                    if aliased {
                        return Ok(());
                    }
                    managed_key::point_alias(&there, spec.alias, key_id(&arn)).await
                },
                async {
                    if policy == want {
                        return Ok(());
                    }
                    managed_key::put_policy(&there, key_id(&arn), &spec.policy).await
                }
            );
            a.and(p)
                .map_err(|e| format!("{e} (the replica in {region})"))
        }
    });
    let drops = have
        .iter()
        .filter(|(region, r)| !wanted.contains(*region) && !r.pending_deletion)
        .map(|(region, r)| retire(c, region, &r.arn, days));
    let (made, dropped) = tokio::join!(
        futures::future::join_all(makes),
        futures::future::join_all(drops)
    );
    made.into_iter()
        .chain(dropped)
        .filter_map(Result::err)
        .collect()
}

/// Schedules the deletion of every replica (a primary cannot be deleted before its
/// replicas); already gone is done.
pub(crate) async fn retire_all(
    c: &Clients,
    have: &BTreeMap<String, Replica>,
    days: i32,
) -> Vec<String> {
    futures::future::join_all(
        have.iter()
            .filter(|(_, r)| !r.pending_deletion)
            .map(|(region, r)| retire(c, region, &r.arn, days)),
    )
    .await
    .into_iter()
    .filter_map(Result::err)
    .collect()
}

/// The replica in `region` and the policy it got (canonical; `None` when unknown):
/// made by ReplicateKey, or found (a lost answer, an interrupted create) in the
/// primary's list of replicas.
async fn replicate(
    c: &Clients,
    primary: &str,
    region: &str,
    spec: &ReplicaSpec<'_>,
) -> Result<(String, Option<String>), String> {
    let tags: Vec<aws_sdk_kms::types::Tag> = spec
        .tags
        .iter()
        .filter_map(|(k, v)| {
            aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .ok()
        })
        .collect();
    let req = c
        .kms
        .replicate_key()
        .key_id(primary)
        .replica_region(region)
        .description(spec.description)
        .policy(&spec.policy)
        .set_tags(Some(tags));
    match settled(c, "replicating a KMS key", || req.clone().send()).await {
        Ok(out) => {
            let policy = out.replica_policy().and_then(canonical);
            out.replica_key_metadata
                .and_then(|m| m.arn)
                .map(|arn| (arn, policy))
                .ok_or_else(|| {
                    format!("replicating KMS Key ({primary}) to {region}: KMS answered without the replica")
                })
        }
        Err(e) if error_code(&e) == Some("AlreadyExistsException") => {
            let meta = c
                .kms
                .describe_key()
                .key_id(primary)
                .send()
                .await
                .map_err(|e| format!("reading KMS Key ({primary}): {}", error_message(&e)))?
                .key_metadata
                .ok_or_else(|| {
                    format!("reading KMS Key ({primary}): KMS answered without the key")
                })?;
            meta.multi_region_configuration()
                .map(|m| m.replica_keys())
                .unwrap_or_default()
                .iter()
                .find(|r| r.region() == Some(region))
                .and_then(|r| r.arn().map(|a| (a.to_string(), None)))
                .ok_or_else(|| format!("replicating KMS Key ({primary}) to {region}: KMS says a replica exists but does not list it"))
        }
        Err(e) => Err(format!(
            "replicating KMS Key ({primary}) to {region}: {}",
            error_message(&e)
        )),
    }
}

/// Cancels a replica's scheduled deletion (which leaves it disabled) and enables it.
async fn restore(there: &Clients, arn: &str, pending: bool) -> Result<(), String> {
    let id = key_id(arn);
    if pending {
        there
            .kms
            .cancel_key_deletion()
            .key_id(id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "cancelling the deletion of KMS Key ({arn}): {}",
                    error_message(&e)
                )
            })?;
    }
    there
        .kms
        .enable_key()
        .key_id(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("enabling KMS Key ({arn}): {}", error_message(&e)))
}

/// Schedules a replica's deletion. Its alias stays until AWS deletes the key with it
/// (a replica brought back within the window keeps its name; taking the alias
/// first would, on the emulator, take it from every Region: moto keeps aliases per
/// key id, not per Region).
async fn retire(c: &Clients, region: &str, arn: &str, days: i32) -> Result<(), String> {
    managed_key::schedule_deletion(&c.in_region(region), arn, days)
        .await
        .map_err(|e| format!("{e} (the replica in {region})"))
}
