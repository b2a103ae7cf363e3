//! The composite kit: what every composite needs, written once.
//!
//! - [`composite`]: the `Composite` trait a composite implements (schema, typed
//!   desired and observed models, root, converge, observe, destroy, state) and
//!   `Kit<C>`, the one Terraform lifecycle around it (create with adoption and
//!   rollback, read, update, delete, import, diagnostics);
//! - [`controls`]: control tables, from which `compliance` and the docs come;
//! - [`calls`]: creates that happen exactly once under lost responses
//!   ([`calls::create_once`]), removals for which "already gone" is done
//!   ([`calls::removed`]), backoff that stops on StopProvider;
//! - [`ownership`]: the lifecycle marker a composite writes on its first object,
//!   so that a create killed half-way is continued by the next apply (adopted)
//!   instead of built a second time, and a finished composite is never taken;
//! - [`tags`]: `default_tags` merged with `tags`, unknown-aware;
//! - [`wait`]: polling with backoff, stop-aware, with a timeout and fail-fast states;
//! - [`schema`]: schema pieces every composite shares (the `target` block);
//! - [`timeouts`]: the `timeouts` block the kit adds to every composite, and the
//!   time limit it puts on each create, update and delete.
//!
//! Retries of every request (throttling, 5xx, timeouts, resets) are configured
//! once for every SDK client in `aws::retry`. Shared children live by service:
//! `kms::managed_key`, `iam::service_role`.

pub(crate) mod calls;
pub(crate) mod composite;
pub(crate) mod controls;
pub(crate) mod ownership;
pub(crate) mod schema;
pub(crate) mod tags;
pub(crate) mod timeouts;
pub(crate) mod wait;

/// The first words of the error an apply stopped by StopProvider (Ctrl-C) returns.
pub(crate) const INTERRUPTED: &str =
    "stopped before finishing (Terraform asked the provider to stop, or the time limit in `timeouts` passed)";
