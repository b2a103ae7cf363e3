//! Account- and Region-wide settings: the `bankplatform_account_baseline` composite.

pub mod baseline;
mod baseline_api;
