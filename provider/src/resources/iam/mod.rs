//! IAM pieces composites share.

pub(crate) mod deploy_policy;
pub mod deploy_role;
pub(crate) mod policy_doc;
pub(crate) mod service_role;
