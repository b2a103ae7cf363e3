//! AWS Organizations: the management account's organization.

pub(crate) mod guardrails;
pub(crate) mod org_api;
pub mod organization;
pub(crate) mod organization_model;
