//! KMS helpers shared by the resources that create their own keys.

pub(crate) mod managed_key;
