//! The fault cases every composite is put through, against the fault proxy
//! ([`crate::fault_proxy`]) and each in its own emulated account, so "nothing left" and
//! "exactly one" are read from the whole account through the SDK (moto directly, never
//! the proxy), not from the state:
//! - [`survives`]: apply, then destroy, both with the faults on; the apply must converge
//!   (a fault-free plan afterwards is empty, every object exists once) and the destroy
//!   must leave nothing;
//! - [`killed_create`]: the provider is killed (SIGKILL) after the Kth mutating call of a
//!   create; the next apply must converge to exactly one composite, and destroy must
//!   leave nothing;
//! - [`failed_create`]: the Nth mutating call of a create fails for good; the apply
//!   fails, says it rolled back, and nothing is left;
//! - [`past_time_limit`]: a create slower than its `timeouts.create` stops at the
//!   limit, keeps what it built as tainted, and the next apply replaces it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::checks::inventory;
use crate::fault_proxy::{kill_provider, FaultPlan, FaultProxy};
use crate::terraform::{PlanOpts, PlanOutcome, Terraform};
use crate::{mirror, moto, random_account_id, random_name, tools, Aws, TfVersion};

/// A composite as the fault cases see it: a configuration from a unique name, and
/// what one of it is in AWS.
pub struct Composite {
    /// Its configuration (resources only, no provider block) for a unique name.
    pub config: fn(&str) -> String,
    /// How many objects of each inventory kind (`"ec2 vpc"`, `"kms key"`) one holds.
    pub expected: &'static [(&'static str, usize)],
    /// What the other resources of the configuration hold (the audit bucket a trail
    /// writes to), part of `expected` too: a failed create of the composite (the
    /// resource named `test`) leaves exactly these.
    pub beside: &'static [(&'static str, usize)],
}

/// The kind of an inventory line: its first two words.
fn kind(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Exactly one composite: the expected count of each kind, and no two objects of a kind
/// carrying the same bankplatform tags (a duplicate child).
pub fn assert_exactly_one(c: &Composite, objects: &[String]) -> Result<()> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for o in objects {
        *counts.entry(kind(o)).or_default() += 1;
    }
    for &(k, n) in c.expected {
        let got = counts.get(k).copied().unwrap_or(0);
        ensure!(
            got == n,
            "expected {n} of {k}, found {got}; the account holds:\n{}",
            objects.join("\n")
        );
    }
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for o in objects {
        let words: Vec<&str> = o.split_whitespace().collect();
        if let Some(tags) = words.get(3) {
            *seen.entry((kind(o), (*tags).to_string())).or_default() += 1;
        }
    }
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    ensure!(
        dups.is_empty(),
        "duplicate children {dups:?}; the account holds:\n{}",
        objects.join("\n")
    );
    Ok(())
}

pub async fn assert_nothing_left(aws: &Aws) -> Result<()> {
    let left = inventory::live_objects(aws).await?;
    ensure!(
        left.is_empty(),
        "objects left behind after destroy:\n{}",
        left.join("\n")
    );
    Ok(())
}

/// One test's world: its own account, a proxy in front of moto, a working directory.
struct FaultRun {
    aws: Aws,
    proxy: FaultProxy,
    tf: Terraform,
    token: String,
}

impl FaultRun {
    async fn new(label: &str, version: TfVersion, plan: FaultPlan) -> Result<FaultRun> {
        let moto = moto::endpoint().await?;
        let proxy = FaultProxy::start(&moto, plan).await?;
        let account = random_account_id();
        let aws = Aws::for_endpoint(&moto).in_account(&account).await?;
        let cli_config = mirror::with_provider().await?.cli_config;
        let token = random_name("fault");
        let tf = Terraform::new(&tools::terraform(version)?, version, &cli_config, label)?
            .with_env("BP_FAULT_TOKEN", &token);
        let _ = account;
        Ok(FaultRun {
            aws,
            proxy,
            tf,
            token,
        })
    }

    /// Writes `c`'s configuration for a unique name (the provider through the proxy,
    /// in this run's account) and runs `terraform init`.
    async fn ready(&self, c: &Composite, label: &str) -> Result<()> {
        let block =
            crate::step::provider_block_in_account(self.proxy.endpoint(), self.aws.account_id());
        self.tf
            .write_config(&format!("{block}{}", (c.config)(&random_name(label))))?;
        self.tf.init().await?;
        Ok(())
    }

    async fn plan_is_empty(&self) -> Result<()> {
        let plan = self.tf.plan(&PlanOpts::default()).await?;
        ensure!(
            plan.outcome == PlanOutcome::NoChanges,
            "the plan after apply is not empty:\n{}",
            plan.output.combined()
        );
        Ok(())
    }
}

/// Apply and destroy under `plan`; the apply converges to one composite, the destroy
/// leaves nothing.
pub async fn survives(c: &Composite, label: &str, plan: FaultPlan) -> Result<()> {
    let run = FaultRun::new(label, TfVersion::V1_15, plan.clone()).await?;
    run.ready(c, label).await?;
    let started = Instant::now();
    run.tf
        .apply()
        .await
        .with_context(|| format!("apply under {plan:?} ({:?})", run.proxy.stats()))?;
    let applied = started.elapsed();
    let after_apply = run.proxy.stats();
    run.proxy.set_plan(FaultPlan::default());
    run.plan_is_empty().await?;
    assert_exactly_one(c, &inventory::live_objects(&run.aws).await?)?;
    run.proxy.set_plan(plan.clone());
    run.tf
        .destroy()
        .await
        .with_context(|| format!("destroy under {plan:?} ({:?})", run.proxy.stats()))?;
    assert_nothing_left(&run.aws).await?;
    eprintln!(
        "[bp-acc] {label}: apply {:.1}s with {} faults in {} requests; destroy: {:?}",
        applied.as_secs_f64(),
        after_apply.faults,
        after_apply.requests,
        run.proxy.stats()
    );
    Ok(())
}

/// Kill the provider after the Kth mutating call of a create; the next apply converges
/// to exactly one composite and destroy leaves nothing.
///
/// `BP_FAULT_KILL_AFTER=<k>` overrides `k` (scripts/fault_bench.sh sweeps it).
pub async fn killed_create(c: &Composite, label: &str, k: usize, version: TfVersion) -> Result<()> {
    let k = std::env::var("BP_FAULT_KILL_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(k);
    let run = FaultRun::new(
        label,
        version,
        FaultPlan {
            hold_after_mutating: Some(k),
            ..Default::default()
        },
    )
    .await?;
    run.ready(c, label).await?;
    let apply = run.tf.apply();
    tokio::pin!(apply);
    let pid = tokio::select! {
        done = &mut apply => bail!(
            "no call was held: the apply ended ({}) after {} mutating calls, before a call after the {k}th",
            if done.is_ok() { "applied" } else { "failed" },
            run.proxy.stats().mutating
        ),
        held = run.proxy.wait_until_held(Duration::from_secs(120)) => {
            held?;
            kill_provider(&run.token)
                .with_context(|| format!("calls so far: {:?}", run.proxy.journal()))?
        }
    };
    if apply.await.is_ok() {
        bail!("the apply succeeded although its provider ({pid}) was killed");
    }
    let journal = run.proxy.journal();
    eprintln!(
        "[bp-acc] {label}: provider {pid} killed after mutating call {k} of {}; the last ones: {:?}",
        journal.len(),
        &journal[journal.len().saturating_sub(4)..]
    );
    let before = inventory::live_objects(&run.aws).await?;
    ensure!(
        !before.is_empty(),
        "the killed create left nothing in AWS, so this test shows nothing (calls: {:?})",
        run.proxy.journal()
    );
    run.proxy.release();
    run.tf.apply().await.with_context(|| {
        format!(
            "the apply after the kill (after {k} mutating calls: {:?}; left by the kill:\n{})",
            run.proxy.journal().into_iter().take(k).collect::<Vec<_>>(),
            before.join("\n")
        )
    })?;
    run.plan_is_empty().await?;
    assert_exactly_one(c, &inventory::live_objects(&run.aws).await?)?;
    run.tf.destroy().await?;
    assert_nothing_left(&run.aws).await
}

/// The Nth mutating call of a create fails for good: the apply fails and nothing is left.
///
/// `BP_FAULT_FAIL_AT=<n>` overrides `n` (scripts/fault_bench.sh sweeps it).
pub async fn failed_create(c: &Composite, label: &str, n: usize, version: TfVersion) -> Result<()> {
    let n = std::env::var("BP_FAULT_FAIL_AT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    let run = FaultRun::new(
        label,
        version,
        FaultPlan {
            fail_mutating_call: Some(n),
            ..Default::default()
        },
    )
    .await?;
    run.ready(c, label).await?;
    let err = match run.tf.apply().await {
        Ok(_) => bail!(
            "the apply succeeded although mutating call {n} failed ({:?})",
            run.proxy.journal()
        ),
        // Terraform wraps diagnostics at 80 columns.
        Err(e) => format!("{e:#}")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    };
    ensure!(
        err.contains("fault proxy"),
        "the apply failed, but not on the injected failure: {err}"
    );
    ensure!(
        err.contains("removed again") || err.contains("Nothing was created"),
        "the failed create does not say it rolled back: {err}"
    );
    let state = run.tf.show_state().await?;
    let in_state: Vec<&str> = state
        .pointer("/values/root_module/resources")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r["address"].as_str())
        .collect();
    ensure!(
        !in_state.iter().any(|a| a.ends_with(".test")),
        "the failed create left the composite in the state: {state}"
    );
    ensure!(
        !c.beside.is_empty() || in_state.is_empty(),
        "the failed create left {in_state:?} in the state"
    );
    assert_only(&run.aws, c.beside).await
}

/// Exactly the objects of `beside` are left in the account (nothing when empty).
pub async fn assert_only(aws: &Aws, beside: &[(&str, usize)]) -> Result<()> {
    let left = inventory::live_objects(aws).await?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for o in &left {
        *counts.entry(kind(o)).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = beside.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    ensure!(
        counts == want,
        "expected only {want:?} left, the account holds:\n{}",
        left.join("\n")
    );
    Ok(())
}

/// Well-formed but empty answers (a 200 with no id) to a share of the creates: the
/// apply ends within `limit` (no wait on an empty id) and either converges or fails
/// with a sentence saying what AWS left out; either way a fault-free apply then
/// converges to exactly one composite and destroy leaves nothing.
pub async fn empty_answers(c: &Composite, label: &str, share: f64, limit: Duration) -> Result<()> {
    let plan = FaultPlan {
        empty_creates: share,
        empty_first_creates: 2,
        ..Default::default()
    };
    let run = FaultRun::new(label, TfVersion::V1_15, plan).await?;
    run.ready(c, label).await?;
    let started = Instant::now();
    let applied = tokio::time::timeout(limit, run.tf.apply())
        .await
        .with_context(|| format!("the apply under empty answers took longer than {limit:?}"))?;
    if let Err(e) = applied {
        let text = format!("{e:#}")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        ensure!(
            !text.contains("bug in the provider") && !text.contains("inconsistent"),
            "the apply failed as a provider bug, not with a sentence a person can act on: {text}"
        );
    }
    let stats = run.proxy.stats();
    eprintln!(
        "[bp-acc] {label}: apply under empty answers ended in {:.1}s ({stats:?})",
        started.elapsed().as_secs_f64(),
    );
    ensure!(
        stats.faults >= 2,
        "no create was answered empty, so this run shows nothing: {stats:?}"
    );
    run.proxy.set_plan(FaultPlan::default());
    run.tf
        .apply()
        .await
        .context("the fault-free apply after empty answers")?;
    run.plan_is_empty().await?;
    assert_exactly_one(c, &inventory::live_objects(&run.aws).await?)?;
    run.tf.destroy().await?;
    assert_nothing_left(&run.aws).await
}

/// `config` with a `timeouts` block in the resource named `test`.
pub fn with_time_limits(config: &str, limits: &str) -> String {
    let start = config
        .find("\"test\" {")
        .expect("the configuration has a resource named test");
    let mut depth = 0;
    for (i, ch) in config[start..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let at = start + i;
                    return format!(
                        "{}  timeouts {{ {limits} }}\n{}",
                        &config[..at],
                        &config[at..]
                    );
                }
            }
            _ => {}
        }
    }
    panic!("the resource named test never closes: {config}");
}

/// A create slower than its time limit (every call delayed by `latency`, the limit
/// `create_limit`, e.g. `"4s"`): the apply fails at the limit with an error naming
/// it, what was built is in the state as tainted (nothing orphaned), the next apply
/// (no delay) replaces it with exactly one composite, destroy leaves nothing.
pub async fn past_time_limit(
    c: &Composite,
    label: &str,
    latency: Duration,
    create_limit: &str,
) -> Result<()> {
    let run = FaultRun::new(
        label,
        TfVersion::V1_15,
        FaultPlan {
            latency,
            ..Default::default()
        },
    )
    .await?;
    let block = crate::step::provider_block_in_account(run.proxy.endpoint(), run.aws.account_id());
    let config = with_time_limits(
        &(c.config)(&random_name(label)),
        &format!("create = \"{create_limit}\""),
    );
    run.tf.write_config(&format!("{block}{config}"))?;
    run.tf.init().await?;
    let started = Instant::now();
    let err = match run.tf.apply().await {
        Ok(_) => bail!(
            "the apply succeeded in {:.1}s although its time limit was {create_limit}",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => format!("{e:#}")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    };
    let stopped_after = started.elapsed();
    ensure!(
        err.contains(&format!(
            "did not finish within its time limit of {create_limit}"
        )),
        "the apply failed, but not on its time limit: {err}"
    );
    let state = run.tf.state_pull().await?;
    let tainted = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == "test")
        .flat_map(|r| r["instances"].as_array().cloned().unwrap_or_default())
        .any(|i| i["status"] == "tainted");
    ensure!(
        tainted,
        "what the stopped create built is not in the state as tainted: {state}"
    );
    run.proxy.set_plan(FaultPlan::default());
    run.tf
        .apply()
        .await
        .context("the apply replacing the tainted composite")?;
    run.plan_is_empty().await?;
    assert_exactly_one(c, &inventory::live_objects(&run.aws).await?)?;
    run.tf.destroy().await?;
    assert_nothing_left(&run.aws).await?;
    eprintln!(
        "[bp-acc] {label}: a create limited to {create_limit} failed after {:.1}s (plan and partial read-back included) and was replaced",
        stopped_after.as_secs_f64()
    );
    Ok(())
}
