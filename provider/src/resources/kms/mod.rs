//! KMS: the `bankplatform_kms_key` composite, key policies, and the keys other
//! composites create for themselves (from the same code).

pub mod key;
pub(crate) mod key_policy;
pub(crate) mod managed_key;
pub(crate) mod replicas;
