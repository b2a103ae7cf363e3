//! IAM pieces composites share.

pub(crate) mod service_role;
