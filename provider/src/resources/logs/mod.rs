//! CloudWatch Logs pieces composites share.

pub(crate) mod log_group;
