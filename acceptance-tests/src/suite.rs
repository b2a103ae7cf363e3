//! The standard acceptance suite: one [`Suite`] declaration per composite gives it the
//! whole terraform-plugin-testing grammar, on Terraform 1.15 and 1.0.3 (see
//! [`standard_suite!`]):
//!
//! | test | proves |
//! |---|---|
//! | `basic` | apply; an empty plan; every control read back through the SDK; the `compliance` key set exactly as declared, all true |
//! | `import` | import by ID reproduces the state |
//! | `update_in_place` | a change that must not replace is planned and applied as an update |
//! | `replace` | a change that must replace is planned as a replacement |
//! | `drift` | a control broken behind Terraform's back turns false in `compliance` after a refresh (exactly the `drifted` ones), shows in the plan, and the apply repairs it |
//! | `disappears` | the composite deleted behind Terraform's back is planned for creation again |
//! | `bad_input` | invalid configurations fail at plan with the attribute path |
//! | `failed_create` | a create whose Nth mutating call fails rolls back: nothing left |
//! | `killed_create` | the provider killed mid-create: the next apply converges to exactly one |
//! | `destroy_leaves_nothing` | after an update, destroy leaves nothing in the account |
//!
//! Every test runs in its own emulated account and ends by reading the whole account:
//! nothing may be left after destroy.

use futures::future::BoxFuture;

use anyhow::{ensure, Context, Result};

use crate::checks::inventory;
use crate::fault_cases::{self, Composite};
use crate::step::{check, expect_error, Action, PlanCheck, Step, StepCtx, TestCase};
use crate::{random_name, TfVersion};

/// An async check over a step's context.
pub type Hook = fn(StepCtx) -> BoxFuture<'static, Result<()>>;

/// What one composite declares to get the standard suite.
pub struct Suite {
    /// The resource's address in every configuration (`<type>.test`).
    pub address: &'static str,
    /// A short lowercase label for names (`vpc`, `bucket`).
    pub label: &'static str,
    /// Its configuration from a unique name, and what one of it is in AWS.
    pub composite: Composite,
    /// The configuration changed in a way that must be applied in place.
    pub updated: fn(&str) -> String,
    /// The configuration changed in a way that must replace the composite.
    pub replaced: fn(&str) -> String,
    /// Attributes import cannot read back.
    pub import_ignore: &'static [&'static str],
    /// The exact `compliance` map of the basic configuration (control → holds).
    pub controls: &'static [(&'static str, bool)],
    /// Reads every control back through the SDK (independently of the state).
    pub check: Hook,
    /// Breaks a control behind Terraform's back.
    pub drift: Hook,
    /// The controls `drift` breaks: after a refresh exactly these read false.
    pub drifted: &'static [&'static str],
    /// Deletes the whole composite behind Terraform's back.
    pub disappear: Hook,
    /// Invalid configurations from a unique name, each with the pattern its error
    /// must match (attribute path included).
    pub bad_input: fn(&str) -> Vec<(String, &'static str)>,
    /// The mutating call `failed_create` fails.
    pub fail_at: usize,
    /// The mutating call after which `killed_create` kills the provider.
    pub kill_after: usize,
}

/// The `compliance` map of `address`, which must be exactly `controls`.
pub fn require_exact_controls(
    ctx: &StepCtx,
    address: &str,
    controls: &[(&str, bool)],
) -> Result<()> {
    let map = ctx
        .attr(address, "compliance")
        .with_context(|| format!("{address}.compliance is missing from the state"))?;
    let map: std::collections::BTreeMap<String, bool> = serde_json::from_value(map.clone())
        .with_context(|| format!("{address}.compliance is not a map of bools: {map}"))?;
    let want: std::collections::BTreeMap<String, bool> =
        controls.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    ensure!(
        map == want,
        "{address}.compliance is {map:?}, expected exactly {want:?}"
    );
    Ok(())
}

impl Suite {
    fn name(&self, case: &str) -> String {
        random_name(&format!("{}{case}", self.label))
    }

    /// Checks after a step: every control through the SDK, and the compliance key set.
    fn full_check(&'static self) -> Option<crate::step::Check> {
        check(move |ctx| async move {
            require_exact_controls(&ctx, self.address, self.controls)?;
            (self.check)(ctx).await
        })
    }

    fn case(&self, terraform: TfVersion, steps: Vec<Step>) -> TestCase {
        TestCase {
            terraform,
            steps,
            own_account: true,
            check_destroy: check(|ctx| async move {
                let left = inventory::live_objects(&ctx.aws).await?;
                ensure!(
                    left.is_empty(),
                    "objects left behind after destroy:\n{}",
                    left.join("\n")
                );
                Ok(())
            }),
        }
    }

    /// Apply, empty plan, every control read back.
    pub async fn basic(&'static self, v: TfVersion) -> Result<()> {
        let name = self.name("b");
        let step = Step {
            check: self.full_check(),
            ..Step::config((self.composite.config)(&name))
        };
        self.case(v, vec![step]).run().await
    }

    /// Import reproduces the state.
    pub async fn import(&'static self, v: TfVersion) -> Result<()> {
        let name = self.name("i");
        let steps = vec![
            Step::config((self.composite.config)(&name)),
            Step::import_verify(self.address, self.import_ignore),
        ];
        self.case(v, steps).run().await
    }

    /// The basic configuration, then `changed`, which must be planned as `action`;
    /// every control read back after.
    async fn change(
        &'static self,
        v: TfVersion,
        case: &str,
        changed: fn(&str) -> String,
        action: Action,
    ) -> Result<()> {
        let name = self.name(case);
        let steps = vec![
            Step::config((self.composite.config)(&name)),
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(self.address.into(), action)],
                check: check(move |ctx| async move { (self.check)(ctx).await }),
                ..Step::config(changed(&name))
            },
        ];
        self.case(v, steps).run().await
    }

    /// A change applied in place, then read back.
    pub async fn update_in_place(&'static self, v: TfVersion) -> Result<()> {
        self.change(v, "u", self.updated, Action::Update).await
    }

    /// A change that replaces the composite.
    pub async fn replace(&'static self, v: TfVersion) -> Result<()> {
        self.change(v, "r", self.replaced, Action::Replace).await
    }

    /// A control broken behind Terraform's back is planned as an update and repaired.
    pub async fn drift(&'static self, v: TfVersion) -> Result<()> {
        let name = self.name("d");
        let config = (self.composite.config)(&name);
        let steps = vec![
            Step::config(config.clone()),
            Step {
                pre_config: check(move |ctx| async move { (self.drift)(ctx).await }),
                refresh_only: true,
                check: check(move |ctx| async move {
                    ensure!(
                        !self.drifted.is_empty()
                            && self
                                .drifted
                                .iter()
                                .all(|d| self.controls.iter().any(|&(k, v)| k == *d && v)),
                        "`drifted` names controls of the basic configuration that hold"
                    );
                    let broken: Vec<(&str, bool)> = self
                        .controls
                        .iter()
                        .map(|&(k, v)| (k, v && !self.drifted.contains(&k)))
                        .collect();
                    require_exact_controls(&ctx, self.address, &broken)
                        .context("after the drift, refreshed")
                }),
                ..Step::config(config.clone())
            },
            Step {
                plan_checks: vec![PlanCheck::ResourceAction(
                    self.address.into(),
                    Action::Update,
                )],
                check: self.full_check(),
                ..Step::config(config)
            },
        ];
        self.case(v, steps).run().await
    }

    /// The composite deleted behind Terraform's back is created again.
    pub async fn disappears(&'static self, v: TfVersion) -> Result<()> {
        let name = self.name("g");
        let config = (self.composite.config)(&name);
        let steps = vec![
            Step::config(config.clone()),
            Step {
                pre_config: check(move |ctx| async move { (self.disappear)(ctx).await }),
                plan_checks: vec![PlanCheck::ResourceAction(
                    self.address.into(),
                    Action::Create,
                )],
                check: self.full_check(),
                ..Step::config(config)
            },
        ];
        self.case(v, steps).run().await
    }

    /// Every invalid configuration fails at plan, and nothing is created. Besides the
    /// composite's own cases, a time limit that is not a duration (the kit's
    /// `timeouts` block, which every composite has).
    pub async fn bad_input(&'static self, v: TfVersion) -> Result<()> {
        let name = self.name("x");
        let mut cases = (self.bad_input)(&name);
        cases.push((
            crate::fault_cases::with_time_limits(
                &(self.composite.config)(&name),
                "delete = \"ten minutes\"",
            ),
            r"(?s)Invalid time limit.*timeouts\.delete",
        ));
        let steps = cases
            .into_iter()
            .map(|(config, pattern)| Step {
                plan_only: true,
                expect_error: expect_error(pattern),
                ..Step::config(config)
            })
            .collect();
        self.case(v, steps).run().await
    }

    /// A create whose Nth mutating call fails leaves nothing.
    pub async fn failed_create(&'static self, v: TfVersion) -> Result<()> {
        fault_cases::failed_create(&self.composite, &self.name("f"), self.fail_at, v).await
    }

    /// The provider killed mid-create: the next apply converges to exactly one.
    pub async fn killed_create(&'static self, v: TfVersion) -> Result<()> {
        fault_cases::killed_create(&self.composite, &self.name("k"), self.kill_after, v).await
    }

    /// After an update, destroy leaves nothing (the case's final check).
    pub async fn destroy_leaves_nothing(&'static self, v: TfVersion) -> Result<()> {
        let name = self.name("n");
        let steps = vec![
            Step::config((self.composite.config)(&name)),
            Step::config((self.updated)(&name)),
        ];
        self.case(v, steps).run().await
    }
}

/// Declares the standard suite of one composite on Terraform 1.15 and 1.0.3:
/// `standard_suite!(SUITE);` in a test module, where `SUITE` is a `static Suite`.
#[macro_export]
macro_rules! standard_suite {
    ($suite:ident) => {
        mod tf_1_15 {
            $crate::standard_suite!(@cases $suite, $crate::TfVersion::V1_15);
        }
        mod tf_1_0_3 {
            $crate::standard_suite!(@cases $suite, $crate::TfVersion::V1_0_3);
        }
    };
    (@cases $suite:ident, $v:expr) => {
        $crate::standard_suite!(@case $suite, $v, basic, import, update_in_place, replace,
            drift, disappears, bad_input, failed_create, killed_create, destroy_leaves_nothing);
    };
    (@case $suite:ident, $v:expr, $($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() -> anyhow::Result<()> {
            $crate::skip_unless_acc!();
            super::$suite.$case($v).await
        }
    )*};
}
