//! The composite kit: what every composite resource needs, written once.
//!
//! - [`calls`]: creates that happen exactly once under lost responses
//!   ([`calls::create_once`]), removals for which "already gone" is done
//!   ([`calls::removed`]), backoff that stops on StopProvider;
//! - [`ownership`]: the lifecycle marker a composite writes on its first object,
//!   so that a create killed half-way is continued by the next apply (adopted)
//!   instead of built a second time, and a finished composite is never taken.
//!
//! Retries of every request (throttling, 5xx, timeouts, resets) are configured
//! once for every SDK client in `aws::retry`.

pub(crate) mod calls;
pub(crate) mod composite;
pub(crate) mod controls;
pub(crate) mod ownership;
pub(crate) mod schema;
pub(crate) mod tags;

/// The first words of the error an apply stopped by StopProvider (Ctrl-C) returns.
pub(crate) const INTERRUPTED: &str = "interrupted: Terraform asked the provider to stop";
