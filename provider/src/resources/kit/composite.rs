//! [`Composite`]: what a composite resource writes, and [`Kit`], which turns it into a
//! Terraform [`Resource`] with the lifecycle every composite shares, written once:
//!
//! - **create**: the root object is created with its ownership marker, or the one an
//!   interrupted create left is adopted (`kit::ownership`); the children are converged;
//!   the root is marked `created`; the state is read back from AWS.
//! - **a failed create** is rolled back (everything the composite owns is removed,
//!   with twice the create's retry budget: `aws::Budget::Rollback`); whatever cannot
//!   be removed is returned as partial state (tainted), never silently lost. A create
//!   stopped by StopProvider (Ctrl-C) or by its time limit keeps what exists,
//!   recorded as tainted.
//! - **time limits**: every composite gets the `timeouts` block (`kit::timeouts`);
//!   an operation past its limit stops as if Terraform had asked it to.
//! - **read** observes AWS; a missing root removes the resource from state.
//! - **update** converges, then reads back; a failed update keeps the prior values
//!   (refreshed) and reports every failure.
//! - **delete** removes everything in reverse dependency order; already gone is done.
//! - **errors**: one diagnostic per failure, titled by the operation and the
//!   composite's noun.

use async_trait::async_trait;

use std::sync::Arc;

use crate::aws::{Budget, Clients, ProviderCtx, Target};
use crate::framework::{plan, ApplyResult, Deadline, Diagnostics, Resource, Schema};
use crate::resources::common::{clients, target_of};
use crate::resources::kit::calls;
use crate::resources::kit::controls::{self, Control};
use crate::resources::kit::tags;
use crate::resources::kit::timeouts::{self, Operation};
use crate::value::{AttrPath, Value};

/// The planning hook's view, for composites (the framework's, with this provider).
pub(crate) type PlanRequest<'a> = crate::framework::PlanRequest<'a, ProviderCtx>;

/// Failures of one step; each becomes one diagnostic.
pub(crate) type Failures = Vec<String>;

/// A configuration that apply time finds wrong (what only AWS could tell: the
/// account, the Region), with the attribute a person must change when there is one.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub(crate) path: Option<AttrPath>,
    pub(crate) detail: String,
}

impl Invalid {
    /// The attribute at `path` is wrong, for the reason `detail`.
    pub(crate) fn at(path: AttrPath, detail: impl Into<String>) -> Self {
        Invalid {
            path: Some(path),
            detail: detail.into(),
        }
    }
}

impl From<String> for Invalid {
    fn from(detail: String) -> Self {
        Invalid { path: None, detail }
    }
}

/// The diagnostic of an [`Invalid`] configuration of a `noun`.
fn invalid(noun: &str, e: Invalid) -> Diagnostics {
    let mut d = Diagnostics::new();
    let summary = format!("Invalid {noun}");
    match e.path {
        Some(path) => d.attr_error(path, summary, e.detail),
        None => d.error(summary, e.detail),
    }
    d
}

/// A composite resource: its schema and planning, typed desired and observed models,
/// and how its root and children are created, converged, observed and removed.
#[async_trait]
pub(crate) trait Composite: Send + Sync + 'static {
    /// The desired model, built once from the planned value.
    type Desired: Send + Sync;
    /// What AWS reports.
    type Observed: Send + Sync;

    /// Terraform type name (`bankplatform_...`).
    const TYPE_NAME: &'static str;
    /// What the composite is called in messages ("hardened VPC").
    const NOUN: &'static str;

    /// The schema.
    fn schema(&self) -> &Schema;
    /// Whole-configuration checks (see [`Resource::validate_config`]).
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Planning beyond the framework's rules (see [`Resource::modify_plan`]).
    async fn modify_plan(&self, _req: &mut PlanRequest<'_>) {}

    /// The desired model of a planned value.
    fn desired(&self, planned: &Value) -> Result<Self::Desired, String>;
    /// The plan completed with what only apply time knows (a generated name, a
    /// policy naming the account), and its desired model. Defaults to the plan as is.
    async fn prepare(
        &self,
        _c: &Clients,
        planned: &Value,
    ) -> Result<(Value, Self::Desired), Invalid> {
        Ok((planned.clone(), self.desired(planned)?))
    }
    /// The root's id in a state (`None` when it has none).
    fn root_id(&self, state: &Value) -> Option<String>;
    /// Creates the root with its ownership marker, or adopts the one an interrupted
    /// create of this composite left. Returns the root id and whether it was adopted.
    /// `d` may be completed with what the create made (a managed key's ARN).
    async fn create_root(
        &self,
        c: &Clients,
        d: &mut Self::Desired,
    ) -> Result<(String, bool), String>;
    /// Makes the children match `d` (observe, then converge in dependency phases).
    /// `prior` is the state being updated (`None` on create); on update the root
    /// must end up marked `created` (a marker a create could not write). `d` may be
    /// completed with what converging made (a role's ARN).
    async fn converge(
        &self,
        c: &Clients,
        root: &str,
        d: &mut Self::Desired,
        prior: Option<&Value>,
    ) -> Result<(), Failures>;
    /// Marks the root as finished (or recorded in a state): never adopted again.
    async fn mark_created(&self, c: &Clients, root: &str) -> Result<(), String>;
    /// Reads the root and children; `Ok(None)` when the root is gone.
    async fn observe(&self, c: &Clients, root: &str) -> Result<Option<Self::Observed>, String>;
    /// Reads the root and children for the state or plan `known` (a refresh's prior
    /// state, an apply's plan), for composites whose reads depend on the
    /// configuration (an organization reads its delegations in every allowed Region).
    /// Defaults to [`Composite::observe`].
    async fn observe_for(
        &self,
        c: &Clients,
        root: &str,
        _known: &Value,
    ) -> Result<Option<Self::Observed>, String> {
        self.observe(c, root).await
    }
    /// Removes the root and everything the composite owns, in reverse dependency
    /// order; "already gone" is done. `state` is the last known state (or the plan).
    async fn destroy(&self, c: &Clients, root: &str, state: &Value) -> Result<(), Failures>;
    /// The state: `base` (the plan, or the prior state) completed with what AWS
    /// reports in the clients' account and region.
    fn state(&self, c: &Clients, base: &Value, o: &Self::Observed) -> Value;
    /// The state after a create (`creating`) or an update, before the read-back
    /// fills it: the plan with what the apply decided (a managed key). Defaults to
    /// the plan, with the root id set on create.
    fn applied(&self, planned: &Value, root: &str, _d: &Self::Desired, creating: bool) -> Value {
        if creating {
            self.with_root(planned.clone(), root)
        } else {
            planned.clone()
        }
    }
    /// `v` with the root id set.
    fn with_root(&self, v: Value, root: &str) -> Value;

    /// The control table: what `compliance` reports and the reference page lists.
    fn controls(&self) -> &'static [Control<Self::Observed>];

    /// What the import ID is, for the documentation.
    fn import_help(&self) -> &'static str;
    /// Findings a scanner still reports on what the composite builds, and why each
    /// stays (Markdown, for the reference page; see `docs/audit.md`).
    fn audit_notes(&self) -> Option<&'static str> {
        None
    }
    /// The state of an existing composite, from its import ID.
    async fn import(&self, ctx: &ProviderCtx, c: &Clients, id: &str) -> Result<Value, Diagnostics>;
}

/// A failed [`Composite::create_root`]'s error, and the failed removal of what it
/// made before failing, if any (a root's create removes its own leftovers: the
/// kit's rollback starts only once a root exists).
pub(crate) fn with_undo(e: String, undo: Option<String>) -> String {
    match undo {
        Some(u) => format!("{e}\nCleanup also failed: {u}"),
        None => e,
    }
}

/// `Ok(())` when a step had no failures.
pub(crate) fn done(failures: Failures) -> Result<(), Failures> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// What an import found: the observed model, or one diagnostic saying that no
/// `what` of that id is in the provider's account and region (or that it cannot be read).
pub(crate) fn imported<O>(
    found: Result<Option<O>, String>,
    what: &str,
    id: &str,
) -> Result<O, Diagnostics> {
    let mut d = Diagnostics::new();
    match found {
        Ok(Some(o)) => return Ok(o),
        Ok(None) => d.error(
            format!("Cannot import non-existent {what}"),
            format!("No {what} {id} in the provider's account and region."),
        ),
        Err(e) => d.error(format!("Cannot read the {what}"), e),
    }
    Err(d)
}

/// A [`Composite`] served as a Terraform resource: the composite, and its schema
/// with what the kit adds to every composite (the `timeouts` block).
pub(crate) struct Kit<C>(pub(crate) C, Schema);

impl<C: Composite> Kit<C> {
    pub(crate) fn new(composite: C) -> Self {
        let mut schema = composite.schema().clone();
        schema.block.blocks.push(timeouts::block());
        Kit(composite, schema)
    }
}

/// The clients of one operation on the resource `v`: the shared ones (`base`, for
/// what must still happen after the time limit: a read-back, a partial state) and
/// the same clients stopped by the operation's time limit (`c`), with its deadline.
struct Op {
    base: Arc<Clients>,
    c: Clients,
    deadline: Deadline,
}

impl Op {
    async fn start(ctx: &ProviderCtx, v: &Value, op: Operation) -> Result<Op, Diagnostics> {
        let base = clients(ctx, v).await?;
        let deadline = ctx.stop.until(timeouts::limit(v, op));
        let c = base.with_stop(deadline.signal());
        Ok(Op { base, c, deadline })
    }

    /// Why the operation stopped early, when it did: its time limit or Ctrl-C.
    fn stopped(&self, what: &str) -> Option<String> {
        if !self.c.stop.is_stopped() {
            return None;
        }
        Some(if self.deadline.expired() {
            format!(
                "The {what} did not finish within its time limit of {} (the `timeouts` block; default 60m).",
                timeouts::display(self.deadline.limit())
            )
        } else {
            format!("Terraform asked the provider to stop (Ctrl-C) during the {what}.")
        })
    }
}

/// How long a step stopped by Ctrl-C or its time limit may take to wind down by
/// itself (its waits and phases check the stop) before its calls are abandoned.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `step`, bounded by the stop signal of `c`: once it is raised, the step has
/// [`GRACE`] to return, then it is abandoned (its calls in flight may or may not
/// complete in AWS, as when the provider is killed; adoption and the tainted
/// partial state cover both). So a time limit holds even for a step that never
/// looks at the signal.
async fn bounded<T>(
    c: &Clients,
    step: impl std::future::Future<Output = Result<T, Failures>>,
) -> Result<T, Failures> {
    if c.stop.is_stopped() {
        // Stopped before the step began (a root that took the whole time limit).
        return Err(vec![format!(
            "{}: before this step began",
            super::INTERRUPTED
        )]);
    }
    tokio::pin!(step);
    tokio::select! {
        r = &mut step => return r,
        () = c.stop.stopped() => {}
    }
    match tokio::time::timeout(GRACE, &mut step).await {
        Ok(r) => r,
        Err(_) => Err(vec![format!(
            "{}: the calls still running {}s later were abandoned",
            super::INTERRUPTED,
            GRACE.as_secs()
        )]),
    }
}

/// `state` with the kit's attributes present (null when the composite did not set
/// them: an imported state has no `timeouts`).
fn fit(mut state: Value) -> Value {
    if matches!(state, Value::Object(_)) && state.get(timeouts::BLOCK).is_null() {
        state.set_attr(timeouts::BLOCK, Value::Null);
    }
    state
}

fn diags(summary: &str, failures: &[String]) -> Diagnostics {
    let mut d = Diagnostics::new();
    for f in failures {
        d.error(summary, f.clone());
    }
    d
}

impl<C: Composite> Kit<C> {
    /// The state read back from AWS; `base` is kept (unknowns nulled) if AWS cannot
    /// be read, with an error, so the next apply converges.
    async fn read_back(&self, c: &Clients, base: Value, root: &str) -> ApplyResult {
        let promised = base.clone();
        let mut base = base;
        base.unknowns_to_null();
        let mut observed = self.0.observe_for(c, root, &base).await;
        // What was just written can be read back stale (eventual consistency: a new
        // route table not yet listed, a setting not yet visible): a read-back that
        // does not conform to the plan is read again, with backoff, before the state
        // says so (Terraform would call it an inconsistent result).
        for attempt in 1..=4 {
            let Ok(Some(o)) = &observed else { break };
            let state = self.0.state(c, &base, o);
            if plan::conforms(&promised, &state) {
                break;
            }
            if calls::pause(c, calls::backoff(attempt + 2), "reading back")
                .await
                .is_err()
            {
                break;
            }
            observed = self.0.observe_for(c, root, &base).await;
        }
        match observed {
            Ok(Some(o)) => ApplyResult::ok(self.0.state(c, &base, &o)),
            Ok(None) => ApplyResult::failed(diags(
                &format!("The {} vanished", C::NOUN),
                &[format!("{root} cannot be read back.")],
            )),
            Err(e) => {
                let mut r = ApplyResult::ok(base);
                r.diags
                    .error(format!("Cannot read back the {}", C::NOUN), e);
                r
            }
        }
    }

    /// A create that stopped half-way and keeps what exists (Terraform records it as
    /// tainted, because `d` holds an error). The root is marked as recorded, so no
    /// other create (not even a create_before_destroy replacement) adopts it.
    async fn partial(
        &self,
        c: &Clients,
        planned: &Value,
        root: &str,
        d: Diagnostics,
    ) -> ApplyResult {
        if let Err(e) = self.0.mark_created(c, root).await {
            tracing::warn!(root, error = %e, "cannot mark the partial composite as recorded");
        }
        let mut r = self
            .read_back(c, self.0.with_root(planned.clone(), root), root)
            .await;
        if r.state.is_none() {
            r.diags.error(
                format!("Cannot read the partial {}", C::NOUN),
                format!("{root} may be left behind; delete it by hand."),
            );
        }
        let mut all = d;
        all.extend(r.diags);
        r.diags = all;
        r
    }
}

#[async_trait]
impl<C: Composite> Resource for Kit<C> {
    type Ctx = ProviderCtx;

    fn type_name(&self) -> &'static str {
        C::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.1
    }

    fn validate_config(&self, config: &Value, diags: &mut Diagnostics) {
        self.0.validate(config, diags);
    }

    async fn modify_plan(&self, req: &mut PlanRequest<'_>) {
        self.0.modify_plan(req).await;
    }

    fn import_help(&self) -> Option<&'static str> {
        Some(self.0.import_help())
    }

    fn audit_notes(&self) -> Option<&'static str> {
        self.0.audit_notes()
    }

    fn controls_doc(&self) -> Option<String> {
        Some(controls::markdown(self.0.controls()))
    }

    async fn create(&self, ctx: &ProviderCtx, planned: &Value) -> ApplyResult {
        let op = match Op::start(ctx, planned, Operation::Create).await {
            Ok(op) => op,
            Err(d) => return ApplyResult::failed(d),
        };
        let c = &op.c;
        let noun = C::NOUN;
        let planned = tags::resolved(planned.clone(), ctx.default_tags());
        let (planned, mut d) = match self.0.prepare(c, &planned).await {
            Ok(p) => p,
            Err(e) => return ApplyResult::failed(invalid(noun, e)),
        };
        let planned = &planned;
        let (root, _adopted) = match self.0.create_root(c, &mut d).await {
            Ok(r) => r,
            Err(e) => {
                let cause = op
                    .stopped("create")
                    .map(|c| format!("\n\n{c}"))
                    .unwrap_or_default();
                return ApplyResult::failed(diags(
                    &format!("Cannot create the {noun}"),
                    &[format!("{e}{cause}\n\nNothing was created (what was made beside it was removed again). Fix the cause and apply again.")],
                ));
            }
        };
        if let Err(failures) = bounded(c, self.0.converge(c, &root, &mut d, None)).await {
            if let Some(cause) = op.stopped("create") {
                // Ctrl-C or the time limit: no rollback (it would take as long again);
                // keep what exists. The partial state is read with the shared
                // clients, which the time limit does not stop.
                let title = format!("{} creation interrupted", capitalized(noun));
                let mut why = diags(&title, &failures);
                why.error(
                    title,
                    format!("{cause} {root} and what was created so far are recorded in the state as tainted: the next apply replaces them, `terraform destroy` removes them."),
                );
                return self.partial(&op.base, planned, &root, why).await;
            }
            // The rollback is more patient than the create: giving up there leaves
            // objects behind.
            let rollback = match ctx
                .clients_with(&target_of(planned), Budget::Rollback)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "no rollback clients; rolling back with the apply's");
                    op.base.clone()
                }
            };
            let state = self.0.applied(planned, &root, &d, true);
            return match self.0.destroy(&rollback, &root, &state).await {
                Ok(()) => {
                    let mut why = diags(&format!("Cannot create the {noun}"), &failures);
                    why.error(
                        format!("Cannot create the {noun}"),
                        format!("Everything this apply created was removed again ({root} and what it owned), so nothing is left half-built. Fix the cause and apply again."),
                    );
                    ApplyResult::failed(why)
                }
                Err(left) => {
                    let mut why = diags(
                        &format!("Cannot create the {noun}, and cleanup failed"),
                        &failures,
                    );
                    for l in left {
                        why.error(format!("Cleanup of the {noun} failed"), l);
                    }
                    why.error(
                        format!("Cannot create the {noun}, and cleanup failed"),
                        format!(
                            "{root} is kept in the state (tainted), so the next apply replaces it."
                        ),
                    );
                    self.partial(&op.base, planned, &root, why).await
                }
            };
        }
        let mut r = self
            .read_back(&op.base, self.0.applied(planned, &root, &d, true), &root)
            .await;
        // The marker is the last call, so the window in which a killed provider leaves a
        // finished composite that no state records is this call's round trip. The
        // composite is complete: a marker that cannot be written is a warning, not a
        // reason to throw the composite away.
        let unmarked = self.0.mark_created(&op.base, &root).await.err();
        if let Some(e) = unmarked {
            r.diags.warning(
                format!("The {noun} was created, but not marked as finished"),
                format!("{e}\n\nIt still carries bankplatform:lifecycle = creating, so a later create of the same composite could continue from it; the next update of this resource writes the marker."),
            );
        }
        r
    }

    async fn read(&self, ctx: &ProviderCtx, state: &Value) -> (Option<Value>, Diagnostics) {
        let c = match clients(ctx, state).await {
            Ok(c) => c,
            Err(d) => return (None, d),
        };
        let Some(root) = self.0.root_id(state) else {
            return (None, Diagnostics::new());
        };
        match self.0.observe_for(&c, &root, state).await {
            Ok(Some(o)) => (Some(fit(self.0.state(&c, state, &o))), Diagnostics::new()),
            Ok(None) => {
                tracing::warn!(root = %root, kind = C::TYPE_NAME, "not found, removing from state");
                (None, Diagnostics::new())
            }
            Err(e) => (None, diags(&format!("Cannot read the {}", C::NOUN), &[e])),
        }
    }

    async fn update(&self, ctx: &ProviderCtx, prior: &Value, planned: &Value) -> ApplyResult {
        let op = match Op::start(ctx, planned, Operation::Update).await {
            Ok(op) => op,
            Err(d) => return ApplyResult::failed(d),
        };
        let c = &op.c;
        let noun = C::NOUN;
        let root = self.0.root_id(prior).unwrap_or_default();
        let planned = tags::resolved(planned.clone(), ctx.default_tags());
        let (planned, mut d) = match self.0.prepare(c, &planned).await {
            Ok(p) => p,
            Err(e) => return ApplyResult::failed(invalid(noun, e)),
        };
        let converged = bounded(c, self.0.converge(c, &root, &mut d, Some(prior))).await;
        let base = match &converged {
            Ok(()) => self.0.applied(&planned, &root, &d, false),
            Err(_) => prior.clone(),
        };
        let mut result = self.read_back(&op.base, base, &root).await;
        if let Err(failures) = converged {
            let title = format!("Cannot update the {noun}");
            result.diags.extend(diags(&title, &failures));
            if let Some(cause) = op.stopped("update") {
                result.diags.error(title, format!("{cause} The state keeps the prior values, refreshed from AWS: apply again to finish."));
            }
        }
        result
    }

    async fn delete(&self, ctx: &ProviderCtx, prior: &Value) -> Diagnostics {
        let op = match Op::start(ctx, prior, Operation::Delete).await {
            Ok(op) => op,
            Err(d) => return d,
        };
        let Some(root) = self.0.root_id(prior) else {
            return Diagnostics::new();
        };
        match bounded(&op.c, self.0.destroy(&op.c, &root, prior)).await {
            Ok(()) => Diagnostics::new(),
            Err(failures) => {
                let title = format!("Cannot delete the {}", C::NOUN);
                let mut d = diags(&title, &failures);
                if let Some(cause) = op.stopped("delete") {
                    d.error(
                        title,
                        format!(
                            "{cause} {root} stays in the state: run the destroy again to finish."
                        ),
                    );
                }
                d
            }
        }
    }

    async fn import(&self, ctx: &ProviderCtx, id: &str) -> ApplyResult {
        // Import acts in the provider's own account and region (Terraform sends no
        // configuration with the ID).
        let c = match ctx.clients(&Target::default()).await {
            Ok(c) => c,
            Err(e) => return ApplyResult::failed(diags("Cannot reach AWS", &[e])),
        };
        match self.0.import(ctx, &c, id).await {
            Ok(s) => ApplyResult::ok(fit(s)),
            Err(d) => ApplyResult::failed(d),
        }
    }
}

/// `s` with its first letter upper-case.
pub(crate) fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_of_nothing_or_of_the_unreadable_is_one_error_naming_it() {
        assert_eq!(
            imported(Ok(Some(7)), "Config aggregator", "a").ok(),
            Some(7)
        );
        let none = imported::<u8>(Ok(None), "Config aggregator", "platform").unwrap_err();
        let d: Vec<_> = none.iter().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].summary, "Cannot import non-existent Config aggregator");
        assert!(d[0]
            .detail
            .contains("No Config aggregator platform in the provider's account and region."));
        let unreadable = imported::<u8>(Err("AccessDenied".into()), "VPC", "vpc-1").unwrap_err();
        let d: Vec<_> = unreadable.iter().collect();
        assert_eq!(
            (d.len(), d[0].summary.as_str(), d[0].detail.as_str()),
            (1, "Cannot read the VPC", "AccessDenied")
        );
    }

    #[test]
    fn an_apply_time_problem_names_its_attribute_when_it_has_one() {
        let d = invalid(
            "KMS key",
            Invalid::at(AttrPath::root("replica_regions"), "own Region"),
        );
        let d: Vec<_> = d.iter().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].summary, "Invalid KMS key");
        assert_eq!(
            d[0].path.as_ref().map(|p| p.to_string()).as_deref(),
            Some("replica_regions")
        );
        let d = invalid("KMS key", Invalid::from("no account".to_string()));
        assert!(d.iter().all(|d| d.path.is_none()));
    }

    #[test]
    fn a_step_is_done_when_nothing_failed() {
        assert_eq!(done(vec![]), Ok(()));
        assert_eq!(
            done(vec!["a".into(), "b".into()]),
            Err(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            with_undo("create failed".into(), Some("delete failed".into())),
            "create failed\nCleanup also failed: delete failed"
        );
        assert_eq!(with_undo("create failed".into(), None), "create failed");
    }
}
