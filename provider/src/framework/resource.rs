//! The [`Resource`] trait every managed resource implements, its request and
//! result types, and the registry the protocol layer dispatches on.
//!
//! Contract (as in terraform-plugin-framework and terraform-provider-aws):
//! - `create` and `update` end by reading the object back, so state is what
//!   AWS reports, never what the provider wrote;
//! - `read` returns `None` when the object is gone, so Terraform plans to
//!   create it again;
//! - a `create` that fails half-way either rolls back (and returns no state)
//!   or returns the partial state with the error, so the next apply converges;
//! - `delete` treats "already gone" as success.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::diag::Diagnostics;
use super::schema::Schema;
use crate::value::{AttrPath, Value};

/// What `create`, `update` and `import` return.
#[derive(Debug, Default)]
pub struct ApplyResult {
    /// New state; `None` means nothing exists (or, for update, keep the prior state).
    pub state: Option<Value>,
    /// Problems met.
    pub diags: Diagnostics,
}

impl ApplyResult {
    /// A successful result.
    pub fn ok(state: Value) -> Self {
        ApplyResult {
            state: Some(state),
            diags: Diagnostics::new(),
        }
    }
    /// A failure that left nothing behind.
    pub fn failed(diags: Diagnostics) -> Self {
        ApplyResult { state: None, diags }
    }
}

/// The planning hook's view: configuration, prior state and the plan being
/// built, which the resource may change within Terraform's rules (see
/// [`super::plan`]). `C` is the configured provider (the framework never looks
/// inside it).
pub struct PlanRequest<'a, C> {
    /// The configuration (may contain unknowns).
    pub config: &'a Value,
    /// The prior state; `Value::Null` on create.
    pub prior: &'a Value,
    /// The plan so far: defaults applied, unpredictable computed values unknown.
    pub planned: Value,
    /// Extra attribute paths whose change forces replacement.
    pub requires_replace: Vec<AttrPath>,
    /// Problems found while planning.
    pub diags: Diagnostics,
    /// The configured provider; `None` when its configuration is not yet known.
    pub ctx: Option<&'a C>,
}

impl<C> PlanRequest<'_, C> {
    /// Whether this plan creates the object.
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// The configured provider every call gets (the framework never looks inside).
    type Ctx: Send + Sync + 'static;

    /// Full type name, e.g. `bankplatform_compliant_bucket`.
    fn type_name(&self) -> &'static str;

    /// The schema (built once; returned by reference).
    fn schema(&self) -> &Schema;

    /// Whole-configuration checks beyond the attribute validators (conflicts,
    /// cross-attribute rules). The configuration may contain unknowns.
    fn validate_config(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Adjusts the plan after the framework's rules ran.
    async fn modify_plan(&self, _req: &mut PlanRequest<'_, Self::Ctx>) {}

    /// Creates the object described by `planned`.
    async fn create(&self, ctx: &Self::Ctx, planned: &Value) -> ApplyResult;

    /// Reads the object back; `Ok(None)` when it no longer exists.
    async fn read(&self, ctx: &Self::Ctx, state: &Value) -> (Option<Value>, Diagnostics);

    /// Changes the object in place from `prior` to `planned`.
    async fn update(&self, ctx: &Self::Ctx, prior: &Value, planned: &Value) -> ApplyResult;

    /// Deletes the object.
    async fn delete(&self, ctx: &Self::Ctx, prior: &Value) -> Diagnostics;

    /// The controls the resource promises, as a Markdown table for its reference
    /// page (`None`: it promises none).
    fn controls_doc(&self) -> Option<String> {
        None
    }

    /// What the import ID is, for the documentation (`None`: not importable).
    fn import_help(&self) -> Option<&'static str> {
        None
    }

    /// Findings a third-party scanner (Prowler) still reports on what the resource
    /// builds, and why each stays, as Markdown for its reference page.
    fn audit_notes(&self) -> Option<&'static str> {
        None
    }

    /// Builds a minimal state from an import ID; Terraform then calls `read`.
    async fn import(&self, _ctx: &Self::Ctx, _id: &str) -> ApplyResult {
        let mut d = Diagnostics::new();
        d.error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        );
        ApplyResult::failed(d)
    }

    /// Turns a stored state of an older schema version into the current
    /// shape. The default accepts only the current version.
    fn upgrade_state(&self, version: i64, state: Value, diags: &mut Diagnostics) -> Option<Value> {
        if version == self.schema().version {
            Some(state)
        } else {
            diags.error(
                "Unsupported state version",
                format!(
                    "The state of this {} was written with schema version {version}; this provider reads version {}. Use the provider version that wrote it.",
                    self.type_name(),
                    self.schema().version
                ),
            );
            None
        }
    }
}

/// All resource types, built at start-up (never lazily: Terraform 1.6+ may
/// send any RPC to a process that was never asked for its schema).
pub struct ResourceRegistry<C: 'static> {
    by_name: BTreeMap<&'static str, Arc<dyn Resource<Ctx = C>>>,
}

impl<C> Clone for ResourceRegistry<C> {
    fn clone(&self) -> Self {
        ResourceRegistry {
            by_name: self.by_name.clone(),
        }
    }
}

impl<C> Default for ResourceRegistry<C> {
    fn default() -> Self {
        ResourceRegistry {
            by_name: BTreeMap::new(),
        }
    }
}

impl<C: Send + Sync + 'static> ResourceRegistry<C> {
    /// Builds a registry from a list of resources.
    pub fn new(resources: Vec<Arc<dyn Resource<Ctx = C>>>) -> Self {
        ResourceRegistry {
            by_name: resources.into_iter().map(|r| (r.type_name(), r)).collect(),
        }
    }
    /// Looks a type up.
    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn Resource<Ctx = C>>> {
        self.by_name.get(type_name)
    }
    /// Every resource, ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Resource<Ctx = C>>> {
        self.by_name.values()
    }
}
