//! IAM pieces composites share.

pub(crate) mod policy_doc;
pub(crate) mod service_role;
