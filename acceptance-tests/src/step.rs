//! The test-case model and its runner, following terraform-plugin-testing.
//!
//! A [`TestCase`] runs its [`Step`]s in order in one working directory, then destroys
//! everything and runs `check_destroy`. What a step does:
//!
//! - **Config step** (the default): `pre_config`; `plan -out` (with `plan_checks` run on
//!   `terraform show -json` of the plan file); unless `plan_only`, `apply` of that plan;
//!   then a non-refresh plan that must be empty ("After applying this test step, the
//!   non-refresh plan was not empty") and a refreshing plan that must be empty
//!   ("... the refresh plan was not empty"). With `expect_non_empty_plan` the non-refresh
//!   plan is skipped and the refresh plan must show changes ("Expected a non-empty plan,
//!   but got an empty refresh plan"). Then `check`, with `terraform show -json` state.
//!   With `refresh_only`, `pre_config`, then `apply -refresh-only` instead of plan and
//!   apply (the state takes what AWS reports, drift stays), then `check`.
//! - **Import step** (`import` set): the previous step's config (or the step's own) in a
//!   fresh working directory, `init`, `terraform import ADDR ID`, `show -json`; with
//!   `verify`, every attribute of the imported resource must equal the previous step's
//!   state, except the `verify_ignore` prefixes ("ImportStateVerify attributes not
//!   equivalent"). Then `check`, against the imported state.
//! - `expect_error`: the step must fail and the failure text must match. The pattern is
//!   tried on the raw output and on the output with Terraform's diagnostic frame and line
//!   wrapping removed. A step that fails as expected stops there, but its `check` still
//!   runs (unlike terraform-plugin-testing), so a test can assert what a failed apply
//!   left behind.
//!
//! After the last step, or after a failed one, the runner destroys what the state holds
//! (with the last config that planned successfully), checks the state is empty, and runs
//! `check_destroy` with the state as it was before the destroy. A `terraform show` that
//! fails is an error, never a stale state; only after a step that failed as expected is
//! the state shown under the last configuration that planned. Panics inside hooks are
//! caught and reported as failures, so the destroy always runs.
//!
//! Unless a step sets `raw_config`, its config is prefixed with [`provider_block`]: the
//! provider requirement and a provider block pointing at moto.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use futures::future::BoxFuture;
use futures::FutureExt;
use regex::Regex;
use serde_json::Value;

use crate::aws::Aws;
use crate::terraform::{unwrap_diagnostics, PlanOpts, PlanOutcome, Terraform};
use crate::tools::{self, TfVersion};
use crate::{mirror, moto};

/// An async hook: `pre_config`, `check` or `check_destroy`. Build one with [`check`].
pub type Check = Box<dyn FnOnce(StepCtx) -> BoxFuture<'static, Result<()>> + Send>;

/// Wraps an async closure as a hook: `check: check(|ctx| async move { ... Ok(()) })`.
///
/// The closure gets its own [`StepCtx`] (cheap to clone) and runs once, so it may move
/// captured values into its `async move` block.
pub fn check<F, Fut>(f: F) -> Option<Check>
where
    F: FnOnce(StepCtx) -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Some(Box::new(move |ctx| f(ctx).boxed()))
}

/// A step's `expect_error` pattern; panics on an invalid regex. Use `(?i)` to ignore case.
pub fn expect_error(pattern: &str) -> Option<Regex> {
    Some(Regex::new(pattern).unwrap_or_else(|e| panic!("invalid expect_error regex: {e}")))
}

/// The text the harness puts before every step config that is not `raw_config`.
pub fn provider_block(endpoint: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    bankplatform = {{ source = "{source}", version = "{version}" }}
  }}
}}

provider "bankplatform" {{
  region       = "us-east-1"
  endpoint_url = "{endpoint}"
  access_key   = "test"
  secret_key   = "test"
}}

"#,
        source = mirror::PROVIDER_SOURCE,
        version = mirror::PROVIDER_VERSION,
    )
}

/// [`provider_block`] acting in `account` through `OrganizationAccountAccessRole`.
pub fn provider_block_in_account(endpoint: &str, account: &str) -> String {
    provider_block(endpoint).replacen(
        "  secret_key   = \"test\"\n",
        &format!("  secret_key   = \"test\"\n\n  assume_role {{\n    role_arn = \"arn:aws:iam::{account}:role/OrganizationAccountAccessRole\"\n  }}\n"),
        1,
    )
}

/// What a hook gets: the state, AWS clients, and where the step ran.
#[derive(Clone, Debug)]
pub struct StepCtx {
    /// The test's name.
    pub test_name: Arc<str>,
    /// The step number, from 1; for `check_destroy`, the number of steps plus one.
    pub step: usize,
    /// `terraform show -json` of the state. For `pre_config`, the previous step's state;
    /// for an import step, the imported state; for `check_destroy`, the state just
    /// before the destroy. `Value::Null` when there was none yet.
    pub state: Arc<Value>,
    /// Clients for moto's default account; `aws.in_account(id)` reaches others.
    pub aws: Aws,
    /// The working directory of the step.
    pub working_dir: PathBuf,
}

impl StepCtx {
    /// The moto endpoint.
    pub fn endpoint(&self) -> &str {
        self.aws.endpoint()
    }

    /// The `values` object of the resource at `address` (such as
    /// `bankplatform_compliant_bucket.test` or `module.m.x.y`).
    pub fn resource(&self, address: &str) -> Option<&Value> {
        find_resource(&self.state, address).map(|r| &r["values"])
    }

    /// A root-module output's value; `None` when missing or null.
    pub fn output(&self, name: &str) -> Option<Value> {
        let v = &self.state["values"]["outputs"][name]["value"];
        (!v.is_null()).then(|| v.clone())
    }

    /// The addresses of every resource in the state.
    pub fn addresses(&self) -> Vec<String> {
        state_addresses(&self.state)
    }

    /// A top-level attribute of a resource; `None` if the resource or attribute is
    /// missing or null. The name is taken whole, so map keys with dots are safe to index
    /// afterwards: `ctx.attr(addr, "compliance")?["S3.5"]`.
    pub fn attr(&self, address: &str, name: &str) -> Option<Value> {
        self.attr_path(address, &[name])
    }

    /// A nested attribute: `ctx.attr_path(addr, &["object_lock", "mode"])`. Numeric
    /// segments index lists.
    pub fn attr_path(&self, address: &str, path: &[&str]) -> Option<Value> {
        let mut v = self.resource(address)?;
        for seg in path {
            v = match v {
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                Value::Object(map) => map.get(*seg)?,
                _ => return None,
            };
        }
        (!v.is_null()).then(|| v.clone())
    }

    /// A string attribute; `None` when missing, null or not a string.
    pub fn attr_str(&self, address: &str, name: &str) -> Option<String> {
        self.attr(address, name)
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// A string attribute that must be present; the error shows the resource's values.
    pub fn require_str(&self, address: &str, name: &str) -> Result<String> {
        self.attr_str(address, name).ok_or_else(|| {
            anyhow!(
                "{address}.{name} is missing or not a string; the resource in state: {}",
                self.resource(address)
                    .map_or_else(|| "absent".to_string(), Value::to_string)
            )
        })
    }
}

/// The change a plan makes to one resource, from `resource_changes[].change.actions`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `["no-op"]`.
    NoOp,
    /// `["create"]`.
    Create,
    /// `["read"]` (data sources).
    Read,
    /// `["update"]`: in place.
    Update,
    /// `["delete", "create"]` or `["create", "delete"]`.
    Replace,
    /// `["delete"]`.
    Delete,
}

impl Action {
    fn from_actions(actions: &[&str]) -> Option<Self> {
        Some(match actions {
            ["no-op"] => Action::NoOp,
            ["create"] => Action::Create,
            ["read"] => Action::Read,
            ["update"] => Action::Update,
            ["delete", "create"] | ["create", "delete"] => Action::Replace,
            ["delete"] => Action::Delete,
            _ => return None,
        })
    }
}

/// A check on the plan a config step makes before applying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanCheck {
    /// The resource at this address has exactly this planned action.
    ResourceAction(String, Action),
}

/// How an import step finds the import ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportId {
    /// This exact ID.
    Literal(String),
    /// This attribute of the imported resource in the previous step's state.
    FromAttr(String),
}

impl Default for ImportId {
    fn default() -> Self {
        ImportId::FromAttr("id".into())
    }
}

/// An import step's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportStep {
    /// The address to import into, such as `bankplatform_compliant_bucket.test`.
    pub resource_name: String,
    /// The import ID.
    pub id: ImportId,
    /// Compare every imported attribute with the previous step's state.
    pub verify: bool,
    /// Attribute paths left out of the comparison. A path covers itself and everything
    /// below it (`tags` covers `tags.env`, not `tags_all`).
    pub verify_ignore: Vec<String>,
}

/// One step of a [`TestCase`]; build with struct-update syntax over `Step::default()`.
#[derive(Default)]
pub struct Step {
    /// The configuration, without the provider block unless `raw_config`. An import step
    /// may leave it empty to reuse the previous step's.
    pub config: String,
    /// Use `config` exactly as written (no provider requirement or block prepended).
    pub raw_config: bool,
    /// Runs before the step, with the previous step's state: change things behind
    /// Terraform's back here.
    pub pre_config: Option<Check>,
    /// Runs after the step, with the new state.
    pub check: Option<Check>,
    /// The step must fail with output matching this (see [`expect_error`]).
    pub expect_error: Option<Regex>,
    /// Plan only: no apply.
    pub plan_only: bool,
    /// `terraform apply -refresh-only`: the state takes what AWS reports and nothing in
    /// AWS changes (no plan checks, no empty-plan checks: drift is expected to remain).
    pub refresh_only: bool,
    /// The refresh plan after the step must show changes.
    pub expect_non_empty_plan: bool,
    /// Checks on the plan made before applying.
    pub plan_checks: Vec<PlanCheck>,
    /// Makes this an import step.
    pub import: Option<ImportStep>,
}

impl Step {
    /// A config step.
    pub fn config(config: impl Into<String>) -> Self {
        Self {
            config: config.into(),
            ..Self::default()
        }
    }

    /// An import step by `id` attribute, with verification ignoring `ignore`.
    pub fn import_verify(resource_name: &str, ignore: &[&str]) -> Self {
        Self {
            import: Some(ImportStep {
                resource_name: resource_name.into(),
                id: ImportId::default(),
                verify: true,
                verify_ignore: ignore.iter().map(|s| s.to_string()).collect(),
            }),
            ..Self::default()
        }
    }

    fn describe(&self) -> String {
        match &self.import {
            Some(i) => format!("import {}", i.resource_name),
            None if self.plan_only => "config, plan only".into(),
            None if self.refresh_only => "config, refresh only".into(),
            None => "config".into(),
        }
    }
}

/// A whole acceptance test: steps, then destroy, then `check_destroy`.
#[derive(Default)]
pub struct TestCase {
    /// The Terraform release to run.
    pub terraform: TfVersion,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Runs after the final destroy, with the state from just before it.
    pub check_destroy: Option<Check>,
    /// Run in a fresh emulated account of its own: the provider assumes
    /// `OrganizationAccountAccessRole` there and `StepCtx::aws` acts there, so checks
    /// can read the whole account ("nothing left", "exactly one").
    pub own_account: bool,
}

impl TestCase {
    /// Runs the test case. The error names the failing step and holds the command and
    /// its full output; a failure of the final destroy is reported too.
    ///
    /// Skips (returning `Ok`) unless `TF_ACC` is set.
    pub async fn run(self) -> Result<()> {
        if !crate::acc_enabled() {
            eprintln!("{}", crate::SKIP_MESSAGE);
            return Ok(());
        }
        let name: Arc<str> = test_name().into();
        if self.steps.is_empty() {
            bail!("{name}: a test case needs at least one step");
        }
        let mut runner = Runner::new(name.clone(), &self)
            .await
            .with_context(|| format!("{name}: setting up the test case failed"))?;
        let total = self.steps.len();
        let mut failures: Vec<String> = Vec::new();
        for (i, step) in self.steps.into_iter().enumerate() {
            let n = i + 1;
            let what = step.describe();
            eprintln!("[bp-acc] {name}: step {n}/{total} ({what})");
            if let Err(e) = runner.run_step(n, step).await {
                failures.push(format!("step {n}/{total} ({what}) failed: {e:#}"));
                break;
            }
        }
        match runner.destroy().await {
            Ok(pre_destroy) => {
                if let Some(check_destroy) = self.check_destroy {
                    let ctx = runner.ctx(total + 1, pre_destroy, runner.main.dir());
                    if let Err(e) = run_hook(check_destroy, ctx).await {
                        failures.push(format!("check_destroy failed: {e:#}"));
                    }
                }
            }
            Err(e) => failures.push(format!(
                "post-test destroy failed (resources may be left in moto): {e:#}"
            )),
        }
        if failures.is_empty() {
            return Ok(());
        }
        let mut report = format!("{name} failed (Terraform {}):", runner.version.as_str());
        for f in &failures {
            let _ = write!(report, "\n\n{f}");
        }
        if !crate::terraform::persist_working_dirs() {
            report
                .push_str("\n\n(set TF_ACC_PERSIST_WORKING_DIR=1 to keep the working directories)");
        }
        Err(anyhow!(report))
    }
}

/// The libtest thread name is the test's path; its last segment is the test's name.
fn test_name() -> String {
    std::thread::current()
        .name()
        .and_then(|n| n.rsplit("::").next())
        .filter(|n| *n != "main")
        .unwrap_or("test")
        .to_string()
}

struct Runner {
    name: Arc<str>,
    version: TfVersion,
    bin: PathBuf,
    cli_config: PathBuf,
    endpoint: String,
    aws: Aws,
    // The account the provider assumes a role into, for `own_account` cases.
    account: Option<String>,
    main: Terraform,
    // The config `init` last ran with in the main directory.
    init_config: Option<String>,
    // The last config that planned successfully: the one the final destroy uses.
    valid_config: Option<String>,
    // The last config step's full config, which an import step reuses.
    prev_config: Option<String>,
    // The latest state of the main directory.
    state: Arc<Value>,
}

impl Runner {
    async fn new(name: Arc<str>, case: &TestCase) -> Result<Self> {
        let endpoint = moto::endpoint().await.context("starting moto")?;
        // A step needs the provider when it gets the provider block or names the
        // provider itself; an import step without config reuses an earlier step's.
        let needs_provider = case.steps.iter().any(|s| {
            let gets_provider_block = !s.raw_config && !s.config.trim().is_empty();
            gets_provider_block || s.config.contains("bankplatform")
        });
        let cli_config = if needs_provider {
            mirror::with_provider()
                .await
                .context("installing the provider into the filesystem mirror")?
                .cli_config
        } else {
            mirror::cli_config_without_provider()?
        };
        let bin = tools::terraform(case.terraform)?;
        let main = Terraform::new(&bin, case.terraform, &cli_config, &name)?;
        let (aws, account) = if case.own_account {
            let id = crate::random_account_id();
            let aws = Aws::for_endpoint(&endpoint)
                .in_account(&id)
                .await
                .with_context(|| format!("entering account {id}"))?;
            (aws, Some(id))
        } else {
            (Aws::for_endpoint(&endpoint), None)
        };
        eprintln!(
            "[bp-acc] {name}: Terraform {} ({}), moto {endpoint}, working directory {}",
            case.terraform.as_str(),
            bin.display(),
            main.dir().display()
        );
        Ok(Self {
            aws,
            account,
            name,
            version: case.terraform,
            bin,
            cli_config,
            endpoint,
            main,
            init_config: None,
            valid_config: None,
            prev_config: None,
            state: Arc::new(Value::Null),
        })
    }

    fn ctx(&self, step: usize, state: Arc<Value>, dir: &Path) -> StepCtx {
        StepCtx {
            test_name: self.name.clone(),
            step,
            state,
            aws: self.aws.clone(),
            working_dir: dir.to_path_buf(),
        }
    }

    fn full_config(&self, step: &Step) -> String {
        if step.raw_config {
            step.config.clone()
        } else {
            let block = match &self.account {
                Some(a) => provider_block_in_account(&self.endpoint, a),
                None => provider_block(&self.endpoint),
            };
            format!("{block}{}", step.config)
        }
    }

    async fn run_step(&mut self, n: usize, mut step: Step) -> Result<()> {
        if let Some(pre) = step.pre_config.take() {
            let ctx = self.ctx(n, self.state.clone(), self.main.dir());
            run_hook(pre, ctx).await.context("pre_config")?;
        }
        if let Some(import) = step.import.take() {
            return self.import_step(n, step, import).await;
        }
        if step.config.trim().is_empty() {
            bail!("a config step needs `config`");
        }
        let config = self.full_config(&step);
        let outcome = self.config_step(&config, &step).await;
        let failed_as_expected = expect_outcome(outcome, step.expect_error.as_ref())?;
        self.prev_config = Some(config);
        self.state = Arc::new(
            self.read_state(failed_as_expected)
                .await
                .context("reading the state after the step")?,
        );
        if let Some(check) = step.check {
            let ctx = self.ctx(n, self.state.clone(), self.main.dir());
            run_hook(check, ctx).await.context("check")?;
        }
        Ok(())
    }

    async fn config_step(&mut self, config: &str, step: &Step) -> Result<()> {
        const PLAN_FILE: &str = "tfplan";
        self.main.write_config(config)?;
        if self.init_config.as_deref() != Some(config) {
            self.main.init().await.context("init")?;
            self.init_config = Some(config.to_string());
        }
        if step.refresh_only {
            self.main
                .apply_refresh_only()
                .await
                .context("apply -refresh-only")?;
            self.valid_config = Some(config.to_string());
            return Ok(());
        }
        let planned = self
            .main
            .plan(&PlanOpts {
                refresh: true,
                out: Some(PLAN_FILE.into()),
            })
            .await
            .context("plan")?;
        self.valid_config = Some(config.to_string());
        if !step.plan_checks.is_empty() {
            let plan = self.main.show_plan(PLAN_FILE).await?;
            if let Err(e) = run_plan_checks(&plan, &step.plan_checks) {
                bail!("{e}\nThe plan:\n{}", planned.output.stdout.trim_end());
            }
        }
        if !step.plan_only {
            self.main.apply_plan(PLAN_FILE).await.context("apply")?;
        }
        let prefix = if step.plan_only {
            "The"
        } else {
            "After applying this test step, the"
        };
        if !step.expect_non_empty_plan {
            let p = self
                .main
                .plan(&PlanOpts {
                    refresh: false,
                    out: None,
                })
                .await
                .context("non-refresh plan")?;
            if p.outcome == PlanOutcome::Changes {
                bail!(
                    "{prefix} non-refresh plan was not empty.\n{}",
                    p.output.stdout.trim_end()
                );
            }
        }
        let p = self
            .main
            .plan(&PlanOpts::default())
            .await
            .context("refresh plan")?;
        match (step.expect_non_empty_plan, p.outcome) {
            (false, PlanOutcome::Changes) => bail!(
                "{prefix} refresh plan was not empty.\n{}",
                p.output.stdout.trim_end()
            ),
            (true, PlanOutcome::NoChanges) => {
                bail!("Expected a non-empty plan, but got an empty refresh plan")
            }
            _ => Ok(()),
        }
    }

    async fn import_step(&mut self, n: usize, step: Step, import: ImportStep) -> Result<()> {
        let config = if step.config.trim().is_empty() {
            self.prev_config
                .clone()
                .context("an import step without config needs a config step before it")?
        } else {
            self.full_config(&step)
        };
        let addr = import.resource_name.as_str();
        let id = match &import.id {
            ImportId::Literal(id) => id.clone(),
            ImportId::FromAttr(attr) => {
                let ctx = self.ctx(n, self.state.clone(), self.main.dir());
                ctx.require_str(addr, attr)
                    .context("finding the import ID in the previous state")?
            }
        };
        let wd = Terraform::new(
            &self.bin,
            self.version,
            &self.cli_config,
            &format!("{}-import-{n}", self.name),
        )?;
        let imported = async {
            wd.write_config(&config)?;
            wd.init().await.context("init")?;
            wd.import(addr, &id).await.context("import")?;
            wd.show_state().await
        }
        .await;
        let failed_as_expected = expect_outcome(
            imported.as_ref().map(|_| ()).map_err(|e| anyhow!("{e:#}")),
            step.expect_error.as_ref(),
        )?;
        let state = match imported {
            Ok(state) => state,
            Err(_) if failed_as_expected => Value::Null,
            Err(e) => return Err(e),
        };
        if import.verify && !failed_as_expected {
            verify_import(&self.state, &state, addr, &import.verify_ignore)?;
        }
        if let Some(check) = step.check {
            let ctx = self.ctx(n, Arc::new(state), wd.dir());
            run_hook(check, ctx).await.context("check")?;
        }
        Ok(())
    }

    /// `terraform show -json` of the main state. A configuration Terraform cannot load
    /// (after a step that failed as expected on bad input) stops `show` from loading the
    /// state; then, when `config_may_be_invalid`, the state is shown under the last
    /// configuration that planned, or, when none ever did, must be empty (read from the local state file).
    /// Any other failure is an error: a check never sees a stale state.
    async fn read_state(&mut self, config_may_be_invalid: bool) -> Result<Value> {
        let err = match self.main.show_state().await {
            Ok(state) => return Ok(state),
            Err(e) if !config_may_be_invalid => return Err(e),
            Err(e) => e,
        };
        match self.valid_config.clone() {
            Some(valid) if self.main.config().as_deref() != Some(valid.as_str()) => {
                self.main.write_config(&valid)?;
                if self.init_config.as_deref() != Some(valid.as_str()) {
                    self.main
                        .init()
                        .await
                        .context("init of the last valid config")?;
                    self.init_config = Some(valid.clone());
                }
                self.main.show_state().await.with_context(|| {
                    format!("show -json under the last valid config (first error: {err:#})")
                })
            }
            Some(_) => Err(err),
            None => {
                // The local backend's file, read directly: `state pull` loads the config too.
                let file = self.main.dir().join("terraform.tfstate");
                let raw: Value = match std::fs::read_to_string(&file) {
                    Ok(text) => serde_json::from_str(&text)
                        .with_context(|| format!("parsing {}", file.display()))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Null,
                    Err(e) => return Err(anyhow!("reading {}: {e}", file.display())),
                };
                let resources = raw["resources"].as_array().map_or(0, Vec::len);
                if resources > 0 {
                    return Err(err.context(format!(
                        "show -json failed and the raw state holds {resources} resources"
                    )));
                }
                Ok(serde_json::json!({"format_version": "1.0"}))
            }
        }
    }

    /// Destroys whatever the main state holds; returns the state from before.
    async fn destroy(&mut self) -> Result<Arc<Value>> {
        if self.init_config.is_none() {
            return Ok(self.state.clone());
        }
        let before = Arc::new(
            self.read_state(true)
                .await
                .context("reading the state before destroy")?,
        );
        if state_addresses(&before).is_empty() {
            return Ok(before);
        }
        if let Some(valid) = &self.valid_config {
            if self.main.config().as_deref() != Some(valid.as_str()) {
                self.main.write_config(valid)?;
                self.main.init().await.context("init before destroy")?;
            }
        }
        eprintln!("[bp-acc] {}: destroying", self.name);
        self.main.destroy().await?;
        let left = state_addresses(&self.main.show_state().await?);
        if !left.is_empty() {
            bail!("terraform destroy succeeded but left {left:?} in the state");
        }
        Ok(before)
    }
}

/// Applies `expect_error` to a step's outcome: `Ok(true)` when it failed as expected,
/// `Ok(false)` when it succeeded as expected, otherwise the error to report.
fn expect_outcome(outcome: Result<()>, expected: Option<&Regex>) -> Result<bool> {
    match (outcome, expected) {
        (Ok(()), None) => Ok(false),
        (Ok(()), Some(re)) => bail!("expected an error matching /{re}/, but the step succeeded"),
        (Err(e), None) => Err(e),
        (Err(e), Some(re)) => {
            let text = format!("{e:#}");
            if re.is_match(&text) || re.is_match(&unwrap_diagnostics(&text)) {
                eprintln!("[bp-acc] the step failed as expected (/{re}/)");
                Ok(true)
            } else {
                bail!("expected an error matching /{re}/, got: {text}")
            }
        }
    }
}

/// Runs a hook, turning a panic inside it into an error.
async fn run_hook(hook: Check, ctx: StepCtx) -> Result<()> {
    match AssertUnwindSafe(async move { hook(ctx).await })
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a non-string panic payload".into());
            Err(anyhow!("panicked: {msg}"))
        }
    }
}

fn run_plan_checks(plan: &Value, checks: &[PlanCheck]) -> Result<()> {
    let changes: Vec<(&str, Vec<&str>)> = plan["resource_changes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|rc| {
                    let actions = rc["change"]["actions"]
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    (rc["address"].as_str().unwrap_or(""), actions)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut failed = Vec::new();
    for PlanCheck::ResourceAction(addr, want) in checks {
        match changes.iter().find(|(a, _)| a == addr) {
            None => failed.push(format!(
                "{addr}: expected {want:?}, but the plan has no change for it (planned: {changes:?})"
            )),
            Some((_, actions)) => {
                let got = Action::from_actions(actions);
                if got != Some(*want) {
                    failed.push(format!(
                        "{addr}: expected {want:?}, planned {actions:?}"
                    ));
                }
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        bail!("plan checks failed:\n  {}", failed.join("\n  "))
    }
}

fn verify_import(prior: &Value, imported: &Value, addr: &str, ignore: &[String]) -> Result<()> {
    let expected = find_resource(prior, addr)
        .with_context(|| format!("{addr} is not in the previous step's state"))?;
    let actual = find_resource(imported, addr).with_context(|| {
        format!(
            "{addr} is not in the imported state (it holds {:?})",
            state_addresses(imported)
        )
    })?;
    let ignored = |k: &str| {
        ignore.iter().any(|p| {
            k == p
                || k.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    };
    let flat = |v: &Value| {
        let mut out = BTreeMap::new();
        flatten("", &v["values"], &mut out);
        out.retain(|k, _| !ignored(k));
        out
    };
    let (expected, actual) = (flat(expected), flat(actual));
    let mut diffs = Vec::new();
    for (k, v) in &expected {
        match actual.get(k) {
            Some(a) if a == v => {}
            Some(a) => diffs.push(format!("{k}: prior {v}, imported {a}")),
            None => diffs.push(format!("{k}: prior {v}, missing after import")),
        }
    }
    for (k, a) in &actual {
        if !expected.contains_key(k) {
            diffs.push(format!("{k}: absent in prior state, imported {a}"));
        }
    }
    if diffs.is_empty() {
        return Ok(());
    }
    bail!(
        "ImportStateVerify attributes not equivalent. {} difference(s) between the prior \
         state and the imported state of {addr}:\n  {}",
        diffs.len(),
        diffs.join("\n  ")
    )
}

/// Flattens a JSON value the way terraform-plugin-testing's flatmap does: scalars by
/// dotted path, `path.#` for list lengths and `path.%` for map sizes; nulls are absent.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Null => {}
        Value::Array(items) => {
            if !prefix.is_empty() {
                out.insert(key("#"), items.len().to_string());
            }
            for (i, item) in items.iter().enumerate() {
                flatten(&key(&i.to_string()), item, out);
            }
        }
        Value::Object(map) => {
            if !prefix.is_empty() {
                out.insert(key("%"), map.len().to_string());
            }
            for (k, item) in map {
                flatten(&key(k), item, out);
            }
        }
        scalar => {
            out.insert(prefix.to_string(), scalar.to_string());
        }
    }
}

/// The resource object (with `address` and `values`) at `address` in a `show -json` state.
fn find_resource<'a>(state: &'a Value, address: &str) -> Option<&'a Value> {
    fn walk<'a>(module: &'a Value, address: &str) -> Option<&'a Value> {
        let here = module["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["address"] == address));
        here.or_else(|| {
            module["child_modules"]
                .as_array()?
                .iter()
                .find_map(|m| walk(m, address))
        })
    }
    walk(&state["values"]["root_module"], address)
}

fn state_addresses(state: &Value) -> Vec<String> {
    fn walk(module: &Value, out: &mut Vec<String>) {
        if let Some(rs) = module["resources"].as_array() {
            out.extend(
                rs.iter()
                    .filter_map(|r| r["address"].as_str().map(str::to_string)),
            );
        }
        if let Some(ms) = module["child_modules"].as_array() {
            ms.iter().for_each(|m| walk(m, out));
        }
    }
    let mut out = Vec::new();
    walk(&state["values"]["root_module"], &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(values: Value) -> Value {
        json!({"values": {"root_module": {"resources": [
            {"address": "x.test", "values": values}
        ]}}})
    }

    #[test]
    fn verify_import_lists_every_difference() {
        let prior = state(json!({"id": "a", "tags": {"k": "v"}, "n": 1, "gone": "x"}));
        let imported = state(json!({"id": "a", "tags": {}, "n": 2, "extra": true}));
        let err = verify_import(&prior, &imported, "x.test", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ImportStateVerify attributes not equivalent"),
            "{err}"
        );
        for want in [
            "tags.k",
            "tags.%",
            "n: prior 1, imported 2",
            "gone",
            "extra",
        ] {
            assert!(err.contains(want), "missing {want} in {err}");
        }
    }

    #[test]
    fn verify_import_ignores_whole_paths_only() {
        let prior = state(json!({"tags": {"k": "v"}, "tags_all": {"k": "v"}}));
        let imported = state(json!({"tags": null, "tags_all": {}}));
        let err = verify_import(&prior, &imported, "x.test", &["tags".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("tags_all"), "{err}");
        assert!(!err.contains("tags.k"), "{err}");
        verify_import(
            &prior,
            &imported,
            "x.test",
            &["tags".into(), "tags_all".into()],
        )
        .unwrap();
    }

    #[test]
    fn actions_map_to_plan_checks() {
        let plan = json!({"resource_changes": [
            {"address": "a.x", "change": {"actions": ["create", "delete"]}},
            {"address": "a.y", "change": {"actions": ["update"]}},
        ]});
        run_plan_checks(
            &plan,
            &[
                PlanCheck::ResourceAction("a.x".into(), Action::Replace),
                PlanCheck::ResourceAction("a.y".into(), Action::Update),
            ],
        )
        .unwrap();
        let err = run_plan_checks(
            &plan,
            &[PlanCheck::ResourceAction("a.y".into(), Action::Create)],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("expected Create, planned [\"update\"]"),
            "{err}"
        );
        assert!(run_plan_checks(
            &plan,
            &[PlanCheck::ResourceAction("a.z".into(), Action::NoOp)]
        )
        .is_err());
    }

    #[test]
    fn expect_error_matches_wrapped_diagnostics() {
        let output = "╷\n│ Error: Invalid object lock\n│ retention\n│ \n│   on main.tf line 3\n╵\n";
        let re = Regex::new("(?i)invalid object lock retention").unwrap();
        assert!(expect_outcome(Err(anyhow!("{output}")), Some(&re)).unwrap());
        let other = Regex::new("Invalid purpose").unwrap();
        assert!(expect_outcome(Err(anyhow!("{output}")), Some(&other)).is_err());
        assert!(expect_outcome(Ok(()), Some(&re)).is_err());
    }

    #[test]
    fn ctx_reads_nested_attributes() {
        let ctx = StepCtx {
            test_name: "t".into(),
            step: 1,
            state: Arc::new(state(json!({
                "arn": "arn:x", "compliance": {"S3.5": true}, "rules": [{"id": "r"}], "nil": null
            }))),
            aws: Aws::for_endpoint("http://127.0.0.1:1"),
            working_dir: PathBuf::new(),
        };
        assert_eq!(ctx.attr_str("x.test", "arn").as_deref(), Some("arn:x"));
        assert_eq!(
            ctx.attr("x.test", "compliance").unwrap()["S3.5"],
            json!(true)
        );
        assert_eq!(
            ctx.attr_path("x.test", &["rules", "0", "id"]),
            Some(json!("r"))
        );
        assert_eq!(ctx.attr("x.test", "nil"), None);
        assert!(ctx.require_str("x.test", "missing").is_err());
        assert_eq!(ctx.addresses(), vec!["x.test".to_string()]);
    }
}
